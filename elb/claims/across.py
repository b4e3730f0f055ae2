"""Cross-model claims (scope cross_model): a statistic over the models one run audits, judged when the run audits two
or more. A figure the study computed over its own set of models (`across_models`, or the models `published` ranks)
is judged only when the run audits that whole set, since another set's statistic cannot reproduce it; it is still
computed over the run's models and shown.

Rules (`across`), each with the claim's comparator and threshold where it has them:
- every_model: the interval rule on the least favourable model (the minimum for > and >=, the maximum for < and
  <=, each interval end likewise): HOLDS when every model's whole interval is on the claimed side, FAILS when some
  model's whole interval is on the other side, else INCONCLUSIVE.
- mean: the mean of the models' values, its interval the mean of their interval ends (it covers the mean whenever
  each model's interval covers its value), then the interval rule.
- variation ((max - min) / mean), range_over_sd ((max - min) / sample SD), mean_value, above_average_range (mean
  steering range of the models whose dimensionality is at least the mean): the statistic over the published set,
  bounded over every corner of the models' intervals; HOLDS when the published figure as written (+/- half a unit
  of its last digit) meets those bounds, else FAILS.
- ranking: HOLDS when each model's whole interval lies above that of the model ranked next, FAILS when some pair's
  intervals are wholly in the opposite order, else INCONCLUSIVE.
- within_others: HOLDS when the named model's value lies inside every other audited model's interval, else FAILS.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Literal

import numpy as np

from elb.claims.model import Claim
from elb.claims.verdict import OPPOSITE, Verdict, satisfies
from elb.measures.measurement import Measurement

Rule = Literal["every_model", "mean", "variation", "range_over_sd", "mean_value", "above_average_range", "ranking",
               "within_others"]
PAIRED = {"above_average_range": "phase1.steering_range"}  # the second quantity a statistic reads
Values = dict[str, dict[str, float]]  # quantity -> model -> value


def _variation(v: Values, q: str) -> float:
    x = np.array(list(v[q].values()))
    return float((x.max() - x.min()) / x.mean()) if x.mean() else float("nan")


def _range_over_sd(v: Values, q: str) -> float:
    x = np.array(list(v[q].values()))
    return float((x.max() - x.min()) / x.std(ddof=1)) if x.std() else float("nan")  # sample SD, as published


def _above_average_range(v: Values, q: str) -> float:
    dims, ranges = v[q], v[PAIRED["above_average_range"]]
    mean = np.mean(list(dims.values()))
    return float(np.mean([ranges[m] for m, d in dims.items() if d >= mean]))


STATISTICS: dict[str, Callable[[Values, str], float]] = {
    "variation": _variation, "range_over_sd": _range_over_sd, "above_average_range": _above_average_range,
    "mean_value": lambda v, q: float(np.mean(list(v[q].values()))),
}


def required_models(claim: Claim) -> list[str]:
    """The published set a figure stands on (empty: any models)."""
    return list(claim.published) if claim.across == "ranking" else list(claim.across_models)


def judge_across(claim: Claim, runs: dict[str, dict[str, Measurement]], dataset: str = "") -> Verdict:
    """The claim over the run's models (`runs`: model -> its measurements)."""
    quantities = [claim.quantity, PAIRED.get(claim.across or "")]
    found = {model: ms for model, ms in runs.items() if all(q is None or q in ms for q in quantities)}
    label = f"across {len(runs)} model{'s' if len(runs) != 1 else ''} ({', '.join(runs)})"
    verdict = Verdict(claim.id, "SKIPPED", label, claim.quantity or "-", "", _criterion(claim), dataset=dataset)
    if len(found) < 2:
        verdict.reason = (f"scope: a statistic across models, from {claim.quantity} of each; this run audits "
                          f"{len(found)} model{'s' if len(found) != 1 else ''} with it, so there is nothing to compare")
        if len(found) == 1:
            verdict.measured = next(iter(found.values()))[claim.quantity].row()
        return verdict
    required = required_models(claim)
    missing = [m for m in required if m not in found]
    whole_set = required and not missing and claim.across != "within_others"
    scope = {m: found[m] for m in required} if whole_set else found
    verdict.measured = _measured(claim, scope)
    if missing:
        verdict.reason = (f"scope: the published figure is over {len(required)} models ({', '.join(required)}); this run "
                          f"audits {len(required) - len(missing)} of them, so it is shown over the run's models, "
                          "not judged")
        return verdict
    verdict.verdict, verdict.reason = RULES[claim.across](claim, scope)  # type: ignore[index]
    return verdict


def _criterion(claim: Claim) -> str:
    rule = claim.across or "?"
    if rule in ("every_model", "mean"):
        return f"{rule.replace('_', ' ')}: {claim.comparator} {claim.threshold:g}"
    if rule in STATISTICS:
        return f"the published {claim.published.get('all-models', '?')} (as written) meets the bounds of the {rule} statistic"
    return rule.replace("_", " ")


def _values(claim: Claim, runs: dict[str, dict[str, Measurement]]) -> dict[str, list[Measurement]]:
    return {model: [ms[q] for q in (claim.quantity, PAIRED.get(claim.across or "")) if q] for model, ms in
            runs.items()}


