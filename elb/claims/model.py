"""The claim model: one published claim as data, validated when the registry loads."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Comparator = Literal[">", ">=", "<", "<=", "within"]


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    document: str = Field(description="Seed document(s) that state the claim.")
    published_file: str | None = Field(None, description="Published result file (pattern) that holds the number.")
    field: str | None = Field(None, description="Field of that file.")


class Claim(BaseModel):
    """A published claim. How `decide_by` turns a measurement into a verdict is in elb/claims/verdict.py."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    study: Literal["ELB", "EIP"]
    section: str
    statement: str
    source: Source
    quantity: str | None = Field(None, description="Catalogue quantity it reads; None = not measured on a model.")
    comparator: Comparator = ">="
    threshold: float | None = Field(None, description="Boundary of the claim (a published value for `prediction`).")
    decide_by: Literal["interval", "prediction", "permutation"] = Field(
        "interval", description="interval: a qualitative boundary (with `within`: the published value inside the "
                                "measured interval); prediction: reproduce a published number within its derived "
                                "prediction interval; permutation: against the measurement's own null.")
    alpha: float = Field(0.05, gt=0, lt=1, description="Level of the permutation test.")
    decimals: int | None = Field(None, ge=0, description="Decimals of the published number as written (0.981: 3); "
                                                         "half a unit of its last digit joins a derived tolerance.")
    published: dict[str, float] = Field(default_factory=dict, description="Published value per published model id.")
    scope: Literal["any_model", "published_models", "cross_model"] = Field(
        "any_model", description="any_model: judged on the audited model; published_models: against a published "
                                 "per-model value; cross_model: a statistic over several models, judged when a run "
                                 "audits several (its quantity is each model's input to it).")
    across: Literal["every_model", "mean", "variation", "range_over_sd", "mean_value", "above_average_range",
                    "ranking", "within_others"] | None = Field(
        None, description="cross_model only: the statistic over the run's models and its rule (elb/claims/across.py).")
    across_models: list[str] = Field(default_factory=list, description="The published model set a cross-model "
                                                                       "figure stands on: judged only when a run "
                                                                       "audits them all (within_others: the model "
                                                                       "compared with the others).")
    method: Literal["reproduction", "reimplementation"]
    method_pins: dict[str, str] = Field(default_factory=dict,
                                        description="The published method, for claims not measured on a model. "
                                                    "Measured claims show the catalogue's pins instead.")
    null_satisfies: str | None = Field(None, description="Declares that shuffled labels also satisfy the criterion, "
                                                         "and says what the claim then tests.")
    data_dependence: str | None = Field(None, description="How the claim's meaning depends on a property of the "
                                                          "published data (shown beside every verdict).")
    not_measured: str | None = Field(None, description="Why the model-side measurement is absent (then SKIPPED).")
    notes: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> "Claim":
        if self.quantity is None and not self.not_measured:
            raise ValueError("a claim without a quantity must say why in `not_measured`")
        if self.quantity is not None and self.method_pins:
            raise ValueError("a measured claim's method pins come from the measurement catalogue; remove `method_pins`")
        if self.comparator == "within" and (self.decide_by == "permutation" or self.scope != "published_models"):
            raise ValueError("`within` compares to a published per-model value: decide_by prediction (within the "
                             "derived tolerance) or interval (inside the measured interval), scope published_models")
        if self.comparator != "within" and self.quantity is not None and self.threshold is None \
                and self.scope != "cross_model":
            raise ValueError(f"comparator {self.comparator!r} needs a threshold")
        if (self.scope == "cross_model") != (self.across is not None) and self.quantity is not None:
            raise ValueError("a measured cross_model claim names its statistic in `across`, and only it does")
        if self.across in ("every_model", "mean") and (self.threshold is None or self.comparator == "within"):
            raise ValueError(f"across {self.across!r} needs a one-sided comparator and a threshold")
        if self.across in ("variation", "range_over_sd", "mean_value", "above_average_range") and (
                "all-models" not in self.published or not self.across_models):
            raise ValueError(f"across {self.across!r} compares the published `all-models` figure over `across_models`")
        if self.decimals is not None and self.decide_by != "prediction":
            raise ValueError("`decimals` (the published number's rounding) applies to decide_by prediction only")
        if self.decide_by == "permutation" and self.comparator not in (">", "<"):
            raise ValueError("permutation decisions need a one-sided comparator (> or <)")
        return self
