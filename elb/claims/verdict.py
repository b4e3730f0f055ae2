"""Verdict rules: from a claim and a measurement to HOLDS / FAILS / INCONCLUSIVE / SKIPPED / ERROR.

`interval` (a qualitative boundary such as a sign): HOLDS when the whole interval lies on the claimed side of
the threshold, FAILS when the whole interval lies on the other side, else INCONCLUSIVE. With `within` (a published
per-model value no seed rerun can spread, e.g. a range read off generations): HOLDS when the published value lies
inside the measured interval, else FAILS.

`prediction` (reproduce a published number): the tolerance is the prediction interval of one rerun, derived
from reruns with other seeds (elb/claims/tolerance.py). HOLDS when the measured value lies on
the claimed side of threshold -/+ tolerance (inside published +/- tolerance for `within`), as CORE-Bench
accepts a reproduced value inside the original's prediction interval; FAILS when the whole interval lies on
the other side (outside the band); else INCONCLUSIVE.

`permutation` (against the measurement's own shuffled-label null): HOLDS when the value is on the claimed
side of the threshold and the one-sided permutation p on the claimed side is <= alpha; FAILS when the p on
the opposite side is <= alpha; else INCONCLUSIVE (a value on the wrong side that is not significant included).

Null guard: when shuffled labels also satisfy an interval or prediction criterion (the null mean meets it),
the verdict is INCONCLUSIVE unless the claim declares it (`null_satisfies`), and the reason says so.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from elb.claims.model import Claim
from elb.claims.tolerance import Tolerance
from elb.measures.measurement import Measurement

VERDICTS = ("HOLDS", "FAILS", "INCONCLUSIVE", "SKIPPED", "ERROR")
OPPOSITE = {">": "<=", ">=": "<", "<": ">=", "<=": ">"}


@dataclass
class Verdict:
    claim_id: str
    verdict: str
    model: str
    quantity: str
    reason: str
    criterion: str = ""
    measured: dict[str, Any] = field(default_factory=dict)
    tolerance: dict[str, Any] | None = None
    dataset: str = ""  # the data the verdict stands on

    def row(self) -> dict[str, Any]:
        return asdict(self)


def satisfies(value: float, comparator: str, threshold: float) -> bool:
    """`value comparator threshold` for a one-sided comparator."""
    return {">": value > threshold, ">=": value >= threshold, "<": value < threshold,
            "<=": value <= threshold}[comparator]


def _band(claim: Claim, model: str, tolerance: float) -> tuple[float, float]:
    target = claim.published[model]
    return target - tolerance, target + tolerance


def _shifted(claim: Claim, tolerance: float) -> float:
    """The threshold moved by the tolerance in the claim's favour."""
    assert claim.threshold is not None
    return claim.threshold - tolerance if claim.comparator in (">", ">=") else claim.threshold + tolerance


def criterion(claim: Claim, model: str, tolerance: Tolerance | None = None) -> str:
    """The pass criterion in words, with the tolerance actually applied."""
    if claim.quantity is None:
        return "not measured"
    if claim.scope == "cross_model":
        return f"across the models of a run ({claim.across}), from {claim.quantity} of each"
    if claim.decide_by == "permutation":
        return (f"value {claim.comparator} {claim.threshold:g} and permutation p <= {claim.alpha:g} on that side "
                "against its own null (shuffled labels, or the random directions it names)")
    if claim.decide_by == "interval" and claim.comparator == "within":
        return f"the published {claim.published.get(model, 'value')} inside the measured interval"
    if claim.decide_by == "interval":
        return f"whole interval {claim.comparator} {claim.threshold:g}"
    width = tolerance.half_width if tolerance else float("nan")
    if claim.comparator == "within":
        target = claim.published.get(model)
        return f"value within {target if target is not None else 'the published value'} +/- {width:.3g} (derived)"
    return f"value {claim.comparator} {_shifted(claim, width):.4g} ({claim.threshold:g} -/+ derived {width:.3g})"


def _interval_rule(claim: Claim, m: Measurement, model: str) -> tuple[str, str]:
    t, c, low, high = claim.threshold, claim.comparator, m.ci_low, m.ci_high
    span = f"interval [{low:.4g}, {high:.4g}]"
    if c == "within":
        published = claim.published[model]
        if low <= published <= high:
            return "HOLDS", f"the published {published:g} lies inside the measured {span}"
        return "FAILS", f"the published {published:g} lies outside the measured {span}"
    if satisfies(low, c, t) and satisfies(high, c, t):
        return "HOLDS", f"whole {span} is {c} {t:g}"
    if not satisfies(low, c, t) and not satisfies(high, c, t):
        return "FAILS", f"whole {span} is {OPPOSITE[c]} {t:g}"
    return "INCONCLUSIVE", f"{span} straddles {t:g}"


