"""Layer conventions, and where a published layer number lands on the audited model: by relative depth on a
model the studies did not run, at the study's own absolute layer on one they did.

`resid_post[L]` is TransformerLens `blocks.L.hook_resid_post`, the output of block L, which equals
Hugging Face `hidden_states[L + 1]` for L < n_layers - 1 (HF applies the final norm to its last entry).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Convention = Literal["resid_post", "hidden_states"]


@dataclass(frozen=True)
class LayerRef:
    """A published layer pinned to its convention, and where it lands on the audited model."""

    convention: Convention
    published: int
    published_n_layers: int
    mapped: int
    n_layers: int
    mapping: str = "relative depth"

    @property
    def block(self) -> int:
        """The TransformerLens block whose resid_post holds this layer (-1 = embeddings)."""
        return self.mapped if self.convention == "resid_post" else self.mapped - 1

    @property
    def hook_name(self) -> str:
        if self.block < 0:
            return "blocks.0.hook_resid_pre"
        return f"blocks.{self.block}.hook_resid_post"

    def describe(self) -> str:
        return (f"{self.convention}[{self.published}] of {self.published_n_layers} layers -> {self.mapping} -> "
                f"{self.convention}[{self.mapped}] of {self.n_layers} ({self.hook_name})")


def map_layer(published: int, published_n_layers: int, n_layers: int,
              convention: Convention = "resid_post") -> LayerRef:
    """Map a layer by fraction of depth, rounding half up, clamped to the model's valid range."""
    if not 0 <= published <= published_n_layers:
        raise ValueError(f"layer {published} is outside a {published_n_layers}-layer model")
    upper = n_layers - 1 if convention == "resid_post" else n_layers
    mapped = min(max(int(published * n_layers / published_n_layers + 0.5), 0), upper)
    return LayerRef(convention, published, published_n_layers, mapped, n_layers)


def absolute_layer(published: int, published_n_layers: int, n_layers: int, model_layer: int, model: str,
                   convention: Convention = "resid_post") -> LayerRef:
    """On a model the study ran, its own numbering: the study's middle layer (published_n_layers // 2, as ELB
    Phase 2's n_layers // 2) is `model_layer`, the layer it published for that model; any other layer keeps its
    number, clamped to the model's valid range."""
    upper = n_layers - 1 if convention == "resid_post" else n_layers
    mapped = model_layer if published == published_n_layers // 2 else min(published, upper)
    return LayerRef(convention, published, published_n_layers, mapped, n_layers,
                    f"absolute ({model}: published layer {model_layer})")
