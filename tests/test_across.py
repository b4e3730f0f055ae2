"""Cross-model rules on known answers: the study's own Phase 1 figures HOLD under them, shuffled models never do,
and every rule can also FAIL (or stay INCONCLUSIVE) and says when a run cannot judge it."""
from __future__ import annotations

import numpy as np
import pytest

from elb.claims.across import judge_across
from elb.claims.registry import load_registry
from elb.measures.measurement import Measurement

CLAIMS = {claim.id: claim for claim in load_registry()}
# ELB Phase 1 as published (../shared/docs/CLAIMS.md): bandwidth, dimensionality, steering range per model
PHASE1 = {"google/gemma-2-9b-it": (136.6, 16, 8.5), "meta-llama/Llama-3.1-8B-Instruct": (127.0, 14, 9.1),
          "deepseek-ai/DeepSeek-R1-Distill-Llama-7B": (92.0, 11, 8.4), "Qwen/Qwen2.5-7B-Instruct": (67.3, 10, 6.7),
          "mistralai/Mistral-7B-Instruct-v0.3": (36.3, 6, 6.0)}


def _m(quantity: str, value: float, half: float) -> Measurement:
    return Measurement(quantity, value, value - half, value + half, "t", 50, "i")


def _runs(figures: dict[str, tuple[float, float, float]]) -> dict[str, dict[str, Measurement]]:
    """Each model's three Phase 1 quantities, with the interval of their rounding as written (half a unit)."""
    names = ("phase1.bandwidth", "phase1.dimensionality", "phase1.steering_range")
    halves = (0.05, 0.5, 0.05)
    return {model: {q: _m(q, v, h) for q, v, h in zip(names, values, halves)} for model, values in figures.items()}


@pytest.mark.parametrize("claim_id", ["elb-p1-bandwidth-variation", "elb-p1-cohens-d", "elb-p1-descriptive-stats",
                                      "elb-p1-dims-range-association", "elb-p1-ranking"])
def test_the_published_phase1_figures_hold_under_their_own_rule(claim_id):
    verdict = judge_across(CLAIMS[claim_id], _runs(PHASE1))
    assert verdict.verdict == "HOLDS", verdict.reason


def test_shuffled_models_never_hold_the_ranking():
    rng = np.random.default_rng(0)
    values = list(PHASE1.values())
    for _ in range(20):
        order = rng.permutation(len(values))
        if list(order) == list(range(len(values))):
            continue
        shuffled = dict(zip(PHASE1, (values[i] for i in order)))
        assert judge_across(CLAIMS["elb-p1-ranking"], _runs(shuffled)).verdict != "HOLDS"


def test_other_figures_fail_the_statistic_rules():
    flat = {model: (90.0 + i, dims, rng) for i, (model, (_, dims, rng)) in enumerate(PHASE1.items())}
    for claim_id in ("elb-p1-bandwidth-variation", "elb-p1-cohens-d", "elb-p1-descriptive-stats"):
        assert judge_across(CLAIMS[claim_id], _runs(flat)).verdict == "FAILS", claim_id


def test_a_published_set_statistic_is_shown_but_not_judged_without_the_whole_set():
    two = dict(list(PHASE1.items())[:2])
    verdict = judge_across(CLAIMS["elb-p1-bandwidth-variation"], _runs(two))
    assert verdict.verdict == "SKIPPED" and "audits 2 of them" in verdict.reason
    assert verdict.measured["value"] == pytest.approx((136.6 - 127.0) / np.mean([136.6, 127.0]))
    one = judge_across(CLAIMS["elb-p1-bandwidth-variation"], _runs(dict(list(PHASE1.items())[:1])))
    assert one.verdict == "SKIPPED" and "audits 1 model with it" in one.reason


@pytest.mark.parametrize(("intervals", "expected"), [
    ([(0.95, 0.99), (0.92, 0.97)], "HOLDS"),          # every model wholly above 0.9
    ([(0.95, 0.99), (0.70, 0.85)], "FAILS"),          # one model wholly below
    ([(0.95, 0.99), (0.85, 0.95)], "INCONCLUSIVE"),   # one model straddles
])
def test_every_model(intervals, expected):
    runs = {f"m{i}": {"council.empathy.auroc": Measurement("council.empathy.auroc", (lo + hi) / 2, lo, hi, "t", 90, "i")}
            for i, (lo, hi) in enumerate(intervals)}
    assert judge_across(CLAIMS["elb-r3-scale-independent"], runs).verdict == expected


@pytest.mark.parametrize(("values", "expected"), [((-0.3, -0.2), "HOLDS"), ((0.2, 0.3), "FAILS"),
                                                  ((-0.3, 0.25), "INCONCLUSIVE")])
def test_mean_over_models(values, expected):
    runs = {f"m{i}": {"pipeline_b.max_cosine": _m("pipeline_b.max_cosine", v, 0.05)} for i, v in enumerate(values)}
    assert judge_across(CLAIMS["elb-p2-pipeline-b-mean-cosines"], runs).verdict == expected


def test_dolphin_within_every_other_model():
    dolphin = "cognitivecomputations/dolphin-2.9.4-llama3.1-8b"
    claim = CLAIMS["eip-dolphin-matches-safety-trained"]
    quantity = claim.quantity
    near = {dolphin: {quantity: _m(quantity, 0.996, 0.01)}, "phi3": {quantity: _m(quantity, 1.0, 0.02)}}
    far = {dolphin: {quantity: _m(quantity, 0.80, 0.05)}, "phi3": {quantity: _m(quantity, 1.0, 0.02)}}
    assert judge_across(claim, near).verdict == "HOLDS"
    assert judge_across(claim, far).verdict == "FAILS"
    without = {"a": {quantity: _m(quantity, 0.9, 0.1)}, "b": {quantity: _m(quantity, 0.9, 0.1)}}
    assert judge_across(claim, without).verdict == "SKIPPED"
