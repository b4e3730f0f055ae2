"""The unit every analysis returns: one quantity with its interval, null and inputs."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class Measurement:
    """One measured quantity. A permutation null, when present, carries both one-sided p-values."""

    quantity: str
    value: float
    ci_low: float
    ci_high: float
    interval: str  # how the interval was obtained
    n: int  # sample size behind the value
    inputs: str  # activation set, layer and pooling it was computed from
    p_above: float | None = None  # (1 + #null >= value) / (n_null + 1)
    p_below: float | None = None  # (1 + #null <= value) / (n_null + 1)
    null_mean: float | None = None
    null_sd: float | None = None
    null_n: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def has_null(self) -> bool:
        return self.null_n is not None and self.null_mean is not None

    def row(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Measurement":
        """The typed record of a stored row (NaN and missing optional fields become None)."""
        names = {f.name for f in fields(cls)}
        clean = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items() if k in names}
        return cls(**clean)
