"""What the claims need from a model: which texts in which format, and which layers (mapped by depth)."""
from __future__ import annotations

from elb.config import Params
from elb.models.layers import LayerRef, map_layer

# activation set name == text format; the datasets whose texts it holds
ACTIVATION_SETS: dict[str, tuple[str, ...]] = {
    "pipeline": ("triplets",),
    "validation": ("triplets", "non_empathy"),
}


def activation_set_of(layer_key: str) -> str:
    """Which activation set a planned layer is read from (pipeline B reads the pipeline format)."""
    return "pipeline" if layer_key == "pipeline_b" else "validation"


def blocks_for(plan: dict[str, LayerRef], set_name: str) -> list[int]:
    """The blocks one activation set needs; its forward pass stops after the deepest of them."""
    return sorted({ref.block for key, ref in plan.items() if activation_set_of(key) == set_name})


def layer_plan(params: Params, n_layers: int) -> dict[str, LayerRef]:
    """Every published layer the analyses read, mapped onto an `n_layers`-deep model."""
    reference = params.activations.reference_n_layers
    analysis = params.analysis
    plan = {
        "pipeline_b": map_layer(analysis.pipeline_b.layer, reference, n_layers),
        "validation": map_layer(analysis.validation.layer, reference, n_layers),
    }
    for layer in analysis.validation.layers:
        plan[f"sweep_{layer}"] = map_layer(layer, reference, n_layers)
    return plan
