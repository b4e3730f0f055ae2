"""`pytest claims/` as a user runs it: verdicts as outcomes, a summary line, and the opt-in failing verdicts."""
from __future__ import annotations

import json
import subprocess
import sys

import yaml

from test_report import PROVENANCE

from conftest import ROOT


def _claims_run(tmp_path, *options: str) -> subprocess.CompletedProcess:
    artifacts = tmp_path / "artifacts"
    (artifacts / "models" / "smollm2").mkdir(parents=True)
    row = {"quantity": "null.empathy_z", "value": 3.0, "ci_low": 2.5, "ci_high": 3.5, "interval": "t", "n": 90,
           "inputs": "i", "p_above": 0.01, "p_below": 1.0, "null_mean": 0.0, "null_sd": 1.0, "null_n": 99,
           "details": {}}
    (artifacts / "models" / "smollm2" / "measurements.json").write_text(json.dumps({"provenance": PROVENANCE, "measurements": [row]}))
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params.update(artifacts_dir=str(artifacts), reports_dir=str(tmp_path / "reports"))
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    return subprocess.run([sys.executable, "-m", "pytest", str(ROOT / "claims"), "-q", "-p", "no:cacheprovider",
                           "--params", str(tmp_path / "params.yaml"), *options],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_verdicts_are_outcomes_not_passes_and_end_with_a_count_line(tmp_path):
    result = _claims_run(tmp_path, "-k", "null-empathy-above-null or pipeline-b-accuracy or eip-")
    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stdout[-2000:]
    assert any(line.startswith("claims on <b>model</b>: 1 HOLDS, 0 FAILS, 0 INCONCLUSIVE") for line in lines)
    assert "passed" not in lines[-1] and "1 holds" in lines[-1] and "unmeasurable" in lines[-1], lines[-1]


def test_chosen_verdicts_fail_the_run(tmp_path):
    result = _claims_run(tmp_path, "-k", "pipeline-b-accuracy", "--claims-fail-on", "FAILS,ERROR")
    assert result.returncode == 1 and "ERROR: quantity 'pipeline_b.test_accuracy' is missing" in result.stdout

