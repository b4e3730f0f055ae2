"""Forward passes of ELB council rounds 2 and 4 on the tokens `extract` builds: last-token states at every depth and
response-quartile means (TransformerBridge), and the forward-pass intervention (the HF model under the steering
hook, whose hidden states equal the bridge's resid_post: `check_parity`)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from elb.activations.extract import hook_names, pad_right, stacked_states, to_tokens
from elb.activations.pooling import last_token, response_quartile_means
from elb.activations.steering import decoder_blocks, steered
from elb.datasets.spec import EMPATHY_TYPES
from elb.models.loading import LoadedModel


def response_starts(model: LoadedModel, texts: list[str], prefixes: list[str]) -> list[int]:
    """Index of each text's first response token: the tokens it shares with its prefix (the text up to the
    response, BOS included), so a token merged across the boundary counts as the response's."""
    starts = []
    for full, prefix in zip(to_tokens(model, texts), to_tokens(model, prefixes)):
        shared = int((full[:len(prefix)] == prefix[:len(full)]).long().cumprod(0).sum())
        starts.append(shared)
    return starts


def every_state(model: LoadedModel, texts: list[str], batch_size: int, max_tokens: int, quartile_block: int | None,
                starts: list[int] | None = None,
                description: str = "texts") -> tuple[torch.Tensor, torch.Tensor | None, list[int]]:
    """Last-token states at every depth [texts, n_layers + 1, d] (0 = embeddings, i = resid_post of block i - 1),
    with `starts`, the response-quartile means at `quartile_block` [texts, 4, d]; and token counts. Right-padded
    batches without attention mask, as `extract` (real positions are unaffected)."""
    blocks = list(range(-1, model.n_layers))
    names, device = hook_names(blocks), next(model.bridge.parameters()).device
    rows = to_tokens(model, texts)
    lasts, quartiles = [], []
    for start in tqdm(range(0, len(texts), batch_size), desc=description, unit="batch", leave=False):
        ids, mask = pad_right(rows[start:start + batch_size], max_tokens, model.tokenizer.pad_token_id)
        ids, mask = ids.to(device), mask.to(device)
        with torch.inference_mode():
            _, cache = model.bridge.run_with_cache(ids, names_filter=names, stop_at_layer=model.n_layers)
        hidden = stacked_states(model, cache, names)
        lasts.append(torch.stack([last_token(hidden[:, i], mask) for i in range(len(blocks))], dim=1).cpu())
        if starts is not None and quartile_block is not None:
            batch_starts = torch.tensor(starts[start:start + batch_size])
            quartiles.append(response_quartile_means(hidden[:, quartile_block + 1], mask, batch_starts).cpu())
    return torch.cat(lasts), (torch.cat(quartiles) if quartiles else None), [min(len(r), max_tokens) for r in rows]


@contextmanager
def captured(model: LoadedModel, block: int) -> Iterator[list[torch.Tensor]]:
    """A list that receives the output hidden states of decoder block `block` (resid_post, before any final norm)
    on each forward inside the block."""
    seen: list[torch.Tensor] = []

    def hook(module: Any, inputs: Any, output: Any) -> None:
        seen.append(output[0] if isinstance(output, tuple) else output)

    handle = decoder_blocks(model.hf_model)[block].register_forward_hook(hook)
    try:
        yield seen
    finally:
        handle.remove()


def intervene(model: LoadedModel, texts: list[str], vectors: torch.Tensor, block: int, readout_block: int,
              batch_size: int, max_tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Each vector [k, d] added to the output of decoder block `block` (= resid_post) at every position while the
    model reads `texts` (the tokens `extract` builds; HF forward with the attention mask): last-token output of
    decoder block `readout_block` [1 + k, texts, d] (row 0 unsteered, centred as `extract` centres), and
    KL(steered || unsteered) of the next-token distribution at the last real token [k, texts]. The LM head runs on
    the last token only."""
    device, rows = next(model.hf_model.parameters()).device, to_tokens(model, texts)
    head = model.hf_model.get_output_embeddings()
    readouts, kls = [], []
    for start in tqdm(range(0, len(texts), batch_size), desc="intervention", unit="batch", leave=False):
        ids, mask = pad_right(rows[start:start + batch_size], max_tokens, model.tokenizer.pad_token_id)
        ids, mask = ids.to(device), mask.to(device)
        at, ones = (torch.arange(len(ids), device=device), mask.sum(dim=1) - 1), torch.ones(len(ids), device=device)
        states, log_probs = [], []
        for vector in [None, *vectors.to(device)]:
            hook = nullcontext() if vector is None else steered(model, block, vector, ones)
            with hook, captured(model, readout_block) as read, torch.inference_mode():
                out = model.hf_model.base_model(input_ids=ids, attention_mask=mask)
            state = read[0][at].float()
            states.append((state - state.mean(dim=-1, keepdim=True) if model.centre_residual else state).cpu())
            log_probs.append(torch.log_softmax(head(out.last_hidden_state[at]).float(), dim=-1).cpu())
        readouts.append(torch.stack(states))
        base = log_probs[0]
        kls.append(torch.stack([(steered_.exp() * (steered_ - base)).sum(dim=-1) for steered_ in log_probs[1:]]))
    return torch.cat(readouts, dim=1), torch.cat(kls, dim=1)


def alternate_halves(labels: np.ndarray) -> np.ndarray:
    """True for every other text of each label in file order: the half the intervention vectors come from. The
    other half fits the probes that score them (cross-fitting: with d >> n a mean difference aligns with a probe
    fit on the same texts even under shuffled labels)."""
    half = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        half[np.flatnonzero(labels == label)[::2]] = True
    return half


def type_vectors(x: np.ndarray, labels: np.ndarray, neutral: np.ndarray) -> np.ndarray:
    """(type mean - neutral mean) for each of the three types [3, d], as round 4 built its intervention."""
    return np.stack([x[labels == name].mean(axis=0) - x[neutral].mean(axis=0) for name in EMPATHY_TYPES])


def random_vectors(d: int, n: int, norm: float, seed: int) -> np.ndarray:
    """n random directions [n, d], each scaled to `norm`."""
    randoms = np.random.default_rng(seed).standard_normal((n, d))
    return randoms / np.linalg.norm(randoms, axis=1, keepdims=True) * norm
