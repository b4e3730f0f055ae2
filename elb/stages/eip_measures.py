"""DVC stage: EIP probes, random-direction baseline, lexical ablation and behavioural correlation from the stored EIP
activations (no model), their seed spread, and the train directions the steering stage adds."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors.torch import save_file

from elb.activations.store import ActivationSet, load_set
from elb.artifacts import write_measurements, write_seed_spread
from elb.config import Params, load_params
from elb.io import write_with
from elb.measures.catalogue import EIP_CATALOGUE, StageMeasure, run_stage_measures
from elb.measures.eip import EipLayer
from elb.measures.measurement import Measurement
from elb.plan import eip_layer_refs
from elb.provenance import base_provenance
from elb.stages.eip_activations import SET

PROBE_MEASURES = tuple(m for m in EIP_CATALOGUE if m.stage == "eip_measures")


def eip_folder(params: Params) -> Path:
    return params.model_dir / "eip"


def layers_of(params: Params, data: ActivationSet, index: pd.DataFrame) -> dict[int, EipLayer]:
    """Each published EIP layer's activations, split into the text sets the measures read."""
    refs = eip_layer_refs(params, data.meta["provenance"]["model"]["n_layers"])

    def rows(role: str, label: int | None = None) -> list[str]:
        chosen = index[(index["role"] == role) & ((index["label"] == label) if label is not None else True)]
        return list(chosen["text_id"])

    rated = index[index["role"] == "rated"]
    out = {}
    for layer, ref in refs.items():
        sets = [data.at("mean", ref.block, rows=ids) for ids in (
            rows("train", 1), rows("train", 0), rows("test", 1), rows("test", 0), rows("ablated", 1),
            rows("ablated", 0), list(rated["text_id"]))]
        out[layer] = EipLayer(*sets, rated["label"].to_numpy(), f"EIP texts, mean, {ref.describe()}")
    return out


def measure_eip(params: Params, data: dict[int, EipLayer], seed: int,
                measures: tuple[StageMeasure, ...] = PROBE_MEASURES) -> list[Measurement]:
    return run_stage_measures(measures, data, params, seed)


def save_directions(path: Path, data: dict[int, EipLayer]) -> None:
    """The unit train direction of each published layer (float32), keyed `L<layer>`: what steering adds."""
    tensors = {f"L{layer}": torch.from_numpy(d.direction().astype(np.float32)) for layer, d in data.items()}
    write_with(path, lambda target: save_file(tensors, str(target)))


def run(params_path: str = "params.yaml", model: str | None = None) -> Path:
    params = load_params(params_path, model)
    folder = eip_folder(params)
    activations = load_set(folder / "activations", SET)
    index = pd.read_csv(folder / "activations" / "index.csv")
    data = layers_of(params, activations, index)
    provenance = {**base_provenance(params.seed),
                  "activations": json.loads((folder / "activations" / "provenance.json").read_text("utf-8")),
                  "analysis": params.eip.model_dump(mode="json")}
    write_measurements(folder / "measurements.json", [m.row() for m in measure_eip(params, data, params.seed)],
                       provenance)
    seeds = [params.seed + k for k in range(1, params.claims.seed_runs + 1)]
    spread = tuple(m for m in PROBE_MEASURES if m.spread)
    rows = [{"quantity": m.quantity, "seed": seed, "value": m.value}
            for seed in seeds for m in measure_eip(params, data, seed, spread)]
    write_seed_spread(folder / "seed_spread.json", rows, {**base_provenance(params.seed), "seeds": seeds})
    save_directions(folder / "directions.safetensors", data)
    return folder


if __name__ == "__main__":
    run(*sys.argv[1:])  # optional: another params.yaml, then the key of one model of its grid
