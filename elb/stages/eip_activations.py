"""DVC stage: mean-pooled activations of every EIP text (train, test, ablated test, rated) at EIP's probe layers."""
from __future__ import annotations

import sys
from pathlib import Path

from elb.activations.extract import hidden_states_pooled
from elb.activations.store import ActivationSet, save_set
from elb.artifacts import EIP_INDEX
from elb.config import load_params
from elb.datasets.eip import data_hashes, eip_texts
from elb.datasets.loaders import validate
from elb.io import staged_dir, write_json
from elb.models.loading import load_model, model_depth
from elb.plan import eip_layer_refs
from elb.provenance import base_provenance

SET = "eip"


def run(params_path: str = "params.yaml", model: str | None = None) -> Path:
    params = load_params(params_path, model)
    cfg = params.eip
    texts = eip_texts(cfg.data_dir, cfg.rated_texts)
    refs = eip_layer_refs(params, model_depth(params.model))
    model = load_model(params.model)
    blocks = [ref.block for ref in refs.values()]
    batch = params.activations.batch_for(model.provenance["device"])  # masked mean of real tokens
    tensor, n_tokens = hidden_states_pooled(model, list(texts["text"]), [b + 1 for b in blocks],
                                          batch, cfg.max_tokens, description="EIP texts")
    tokenizer = model.hf_tokenizer
    provenance = {
        **base_provenance(params.seed),
        "model": model.provenance,
        "data": data_hashes(cfg.data_dir, cfg.rated_texts),
        "layer_convention": "HF hidden_states[block + 1] (= output of model.layers[block] = resid_post[block])",
        "layers": {f"L{layer}": ref.describe() for layer, ref in refs.items()},
        "loader_parity": {"not applicable": "read from HF hidden_states directly, as EIP's scripts did"},
        "tokenization": {"method": f"the model's own tokenizer defaults, truncation at {cfg.max_tokens} tokens",
                         "adds_bos": tokenizer("a")["input_ids"][:1] == [tokenizer.bos_token_id]},
        "poolings": ["mean"],
        "batch_size": batch,
        "max_tokens": cfg.max_tokens,
        "truncated_texts": sum(n > cfg.max_tokens for n in n_tokens),
    }
    index = texts.drop(columns="text").assign(n_tokens=[min(n, cfg.max_tokens) for n in n_tokens])
    final = params.model_dir / "eip" / "activations"
    with staged_dir(final) as staging:
        save_set(staging, SET, ActivationSet({"mean": tensor}, list(texts["text_id"]), blocks,
                                             {"text_format": "raw text", "provenance": provenance}))
        validate(index, EIP_INDEX, staging / "index.csv").to_csv(staging / "index.csv", index=False)
        write_json(staging / "provenance.json", provenance)
    return final


if __name__ == "__main__":
    run(*sys.argv[1:])  # optional: another params.yaml, then the key of one model of its grid
