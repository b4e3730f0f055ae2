"""Batched residual-stream extraction through a TransformerBridge, stopping after the deepest needed block."""
from __future__ import annotations

import warnings
from typing import Any

import torch
from tqdm.auto import tqdm

from elb.activations.pooling import POOLINGS
from elb.models.loading import LoadedModel


def hook_names(blocks: list[int]) -> list[str]:
    return [f"blocks.{block}.hook_resid_post" for block in blocks]


def warn_truncated(tokenizer: Any, texts: list[str], ids: list[str], max_tokens: int) -> int:
    """Warn for each text longer than `max_tokens` tokens, naming its id and token count; return how many."""
    lengths = [len(tokens) for tokens in tokenizer(texts)["input_ids"]]
    for text_id, length in zip(ids, lengths):
        if length > max_tokens:
            warnings.warn(f"text {text_id}: {length} tokens, truncated to activations.max_tokens = {max_tokens}",
                          stacklevel=2)
    return sum(length > max_tokens for length in lengths)


def extract(model: LoadedModel, texts: list[str], blocks: list[int], batch_size: int, max_tokens: int,
            poolings: tuple[str, ...] = tuple(POOLINGS),
            description: str = "activations") -> tuple[dict[str, torch.Tensor], list[int]]:
    """Pooled resid_post activations {pooling: float32 [n_texts, len(blocks), d_model]} (CPU), and token counts.

    Texts keep their order and batch composition (padding-inclusive pooling depends on it). The LM head
    is never computed: the forward pass stops after block max(blocks).
    """
    if not blocks or min(blocks) < 0 or max(blocks) >= model.n_layers:
        raise ValueError(f"blocks {blocks} outside 0..{model.n_layers - 1}")
    names = hook_names(blocks)
    device = next(model.bridge.parameters()).device
    pooled: dict[str, list[torch.Tensor]] = {name: [] for name in poolings}
    n_tokens: list[int] = []
    for start in tqdm(range(0, len(texts), batch_size), desc=description, unit="batch", leave=False):
        batch = model.tokenizer(texts[start:start + batch_size], return_tensors="pt", padding=True,
                                truncation=True, max_length=max_tokens)
        ids, mask = batch["input_ids"].to(device), batch["attention_mask"].to(device)
        n_tokens += mask.sum(dim=1).tolist()
        with torch.inference_mode():
            _, cache = model.bridge.run_with_cache(ids, attention_mask=mask, names_filter=names,
                                                   stop_at_layer=max(blocks) + 1)
        stacked = torch.stack([cache[name] for name in names], dim=1).float()  # [b, layers, tokens, d]
        for pooling in poolings:
            per_layer = [POOLINGS[pooling](stacked[:, i], mask) for i in range(len(names))]
            pooled[pooling].append(torch.stack(per_layer, dim=1).cpu())
    return {pooling: torch.cat(chunks) for pooling, chunks in pooled.items()}, n_tokens
