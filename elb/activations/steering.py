"""Steering with real generation: a forward hook adds alpha x unit direction to the output of decoder block L at
every position on every step (EIP's intervention), with a per-row alpha so that every sample and alpha of one
(scenario, layer) cell is generated as one batch."""
from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch

from elb.models.loading import LoadedModel


def decoder_blocks(hf_model: Any) -> torch.nn.ModuleList:
    """The model's list of decoder blocks (`model.layers` in Llama/Qwen/Phi-3/Mistral/Gemma, `h` in GPT-2)."""
    base = hf_model.base_model
    for name in ("layers", "h", "blocks"):
        if isinstance(getattr(base, name, None), torch.nn.ModuleList):
            return getattr(base, name)
    raise ValueError(f"{type(hf_model).__name__}: no list of decoder blocks found to hook")


@contextmanager
def steered(model: LoadedModel, block: int, direction: torch.Tensor, alphas: torch.Tensor) -> Iterator[None]:
    """Within the block, every forward adds alphas[row] * direction to block `block`'s output hidden states."""
    def hook(module: Any, inputs: Any, output: Any) -> Any:
        hidden = output[0] if isinstance(output, tuple) else output
        shifted = hidden + (alphas[:, None, None] * direction).to(hidden.dtype)
        return (shifted, *output[1:]) if isinstance(output, tuple) else shifted

    handle = decoder_blocks(model.hf_model)[block].register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()


def prompt_ids(model: LoadedModel, prompt: str, chat: bool) -> torch.Tensor:
    """[1, n] token ids of the prompt: raw text with the tokenizer's defaults (published), or one chat user turn."""
    tokenizer = model.hf_tokenizer
    if chat:
        prompt = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                               add_generation_prompt=True)
    return torch.tensor([tokenizer(prompt)["input_ids"]])


@dataclass
class Cell:
    """One (scenario, layer, direction) cell: the samples of every alpha and the effect size of every alpha != 0."""

    texts: dict[float, list[str]]
    new_tokens: torch.Tensor  # [alphas x samples, new] (alpha-major)
    kl: dict[float, float]


def prefill(model: LoadedModel, ids: torch.Tensor, block: int, direction: torch.Tensor, alphas: torch.Tensor) -> Any:
    """The KV cache of the prompt minus its last token, one row per alpha (the steered prompt differs by alpha)."""
    with steered(model, block, direction, alphas), torch.inference_mode():
        return model.hf_model(ids[:, :-1].repeat(len(alphas), 1), use_cache=True).past_key_values


def generate_cell(model: LoadedModel, ids: torch.Tensor, block: int, direction: torch.Tensor, alphas: list[float],
                  samples: int, new_tokens: int, temperature: float, seed: int, kl_steps: int) -> Cell:
    """`samples` sampled continuations per alpha, all rows in one batch, under the model's own generation config
    (its top-k/top-p, as the published `generate(do_sample=True, temperature=...)` calls); texts are the new
    tokens decoded without special tokens, stripped. The steered prompt is computed once per alpha and shared by
    its samples; the effect-size guard reuses it."""
    device = next(model.hf_model.parameters()).device
    ids, direction = ids.to(device), direction.to(device)
    per_alpha = torch.tensor(alphas, dtype=torch.float32, device=device)
    per_row = per_alpha.repeat_interleave(samples)
    cache = prefill(model, ids, block, direction, per_alpha)
    rows = copy.deepcopy(cache)
    rows.batch_repeat_interleave(samples)
    batch = ids.repeat(len(per_row), 1)
    tokenizer = model.hf_tokenizer
    torch.manual_seed(seed)
    with steered(model, block, direction, per_row), torch.inference_mode():
        out = model.hf_model.generate(batch, attention_mask=torch.ones_like(batch), past_key_values=rows,
                                      do_sample=True, temperature=temperature, max_new_tokens=new_tokens,
                                      pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id)
    new = out[:, ids.shape[1]:].cpu()
    texts = [tokenizer.decode(row, skip_special_tokens=True).strip() for row in new]
    zero = alphas.index(0.0)
    baseline = new[zero * samples:(zero + 1) * samples]
    kl = effect_kl(model, ids, cache, baseline, block, direction, per_alpha, kl_steps)
    return Cell({a: texts[i * samples:(i + 1) * samples] for i, a in enumerate(alphas)}, new, kl)


