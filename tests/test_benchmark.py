"""Extraction speed against a plain Hugging Face forward with output_hidden_states, same texts and batch size."""
from __future__ import annotations

import statistics
import time

import pytest
import torch

from elb.activations.extract import extract
from elb.datasets.formatting import format_texts
from elb.datasets.loaders import load_texts
from elb.models.layers import map_layer

from conftest import BUNDLED, SUMMARY

ROUNDS, BATCH = 3, 8


def _hf_forward(model, texts: list[str]) -> None:
    for start in range(0, len(texts), BATCH):
        batch = model.tokenizer(texts[start:start + BATCH], return_tensors="pt", padding=True)
        with torch.inference_mode():
            model.hf_model(**batch, output_hidden_states=True)


@pytest.mark.slow
def test_extraction_vs_plain_hf_forward(benchmark, default_model):
    texts = format_texts(load_texts(BUNDLED).head(32), "validation")
    blocks = sorted({map_layer(layer, 32, default_model.n_layers).block for layer in (4, 8, 12, 16, 20, 24)})
    baseline = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        _hf_forward(default_model, texts)
        baseline.append(time.perf_counter() - start)
    benchmark.pedantic(extract, args=(default_model, texts, blocks, BATCH, 512), rounds=ROUNDS, iterations=1)
    if benchmark.disabled:
        pytest.skip("benchmarks disabled (--benchmark-disable): no ratio to report")
    ratio = benchmark.stats.stats.median / statistics.median(baseline)
    benchmark.extra_info.update({"baseline_median_s": statistics.median(baseline), "ratio_vs_hf_forward": ratio,
                                 "texts": len(texts), "batch_size": BATCH, "deepest_block": max(blocks)})
    SUMMARY.append(f"extraction / plain HF forward with output_hidden_states (median of {ROUNDS}, "
                   f"{len(texts)} texts, batch {BATCH}): {ratio:.2f}")
    assert ratio < 1.0, "extraction (no LM head, stops early, 3 poolings) should beat a full HF forward"
