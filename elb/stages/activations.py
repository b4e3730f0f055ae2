"""DVC stage: extract pooled activations of every text set the claims need, for the configured model."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from elb.activations.extract import extract, hook_names, warn_truncated
from elb.activations.parity import check_parity
from elb.activations.pooling import POOLINGS
from elb.activations.store import ActivationSet, save_set
from elb.artifacts import ACTIVATION_INDEX
from elb.config import load_params
from elb.datasets.formatting import TEMPLATES, format_texts
from elb.datasets.loaders import load_texts, validate
from elb.datasets.spec import SPECS
from elb.io import staged_dir, write_json
from elb.models.loading import load_model, model_depth
from elb.models.registry import sha256_of
from elb.plan import activation_sets, blocks_for, layer_refs
from elb.provenance import base_provenance


def run(params_path: str = "params.yaml") -> Path:
    params = load_params(params_path)
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
        "layers": {f"L{layer}": ref.describe() for layer, ref in plan.items()},
        "hooks": hook_names(blocks),
        "loader_parity": parity,
        "poolings": list(POOLINGS),
        "batch_size": params.activations.batch_size,
        "max_tokens": params.activations.max_tokens,
        "bos_added": model.tokenizer("x")["input_ids"][0] == model.tokenizer.bos_token_id,
        "truncated_texts": {},  # per text set, filled as each is extracted
    }
    final = params.artifacts_dir / "activations"
    index = []
    with staged_dir(final) as staging:
        for name, datasets in activation_sets().items():
            subset = texts[texts["dataset"].isin(datasets)]
            set_blocks = blocks_for(params, model.n_layers, name)
            formatted = format_texts(subset, name)
            provenance["truncated_texts"][name] = warn_truncated(model.tokenizer, formatted, list(subset["text_id"]),
                                                                 params.activations.max_tokens)
            tensors, n_tokens = extract(model, formatted, set_blocks, params.activations.batch_size,
                                        params.activations.max_tokens, description=f"{name} texts")
            save_set(staging, name, ActivationSet(tensors, list(subset["text_id"]), set_blocks,
                                                  {"text_format": TEMPLATES[name], "provenance": provenance}))
            index.append(pd.DataFrame({"set": name, "row": range(len(subset)), "text_id": subset["text_id"].values,
                                       "dataset": subset["dataset"].values, "label": subset["label"].values,
                                       "n_tokens": n_tokens}))
        frame = validate(pd.concat(index, ignore_index=True), ACTIVATION_INDEX, staging / "index.csv")
        frame.to_csv(staging / "index.csv", index=False)
        write_json(staging / "provenance.json", provenance)
    return final


if __name__ == "__main__":
    run()
