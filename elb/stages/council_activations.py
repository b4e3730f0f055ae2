"""DVC stage: the forward passes of ELB council rounds 2 and 4 for the configured model. Last-token states at every
depth of the validation texts (empathy, emotion, neutral groups) and of the formality pairs, response-quartile means
at validation.layer, and the intervention: each type vector (and random vectors of the same norm) added at
validation.layer while the model reads neutral texts, read at council.readout_layer. The vectors and the neutral texts
come from one half of the texts (`alternate_halves`); the measures fit the probes that read them on the other."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from safetensors.torch import save_file

from elb.activations.council import (
    alternate_halves, every_state, intervene, random_vectors, response_starts, type_vectors,
)
from elb.activations.parity import check_parity
from elb.artifacts import ACTIVATION_INDEX
from elb.config import Params, load_params
from elb.datasets.formatting import TEMPLATES, format_texts
from elb.datasets.loaders import load_pairs, load_texts, validate
from elb.datasets.spec import EMPATHY_TYPES, FORMALITY, NON_EMPATHY, SPECS, TRIPLETS, VALENCE_STRIPPED
from elb.io import staged_dir, write_json, write_with
from elb.models.loading import load_model, model_depth
from elb.models.registry import sha256_of
from elb.plan import council_layer_refs
from elb.provenance import base_provenance

GROUPS = {TRIPLETS.name: ("empathy", "n_triplets"), NON_EMPATHY.name: ("emotion", "n_controls"),
          VALENCE_STRIPPED.name: ("neutral", "n_controls")}


def council_texts(params: Params) -> pd.DataFrame:
    """The validation texts of rounds 2 and 4 in file order, each with its group (empathy, emotion, neutral)."""
    texts, cfg = load_texts(params.data_dir), params.analysis.validation
    parts = []
    for dataset, (group, limit) in GROUPS.items():
        rows = texts[(texts["dataset"] == dataset) & (texts["position"] < getattr(cfg, limit))]
        parts.append(rows.assign(group=group))
    return pd.concat(parts, ignore_index=True)


def prefixes(rows: pd.DataFrame) -> list[str]:
    """Each validation text up to its response (the quartiles' start)."""
    return [TEMPLATES["validation"].format(scenario=s, response="").rstrip() for s in rows["scenario"]]


def index_frame(name: str, ids: pd.Series, datasets: Any, labels: pd.Series, n_tokens: list[int]) -> pd.DataFrame:
    return pd.DataFrame({"set": name, "row": range(len(ids)), "text_id": ids.values, "dataset": datasets,
                         "label": labels.values, "n_tokens": n_tokens})


def run(params_path: str = "params.yaml", model: str | None = None) -> Path:
    params = load_params(params_path, model)
    act, council = params.activations, params.analysis.council
    rows = council_texts(params)
    pairs = load_pairs(params.data_dir / FORMALITY.filename, FORMALITY)
    probe, readout = council_layer_refs(params, model_depth(params.model))
    model = load_model(params.model)
    batch = act.batch_for(model.provenance["device"])  # every pooling here reads real tokens only
    formatted = format_texts(rows, "validation")
    parity = check_parity(model, formatted[:4], [probe.block, readout.block])  # the intervention reads HF states
    depth, quartiles, n_tokens = every_state(model, formatted, batch, act.max_tokens, probe.block,
                                             response_starts(model, formatted, prefixes(rows)), "council texts")
    formality, _, formality_tokens = every_state(model, list(pairs["text"]), batch, act.max_tokens, None,
                                                 description="formality texts")
    labels, neutral = rows["label"].to_numpy(), (rows["group"] == "neutral").to_numpy()
    half = alternate_halves(labels)
    x = depth[:, probe.block + 1].double().numpy()
    vectors = type_vectors(x[half], labels[half], neutral[half])
    randoms = random_vectors(x.shape[1], council.intervention_random, float(np.linalg.norm(vectors, axis=1).mean()),
                             params.seed)
    every_vector = torch.from_numpy(np.concatenate([vectors, randoms])).float()
    neutral_rows = np.flatnonzero(neutral & half)[:council.intervention_texts]
    readouts, kl = intervene(model, [formatted[i] for i in neutral_rows], every_vector, probe.block, readout.block,
                             batch, act.max_tokens)
    tensors = {"depth": depth, "quartiles": quartiles, "formality": formality, "vectors": every_vector,
               "readout": readouts, "kl": kl}
    meta = {
        "vector_names": [*EMPATHY_TYPES, *(f"random_{i}" for i in range(len(randoms)))],
        "probe_state": probe.block + 1, "readout_state": readout.block + 1,
        "intervention_rows": neutral_rows.tolist(),
        "groups": rows["group"].tolist(),
        "vector_half": half.tolist(),
    }
    provenance = {
        **base_provenance(params.seed),
        "model": model.provenance,
        "data": {spec.filename: sha256_of(params.data_dir / spec.filename) for spec in (*SPECS, FORMALITY)},
        "layer_convention": "hidden state i: 0 = embeddings (blocks.0.hook_resid_pre), i = resid_post of block i - 1",
        "layers": {"probe": probe.describe(), "readout": readout.describe()},
        "text_format": {"validation": TEMPLATES["validation"], "formality": "the pair's text alone"},
        "loader_parity": parity,
        "poolings": ["last_token", "response_quartile_means"],
        "intervention": "vector added to resid_post of the probe block at every position, every forward; "
                        "readout: last token at the readout block; KL at the last real token",
        "batch_size": batch,
        "max_tokens": act.max_tokens,
    }
    index = pd.concat([index_frame("validation", rows["text_id"], rows["dataset"].values, rows["label"], n_tokens),
                       index_frame("formality", pairs["text_id"], FORMALITY.name, pairs["side"], formality_tokens)],
                      ignore_index=True)
    final = params.model_dir / "council" / "activations"
    with staged_dir(final) as staging:
        contiguous = {name: tensor.contiguous() for name, tensor in tensors.items()}
        write_with(staging / "council.safetensors", lambda path: save_file(contiguous, str(path)))
        validate(index, ACTIVATION_INDEX, staging / "index.csv").to_csv(staging / "index.csv", index=False)
        write_json(staging / "provenance.json", {**provenance, **meta})
    return final


if __name__ == "__main__":
    run(*sys.argv[1:])  # optional: another params.yaml, then the key of one model of its grid
