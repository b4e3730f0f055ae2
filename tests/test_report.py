"""The rendered report: three formats from one judgement, escaped text, figures with captions."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np

from elb.claims.judging import Grid, Judgement
from elb.claims.model import Claim
from elb.claims.verdict import judge
from elb.config import Params
from elb.measures.measurement import Measurement
from elb.provenance import MeasurementProvenance
from elb.report.render import write_report

PROVENANCE = {
    "git_commit": "abc", "created": "now", "python": "3", "packages": {}, "seed": 0, "analysis": {},
    "activations": {"git_commit": "abc", "created": "now", "python": "3", "packages": {}, "seed": 0,
                    "model": {"model": "<b>model</b>", "architecture": "A", "source": "s", "n_layers": 2,
                              "d_model": 4, "dtype": "float32", "device": "cpu", "trust_remote_code": False},
                    "data": {"triplets_filtered.json": "f" * 64}, "layer_convention": "resid_post", "layers": {},
                    "loader_parity": {}, "poolings": [], "batch_size": 8, "max_tokens": 512},
}


def _judgement() -> Judgement:
    hostile = Claim.model_validate({
        "id": "x-1", "study": "ELB", "section": "s", "statement": "<script>alert(1)</script> & more",
        "source": {"document": "d"}, "method": "reproduction", "quantity": "null.empathy_z", "comparator": ">",
        "threshold": 0.0, "decide_by": "permutation"})
    null = np.linspace(-2, 2, 99)
    measured = {
        "null.empathy_z": Measurement("null.empathy_z", 3.0, 2.5, 3.5, "t", 90, "<i>inputs</i>", p_above=0.01,
                                      p_below=1.0, null_mean=0.0, null_sd=1.0, null_n=99,
                                      details={"null_z_values": null.tolist()}),
        **{f"validation.layer_sweep.cos_cognitive_affective@L{layer}": Measurement(
            f"validation.layer_sweep.cos_cognitive_affective@L{layer}", -0.6, -0.7, -0.5, "t", 90, "i",
            null_mean=-0.5, null_sd=0.01, null_n=50, p_above=1.0, p_below=0.02) for layer in (4, 8)},
    }
    verdict = judge(hostile, measured, "<b>model</b>", dataset="bundled")
    return Judgement([hostile], [verdict], MeasurementProvenance.model_validate(PROVENANCE), "bundled", measured)


def grid_of(judgement: Judgement) -> Grid:
    """A one-model run (cross-model claims: none)."""
    return Grid(["m"], [judgement], [])


def test_report_escapes_text_writes_three_formats_and_figures(tmp_path):
    evidence = [{"claim_id": "x-1", "status": "DISCREPANT", "model": "m", "quantity": "q", "published": 1,
                 "recomputed": 2, "detail": "<i>d</i>", "study": "ELB", "source": "f"}]
    write_report(tmp_path, grid_of(_judgement()), evidence, None, Params())
    html = (tmp_path / "claims.html").read_text()
    assert "<script>alert" not in html and "&lt;script&gt;" in html and "&lt;i&gt;d" in html
    assert "HOLDS" in html and "DISCREPANT" in html and "<b>model</b>" not in html
    assert html.count("<img src=\"data:image/png;base64,") == 2  # layer curve + null histogram
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == [
        "m-layers-validation.layer_sweep.cos_cognitive_affective.png", "m-null-x-1.png"]
    markdown = (tmp_path / "claims.md").read_text()
    assert "x-1" in markdown and "](figures/m-null-x-1.png)" in markdown
    data = json.loads((tmp_path / "claims.json").read_text())
    (model,) = data["models"]
    assert model["claims"][0]["verdict"]["verdict"] == "HOLDS" and model["summary"]["HOLDS"] == 1
    assert model["data"] == "bundled" and data["counts"]["m"]["HOLDS"] == 1


def test_the_matrix_has_a_column_per_model_and_judges_a_cross_model_claim(tmp_path):
    """Two models: one matrix row per claim with each model's verdict, a cross-model claim judged over both, one
    section (with its provenance panel and figures) per model."""
    from elb.claims.across import judge_across
    first = _judgement()
    across = Claim.model_validate({
        "id": "x-2", "study": "ELB", "section": "s", "statement": "on every model", "source": {"document": "d"},
        "method": "reproduction", "quantity": "null.empathy_z", "comparator": ">", "threshold": 2.0,
        "scope": "cross_model", "across": "every_model"})
    second_measured = {**first.measurements, "null.empathy_z": Measurement("null.empathy_z", 1.0, 0.5, 1.5, "t", 90,
                                                                           "i")}
    judgements = [replace(first, claims=[*first.claims, across],
                          verdicts=[*first.verdicts, judge(across, measured, "<b>model</b>", dataset="bundled")],
                          measurements=measured)
                  for measured in (first.measurements, second_measured)]
    verdict = judge_across(across, {"a": judgements[0].measurements, "b": judgements[1].measurements})
    assert verdict.verdict == "FAILS" and "wholly <= 2" in verdict.reason  # b: the whole interval below 2
    write_report(tmp_path, Grid(["a", "b"], judgements, [verdict]), [], None, Params())
    html = (tmp_path / "claims.html").read_text()
    assert html.count('<section id="model-') == 2 and 'href="#model-b"' in html
    assert html.count("<th>weights</th>") == 2  # a provenance panel per model
    data = json.loads((tmp_path / "claims.json").read_text())
    assert [m["key"] for m in data["models"]] == ["a", "b"]
    assert data["across_models"][0]["verdict"] == "FAILS" and data["counts"]["across models"]["FAILS"] == 1
