"""Dataset validation knows every analysis's minimum sizes; written files are shareable, folders never partial."""
from __future__ import annotations

import json
import os
import shutil
import stat

import pytest
import yaml

from elb.cli import main
from elb.config import Params
from elb.datasets.loaders import DatasetError
from elb.datasets.quality import validated_report
from elb.datasets.spec import TRIPLETS
from elb.io import STAGING, staged_dir, write_text
from elb.stages import validate_data

from conftest import BUNDLED, ROOT


@pytest.fixture()
def five_triplets(tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(BUNDLED, folder)
    path = folder / TRIPLETS.filename
    payload = json.loads(path.read_text(encoding="utf-8"))
    kept = payload["triplets"][:5]
    payload["triplets"] = kept
    path.write_text(json.dumps(payload), encoding="utf-8")
    valence = folder / "controls_valence_stripped.json"
    payload = json.loads(valence.read_text(encoding="utf-8"))
    payload["items"] = [i for i in payload["items"] if i["triplet_id"] in {t["id"] for t in kept}]
    valence.write_text(json.dumps(payload), encoding="utf-8")
    return folder


def _params(**validation) -> Params:
    return Params.model_validate({"analysis": {"validation": validation}})


def test_five_triplets_fail_validation_naming_each_param_and_count(five_triplets):
    with pytest.raises(DatasetError) as error:
        validated_report(five_triplets, Params())
    message = str(error.value)
    assert message.startswith(f"{five_triplets}: too few items for the configured analyses")
    assert "analysis.validation.n_triplets = 30 needs 30 triplets items; the data have 5" in message
    assert "analysis.validation.auroc_triplets = 60 needs 60 triplets items; the data have 5" in message
    assert "analysis.validation.cv_folds = 5 needs 5 texts of each type" not in message  # 5 folds of 5 still work


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (_params(cv_folds=12, auroc_triplets=10),
         "analysis.validation.cv_folds = 12 needs 12 texts of each type among the first "
         "analysis.validation.auroc_triplets = 10 triplets; the data have 10"),
        (Params.model_validate({"analysis": {"pipeline_b": {"test_fraction": 0.005}}}),
         "analysis.pipeline_b.test_fraction = 0.005 splits 270 triplet texts into 2 and 268; "
         "each side needs at least 3"),
        (Params.model_validate({"analysis": {"pipeline_b": {"val_fraction": 0.99}}}),
         "analysis.pipeline_b.val_fraction = 0.99 splits 216 triplet texts into 214 and 2"),
        (_params(n_controls=61), "analysis.validation.n_controls = 61 needs 61 non_empathy items; the data have 60"),
    ],
)
def test_each_analysis_size_is_checked_against_the_data(params, message):
    with pytest.raises(DatasetError, match="too few items") as error:
        validated_report(BUNDLED, params)
    assert message in str(error.value)


def test_validate_data_stage_and_cli_reject_too_small_data_before_any_model(five_triplets, tmp_path, capsys):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params.update(data_dir=str(five_triplets), artifacts_dir=str(tmp_path / "artifacts"),
                  reports_dir=str(tmp_path / "reports"))
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    with pytest.raises(DatasetError, match="analysis.validation.n_triplets = 30"):
        validate_data.run(str(path))
    assert not (tmp_path / "artifacts").exists()
    assert main(["validate", str(five_triplets), "--params", str(path)]) == 1
    assert "analysis.validation.n_triplets = 30 needs 30 triplets items" in capsys.readouterr().err


def test_written_files_get_the_mode_a_plain_open_gives(tmp_path):
    previous = os.umask(0o022)
    try:
        write_text(tmp_path / "report.md", "shared")
        (tmp_path / "plain.md").write_text("plain")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "report.md").stat().st_mode) == 0o644
    assert (tmp_path / "report.md").stat().st_mode == (tmp_path / "plain.md").stat().st_mode


def test_staged_dir_replaces_the_target_only_on_success_and_leaves_nothing_behind(tmp_path):
    target = tmp_path / "activations"
    target.mkdir()
    (target / "old").write_text("old")
    with pytest.raises(RuntimeError), staged_dir(target) as staging:
        (staging / "new").write_text("half")
        raise RuntimeError("interrupted")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["activations"] and (target / "old").exists()
    with staged_dir(target) as staging:
        (staging / "new").write_text("complete")
    assert [p.name for p in target.iterdir()] == ["new"] and not (tmp_path / STAGING).exists()
