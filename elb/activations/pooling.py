"""Token pooling of hidden states [batch, tokens, d] with an attention mask [batch, tokens]."""
from __future__ import annotations

from collections.abc import Callable

import torch


def mean_real_tokens(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over the real (unpadded) tokens of each text."""
    weights = mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1)


def mean_with_padding(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over every position of the padded batch, padding included (published ELB pipelines A/B)."""
    return hidden.mean(dim=1)


def last_token(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The last real token of each text (works for left or right padding)."""
    positions = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
    last = torch.where(mask.bool(), positions, -1).max(dim=1).values
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]


POOLINGS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "mean": mean_real_tokens,
    "mean_with_padding": mean_with_padding,
    "last_token": last_token,
}
