"""Every DVC stage module takes an optional params.yaml path on its command line (`python -m elb.stages.X P`), and
every per-model stage the key of one model of the grid after it (`python -m elb.stages.X P KEY`, as dvc.yaml's
foreach calls it)."""
from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest
import yaml

import elb.stages

from conftest import BUNDLED, ROOT

STAGES = [module.name for module in pkgutil.iter_modules(elb.stages.__path__)]


GLOBAL_STAGES = ("validate_data", "report")  # one per run; every other stage runs once per model


@pytest.mark.parametrize("stage", STAGES)
def test_stage_module_hands_its_argument_to_run(stage):
    source = (ROOT / "elb" / "stages" / f"{stage}.py").read_text()
    assert 'if __name__ == "__main__":\n    run(*sys.argv[1:])' in source, stage
    per_model = 'def run(params_path: str = "params.yaml", model: str | None = None) -> Path:' in source
    assert per_model == (stage not in GLOBAL_STAGES), stage


def test_dvc_yaml_calls_every_per_model_stage_with_its_model_key():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name in set(STAGES) - {"__init__"}:
        entry = stages[name]
        if name in GLOBAL_STAGES:
            assert "foreach" not in entry, name
        else:
            assert entry["foreach"] == "${models}" and entry["do"]["cmd"].endswith(" params.yaml ${key}"), name


def test_a_stage_run_with_another_params_file_writes_where_that_file_says(tmp_path):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params.update(data_dir=str(BUNDLED), artifacts_dir=str(tmp_path / "elsewhere"), reports_dir=str(tmp_path / "r"))
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    subprocess.run([sys.executable, "-m", "elb.stages.validate_data", str(tmp_path / "params.yaml")], cwd=ROOT,
                   check=True, capture_output=True, timeout=300)
    assert (tmp_path / "elsewhere" / "dataset_report.json").exists()
