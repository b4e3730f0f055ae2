"""Claim model validation, verdict rules, the registry, and the rendered report."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from elb.artifacts import measurements_frame
from elb.claims.model import Claim
from elb.claims.registry import load_registry
from elb.claims.verdict import judge
from elb.config import AnalysisConfig
from elb.measures import phase2
from elb.measures.measurement import Measurement
from elb.report.render import write_report

BASE = {"study": "ELB", "section": "test", "statement": "s", "source": {"document": "d"}, "method": "reproduction"}


def claim(**fields) -> Claim:
    return Claim.model_validate({**BASE, "id": "c", "quantity": "q", **fields})


def table(value=0.5, low=0.4, high=0.6, p=None, null_n=None) -> pd.DataFrame:
    row = Measurement("q", value, low, high, "test", 10, "inputs", p_value=p, null_n=null_n).row()
    return measurements_frame([row], "in-memory")


@pytest.mark.parametrize(
    ("comparator", "threshold", "tolerance", "interval", "verdict"),
    [(">=", 0.3, 0.0, (0.4, 0.6), "HOLDS"), (">=", 0.7, 0.0, (0.4, 0.6), "FAILS"),
     (">=", 0.5, 0.0, (0.4, 0.6), "INCONCLUSIVE"), (">=", 0.45, 0.1, (0.4, 0.6), "HOLDS"),
     ("<", 0.0, 0.0, (-0.3, -0.1), "HOLDS"), ("<", 0.0, 0.0, (-0.1, 0.2), "INCONCLUSIVE")],
)
def test_interval_rules(comparator, threshold, tolerance, interval, verdict):
    c = claim(comparator=comparator, threshold=threshold, tolerance=tolerance)
    assert judge(c, table(0.5 if interval[0] > 0 else interval[0], *interval), "m").verdict == verdict


@pytest.mark.parametrize(("interval", "verdict"), [((-0.23, -0.2), "HOLDS"), ((-0.5, -0.4), "FAILS"),
                                                   ((-0.3, -0.2), "INCONCLUSIVE")])
def test_within_rules(interval, verdict):
    c = claim(comparator="within", tolerance=0.05, published={"org/model": -0.217}, scope="published_models")
    assert judge(c, table(interval[0], *interval), "org/model").verdict == verdict
    skipped = judge(c, table(), "other")
    assert skipped.verdict == "SKIPPED" and "not among the published models" in skipped.reason


@pytest.mark.parametrize(("value", "p", "n", "verdict"), [(3.0, 0.01, 100, "HOLDS"), (-1.0, 0.9, 100, "FAILS"),
                                                          (1.0, 0.2, 100, "INCONCLUSIVE"),
                                                          (9.0, 1 / 11, 10, "INCONCLUSIVE")])
def test_permutation_rules(value, p, n, verdict):
    c = claim(comparator=">", threshold=0.0, decide_by="permutation")
    assert judge(c, table(value, value, value, p=p, null_n=n), "m").verdict == verdict


def test_missing_quantity_is_error_and_unmeasured_is_skipped():
    assert judge(claim(quantity="absent", threshold=0), table(), "m").verdict == "ERROR"
    unmeasured = claim(quantity=None, not_measured="steering not built")
    assert judge(unmeasured, table(), "m").verdict == "SKIPPED"


@pytest.mark.parametrize(
    ("fields", "message"),
    [({"comparator": "within", "scope": "any_model"}, "scope must be published_models"),
     ({"comparator": ">"}, "needs a threshold"), ({"quantity": None}, "not_measured"),
     ({"threshold": 0, "surprise": 1}, "Extra inputs")],
)
def test_malformed_claims_are_rejected(fields, message):
    with pytest.raises(ValueError, match=message):
        claim(**fields)


def test_registry_covers_every_phase2_measurement():
    claims = load_registry()
    assert len({c.id for c in claims}) == len(claims)
    phase2_claims = [c for c in claims if c.id.startswith("elb-p2-")]
    sections = {c.section for c in phase2_claims}
    assert {"Phase 2 / Pipeline B", "Phase 2 / Validation suite", "Phase 2 / Null distribution",
            "Phase 2 / Null distribution (length control)"} <= sections
    rng = np.random.default_rng(0)
    classes = ("cognitive", "affective", "instrumental")
    cfg = AnalysisConfig(bootstrap=10, null_test={"permutations": 5, "length_permutations": 5})
    data = phase2.Probed(rng.normal(size=(90, 8)) + np.repeat(np.eye(3, 8) * 4, 30, axis=0),
                         np.repeat(classes, 30), classes, "synthetic")
    control = data.relabel(np.repeat(["response_1", "response_2", "response_3"], 30),
                           ("response_1", "response_2", "response_3"))
    produced = {m.quantity for m in [*phase2.pipeline_b(data, cfg, 0), *phase2.ovr_cosines("validation.ovr", data, cfg, 0),
                                     *phase2.ovr_cosines("validation.control", control, cfg, 0),
                                     *phase2.pairwise_auroc(data, cfg, 0), *phase2.layer_sweep({"L1": data}, cfg, 0),
                                     *phase2.null_tests(data, control, np.arange(90), cfg, 0)]}
    assert {c.quantity for c in phase2_claims if c.quantity} <= produced


def test_report_escapes_text_and_writes_three_formats(tmp_path):
    hostile = claim(id="x-1", threshold=0.0, statement="<script>alert(1)</script> & more")
    verdict = judge(hostile, table(), "<b>model</b>")
    provenance = {"git_commit": "abc", "created": "now"}
    evidence = [{"claim_id": "x-1", "status": "DISCREPANT", "model": "m", "quantity": "q", "published": 1,
                 "recomputed": 2, "detail": "<i>d</i>", "study": "ELB", "source": "f"}]
    write_report(tmp_path, [hostile], [verdict], provenance, evidence)
    html = (tmp_path / "claims.html").read_text()
    assert "<script>alert" not in html and "&lt;script&gt;" in html and "&lt;i&gt;d" in html
    assert "HOLDS" in html and "DISCREPANT" in html
    assert "x-1" in (tmp_path / "claims.md").read_text()
    data = json.loads((tmp_path / "claims.json").read_text())
    assert data["claims"][0]["verdict"]["verdict"] == "HOLDS" and data["summary"]["HOLDS"] == 1
