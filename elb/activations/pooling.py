"""Token pooling of hidden states [batch, tokens, d] with the real-token mask [batch, tokens] (right padding).

Each pooling also fixes the forward pass that feeds it: without an attention mask (TransformerLens builds none
for right padding, so pad positions attend to every earlier position, pads included) unless it is in
`MASKED_FORWARD`. Real-token positions are the same either way under causal attention with right padding.
`mean_with_padding` is the published ELB pipeline A/B pooling; `mean_with_padding_masked` our earlier variant.
"""
from __future__ import annotations

from collections.abc import Callable

import torch


def mean_real_tokens(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over the real (unpadded) tokens of each text."""
    weights = mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1)


def mean_with_padding(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over every position of the padded batch, pads included, from a forward without attention mask."""
    return hidden.mean(dim=1)


def mean_with_padding_masked(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over every position of the padded batch, pads included, from a forward given the attention mask."""
    return mean_with_padding(hidden, mask)


def last_token(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The last real token of each text (works for left or right padding)."""
    positions = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
    last = torch.where(mask.bool(), positions, -1).max(dim=1).values
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]


def response_quartile_means(hidden: torch.Tensor, mask: torch.Tensor, starts: torch.Tensor) -> torch.Tensor:
    """[batch, 4, d]: the mean of each quarter of a text's response tokens (positions `start` to its last real
    token, split into four contiguous runs as equal as possible, the longer runs first)."""
    ends, rows = mask.sum(dim=1), []
    for row, start, end in zip(hidden, starts.tolist(), ends.tolist()):
        if end - start < 4:
            raise ValueError(f"a response has {end - start} tokens; quartiles need at least 4")
        rows.append(torch.stack([chunk.mean(dim=0) for chunk in torch.tensor_split(row[start:end], 4)]))
    return torch.stack(rows)


POOLINGS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "mean": mean_real_tokens,
    "mean_with_padding": mean_with_padding,
    "mean_with_padding_masked": mean_with_padding_masked,
    "last_token": last_token,
}
MASKED_FORWARD = frozenset({"mean_with_padding_masked"})  # read from a forward pass given the attention mask
BATCH_DEPENDENT = frozenset({"mean_with_padding", "mean_with_padding_masked"})  # a text's value depends on its batch
UNMASKED = tuple(name for name in POOLINGS if name not in MASKED_FORWARD)  # all poolings of one unmasked forward
