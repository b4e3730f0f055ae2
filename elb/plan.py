"""What the claims need from a model, derived from the measurement catalogue: text sets, datasets, poolings, layers."""
from __future__ import annotations

from collections.abc import Iterable

from elb.activations.pooling import BATCH_DEPENDENT
from elb.config import Params
from elb.datasets.spec import SPECS
from elb.measures.catalogue import CATALOGUE, SUBSETS, TextSet
from elb.models.layers import LayerRef, absolute_layer, map_layer
from elb.models.published import PublishedModel, Study, find

STUDY: Study = "elb-phase2"  # every catalogue measure is an ELB Phase 2 analysis


def activation_sets() -> dict[TextSet, tuple[str, ...]]:
    """Each text set (= text format) the catalogue reads, with the datasets whose texts it holds (file order)."""
    wanted: dict[TextSet, set[str]] = {}
    for measure in CATALOGUE:
        wanted.setdefault(measure.inputs.text_set, set()).update(SUBSETS[measure.inputs.subset].datasets)
    return {name: tuple(spec.name for spec in SPECS if spec.name in datasets) for name, datasets in wanted.items()}


def poolings_for(text_set: TextSet) -> tuple[str, ...]:
    """The poolings the catalogue reads from one text set (the only ones extracted)."""
    return tuple(sorted({m.inputs.pooling for m in CATALOGUE if m.inputs.text_set == text_set}))


def stream(text_set: TextSet) -> tuple[str, ...]:
    """The datasets fed through the model for a text set, in file order: all of them where a pooling depends on
    the batch (the published pipeline A/B stream of 720 texts: triplets, non-empathy, valence-stripped), else
    those the catalogue reads."""
    if BATCH_DEPENDENT.intersection(poolings_for(text_set)):
        return tuple(spec.name for spec in SPECS)
    return activation_sets()[text_set]


def published_model(params: Params, n_layers: int) -> PublishedModel | None:
    """The ELB Phase 2 checkpoint model.name names (hub id or alias), when it has that depth and a fixed layer."""
    model = find(params.model.name, STUDY)
    use = model.use(STUDY) if model else None
    return model if model and model.n_layers == n_layers and use and use.layer is not None else None


def layer_mapping(params: Params, n_layers: int) -> str:
    """How published layer numbers land on this model, for the provenance."""
    model = published_model(params, n_layers)
    if model is None:
        return f"relative depth from a {params.activations.reference_n_layers}-layer reference (not a published model)"
    return (f"absolute: {model.hub_id} is an {STUDY} model, published layer {model.use(STUDY).layer} "
            f"for the study's middle layer {params.activations.reference_n_layers // 2}; other layers keep their numbers")


def layer_refs(params: Params, n_layers: int, text_set: TextSet | None = None) -> dict[int, LayerRef]:
    """Every published layer the catalogue reads (optionally of one text set), placed on the model: at the
    study's absolute layer on a published model, else by relative depth."""
    layers = {layer for measure in CATALOGUE if text_set in (None, measure.inputs.text_set)
              for layer in measure.inputs.published_layers(params)}
    return place_layers(params, n_layers, layers)


def place_layers(params: Params, n_layers: int, layers: Iterable[int]) -> dict[int, LayerRef]:
    """Published ELB layers placed on the model: the study's absolute layer on a published model, else by
    relative depth."""
    reference, model = params.activations.reference_n_layers, published_model(params, n_layers)
    if model is None:
        return {layer: map_layer(layer, reference, n_layers) for layer in sorted(layers)}
    use = model.use(STUDY)
    return {layer: absolute_layer(layer, reference, n_layers, use.layer, model.hub_id, use.convention)
            for layer in sorted(layers)}


def council_layer_refs(params: Params, n_layers: int) -> tuple[LayerRef, LayerRef]:
    """Council rounds 2 and 4: the probe layer (validation.layer) and the intervention's readout layer."""
    probe, readout = params.analysis.validation.layer, params.analysis.council.readout_layer
    placed = place_layers(params, n_layers, {probe, readout})
    return placed[probe], placed[readout]


def blocks_for(params: Params, n_layers: int, text_set: TextSet) -> list[int]:
    """The blocks one text set needs; its forward pass stops after the deepest of them."""
    return sorted({ref.block for ref in layer_refs(params, n_layers, text_set).values()})


def eip_layer_refs(params: Params, n_layers: int) -> dict[int, LayerRef]:
    """EIP's probe layers on the model: on a model EIP ran, its own numbers in its own convention (Phi-3 hooked
    model.layers[L] = resid_post[L]; Qwen and Dolphin read hidden_states[L]); on any other model mapped by relative
    depth as the output of block L (resid_post, where the steering hook adds its vector)."""
    cfg, model = params.eip, find(params.model.name, "eip")
    use = model.use("eip") if model and model.n_layers == n_layers else None
    if use is None or use.convention is None:
        return {layer: map_layer(layer, cfg.reference_n_layers, n_layers) for layer in cfg.layers}
    return {layer: LayerRef(use.convention, layer, cfg.reference_n_layers, layer, n_layers,
                            f"absolute ({model.hub_id}: EIP's own layer numbers)") for layer in cfg.layers}


def phase1_layer_ref(params: Params, n_layers: int) -> LayerRef:
    """ELB Phase 1's hidden_states[phase1.layer]: on a model Phase 1 ran, that index itself; on any other model
    mapped by relative depth. Its block (the decoder block whose output it is) is where steering adds the vector."""
    layer, reference = params.phase1.layer, params.activations.reference_n_layers
    model = find(params.model.name, "elb-phase1")
    if model is None or model.n_layers != n_layers:
        return map_layer(layer, reference, n_layers, "hidden_states")
    return LayerRef("hidden_states", layer, reference, min(layer, n_layers), n_layers,
                    f"absolute ({model.hub_id}: Phase 1 read hidden_states[{layer}] of every model)")
