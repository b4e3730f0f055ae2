"""The claim model: one published claim as data, validated when the registry loads."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    document: str = Field(description="Seed document(s) that state the claim.")
    published_file: str | None = Field(None, description="Published result file (pattern) that holds the number.")
    field: str | None = Field(None, description="Field of that file.")


class Claim(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    study: Literal["ELB", "EIP"]
    section: str
    statement: str
    source: Source
    quantity: str | None = Field(None, description="Measurement it reads; None = the harness does not measure it yet.")
    comparator: Literal[">", ">=", "<", "<=", "within"] = ">="
    threshold: float | None = None
    tolerance: float = Field(0.0, ge=0)
    decide_by: Literal["interval", "permutation"] = "interval"
    alpha: float = Field(0.05, gt=0, lt=1)
    published: dict[str, float] = Field(default_factory=dict, description="Published value per published model id.")
    scope: Literal["any_model", "published_models"] = "any_model"
    method: Literal["reproduction", "reimplementation"]
    method_pins: dict[str, str] = Field(default_factory=dict)
    not_measured: str | None = Field(None, description="Why the model-side measurement is absent (then SKIPPED).")
    notes: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> "Claim":
        if self.quantity is None and not self.not_measured:
            raise ValueError("a claim without a quantity must say why in `not_measured`")
        if self.comparator == "within" and self.scope != "published_models":
            raise ValueError("`within` compares to a published per-model value: scope must be published_models")
        if self.comparator != "within" and self.quantity is not None and self.threshold is None:
            raise ValueError(f"comparator {self.comparator!r} needs a threshold")
        if self.decide_by == "permutation" and self.comparator not in (">", "<"):
            raise ValueError("permutation decisions need a one-sided comparator (> or <)")
        return self

    def effective_threshold(self) -> float:
        """The threshold after the declared tolerance is granted in the claim's favour."""
        assert self.threshold is not None
        return self.threshold - self.tolerance if self.comparator in (">", ">=") else self.threshold + self.tolerance

    def criterion(self, model: str | None = None) -> str:
        """Human-readable pass criterion."""
        if self.quantity is None or (self.threshold is None and self.comparator != "within"):
            return "not measured"
        if self.decide_by == "permutation":
            return f"value {self.comparator} {self.threshold:g} with permutation p <= {self.alpha:g}"
        if self.comparator == "within":
            target = self.published.get(model or "", None)
            where = f"{target:g}" if target is not None else "published value"
            return f"within {where} +/- {self.tolerance:g}"
        extra = f" ({self.threshold:g} with tolerance {self.tolerance:g})" if self.tolerance else ""
        return f"{self.comparator} {self.effective_threshold():g}{extra}"
