"""DVC stage: council rounds 2 and 4 from the stored council activations (no model)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from safetensors.numpy import load_file

from elb.artifacts import write_measurements
from elb.config import Params, load_params
from elb.measures.catalogue import COUNCIL_CATALOGUE, run_stage_measures
from elb.measures.measurement import Measurement
from elb.measures.rounds import CouncilTexts, Intervened
from elb.provenance import base_provenance


def council_folder(params: Params) -> Path:
    return params.model_dir / "council"


def load_council(folder: Path) -> CouncilTexts:
    """The council activations as the measures read them (float64), checked against their index."""
    tensors = {name: array.astype(np.float64) for name, array in load_file(str(folder / "council.safetensors")).items()}
    index = pd.read_csv(folder / "index.csv")
    meta = json.loads((folder / "provenance.json").read_text(encoding="utf-8"))
    validation, formality = index[index["set"] == "validation"], index[index["set"] == "formality"]
    if len(validation) != len(tensors["depth"]) or len(formality) != len(tensors["formality"]):
        raise ValueError(f"{folder}: council.safetensors does not match index.csv (rerun council_activations)")
    layers = meta["layers"]
    return CouncilTexts(
        tensors["depth"], validation["label"].to_numpy(), np.array(meta["groups"]), tensors["formality"],
        formality["label"].to_numpy(), tensors["quartiles"], meta["probe_state"], meta["readout_state"],
        Intervened(tuple(meta["vector_names"]), tensors["vectors"], tensors["readout"], tensors["kl"]),
        np.array(meta["intervention_rows"]), np.array(meta["vector_half"]), f"validation format, last token, {layers['probe']}; readout "
                                             f"{layers['readout']}")


def measure_council(params: Params, data: CouncilTexts) -> list[Measurement]:
    return run_stage_measures(COUNCIL_CATALOGUE, data, params, params.seed)


def run(params_path: str = "params.yaml", model: str | None = None) -> Path:
    params = load_params(params_path, model)
    folder = council_folder(params)
    data = load_council(folder / "activations")
    provenance = {**base_provenance(params.seed),
                  "activations": json.loads((folder / "activations" / "provenance.json").read_text("utf-8")),
                  "analysis": params.analysis.model_dump(mode="json")}
    write_measurements(folder / "measurements.json", [m.row() for m in measure_council(params, data)], provenance)
    return folder


if __name__ == "__main__":
    run(*sys.argv[1:])  # optional: another params.yaml, then the key of one model of its grid
