"""Batched residual-stream extraction through a TransformerBridge, stopping after the deepest needed block.

Tokens are built as every ELB Phase 2 script built them: TransformerLens `to_tokens(text, prepend_bos=True)`
(a BOS token first, whatever the tokenizer does by itself), right-padded batches in the given order.
"""
from __future__ import annotations

import warnings
from typing import Any

import torch
from torch.nn.utils.rnn import pad_sequence
from tqdm.auto import tqdm

from elb.activations.pooling import MASKED_FORWARD, POOLINGS, UNMASKED
from elb.models.loading import LoadedModel


def hook_names(blocks: list[int]) -> list[str]:
    """TransformerLens hook of each block's resid_post; block -1 is the embeddings (blocks.0.hook_resid_pre)."""
    return ["blocks.0.hook_resid_pre" if block < 0 else f"blocks.{block}.hook_resid_post" for block in blocks]


def to_tokens(model: LoadedModel, texts: list[str], prepend_bos: bool = True) -> list[torch.Tensor]:
    """Each text's untruncated token ids as TransformerLens `to_tokens(text, prepend_bos=...)` gives them."""
    return [model.bridge.to_tokens(text, prepend_bos=prepend_bos, move_to_device=False, truncate=False)[0]
            for text in texts]


def pad_right(rows: list[torch.Tensor], max_tokens: int, pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows cut to `max_tokens` and right-padded with `pad_id` into one batch, with the real-token mask."""
    rows = [row[:max_tokens] for row in rows]
    return (pad_sequence(rows, batch_first=True, padding_value=pad_id),
            pad_sequence([torch.ones_like(row) for row in rows], batch_first=True))


def tokenization(model: LoadedModel) -> dict[str, Any]:
    """How texts become tokens, for the provenance."""
    tokenizer, by_tokenizer = model.tokenizer, model.bridge.cfg.tokenizer_prepends_bos
    return {"method": "TransformerLens to_tokens(text, prepend_bos=True), right padding, no chat template",
            "bos": {"id": tokenizer.bos_token_id, "token": tokenizer.bos_token,
                    "added_by": "the tokenizer (add_bos_token=True)" if by_tokenizer else "to_tokens, as text"},
            "pad": {"id": tokenizer.pad_token_id, "token": tokenizer.pad_token}}


def warn_truncated(model: LoadedModel, texts: list[str], ids: list[str], max_tokens: int) -> int:
    """Warn for each text longer than `max_tokens` tokens (BOS included), naming its id; return how many."""
    lengths = [len(row) for row in to_tokens(model, texts)]
    for text_id, length in zip(ids, lengths):
        if length > max_tokens:
            warnings.warn(f"text {text_id}: {length} tokens, truncated to activations.max_tokens = {max_tokens}",
                          stacklevel=2)
    return sum(length > max_tokens for length in lengths)


def resid_post(model: LoadedModel, ids: torch.Tensor, mask: torch.Tensor | None, blocks: list[int]) -> torch.Tensor:
    """float32 resid_post [batch, len(blocks), tokens, d] from a forward given `mask` (None: no attention mask),
    mean-centred over d_model on models TransformerLens would centre (LayerNorm: center_writing_weights)."""
    names = hook_names(blocks)
    with torch.inference_mode():
        _, cache = model.bridge.run_with_cache(ids, attention_mask=mask, names_filter=names,
                                               stop_at_layer=max(blocks) + 1)
    return stacked_states(model, cache, names)


def stacked_states(model: LoadedModel, cache: Any, names: list[str]) -> torch.Tensor:
    """The cached states of `names` as float32 [batch, len(names), tokens, d], centred as `resid_post` says."""
    stacked = torch.stack([cache[name] for name in names], dim=1).float()
    return stacked - stacked.mean(dim=-1, keepdim=True) if model.centre_residual else stacked


def pool_batch(model: LoadedModel, ids: torch.Tensor, mask: torch.Tensor, blocks: list[int],
               poolings: tuple[str, ...]) -> dict[str, torch.Tensor]:
    """Each pooling [batch, len(blocks), d] of one batch; one forward per kind (masked or not) the poolings need."""
    out = {}
    for masked in {name in MASKED_FORWARD for name in poolings}:
        hidden = resid_post(model, ids, mask if masked else None, blocks)
        for name in (p for p in poolings if (p in MASKED_FORWARD) == masked):
            out[name] = torch.stack([POOLINGS[name](hidden[:, i], mask) for i in range(len(blocks))], dim=1).cpu()
    return out


def extract(model: LoadedModel, texts: list[str], blocks: list[int], batch_size: int, max_tokens: int,
            poolings: tuple[str, ...] = UNMASKED, description: str = "activations",
            prepend_bos: bool = True) -> tuple[dict[str, torch.Tensor], list[int]]:
    """Pooled resid_post activations {pooling: float32 [n_texts, len(blocks), d_model]} (CPU), and token counts.

    Batches are consecutive slices of `texts` in order (padding-inclusive pooling depends on them). The LM
    head is never computed: the forward pass stops after block max(blocks). `prepend_bos=False` drops the
    BOS token (TransformerLens semantics), which no published script did.
    """
    if not blocks or min(blocks) < 0 or max(blocks) >= model.n_layers:
        raise ValueError(f"blocks {blocks} outside 0..{model.n_layers - 1}")
    device = next(model.bridge.parameters()).device
    rows = to_tokens(model, texts, prepend_bos)
    pooled: dict[str, list[torch.Tensor]] = {name: [] for name in poolings}
    for start in tqdm(range(0, len(texts), batch_size), desc=description, unit="batch", leave=False):
        ids, mask = pad_right(rows[start:start + batch_size], max_tokens, model.tokenizer.pad_token_id)
        for name, tensor in pool_batch(model, ids.to(device), mask.to(device), blocks, poolings).items():
            pooled[name].append(tensor)
    return {name: torch.cat(chunks) for name, chunks in pooled.items()}, [min(len(r), max_tokens) for r in rows]


def hidden_states_pooled(model: LoadedModel, texts: list[str], indices: list[int], batch_size: int,
                         max_tokens: int, pooling: str = "mean", description: str = "texts") -> tuple[torch.Tensor, list[int]]:
    """A pooling (`mean` over real tokens, or `last_token`) of HF `hidden_states[i]` for each i in `indices`: float32
    [n_texts, len(indices), d] and token counts. Tokens are the model's own tokenizer defaults (its special tokens,
    truncation at `max_tokens`), as EIP's and ELB Phase 1's scripts fed one text at a time; batches are
    right-padded with the attention mask, which leaves every real position as in a single-text forward."""
    tokenizer, device = model.hf_tokenizer, next(model.hf_model.parameters()).device
    rows = [torch.tensor(tokenizer(text, truncation=True, max_length=max_tokens)["input_ids"]) for text in texts]
    pooled = []
    for start in tqdm(range(0, len(texts), batch_size), desc=description, unit="batch", leave=False):
        ids, mask = pad_right(rows[start:start + batch_size], max_tokens, tokenizer.pad_token_id or 0)
        with torch.inference_mode():
            hidden = model.hf_model.base_model(input_ids=ids.to(device), attention_mask=mask.to(device),
                                               output_hidden_states=True).hidden_states
        mask = mask.to(device)
        pooled.append(torch.stack([POOLINGS[pooling](hidden[i].float(), mask) for i in indices], dim=1).cpu())
    return torch.cat(pooled), [len(r) for r in rows]