def effect_kl(model: LoadedModel, ids: torch.Tensor, cache: Any, baseline: torch.Tensor, block: int,
              direction: torch.Tensor, alphas: torch.Tensor, steps: int) -> dict[float, float]:
    """Effect-size guard (ours): mean KL(steered || unsteered) of the next-token distribution at the prompt's last
    position and the first `steps` - 1 positions of the alpha = 0 samples (the same tokens under every alpha, so
    only the intervention differs), for each alpha != 0. Every alpha in one forward (alpha-major rows)."""
    n, device = len(baseline), ids.device
    tail = torch.cat([ids[:, -1:].repeat(n, 1), baseline[:, :steps - 1].to(device)], dim=1)
    context = copy.deepcopy(cache)
    context.batch_repeat_interleave(n)
    with steered(model, block, direction, alphas.repeat_interleave(n)), torch.inference_mode():
        logits = model.hf_model(tail.repeat(len(alphas), 1), past_key_values=context).logits
    log_probs = torch.log_softmax(logits.float(), dim=-1).view(len(alphas), n, tail.shape[1], -1)
    reference = log_probs[int(torch.nonzero(alphas == 0)[0])]
    return {float(a): float((lp.exp() * (lp - reference)).sum(-1).mean())
            for a, lp in zip(alphas.tolist(), log_probs) if a != 0}


def generated_tokens(model: LoadedModel, new_tokens: torch.Tensor) -> list[list[int]]:
    """Each row's generated ids up to and including its first end-of-sequence token (the rest is padding)."""
    ends = model.hf_model.generation_config.eos_token_id
    ends = set(ends if isinstance(ends, list) else [ends]) | {model.hf_tokenizer.eos_token_id}
    out = []
    for row in new_tokens.tolist():
        stop = next((i for i, token in enumerate(row) if token in ends), None)
        out.append(row if stop is None else row[:stop + 1])
    return out


def continuation_scores(model: LoadedModel, ids: torch.Tensor, continuations: list[list[int]],
                        index: int) -> tuple[list[float], torch.Tensor]:
    """The unsteered model reading prompt + each continuation: the mean negative log-likelihood per continuation
    token (NaN for an empty one) and HF hidden_states[index] at its last token (float32 [rows, d])."""
    device = next(model.hf_model.parameters()).device
    width = max(1, max(map(len, continuations)))
    prompt = ids[0].tolist()
    rows = torch.tensor([prompt + c + [0] * (width - len(c)) for c in continuations], device=device)
    mask = torch.tensor([[1] * (len(prompt) + len(c)) + [0] * (width - len(c)) for c in continuations], device=device)
    with torch.inference_mode():  # the LM head only where a continuation token is predicted
        out = model.hf_model(input_ids=rows, attention_mask=mask, output_hidden_states=True,
                             logits_to_keep=width + 1)
    start = len(prompt)
    log_probs = torch.log_softmax(out.logits[:, :-1].float(), dim=-1)
    token_lp = log_probs.gather(-1, rows[:, start:, None])[..., 0] * mask[:, start:]
    lengths = mask[:, start:].sum(dim=1)
    nll = [float(-lp.sum() / n) if n else float("nan") for lp, n in zip(token_lp, lengths)]
    last = start + lengths - 1  # the prompt's last token when nothing was generated
    states = out.hidden_states[index][torch.arange(len(rows), device=device), last].float().cpu()
    return nll, states
