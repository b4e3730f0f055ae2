"""A report describes one completed run: a failed run leaves no earlier report looking current, the report stage
refuses artifacts from different runs, and a verdict resting on unconverged probe fits says so."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml
from jinja2 import ChainableUndefined

from elb.config import AnalysisConfig, Params
from elb.io import REPORT_OUTPUTS
from elb.measures.phase2 import Probed, pairwise_auroc
from elb.report.render import _environment
from elb.stages import validate_data
from elb.stages.report import check_one_run

from test_reliability_dvc import copy_project, repo_stages

MEASURED = "artifacts/measurements.json"

STAND_IN = f"""import pathlib, sys
if sys.argv[1] == "measures":  # fails on demand
    if pathlib.Path("switch.txt").read_text().strip() == "fail":
        sys.exit("measures failed")
    pathlib.Path("{MEASURED}").write_text("{{}}")
else:  # every report output of dvc.yaml in the folder argv[2]; a folder output (no suffix) gets one figure
    for name in {REPORT_OUTPUTS!r}:
        path = pathlib.Path(sys.argv[2], name)
        path = path / "a.png" if not path.suffix else path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("verdicts of this run")
"""


@pytest.fixture()
def project(tmp_path, monkeypatch):
    """The repo's first two stages (real), a stand-in measures stage that fails on demand, a stand-in report."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ELB_CACHE_DIR", str(tmp_path / "cache"))
    stages = repo_stages("validate_data", "model_identity", "report")
    outs = stages.pop("report")["outs"]
    assert [next(iter(out)) for out in outs] == [f"${{reports_dir}}/{name}" for name in REPORT_OUTPUTS]
    copy_project(tmp_path, {**stages, "measures": {"cmd": "python stand_in.py measures", "outs": [MEASURED],
                                                   "deps": ["artifacts/models/m/model_identity.json",
                                                            "switch.txt"]},
                            "report": {"cmd": "python stand_in.py report reports", "deps": [MEASURED], "outs": outs}})
    (tmp_path / "stand_in.py").write_text(STAND_IN)
    (tmp_path / "switch.txt").write_text("ok")
    subprocess.run(["git", "init", "-q"], check=True)
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], check=True)
    return tmp_path


def _repro(folder: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run([sys.executable, "-m", "dvc", "repro"], cwd=folder, env=env, capture_output=True, text=True)


def _reports(folder: Path) -> list[str]:
    return sorted(path.name for path in (folder / "reports").iterdir() if path.name != "figures" or any(path.iterdir()))


def test_a_failed_run_leaves_no_earlier_report_and_a_completed_one_recreates_it(project):
    first = _repro(project)
    assert first.returncode == 0, first.stdout + first.stderr
    assert _reports(project) == sorted(REPORT_OUTPUTS)
    again = _repro(project)  # nothing changed: the report, retracted as the run starts, is written again
    assert again.returncode == 0 and _reports(project) == sorted(REPORT_OUTPUTS), again.stdout + again.stderr
    (project / "switch.txt").write_text("fail")
    failed = _repro(project)
    assert failed.returncode != 0 and "measures failed" in failed.stderr
    assert _reports(project) == [], "a failed run left the previous run's verdicts in reports/"


def test_invalid_params_retract_the_report_before_failing(tmp_path):
    reports = tmp_path / "reports"
    (tmp_path / "stand_in.py").write_text(STAND_IN)
    subprocess.run([sys.executable, str(tmp_path / "stand_in.py"), "report", str(reports)], check=True)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"reports_dir": str(reports), "sedd": 7}))
    with pytest.raises(ValueError, match="sedd: unknown key"):
        validate_data.run(str(path))
    assert not list(reports.iterdir())


def _made(params: Params, data: dict[str, str]) -> SimpleNamespace:
    """A judgement whose measurements were made with `params` on files with these hashes."""
    made = SimpleNamespace(seed=params.seed, analysis=params.analysis.model_dump(mode="json"),
                           activations=SimpleNamespace(data=data))
    return SimpleNamespace(provenance=made, eip_provenance=(), council_provenance=None, phase1_provenance=None)


def test_the_report_refuses_artifacts_of_different_runs():
    params, data = Params(), {"triplets_filtered.json": "a" * 64}
    check_one_run(params, _made(params, data), {"sha256": data})
    with pytest.raises(RuntimeError, match=r"data files \(dataset_report.json\): differs in triplets_filtered.json"):
        check_one_run(params, _made(params, data), {"sha256": {"triplets_filtered.json": "b" * 64}})
    edited = Params.model_validate({"seed": 7, "analysis": {"validation": {"auroc_folds": "pooled_shuffled"}}})
    with pytest.raises(RuntimeError, match=r"seed \(params.yaml\): measured with 42, now 7\n"
                                           r"  analysis \(params.yaml\): differs in validation"):
        check_one_run(edited, _made(params, data), {"sha256": data})


