"""DVC stage: ELB Phase 1 quantities from the stored states and generations (no model)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from safetensors.numpy import load_file

from elb.artifacts import PHASE1_CALIBRATION, PHASE1_GENERATIONS, write_measurements, write_seed_spread
from elb.config import load_params
from elb.datasets.loaders import validate
from elb.measures.catalogue import PHASE1_CATALOGUE, run_stage_measures
from elb.measures.phase1 import Pairs, Phase1Data
from elb.provenance import base_provenance
from elb.stages.phase1_activations import phase1_folder


def load_phase1(folder: Path) -> Phase1Data:
    """The Phase 1 activations as the measures read them (float64), each table checked by its schema."""
    tensors = {name: array.astype(np.float64) for name, array in load_file(str(folder / "states.safetensors")).items()}
    meta = json.loads((folder / "provenance.json").read_text(encoding="utf-8"))
    generations, calibration = (validate(pd.read_csv(folder / name, keep_default_na=False, na_values=[""],
                                                     dtype={"tokens": str, "text": str}), schema, folder / name)
                                for name, schema in (("generations.csv", PHASE1_GENERATIONS),
                                                     ("calibration.csv", PHASE1_CALIBRATION)))
    if len(generations) != len(tensors["readouts"]):
        raise ValueError(f"{folder}: states.safetensors does not match generations.csv (rerun phase1_activations)")
    return Phase1Data(Pairs(tensors["empathy"], np.array(meta["labels"]["empathy"])),
                      Pairs(tensors["control"], np.array(meta["labels"]["control"])),
                      generations, tensors["readouts"], calibration, meta["scale"], f"last token, {meta['layers']['phase1']}")


def run(params_path: str = "params.yaml", model: str | None = None) -> Path:
    params = load_params(params_path, model)
    folder = phase1_folder(params)
    data = load_phase1(folder / "activations")
    out = run_stage_measures(PHASE1_CATALOGUE, data, params, params.seed)
    spread = [m for m in PHASE1_CATALOGUE if m.spread]
    seeds = [params.seed + i for i in range(1, params.claims.seed_runs + 1)]
    rows = [{"quantity": m.quantity, "seed": seed, "value": m.value}
            for seed in seeds for m in run_stage_measures(spread, data, params, seed)]
    provenance = {**base_provenance(params.seed),
                  "activations": json.loads((folder / "activations" / "provenance.json").read_text("utf-8")),
                  "analysis": params.phase1.model_dump(mode="json")}
    write_measurements(folder / "measurements.json", [m.row() for m in out], provenance)
    write_seed_spread(folder / "seed_spread.json", rows, {**base_provenance(params.seed), "seeds": seeds})
    return folder


if __name__ == "__main__":
    run(*sys.argv[1:])  # optional: another params.yaml, then the key of one model of its grid
