"""Tolerances derived, not chosen: the prediction interval of one rerun, from reruns with other seeds."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from elb.measures.stats import prediction_half_width


@dataclass(frozen=True)
class Tolerance:
    """How far a rerun of the measurement may land from its value, and how that was derived."""

    half_width: float  # prediction + rounding
    prediction: float
    rounding: float  # half a unit of the published number's last digit
    seed_values: list[float]
    seed_sd: float
    confidence: float

    def describe(self) -> str:
        return (f"+/- {self.half_width:.3g}: {self.confidence:.0%} prediction interval of one rerun from "
                f"{len(self.seed_values)} seeded reruns (SD {self.seed_sd:.3g}) + published rounding {self.rounding:g}")

    def row(self) -> dict[str, Any]:
        return asdict(self)


def derive_tolerance(seed_values: list[float], confidence: float, decimals: int | None = None) -> Tolerance:
    """t(k-1) * SD * sqrt(1 + 1/k) over the reruns' values, plus the rounding of the published number.

    The rounding term matters for quantities no seed changes (a deterministic fit): a value published as
    -0.484 stands for anything in [-0.4845, -0.4835].
    """
    values = np.asarray(seed_values, dtype=float)
    prediction = prediction_half_width(values, confidence)
    rounding = 0.5 * 10.0 ** -decimals if decimals is not None else 0.0
    return Tolerance(prediction + rounding, prediction, rounding, [float(v) for v in values],
                     float(np.std(values, ddof=1)), confidence)
