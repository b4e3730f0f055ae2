"""The `elb` command line."""
from __future__ import annotations

import json

from elb.cli import main

from conftest import BUNDLED


def test_claims_and_models_listings(capsys):
    assert main(["claims"]) == 0
    listing = capsys.readouterr().out
    assert "elb-p2-pipeline-b-accuracy" in listing and "eip-" in listing
    assert main(["models"]) == 0
    assert "smollm2-135m-instruct" in capsys.readouterr().out


def test_validate_reports_lengths_and_rejects_bad_folders(capsys, tmp_path):
    assert main(["validate", str(BUNDLED)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["counts"]["triplets"] == 90
    assert main(["validate", str(tmp_path)]) == 1
    assert "triplets_filtered.json: cannot read" in capsys.readouterr().err


def test_evidence_needs_a_repository(capsys):
    assert main(["evidence"]) == 2
    assert "--elb-repo" in capsys.readouterr().err


def test_claims_are_checked_and_quantities_listed(capsys):
    assert main(["claims"]) == 0
    assert "registry valid" in capsys.readouterr().out
    assert main(["quantities"]) == 0
    listing = capsys.readouterr().out
    assert "validation.layer_sweep.cos_cognitive_affective@L24" in listing and "pipeline_b.test_accuracy" in listing
