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


# --- against the physical limit ---------------------------------------------------------------------------------
ROOFLINE_TEXTS, TARGET_ROOFLINE, TARGET_VS_ONE_AT_A_TIME = 32, 0.85, 3.0


def matmul_peak(n: int = 1024, repeats: int = 20) -> float:
    """The machine's fp32 matmul rate (FLOP/s): best of `repeats` n x n products, on torch's own threads."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.matmul(a, b)  # warm-up
    best = min(_timed(lambda: torch.matmul(a, b)) for _ in range(repeats))
    return 2 * n ** 3 / best


def _timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def truncated_forward(model, texts: list[str], deepest: int) -> None:
    """The model body cut after block `deepest` (no LM head, no later blocks), same batches and real-token mask,
    pooled as ours pools (mean of real tokens, last token, padded mean)."""
    from elb.activations.extract import pad_right, to_tokens
    from elb.activations.pooling import POOLINGS
    from elb.activations.steering import decoder_blocks

    blocks = decoder_blocks(model.hf_model)
    kept = torch.nn.ModuleList(list(blocks)[:deepest + 1])
    base = model.hf_model.base_model
    name = next(n for n in ("layers", "h", "blocks") if getattr(base, n, None) is blocks)
    setattr(base, name, kept)
    try:
        rows = to_tokens(model, texts)
        for start in range(0, len(rows), BATCH):
            ids, mask = pad_right(rows[start:start + BATCH], 512, model.tokenizer.pad_token_id)
            with torch.inference_mode():
                hidden = base(input_ids=ids, output_hidden_states=True).hidden_states[-1].float()
            for pooling in ("mean", "last_token", "mean_with_padding"):
                POOLINGS[pooling](hidden, mask)
    finally:
        setattr(base, name, blocks)


def block_parameters(model, deepest: int) -> int:
    from elb.activations.steering import decoder_blocks

    return sum(p.numel() for block in list(decoder_blocks(model.hf_model))[:deepest + 1] for p in block.parameters())


def published_extraction(model, texts: list[str], blocks: list[int]) -> None:
    """The EIP scripts' extraction (`probe_extraction_cross_model.py`): for each layer, each text alone through the
    whole model (LM head included) with output_hidden_states, mean over its tokens."""
    for block in blocks:
        for text in texts:
            inputs = model.hf_tokenizer(text, return_tensors="pt", truncation=True, max_length=512)
            with torch.inference_mode():
                model.hf_model(**inputs, output_hidden_states=True).hidden_states[block + 1].mean(dim=1)


MATMULS = ("aten::mm", "aten::addmm")  # the parameter matmuls (attention's bmm is not in the FLOP count)


def profile_split(model, texts: list[str], blocks: list[int], peak: float,
                  padded: int) -> tuple[float, float, float, str]:
    """Our extraction of `texts` (`padded` tokens computed) under the profiler: the share of its wall time spent in
    operators (the rest: Python, hooks), the parameter matmuls' share of the operator time, their FLOP rate on every
    computed token as a share of `peak`, and the top of the table."""
    from elb.activations.extract import extract

    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profile:
        wall = _timed(lambda: extract(model, texts, blocks, BATCH, 512))
    events = profile.key_averages()
    total = sum(e.self_cpu_time_total for e in events) / 1e6
    matmul = sum(e.self_cpu_time_total for e in events if e.key in MATMULS) / 1e6
    rate = 2 * block_parameters(model, max(blocks)) * padded / matmul
    return min(total / wall, 1.0), matmul / total, rate / peak, events.table(sort_by="self_cpu_time_total", row_limit=8)


@pytest.mark.slow
def test_extraction_against_the_roofline(benchmark, default_model):
    """Our extraction, a truncated plain forward, the EIP scripts' one-text-at-a-time extraction and the fp32 matmul
    peak, all measured in this run: real-token FLOP rate (2 x parameters of the blocks run, per token) as a share of
    the peak, and the speed ratios; a profile of the same extraction splits the gap to the peak into padding, the time outside
    the matmuls, and the matmuls' own rate."""
    from elb.activations.extract import extract, pad_right, to_tokens

    texts = format_texts(load_texts(BUNDLED).head(ROOFLINE_TEXTS), "validation")
    blocks = sorted({map_layer(layer, 32, default_model.n_layers).block for layer in (4, 8, 12, 16, 20, 24)})
    deepest = max(blocks)
    rows = to_tokens(default_model, texts)
    tokens = sum(min(len(row), 512) for row in rows)
    padded = sum(pad_right(rows[i:i + BATCH], 512, 0)[0].numel() for i in range(0, len(rows), BATCH))
    flops = 2 * block_parameters(default_model, deepest) * tokens
    ours = benchmark.pedantic(extract, args=(default_model, texts, blocks, BATCH, 512), rounds=ROUNDS, iterations=1)
    if benchmark.disabled:
        pytest.skip("benchmarks disabled (--benchmark-disable): no ratio to report")
    ours_s = benchmark.stats.stats.median
    plain_s = statistics.median(_timed(lambda: truncated_forward(default_model, texts, deepest)) for _ in range(ROUNDS))
    one_s = statistics.median(_timed(lambda: extract(default_model, texts, blocks, 1, 512)) for _ in range(ROUNDS))
    published_s = _timed(lambda: published_extraction(default_model, texts, blocks))  # one round: the slowest
    peak = matmul_peak()
    share, vs_published, vs_one = flops / ours_s / peak, published_s / ours_s, one_s / ours_s
    in_ops, matmul_time, matmul_rate, top = profile_split(default_model, texts, blocks, peak, padded)
    assert ours[0]["mean"].shape == (len(texts), len(blocks), default_model.d_model)
    benchmark.extra_info.update({"real_tokens": tokens, "padded_tokens": padded, "flops": flops, "peak_flops": peak,
                                 "roofline_share": share, "vs_truncated_forward": plain_s / ours_s,
                                 "vs_published_scripts": vs_published, "vs_ours_one_at_a_time": vs_one,
                                 "operator_time_share": in_ops, "matmul_time_share": matmul_time,
                                 "matmul_rate_share": matmul_rate})
    SUMMARY.extend([
        f"roofline ({len(texts)} texts, {tokens} real tokens, batch {BATCH}, blocks 0..{deepest}): ours "
        f"{flops / ours_s / 1e9:.1f} GFLOP/s of a {peak / 1e9:.1f} GFLOP/s fp32 matmul peak = {share:.0%} "
        f"(target {TARGET_ROOFLINE:.0%}); {plain_s / ours_s:.2f}x a truncated HF forward; {vs_published:.1f}x the EIP "
        f"scripts' extraction (a full forward per text and layer; target {TARGET_VS_ONE_AT_A_TIME:g}x); "
        f"{vs_one:.2f}x ours one text at a time",
        f"the gap to the peak: real tokens {tokens / padded:.0%} of those computed (padding) x operators "
        f"{in_ops:.0%} of the wall time (the rest: Python, hooks) x matmuls {matmul_time:.0%} of the operator time "
        f"(the rest: norms, rotary, activation, softmax) x matmuls at {matmul_rate:.0%} of the peak = "
        f"{tokens / padded * in_ops * matmul_time * matmul_rate:.0%} (under the profiler)",
        "profile of ours (self CPU time):", *top.splitlines()])
    assert plain_s / ours_s > 0.8, "our extraction fell behind a plain truncated forward of the same batches"
    assert vs_published >= TARGET_VS_ONE_AT_A_TIME, "no longer 3x the published one-text-at-a-time extraction"
    assert vs_one > 1.0, "batching no longer pays against one text at a time"
