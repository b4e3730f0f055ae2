"""Claim model validation, every verdict rule on known answers, the registry check, and the rendered report."""
from __future__ import annotations

import json

import numpy as np
import pytest

from elb.claims.model import Claim
from elb.claims.registry import load_registry
from elb.claims.tolerance import Tolerance, derive_tolerance
from elb.claims.verdict import judge
from elb.config import Params
from elb.measures.catalogue import known_quantities
from elb.measures.measurement import Measurement

BASE = {"study": "ELB", "section": "test", "statement": "s", "source": {"document": "d"}, "method": "reproduction"}


def claim(**fields) -> Claim:
    return Claim.model_validate({**BASE, "id": "c", "quantity": "q", **fields})


def measured(value=0.5, low=0.4, high=0.6, **null) -> dict[str, Measurement]:
    return {"q": Measurement("q", value, low, high, "test", 10, "inputs", **null)}


def tolerance(width: float) -> Tolerance:
    return Tolerance(width, width, 0.0, [0.0, 0.0], 0.0, 0.95)


@pytest.mark.parametrize(
    ("comparator", "threshold", "interval", "verdict"),
    [(">=", 0.3, (0.4, 0.6), "HOLDS"), (">=", 0.7, (0.4, 0.6), "FAILS"), (">=", 0.5, (0.4, 0.6), "INCONCLUSIVE"),
     ("<", 0.0, (-0.3, -0.1), "HOLDS"), ("<", 0.0, (-0.1, 0.2), "INCONCLUSIVE"), ("<", 0.0, (0.1, 0.2), "FAILS")],
)
def test_interval_rule(comparator, threshold, interval, verdict):
    c = claim(comparator=comparator, threshold=threshold)
    assert judge(c, measured(sum(interval) / 2, *interval), "m").verdict == verdict


@pytest.mark.parametrize(
    ("value", "interval", "width", "verdict"),
    [(53 / 54, (0.901, 1.0), 0.05, "HOLDS"),  # the published 53/54 holds its own claim
     (0.90, (0.80, 0.96), 0.05, "INCONCLUSIVE"), (0.60, (0.45, 0.73), 0.05, "FAILS")],
)
def test_prediction_rule_on_a_threshold(value, interval, width, verdict):
    c = claim(comparator=">=", threshold=0.981, decide_by="prediction")
    assert judge(c, measured(value, *interval), "m", tolerance(width)).verdict == verdict


@pytest.mark.parametrize(("value", "interval", "verdict"), [(-0.22, (-0.45, 0.01), "HOLDS"),
                                                            (-0.5, (-0.6, -0.4), "FAILS"),
                                                            (-0.3, (-0.35, -0.2), "INCONCLUSIVE")])
def test_prediction_rule_within_a_band_wider_than_the_old_fixed_one(value, interval, verdict):
    c = claim(comparator="within", decide_by="prediction", published={"org/model": -0.217}, scope="published_models")
    assert judge(c, measured(value, *interval), "org/model", tolerance(0.06)).verdict == verdict
    skipped = judge(c, measured(value, *interval), "other", tolerance(0.06))
    assert skipped.verdict == "SKIPPED" and skipped.reason.startswith("scope:") and skipped.measured["value"] == value


def test_prediction_without_a_seed_spread_is_an_error():
    c = claim(comparator=">=", threshold=0.9, decide_by="prediction")
    assert judge(c, measured(), "m").verdict == "ERROR"


@pytest.mark.parametrize(
    ("value", "p_above", "p_below", "n", "verdict"),
    [(3.0, 0.01, 1.0, 100, "HOLDS"), (-0.7, 0.71, 0.3, 100, "INCONCLUSIVE"),  # wrong side, not significant
     (-3.0, 1.0, 0.01, 100, "FAILS"), (1.0, 0.2, 0.8, 100, "INCONCLUSIVE"), (9.0, 1 / 11, 1.0, 10, "INCONCLUSIVE")],
)
def test_permutation_rule_needs_significance_on_either_side(value, p_above, p_below, n, verdict):
    c = claim(comparator=">", threshold=0.0, decide_by="permutation")
    m = measured(value, value - 0.5, value + 0.5, p_above=p_above, p_below=p_below, null_mean=0.0, null_sd=1.0,
                 null_n=n)
    assert judge(c, m, "m").verdict == verdict


def test_a_criterion_that_shuffled_labels_meet_is_inconclusive_unless_declared():
    null = {"p_above": 0.01, "p_below": 1.0, "null_mean": -0.49, "null_sd": 0.003, "null_n": 100}
    undeclared = judge(claim(comparator="<", threshold=0.0), measured(-0.3, -0.35, -0.25, **null), "m")
    assert undeclared.verdict == "INCONCLUSIVE" and "its null (shuffled labels) satisfies" in undeclared.reason
    declared = judge(claim(comparator="<", threshold=0.0, null_satisfies="classifier geometry"),
                     measured(-0.3, -0.35, -0.25, **null), "m")
    assert declared.verdict == "HOLDS" and "classifier geometry" in declared.reason


def test_missing_quantity_is_error_and_unmeasured_is_skipped():
    assert judge(claim(quantity="absent", threshold=0), measured(), "m").verdict == "ERROR"
    assert judge(claim(quantity=None, not_measured="steering not built"), measured(), "m").verdict == "SKIPPED"


def test_derived_tolerance_is_a_prediction_interval():
    values = [1.0, 0.98, 0.96, 1.0, 0.98]
    derived = derive_tolerance(values, confidence=0.95)
    assert derived.half_width == pytest.approx(2.776445 * np.std(values, ddof=1) * np.sqrt(1.2), rel=1e-5)
    assert "5 seeded reruns" in derived.describe()
    deterministic = derive_tolerance([-0.484] * 5, confidence=0.95, decimals=3)
    assert deterministic.half_width == pytest.approx(0.0005) and deterministic.prediction == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [({"comparator": "within", "scope": "any_model"}, "decide_by prediction"),
     ({"comparator": ">"}, "needs a threshold"), ({"quantity": None}, "not_measured"),
     ({"threshold": 0, "surprise": 1}, "Extra inputs"),
     ({"threshold": 0, "method_pins": {"layer": "16"}}, "catalogue"),
     ({"threshold": 0, "decide_by": "permutation", "comparator": ">="}, "one-sided")],
)
def test_malformed_claims_are_rejected(fields, message):
    with pytest.raises(ValueError, match=message):
        claim(**fields)


def test_registry_quantities_are_checked_against_the_catalogue(tmp_path):
    known = known_quantities(Params())
    assert all(c.quantity in known for c in load_registry(quantities=known) if c.quantity)
    entry = {**BASE, "id": "typo", "quantity": "pipeline_b.test_acuracy", "comparator": ">=", "threshold": 0.9}
    (tmp_path / "x.yaml").write_text(json.dumps([entry]))
    with pytest.raises(ValueError, match=r"did you mean 'pipeline_b.test_accuracy'"):
        load_registry(tmp_path, quantities=known)


def test_sweep_quantities_are_keyed_by_the_published_layer():
    default = known_quantities(Params())
    assert "validation.layer_sweep.cos_cognitive_affective@L12" in default
    other = known_quantities(Params.model_validate({"analysis": {"validation": {"layers": [2, 30]}}}))
    assert {"validation.layer_sweep.cos_cognitive_affective@L2", "validation.layer_sweep.cos_cognitive_affective@L30"} \
        <= set(other) and "validation.layer_sweep.cos_cognitive_affective@L12" not in other
