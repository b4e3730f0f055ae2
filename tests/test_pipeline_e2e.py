"""End to end: `dvc repro` of a clean clone on the default shipped model writes a report judging every Phase 2 claim,
with the measured values of the committed report when that report was made by the same code, data and params."""
from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import ROOT

BOOTSTRAP = 50  # fewer resamples keep CI short; every other knob as shipped
# Absolute tolerance on each measured value: given code, data, params (seed included), packages, numeric libraries
# and threads, every value is deterministic (the bootstrap count moves intervals only), so 1e-6 is float noise.
VALUE_TOLERANCE = 1e-6
MEASURING_STAGES = ("activations", "measures", "eip_activations", "eip_measures", "eip_steering", "council_activations",
                    "council_measures", "phase1_activations", "phase1_measures")  # their code, data and params decide every measured value
MODEL_KEYS = tuple(yaml.safe_load((ROOT / "params.yaml").read_text())["models"])


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict[str, Any]:
    """The committed report and dvc.lock of a clean clone, then `dvc repro` there."""
    clone = tmp_path_factory.mktemp("e2e") / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    report = clone / "reports" / "claims.json"  # absent when the last run before the commit did not complete
    committed = {"report": report.read_bytes() if report.exists() else None,
                 "lock": yaml.safe_load((clone / "dvc.lock").read_text())}
    params = yaml.safe_load((clone / "params.yaml").read_text())
    params["analysis"]["bootstrap"] = BOOTSTRAP
    (clone / "params.yaml").write_text(yaml.safe_dump(params))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(["dvc", "repro"], cwd=clone, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return {"clone": clone, "env": env, "committed": committed}


@pytest.mark.e2e
def test_dvc_repro_on_default_model(run):
    clone, env = run["clone"], run["env"]
    (report,) = json.loads((clone / "reports" / "claims.json").read_text())["models"]  # the default grid: one model
    assert report["model"] == "smollm2-135m-instruct"
    phase2 = [c for c in report["claims"] if c["id"].startswith("elb-p2-") and c["quantity"]]  # the clone's registry
    assert phase2
    for claim in phase2:
        verdict = claim["verdict"]
        assert verdict["verdict"] in {"HOLDS", "FAILS", "INCONCLUSIVE", "SKIPPED"}, verdict
        if claim["scope"] == "any_model":
            assert verdict["verdict"] != "SKIPPED" and verdict["measured"]["ci_low"] is not None
    provenance = report["provenance"]["activations"]
    assert provenance["model"]["weights_sha256"].startswith("b179c952")
    assert max(provenance["loader_parity"]["max_relative_difference"].values()) <= 1e-3
    assert (clone / "reports" / "claims.html").read_text().count("<tr id=") == len(report["claims"])
    # re-judging needs no recomputation; the pytest view reports verdicts, not passes
    rerun = subprocess.run([sys.executable, "-m", "pytest", "claims/", "-q", "-p", "no:cacheprovider",
                            "-k", "pipeline-b-accuracy"], cwd=clone, env=env, capture_output=True, text=True)
    assert rerun.returncode == 0 and "claims on smollm2-135m-instruct:" in rerun.stdout, rerun.stdout[-2000:]
    assert " passed" not in rerun.stdout.splitlines()[-1], rerun.stdout[-500:]
    status = subprocess.run(["dvc", "status"], cwd=clone, env=env, capture_output=True, text=True).stdout
    assert "measures@" not in status and "activations@" not in status, status


@pytest.mark.e2e
def test_a_clean_clone_measures_the_committed_values(run):
    """Every measured value of the committed reports/claims.json, within VALUE_TOLERANCE, when that report was made
    by the same code, data, params (bootstrap aside), packages and numeric libraries as this run."""
    clone, committed = run["clone"], run["committed"]
    fresh = json.loads((clone / "reports" / "claims.json").read_text())
    fresh_lock = yaml.safe_load((clone / "dvc.lock").read_text())
    reason = _not_comparable(committed["report"], committed["lock"], fresh, fresh_lock)
    if reason:
        pytest.skip(f"committed report not comparable: {reason}")
    then, now = _values(json.loads(committed["report"])), _values(fresh)
    assert then.keys() == now.keys()
    far = {q: (then[q], now[q]) for q in then if not _close(then[q], now[q])}
    assert not far, f"measured values differ from the committed report by more than {VALUE_TOLERANCE}: {far}"


def _not_comparable(report: bytes | None, lock: dict, fresh: dict, fresh_lock: dict) -> str | None:
    """Why the committed report cannot be compared with this run; None when it can."""
    if report is None:
        return "no reports/claims.json is committed"
    recorded = {out["path"]: out["md5"] for out in lock["stages"].get("report", {}).get("outs", [])}
    if recorded.get("reports/claims.json") != hashlib.md5(report).hexdigest():
        return "reports/claims.json is not the output the committed dvc.lock records for the report stage"
    for stage in (f"{name}@{key}" for name in MEASURING_STAGES for key in MODEL_KEYS):
        if _inputs(lock, stage) != _inputs(fresh_lock, stage):
            return f"the committed dvc.lock records other code, data or params for stage {stage!r}"
    then, now = json.loads(report)["models"][0]["provenance"], fresh["models"][0]["provenance"]
    for key in ("python", "packages", "numeric"):
        for level, this, that in (("measures", then, now), ("activations", then["activations"], now["activations"])):
            if this.get(key) != that.get(key):
                return f"{level} {key} differ: {this.get(key)} vs {that.get(key)}"
    return None


def _inputs(lock: dict, stage: str) -> dict:
    """A stage's recorded deps (pipeline artifacts aside: they carry timestamps) and params, bootstrap aside."""
    entry = lock["stages"].get(stage, {})
    deps = {dep["path"]: dep.get("md5") for dep in entry.get("deps", []) if not dep["path"].startswith("artifacts/")}
    params = copy.deepcopy(entry.get("params", {}))
    params.get("params.yaml", {}).get("analysis", {}).pop("bootstrap", None)
    return {"deps": deps, "params": params}


def _values(report: dict) -> dict[tuple[str, str], float | None]:
    return {(m["key"], c["quantity"]): c["verdict"]["measured"]["value"] for m in report["models"]
            for c in m["claims"] if c["verdict"]["measured"]}


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None or math.isnan(a) or math.isnan(b):
        return (a is None or math.isnan(a)) and (b is None or math.isnan(b))
    return abs(a - b) <= VALUE_TOLERANCE
