"""The pipeline's dependencies follow params: the configured data folder, the model's weights, every param."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from dvc.repo import Repo

from elb.datasets.spec import TRIPLETS
from elb.stages import model_identity

from conftest import BUNDLED, ROOT

STAGES = ("validate_data", "model_identity", "activations")


def copy_project(folder: Path, stages: dict[str, dict]) -> None:
    """The package, the bundled data as `mydata/`, a local model folder `local_models/m` and these dvc.yaml stages
    in `folder` (the current directory, with ELB_CACHE_DIR beside it)."""
    shutil.copytree(ROOT / "elb", folder / "elb", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(BUNDLED, folder / "mydata")
    model = folder / "local_models" / "m"
    model.mkdir(parents=True)
    (model / "config.json").write_text('{"num_hidden_layers": 2}')
    (model / "model.safetensors").write_bytes(b"weights v1")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params.update(data_dir="mydata")
    params["eip"].update(data_dir="mydata/eip", rated_texts="mydata/eip/rated_texts.json")
    params["models"] = {"m": {"name": "local_models/m"}}
    (folder / "params.yaml").write_text(yaml.safe_dump(params))
    (folder / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}))


def repo_stages(*names: str) -> dict[str, dict]:
    return {name: yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"][name] for name in names}


@pytest.fixture()
def project(tmp_path, monkeypatch):
    """A DVC project with the repo's first stages, data in `mydata/`, a local model folder, outputs committed."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ELB_CACHE_DIR", str(tmp_path / "cache"))
    copy_project(tmp_path, repo_stages(*STAGES))
    (tmp_path / "artifacts" / "models" / "m" / "activations").mkdir(parents=True)
    (tmp_path / "artifacts" / "models" / "m" / "activations" / "index.csv").write_text("stand-in\n")
    (tmp_path / "artifacts" / "dataset_report.json").write_text("{}")
    model_identity.run("params.yaml")
    Repo.init(str(tmp_path), no_scm=True)
    Repo(str(tmp_path)).commit(force=True)
    assert _status(tmp_path) == {"model_identity@m": ["always changed"]}
    return tmp_path


def _status(folder) -> dict:
    return Repo(str(folder)).status()


def _changed_deps(status: dict, stage: str) -> dict:
    return {k: v for entry in status.get(stage, []) if isinstance(entry, dict)
            for k, v in entry.get("changed deps", {}).items()}


def test_editing_a_non_default_data_dir_makes_its_stages_stale(project):
    path = project / "mydata" / TRIPLETS.filename
    payload = json.loads(path.read_text())
    payload["triplets"][0]["cognitive"] += " Edited."
    path.write_text(json.dumps(payload))
    status = _status(project)
    assert _changed_deps(status, "validate_data") == {"mydata": "modified"}
    assert _changed_deps(status, "activations@m") == {"mydata": "modified"}


def test_changed_weights_in_a_local_model_folder_make_activations_stale(project):
    (project / "local_models" / "m" / "model.safetensors").write_bytes(b"weights v2")
    model_identity.run("params.yaml")  # what `dvc repro` runs first (the stage is always_changed)
    assert _changed_deps(_status(project), "activations@m") == {"artifacts/models/m/model_identity.json": "modified"}


def test_unchanged_weights_leave_activations_up_to_date(project):
    model_identity.run("params.yaml")
    assert "activations@m" not in _status(project)


def test_any_params_key_is_tracked_so_a_typo_reaches_validation(project):
    (project / "params.yaml").write_text((project / "params.yaml").read_text() + "sedd: 7\n")
    changed = _changed_deps(_status(project), "validate_data")
    assert changed == {"params.yaml": {"sedd": "new"}}


def test_the_lock_hashes_the_data_files_git_holds_and_nothing_else():
    """DVC hashes every file under data_dir, ignored ones included: authoring leftovers once hidden there by
    .gitignore (`_parts/`) made dvc.lock record 8 files where git holds 3, so a clean clone never matched the lock."""
    def git(*args: str) -> list[str]:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()

    folder = str(BUNDLED.relative_to(ROOT))
    assert git("ls-files", "--others", "--ignored", "--exclude-standard", folder) == []
    lock = yaml.safe_load((ROOT / "dvc.lock").read_text())
    recorded = {dep["nfiles"] for stage in lock["stages"].values() for dep in stage.get("deps", [])
                if dep["path"] == folder}
    tracked = len(git("ls-files", folder))
    assert recorded == {tracked}, f"dvc.lock records {recorded} files under {folder}, git holds {tracked}: `dvc repro`"
