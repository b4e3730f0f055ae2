"""DVC stage: extract pooled activations of every text set the claims need, for the configured model."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pandas as pd

from elb.activations.extract import extract, hook_names, tokenization, warn_truncated
from elb.activations.parity import check_parity
from elb.activations.pooling import BATCH_DEPENDENT
from elb.activations.store import ActivationSet, save_set
from elb.artifacts import ACTIVATION_INDEX
from elb.config import Params, load_params
from elb.datasets.formatting import TEMPLATES, format_texts
from elb.datasets.loaders import load_texts, validate
from elb.datasets.spec import SPECS
from elb.io import staged_dir, write_json
from elb.measures.catalogue import TextSet
from elb.models.loading import LoadedModel, load_model, model_depth
from elb.models.registry import sha256_of
from elb.plan import activation_sets, blocks_for, layer_mapping, layer_refs, poolings_for, stream
from elb.provenance import base_provenance


def stream_rows(texts: pd.DataFrame, text_set: TextSet) -> pd.DataFrame:
    """The texts of a text set's stream, in the order they are batched (datasets in file order, items in order)."""
    return texts[texts["dataset"].isin(stream(text_set))]


def extract_set(model: LoadedModel, params: Params, rows: pd.DataFrame, text_set: TextSet,
                provenance: dict[str, Any]) -> tuple[ActivationSet, list[int]]:
    """One text set's pooled activations (consecutive batches of its stream) and token counts."""
    formatted = format_texts(rows, text_set)
    provenance["truncated_texts"][text_set] = warn_truncated(model, formatted, list(rows["text_id"]),
                                                             params.activations.max_tokens)
    blocks, poolings = blocks_for(params, model.n_layers, text_set), poolings_for(text_set)
    batch = params.activations.batch_for(model.provenance["device"], bool(BATCH_DEPENDENT.intersection(poolings)))
    provenance["batch_sizes"][text_set] = batch
    tensors, n_tokens = extract(model, formatted, blocks, batch, params.activations.max_tokens, poolings,
                                f"{text_set} texts")
    return ActivationSet(tensors, list(rows["text_id"]), blocks,
                         {"text_format": TEMPLATES[text_set], "provenance": provenance}), n_tokens


def run(params_path: str = "params.yaml", model: str | None = None) -> Path:
    params = load_params(params_path, model)
    texts = load_texts(params.data_dir)
    plan = layer_refs(params, model_depth(params.model))  # from config.json or GGUF metadata: before weights load
    model = load_model(params.model)
    blocks = sorted({ref.block for ref in plan.values()})
    parity = check_parity(model, format_texts(texts.head(4), "validation"), blocks)
    provenance = {
        **base_provenance(params.seed),
        "model": model.provenance,
        "data": {spec.filename: sha256_of(params.data_dir / spec.filename) for spec in SPECS},
        "layer_convention": "resid_post (TransformerLens blocks.L.hook_resid_post == HF hidden_states[L+1])",
        "layer_mapping": layer_mapping(params, model.n_layers),
        "layers": {f"L{layer}": ref.describe() for layer, ref in plan.items()},
        "hooks": hook_names(blocks),
        "loader_parity": parity,
        "tokenization": tokenization(model),
        "poolings": sorted({pooling for name in activation_sets() for pooling in poolings_for(name)}),
        "streams": {name: list(stream(name)) for name in activation_sets()},
        "batch_size": params.activations.batch_size,
        "batch_sizes": {},  # per text set, filled as each is extracted: batch_size, or cuda_batch_size on CUDA
        "max_tokens": params.activations.max_tokens,
        "truncated_texts": {},  # per text set, filled as each is extracted
    }
    final = params.model_dir / "activations"
    index = []
    with staged_dir(final) as staging:
        for name in activation_sets():
            rows = stream_rows(texts, name)
            data, n_tokens = extract_set(model, params, rows, name, provenance)
            save_set(staging, name, data)
            index.append(pd.DataFrame({"set": name, "row": range(len(rows)), "text_id": rows["text_id"].values,
                                       "dataset": rows["dataset"].values, "label": rows["label"].values,
                                       "n_tokens": n_tokens}))
        frame = validate(pd.concat(index, ignore_index=True), ACTIVATION_INDEX, staging / "index.csv")
        frame.to_csv(staging / "index.csv", index=False)
        write_json(staging / "provenance.json", provenance)
    return final


if __name__ == "__main__":
    run(*sys.argv[1:])  # optional: another params.yaml, then the key of one model of its grid
