"""Loader parity gate: hooked Bridge activations must equal plain Hugging Face hidden_states."""
from __future__ import annotations

import torch

from elb.activations.extract import hook_names, pad_right, to_tokens
from elb.models.loading import LoadedModel


class ParityError(RuntimeError):
    """Hooked activations disagree with Hugging Face: no claim may be judged on them."""


def check_parity(model: LoadedModel, texts: list[str], blocks: list[int], tolerance: float = 1e-3) -> dict:
    """Compare blocks.L.hook_resid_post with HF hidden_states[L + 1] on `texts` (the extraction's tokens: BOS
    first, right-padded; real tokens only; both given the attention mask; before any residual centring).

    The last block is compared only through earlier ones: HF applies the final norm to its last entry.
    Returns the worst relative difference per block; raises ParityError above `tolerance`.
    """
    checked = [b for b in blocks if b < model.n_layers - 1] or [0]
    device = next(model.hf_model.parameters()).device
    rows = to_tokens(model, texts)
    ids, mask = (t.to(device) for t in pad_right(rows, max(map(len, rows)), model.tokenizer.pad_token_id))
    with torch.inference_mode():
        hidden = model.hf_model.base_model(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
        _, cache = model.bridge.run_with_cache(ids, attention_mask=mask, names_filter=hook_names(checked),
                                               stop_at_layer=max(checked) + 1)
    real = mask.bool()
    worst = {}
    for block, name in zip(checked, hook_names(checked)):
        reference = hidden[block + 1][real].float()
        difference = (cache[name][real].float() - reference).abs().max().item()
        worst[f"blocks.{block}"] = difference / max(reference.abs().max().item(), 1e-6)
    failing = {k: v for k, v in worst.items() if v > tolerance}
    if failing:
        raise ParityError(f"hooked activations differ from HF hidden_states beyond {tolerance:g} (relative): {failing}")
    return {"tolerance": tolerance, "max_relative_difference": worst}