def test_the_report_refuses_eip_measurements_of_other_settings_or_another_model():
    params, data = Params(), {"triplets_filtered.json": "a" * 64}
    model = SimpleNamespace(model_dump=lambda: {"model": "m"})
    other = SimpleNamespace(model_dump=lambda: {"model": "n"})

    def eip_run(eip: dict, eip_model) -> SimpleNamespace:
        judged = _made(params, data)
        judged.provenance.activations.model = model
        judged.eip_provenance = (SimpleNamespace(analysis=eip, activations=SimpleNamespace(model=eip_model)),)
        return judged

    check_one_run(params, eip_run(params.eip.model_dump(mode="json"), model), {"sha256": data})
    fewer = Params.model_validate({"eip": {"steering": {"samples": 2}}}).eip.model_dump(mode="json")
    with pytest.raises(RuntimeError, match=r"EIP file 1: eip \(params.yaml\): differs in steering"):
        check_one_run(params, eip_run(fewer, model), {"sha256": data})
    with pytest.raises(RuntimeError, match=r"EIP file 1: model"):
        check_one_run(params, eip_run(params.eip.model_dump(mode="json"), other), {"sha256": data})


def test_the_report_refuses_council_measurements_of_other_settings_or_another_model():
    params, data = Params(), {"triplets_filtered.json": "a" * 64}
    model = SimpleNamespace(model_dump=lambda: {"model": "m"})

    def council_run(analysis: dict, council_model) -> SimpleNamespace:
        judged = _made(params, data)
        judged.provenance.activations.model = model
        judged.council_provenance = SimpleNamespace(analysis=analysis, activations=SimpleNamespace(model=council_model))
        return judged

    check_one_run(params, council_run(params.analysis.model_dump(mode="json"), model), {"sha256": data})
    fewer = Params.model_validate({"analysis": {"council": {"intervention_texts": 4}}}).analysis.model_dump(mode="json")
    with pytest.raises(RuntimeError, match=r"council rounds 2-4: settings \(params.yaml\): differs in council"):
        check_one_run(params, council_run(fewer, model), {"sha256": data})
    other = SimpleNamespace(model_dump=lambda: {"model": "n"})
    with pytest.raises(RuntimeError, match=r"council rounds 2-4: model"):
        check_one_run(params, council_run(params.analysis.model_dump(mode="json"), other), {"sha256": data})


def test_the_report_refuses_phase1_measurements_of_other_settings():
    params, data = Params(), {"triplets_filtered.json": "a" * 64}
    model = SimpleNamespace(model_dump=lambda: {"model": "m"})
    judged = _made(params, data)
    judged.provenance.activations.model = model
    other = Params.model_validate({"phase1": {"steering": {"new_tokens": 32}}}).phase1.model_dump(mode="json")
    judged.phase1_provenance = SimpleNamespace(analysis=other, activations=SimpleNamespace(model=model))
    with pytest.raises(RuntimeError, match=r"ELB Phase 1: settings \(params.yaml\): differs in steering"):
        check_one_run(params, judged, {"sha256": data})


def test_the_report_notes_unconverged_fits_beside_the_verdict():
    rng = np.random.default_rng(0)
    data = Probed(rng.normal(size=(30, 4)), np.repeat(np.array(["a", "b", "c"]), 10), ("a", "b", "c"), "synthetic")
    measured = pairwise_auroc(data, AnalysisConfig(validation={"max_iter": 1}), seed=0)[0].row()
    row = {"claim": {"id": "c", "quantity": measured["quantity"], "published": {}, "source": {}},
           "verdict": {"verdict": "HOLDS", "measured": measured, "reason": "r"}, "pins": {}, "evidence": []}
    env = _environment()
    env.undefined = ChainableUndefined  # only what the verdict cell reads is given
    for template in ("claims.md.j2", "claims.html.j2"):
        model = {"key": "m", "model": "m", "rows": [row], "summary": {}, "panel": {}, "provenance": {}, "figures": []}
        page = env.get_template(template).render(models=[model], matrix=[], counts={"m": {}}, confidence=0.95)
        assert "15 of 15 lbfgs fits did not converge (max_iter 1)" in page, template


def test_an_evidence_audit_of_since_edited_published_files_is_refused(tmp_path):
    from elb.models.registry import sha256_of
    from elb.stages.report import check_evidence_current

    repo = tmp_path / "elb"
    (repo / "results").mkdir(parents=True)
    stored = repo / "results" / "probe.json"
    stored.write_text('{"accuracy": 0.981}')
    evidence = {"provenance": {"repositories": {"ELB": str(repo), "EIP": None},
                               "files_sha256": {"ELB": {"results/probe.json": sha256_of(stored)}}}}
    check_evidence_current(evidence)  # unchanged: accepted
    stored.write_text('{"accuracy": 0.5}')
    with pytest.raises(RuntimeError, match=r"evidence audit is stale: 1 published file.*rerun `elb evidence`"):
        check_evidence_current(evidence)
