"""Verdict rules: from a claim and the measurements to HOLDS / FAILS / INCONCLUSIVE / SKIPPED / ERROR.

Interval decisions: HOLDS when the whole interval lies on the claimed side of the effective threshold
(or inside the published value's tolerance band), FAILS when the whole interval lies on the other side
(or outside the band), INCONCLUSIVE when it straddles. Permutation decisions: HOLDS when the value is on
the claimed side and the exact permutation p <= alpha; FAILS when the value is on the wrong side;
INCONCLUSIVE when it is on the claimed side but not significant, or when too few permutations were run
for any p to reach alpha.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from elb.claims.model import Claim

VERDICTS = ("HOLDS", "FAILS", "INCONCLUSIVE", "SKIPPED", "ERROR")


@dataclass
class Verdict:
    claim_id: str
    verdict: str
    model: str
    quantity: str
    reason: str
    criterion: str = ""
    measured: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        return asdict(self)


def _side(value: float, comparator: str, threshold: float) -> bool:
    return {">": value > threshold, ">=": value >= threshold, "<": value < threshold, "<=": value <= threshold}[comparator]


def _interval_verdict(claim: Claim, low: float, high: float, model: str) -> tuple[str, str]:
    if claim.comparator == "within":
        target = claim.published[model]
        band = (target - claim.tolerance, target + claim.tolerance)
        if band[0] <= low and high <= band[1]:
            return "HOLDS", f"interval [{low:.4g}, {high:.4g}] lies inside [{band[0]:.4g}, {band[1]:.4g}]"
        if high < band[0] or low > band[1]:
            return "FAILS", f"interval [{low:.4g}, {high:.4g}] lies outside [{band[0]:.4g}, {band[1]:.4g}]"
        return "INCONCLUSIVE", f"interval [{low:.4g}, {high:.4g}] overlaps the edge of [{band[0]:.4g}, {band[1]:.4g}]"
    t = claim.effective_threshold()
    if _side(low, claim.comparator, t) and _side(high, claim.comparator, t):
        return "HOLDS", f"whole interval [{low:.4g}, {high:.4g}] is {claim.comparator} {t:g}"
    if not _side(low, claim.comparator, t) and not _side(high, claim.comparator, t):
        return "FAILS", f"whole interval [{low:.4g}, {high:.4g}] fails {claim.comparator} {t:g}"
    return "INCONCLUSIVE", f"interval [{low:.4g}, {high:.4g}] straddles {t:g}"


def _permutation_verdict(claim: Claim, m: pd.Series) -> tuple[str, str]:
    value, p, n = float(m["value"]), float(m["p_value"]), int(m["null_n"])
    if not _side(value, claim.comparator, claim.threshold):
        return "FAILS", f"value {value:.4g} is not {claim.comparator} {claim.threshold:g} (p = {p:.3g})"
    if 1 / (n + 1) > claim.alpha:
        return "INCONCLUSIVE", f"{n} permutations cannot reach p <= {claim.alpha:g}"
    if p <= claim.alpha:
        return "HOLDS", f"value {value:.4g} {claim.comparator} {claim.threshold:g}, permutation p = {p:.3g} <= {claim.alpha:g}"
    return "INCONCLUSIVE", f"value {value:.4g} on the claimed side but permutation p = {p:.3g} > {claim.alpha:g}"


def judge(claim: Claim, measurements: pd.DataFrame, model: str) -> Verdict:
    """One claim's verdict for the model the measurements came from."""
    base = Verdict(claim.id, "SKIPPED", model, claim.quantity or "-", "", claim.criterion(model))
    if claim.quantity is None:
        base.reason = f"not measured by the harness yet: {claim.not_measured}"
        return base
    if claim.scope == "published_models" and model not in claim.published:
        base.reason = (f"compares to a published per-model value; {model} is not among the published models "
                       f"({', '.join(claim.published)})")
        return base
    rows = measurements[measurements["quantity"] == claim.quantity]
    if rows.empty:
        base.verdict, base.reason = "ERROR", f"quantity {claim.quantity!r} is missing from the measurements"
        return base
    m = rows.iloc[0]
    base.measured = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in m.to_dict().items()}
    needed = ("value", "p_value", "null_n") if claim.decide_by == "permutation" else ("ci_low", "ci_high")
    if any(pd.isna(m[k]) for k in needed):
        base.verdict, base.reason = "ERROR", f"measurement lacks {', '.join(k for k in needed if pd.isna(m[k]))}"
        return base
    if claim.decide_by == "permutation":
        base.verdict, base.reason = _permutation_verdict(claim, m)
    else:
        base.verdict, base.reason = _interval_verdict(claim, float(m["ci_low"]), float(m["ci_high"]), model)
    return base
