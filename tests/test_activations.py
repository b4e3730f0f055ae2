"""Pooling on hand-computable tensors; batched extraction equals one-by-one on a real tiny model."""
from __future__ import annotations

import pytest
import torch

from elb.activations.extract import extract
from elb.activations.pooling import last_token, mean_real_tokens, mean_with_padding, mean_with_padding_masked
from elb.activations.store import ActivationSet, load_set, save_set

HIDDEN = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]],
                       [[10.0, 0.0], [20.0, 0.0], [99.0, 99.0]]])
MASK = torch.tensor([[1, 1, 1], [1, 1, 0]])
TEXTS = ["One short text.", "A much longer text that needs several more tokens than the first.",
         "Middle length text here.", "x"]


def test_poolings_by_hand():
    assert torch.equal(mean_real_tokens(HIDDEN, MASK), torch.tensor([[3.0, 4.0], [15.0, 0.0]]))
    assert torch.equal(mean_with_padding(HIDDEN, MASK), torch.tensor([[3.0, 4.0], [43.0, 33.0]]))
    assert torch.equal(mean_with_padding_masked(HIDDEN, MASK), mean_with_padding(HIDDEN, MASK))  # differs upstream
    assert torch.equal(last_token(HIDDEN, MASK), torch.tensor([[5.0, 6.0], [20.0, 0.0]]))
    left = torch.tensor([[0, 1, 1]])
    assert torch.equal(last_token(HIDDEN[:1], left), torch.tensor([[5.0, 6.0]]))


def test_batched_equals_one_by_one(tiny_model):
    batched, counts = extract(tiny_model, TEXTS, [0, 1], batch_size=4, max_tokens=64)
    single = [extract(tiny_model, [text], [0, 1], batch_size=1, max_tokens=64)[0] for text in TEXTS]
    for pooling in ("mean", "last_token"):
        stacked = torch.cat([s[pooling] for s in single])
        torch.testing.assert_close(batched[pooling], stacked, rtol=1e-4, atol=1e-5)
    assert batched["mean"].shape == (4, 2, 16) and counts[3] < counts[1]
    # padding-inclusive means differ exactly where a text was padded
    assert not torch.allclose(batched["mean_with_padding"][0], single[0]["mean_with_padding"][0])


def test_truncation_and_block_range(tiny_model):
    _, counts = extract(tiny_model, TEXTS[:2], [1], batch_size=2, max_tokens=8)
    assert max(counts) == 8
    with pytest.raises(ValueError, match="outside"):
        extract(tiny_model, TEXTS, [2], batch_size=2, max_tokens=8)


def test_lm_head_is_never_computed(tiny_model, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("LM head called")

    handle = tiny_model.hf_model.lm_head.register_forward_hook(refuse)
    try:
        extract(tiny_model, TEXTS[:2], [0], batch_size=2, max_tokens=16)
    finally:
        handle.remove()


def test_store_round_trip(tmp_path):
    data = ActivationSet({"mean": torch.arange(12, dtype=torch.float32).reshape(2, 2, 3)}, ["a", "b"], [3, 7],
                         {"text_format": "x"})
    save_set(tmp_path, "pipeline", data)
    loaded = load_set(tmp_path, "pipeline")
    assert loaded.text_ids == ["a", "b"] and loaded.blocks == [3, 7]
    assert loaded.at("mean", 7, rows=["b"]).tolist() == [[9.0, 10.0, 11.0]]
    with pytest.raises(KeyError, match="lack text ids"):
        loaded.at("mean", 7, rows=["zzz"])