def _measured(claim: Claim, runs: dict[str, dict[str, Measurement]]) -> dict[str, object]:
    """The statistic over these models with its interval (None for a ranking or a comparison), and each model's
    input."""
    per_model = {model: {"value": m[0].value, "ci_low": m[0].ci_low, "ci_high": m[0].ci_high}
                 for model, m in _values(claim, runs).items()}
    ends = {k: [v[k] for v in per_model.values()] for k in ("value", "ci_low", "ci_high")}
    value = low = high = None
    if claim.across in STATISTICS:
        value, low, high = _statistic_bounds(claim, runs)
        interval = "bounds of the statistic over every corner of the models' intervals"
    elif claim.across == "mean":
        value, low, high = (float(np.mean(ends[k])) for k in ("value", "ci_low", "ci_high"))
        interval = "mean of the models' interval ends"
    elif claim.across == "every_model":
        pick = min if claim.comparator in (">", ">=") else max
        value, low, high = (float(pick(ends[k])) for k in ("value", "ci_low", "ci_high"))
        interval = f"the least favourable model ({pick.__name__} of each interval end)"
    else:
        interval = "per model (details)"
    return {"quantity": claim.quantity, "value": value, "ci_low": low, "ci_high": high, "interval": interval,
            "n": len(runs), "inputs": f"{claim.quantity} of {len(runs)} models", "p_above": None, "p_below": None,
            "null_mean": None, "null_sd": None, "null_n": None, "details": {"models": per_model}}


def _statistic_bounds(claim: Claim, runs: dict[str, dict[str, Measurement]]) -> tuple[float, float, float]:
    values = _values(claim, runs)
    names = [claim.quantity, PAIRED.get(claim.across or "")]
    slots = [(model, names[i], m) for model, ms in values.items() for i, m in enumerate(ms)]
    statistic = STATISTICS[claim.across]  # type: ignore[index]

    def at(picks: tuple[float, ...]) -> float:
        table: Values = {}
        for (model, name, _), x in zip(slots, picks):
            table.setdefault(name, {})[model] = x
        return statistic(table, claim.quantity)  # type: ignore[arg-type]

    point = at(tuple(m.value for *_, m in slots))
    corners = [at(c) for c in itertools.product(*((m.ci_low, m.ci_high) for *_, m in slots))]
    finite = [c for c in [point, *corners] if np.isfinite(c)]
    return point, min(finite, default=float("nan")), max(finite, default=float("nan"))


def _interval(claim: Claim, runs: dict[str, dict[str, Measurement]]) -> tuple[str, str]:
    """every_model and mean: the interval rule on the aggregate `_measured` gives."""
    m = _measured(claim, runs)
    t, c, low, high = claim.threshold, claim.comparator, m["ci_low"], m["ci_high"]
    span = f"{m['interval']} over {len(runs)} models: [{low:.4g}, {high:.4g}]"
    if satisfies(low, c, t) and satisfies(high, c, t):
        return "HOLDS", f"{span}, wholly {c} {t:g}"
    if not satisfies(low, c, t) and not satisfies(high, c, t):
        return "FAILS", f"{span}, wholly {OPPOSITE[c]} {t:g}"
    return "INCONCLUSIVE", f"{span} straddles {t:g}"


def _as_written(value: float) -> float:
    """Half a unit of the last digit of a published figure (1.09: 0.005)."""
    text = repr(float(value))
    return 0.5 * 10.0 ** -(len(text.split(".")[1]) if "." in text and not text.endswith(".0") else 0)


def _statistic(claim: Claim, runs: dict[str, dict[str, Measurement]]) -> tuple[str, str]:
    value, low, high = _statistic_bounds(claim, runs)
    published = claim.published["all-models"]
    half = _as_written(published)
    where = f"{claim.across} {value:.4g} over {len(runs)} models, bounds [{low:.4g}, {high:.4g}]"
    if published - half <= high and low <= published + half:
        return "HOLDS", f"the published {published:g} (+/- {half:g} as written) meets the {where}"
    return "FAILS", f"the published {published:g} (+/- {half:g} as written) lies outside the {where}"


def _ranking(claim: Claim, runs: dict[str, dict[str, Measurement]]) -> tuple[str, str]:
    order = sorted(runs, key=lambda model: claim.published[model])
    pairs = [(runs[a][claim.quantity], runs[b][claim.quantity], a, b) for a, b in zip(order, order[1:])]
    if all(x.ci_low > y.ci_high for x, y, *_ in pairs):
        return "HOLDS", f"each model's whole interval lies above the next one's ({len(order)} models)"
    reversed_pairs = [f"{b} above {a}" for x, y, a, b in pairs if y.ci_low > x.ci_high]
    if reversed_pairs:
        return "FAILS", "wholly in the opposite order: " + "; ".join(reversed_pairs)
    return "INCONCLUSIVE", "neighbouring intervals overlap: the order is not resolved"


def _within_others(claim: Claim, runs: dict[str, dict[str, Measurement]]) -> tuple[str, str]:
    named = claim.across_models[0]
    x = runs[named][claim.quantity].value
    outside = [m for m, ms in runs.items() if m != named and not ms[claim.quantity].ci_low <= x <= ms[claim.quantity].ci_high]
    if outside:
        return "FAILS", f"{named}'s {x:.4g} lies outside the interval of {', '.join(outside)}"
    return "HOLDS", f"{named}'s {x:.4g} lies inside the interval of every other model ({len(runs) - 1})"


RULES: dict[str, Callable[[Claim, dict[str, dict[str, Measurement]]], tuple[str, str]]] = {
    "every_model": _interval, "mean": _interval, "ranking": _ranking, "within_others": _within_others,
    **{name: _statistic for name in STATISTICS},
}
