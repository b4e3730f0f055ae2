"""The unit every analysis returns: one quantity with its interval, null and inputs."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Measurement:
    quantity: str
    value: float
    ci_low: float
    ci_high: float
    interval: str  # how the interval was obtained
    n: int  # sample size behind the value
    inputs: str  # activation set, layer and pooling it was computed from
    p_value: float | None = None
    null_mean: float | None = None
    null_sd: float | None = None
    null_n: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        return asdict(self)
