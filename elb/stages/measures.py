"""DVC stage: every Phase 2 measurement the claims read, from stored activations (no model needed)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from elb.activations.store import ActivationSet, load_set
from elb.artifacts import write_measurements
from elb.config import Params, load_params
from elb.datasets.loaders import load_texts
from elb.datasets.spec import EMPATHY_TYPES, NON_EMPATHY, TRIPLETS
from elb.measures import phase2
from elb.measures.phase2 import Probed
from elb.models.layers import LayerRef
from elb.plan import layer_plan
from elb.provenance import base_provenance


def _probed(sets: dict[str, ActivationSet], texts: pd.DataFrame, set_name: str, pooling: str, ref: LayerRef,
            classes: tuple[str, ...]) -> Probed:
    features = sets[set_name].at(pooling, ref.block, rows=list(texts["text_id"]))
    return Probed(features, texts["label"].to_numpy(), classes, f"{set_name} format, {pooling}, {ref.describe()}")


def measure(params: Params, sets: dict[str, ActivationSet], texts: pd.DataFrame) -> list[phase2.Measurement]:
    n_layers = sets["pipeline"].meta["provenance"]["model"]["n_layers"]
    plan = layer_plan(params, n_layers)
    v, seed, cfg = params.analysis.validation, params.seed, params.analysis
    triplets = texts[texts["dataset"] == TRIPLETS.name]
    first = triplets[triplets["position"] < v.n_triplets]
    controls = texts[(texts["dataset"] == NON_EMPATHY.name) & (texts["position"] < v.n_controls)]
    for name, frame, wanted in (("triplets", first, v.n_triplets), ("non-empathy controls", controls, v.n_controls)):
        if frame["position"].nunique() < wanted:
            raise ValueError(f"the validation suite needs {wanted} {name}; the data has {frame['position'].nunique()}")
    empathy = _probed(sets, first, "validation", "last_token", plan["validation"], EMPATHY_TYPES)
    control = _probed(sets, controls, "validation", "last_token", plan["validation"], NON_EMPATHY.text_fields)
    sweep = {f"resid_post[{ref.mapped}]": _probed(sets, first, "validation", "last_token", ref, EMPATHY_TYPES)
             for key, ref in plan.items() if key.startswith("sweep_")}
    return [
        *phase2.pipeline_b(_probed(sets, triplets, "pipeline", "mean_with_padding", plan["pipeline_b"],
                                   EMPATHY_TYPES), cfg, seed),
        *phase2.ovr_cosines("validation.ovr", empathy, cfg, seed),
        *phase2.ovr_cosines("validation.control", control, cfg, seed),
        *phase2.pairwise_auroc(_probed(sets, triplets[triplets["position"] < v.auroc_triplets], "validation",
                                       "last_token", plan["validation"], EMPATHY_TYPES), cfg, seed),
        *phase2.layer_sweep(sweep, cfg, seed),
        *phase2.null_tests(empathy, control, first["response"].str.len().to_numpy(), cfg, seed),
    ]


def run(params_path: str = "params.yaml") -> Path:
    params = load_params(params_path)
    folder = params.artifacts_dir / "activations"
    sets = {name: load_set(folder, name) for name in ("pipeline", "validation")}
    measurements = measure(params, sets, load_texts(params.data_dir))
    provenance = {
        **base_provenance(params.seed),
        "activations": json.loads((folder / "provenance.json").read_text(encoding="utf-8")),
        "analysis": params.analysis.model_dump(),
    }
    target = params.artifacts_dir / "measurements.json"
    write_measurements(target, [m.row() for m in measurements], provenance)
    return target


if __name__ == "__main__":
    run()