def _prediction_rule(claim: Claim, m: Measurement, model: str, tolerance: Tolerance) -> tuple[str, str]:
    width, span = tolerance.half_width, f"interval [{m.ci_low:.4g}, {m.ci_high:.4g}]"
    if claim.comparator == "within":
        low, high = _band(claim, model, width)
        band = f"[{low:.4g}, {high:.4g}]"
        if low <= m.value <= high:
            return "HOLDS", f"value {m.value:.4g} lies inside the prediction band {band}"
        if m.ci_high < low or m.ci_low > high:
            return "FAILS", f"whole {span} lies outside the prediction band {band}"
        return "INCONCLUSIVE", f"value {m.value:.4g} is outside {band} but the {span} reaches it"
    t, c = _shifted(claim, width), claim.comparator
    if satisfies(m.value, c, t):
        return "HOLDS", f"value {m.value:.4g} is {c} {t:.4g} (threshold with its derived tolerance)"
    if not satisfies(m.ci_low, c, t) and not satisfies(m.ci_high, c, t):
        return "FAILS", f"whole {span} is {OPPOSITE[c]} {t:.4g}"
    return "INCONCLUSIVE", f"value {m.value:.4g} is not {c} {t:.4g} but the {span} reaches it"


def _permutation_rule(claim: Claim, m: Measurement) -> tuple[str, str]:
    if m.p_above is None or m.p_below is None or m.null_n is None:
        return "ERROR", "the measurement has no permutation null"
    claimed, opposite = (m.p_above, m.p_below) if claim.comparator == ">" else (m.p_below, m.p_above)
    t, c = claim.threshold, claim.comparator
    where = (f"value {m.value:.4g}, p = {claimed:.3g} on the claimed side, {opposite:.3g} on the other "
             f"({m.null_n} null draws)")
    if satisfies(m.value, c, t) and claimed <= claim.alpha:
        return "HOLDS", where
    if opposite <= claim.alpha:
        return "FAILS", where
    if 1 / (m.null_n + 1) > claim.alpha:
        return "INCONCLUSIVE", f"{m.null_n} null draws cannot reach p <= {claim.alpha:g}; {where}"
    return "INCONCLUSIVE", f"neither side significant at {claim.alpha:g}: {where}"


def _null_satisfies(claim: Claim, m: Measurement, model: str, tolerance: Tolerance | None) -> bool:
    if not m.has_null or claim.decide_by == "permutation":
        return False
    if claim.comparator == "within":
        low, high = _band(claim, model, tolerance.half_width if tolerance else 0.0)
        return low <= m.null_mean <= high
    threshold = claim.threshold if claim.decide_by == "interval" else _shifted(claim, tolerance.half_width)
    return satisfies(m.null_mean, claim.comparator, threshold)


def judge(claim: Claim, measurements: dict[str, Measurement], model: str,
          tolerance: Tolerance | None = None, dataset: str = "") -> Verdict:
    """One claim's verdict for the model (and dataset) the measurements came from."""
    base = Verdict(claim.id, "SKIPPED", model, claim.quantity or "-", "", criterion(claim, model, tolerance),
                   tolerance=tolerance.row() if tolerance else None, dataset=dataset)
    if claim.quantity is None:
        why = claim.not_measured or ""
        base.reason = why if why.startswith("scope:") else f"not measured by the harness yet: {why}"
        return base
    m = measurements.get(claim.quantity)
    if m is not None:
        base.measured = m.row()
    if claim.scope == "cross_model":
        base.reason = (f"scope: a statistic across models, computed from {claim.quantity} of each: judged over the "
                       "models of the run (the report's 'across models' column)")
        return base
    if claim.scope == "published_models" and model not in claim.published:
        base.reason = (f"scope: compares to a published per-model value; {model} is not among the published models "
                       f"({', '.join(claim.published)})")
        return base
    base.verdict, base.reason = _decide(claim, m, model, tolerance)
    return base


def _decide(claim: Claim, m: Measurement | None, model: str, tolerance: Tolerance | None) -> tuple[str, str]:
    if m is None:
        return "ERROR", f"quantity {claim.quantity!r} is missing from the measurements"
    if m.details.get("undefined") and m.value is None:
        return "INCONCLUSIVE", f"the quantity has no value on this model: {m.details['undefined']}"
    if any(v is None or math.isnan(v) for v in (m.value, m.ci_low, m.ci_high)):
        return "ERROR", "the measurement lacks a value or an interval"
    if claim.decide_by == "prediction" and tolerance is None:
        return "ERROR", f"no seed spread for {claim.quantity!r}, so no derived tolerance (rerun the seed_spread stage)"
    null_note = ""
    if _null_satisfies(claim, m, model, tolerance):
        what = m.details.get("null", "shuffled labels")
        null_note = f"its null ({what}) satisfies this criterion too (null mean {m.null_mean:.4g})"
        if claim.null_satisfies is None:
            return "INCONCLUSIVE", f"{null_note}: the criterion cannot tell a signal from classifier geometry"
    if claim.decide_by == "permutation":
        verdict, reason = _permutation_rule(claim, m)
    elif claim.decide_by == "interval":
        verdict, reason = _interval_rule(claim, m, model)
    else:
        verdict, reason = _prediction_rule(claim, m, model, tolerance)
    return verdict, reason + (f"; {null_note}: {claim.null_satisfies}" if null_note else "")
