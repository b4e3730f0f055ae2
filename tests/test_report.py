"""The rendered report: three formats from one judgement, escaped text, figures with captions."""
from __future__ import annotations

import json

import numpy as np

from elb.claims.judging import Judgement
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


def test_report_escapes_text_writes_three_formats_and_figures(tmp_path):
    evidence = [{"claim_id": "x-1", "status": "DISCREPANT", "model": "m", "quantity": "q", "published": 1,
                 "recomputed": 2, "detail": "<i>d</i>", "study": "ELB", "source": "f"}]
    write_report(tmp_path, _judgement(), evidence, None, Params())
    html = (tmp_path / "claims.html").read_text()
    assert "<script>alert" not in html and "&lt;script&gt;" in html and "&lt;i&gt;d" in html
    assert "HOLDS" in html and "DISCREPANT" in html and "<b>model</b>" not in html
    assert html.count("<img src=\"data:image/png;base64,") == 2  # layer curve + null histogram
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == [
        "layers-validation.layer_sweep.cos_cognitive_affective.png", "null-x-1.png"]
    markdown = (tmp_path / "claims.md").read_text()
    assert "x-1" in markdown and "](figures/null-x-1.png)" in markdown
    data = json.loads((tmp_path / "claims.json").read_text())
    assert data["claims"][0]["verdict"]["verdict"] == "HOLDS" and data["summary"]["HOLDS"] == 1
    assert data["data"] == "bundled"
