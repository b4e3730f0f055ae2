"""What the claims need from a model, derived from the measurement catalogue: text sets, datasets, layers."""
from __future__ import annotations

from elb.config import Params
from elb.datasets.spec import SPECS
from elb.measures.catalogue import CATALOGUE, SUBSETS, TextSet
from elb.models.layers import LayerRef, map_layer


def activation_sets() -> dict[TextSet, tuple[str, ...]]:
    """Each text set (= text format) the catalogue reads, with the datasets whose texts it holds (file order)."""
    wanted: dict[TextSet, set[str]] = {}
    for measure in CATALOGUE:
        wanted.setdefault(measure.inputs.text_set, set()).add(SUBSETS[measure.inputs.subset].dataset)
    return {name: tuple(spec.name for spec in SPECS if spec.name in datasets) for name, datasets in wanted.items()}


def layer_refs(params: Params, n_layers: int, text_set: TextSet | None = None) -> dict[int, LayerRef]:
    """Every published layer the catalogue reads (optionally of one text set), mapped onto the model."""
    reference = params.activations.reference_n_layers
    return {layer: map_layer(layer, reference, n_layers) for measure in CATALOGUE
            if text_set in (None, measure.inputs.text_set) for layer in measure.inputs.published_layers(params)}


def blocks_for(params: Params, n_layers: int, text_set: TextSet) -> list[int]:
    """The blocks one text set needs; its forward pass stops after the deepest of them."""
    return sorted({ref.block for ref in layer_refs(params, n_layers, text_set).values()})
