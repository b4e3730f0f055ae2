"""params.yaml is validated whole, fast and by key name, by `elb params` and by every stage before it works."""
from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
import time

import pytest
import yaml

import elb.stages
from elb.cli import main
from elb.config import Params, fields, load_params

from conftest import ROOT

STAGE_MODULES = sorted(m.name for m in pkgutil.iter_modules(elb.stages.__path__))


def _params_file(tmp_path, edit) -> str:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    edit(params)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return str(path)


def test_a_top_level_typo_fails_in_under_5_seconds_naming_file_and_key(tmp_path):
    path = _params_file(tmp_path, lambda p: p.update(sedd=7))
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "elb.cli", "params", "--params", path],
                            capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    assert result.returncode == 1 and elapsed < 5, elapsed
    assert f"{path}: invalid parameters" in result.stderr and "sedd: unknown key" in result.stderr


@pytest.mark.parametrize("stage", STAGE_MODULES)
def test_every_stage_validates_the_whole_params_file_before_working(stage, tmp_path, monkeypatch):
    path = _params_file(tmp_path, lambda p: p.update(sedd=7))
    module = importlib.import_module(f"elb.stages.{stage}")
    monkeypatch.chdir(tmp_path)  # nothing a stage could find or write here
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"(?s)params\.yaml: invalid parameters.*sedd: unknown key"):
        module.run(path)
    assert time.perf_counter() - start < 5
    assert [p.name for p in tmp_path.iterdir()] == ["params.yaml"]


def test_elb_params_lists_every_field_with_value_and_description(capsys):
    assert main(["params", "--params", str(ROOT / "params.yaml")]) == 0
    lines = capsys.readouterr().out.splitlines()
    listed = fields(load_params(ROOT / "params.yaml"))
    assert len(lines) == len(list(fields(Params())))
    for line, (key, _, description) in zip(lines, listed):
        assert line.startswith(key) and line.endswith(description) and description


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda p: p["analysis"]["validation"].update(layers=[4, 99]),
         "analysis.validation.layers[1] = 99 is outside 0..31 (activations.reference_n_layers = 32)"),
        (lambda p: p["analysis"]["pipeline_b"].update(layer=32), "analysis.pipeline_b.layer = 32 is outside 0..31"),
        (lambda p: p["analysis"]["validation"].update(layer=-1), "analysis.validation.layer = -1 is outside"),
        (lambda p: p["activations"].update(reference_n_layers=12), "analysis.pipeline_b.layer = 16 is outside 0..11"),
    ],
)
def test_out_of_range_layers_fail_at_validation_naming_the_key(tmp_path, edit, message):
    path = _params_file(tmp_path, edit)
    with pytest.raises(ValueError) as error:
        load_params(path)
    assert str(error.value).startswith(f"{path}: invalid parameters") and message in str(error.value)
