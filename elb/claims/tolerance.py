"""Tolerances derived, not chosen: the prediction interval of one rerun, from reruns with other seeds."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from elb.measures.stats import prediction_half_width


@dataclass(frozen=True)
class Tolerance:
    """How far a rerun of the measurement may land from its value, and how that was derived."""

    half_width: float
    seed_values: list[float]
    seed_sd: float
    confidence: float

    def describe(self) -> str:
        return (f"+/- {self.half_width:.3g}: {self.confidence:.0%} prediction interval of one rerun from "
                f"{len(self.seed_values)} seeded reruns (SD {self.seed_sd:.3g})")

    def row(self) -> dict[str, Any]:
        return asdict(self)


def derive_tolerance(seed_values: list[float], confidence: float) -> Tolerance:
    """t(k-1) * SD * sqrt(1 + 1/k) over the reruns' values (elb.measures.stats.prediction_half_width)."""
    values = np.asarray(seed_values, dtype=float)
    return Tolerance(prediction_half_width(values, confidence), [float(v) for v in values],
                     float(np.std(values, ddof=1)), confidence)
