"""DVC stage: every catalogue measurement, from stored activations (no model needed)."""
from __future__ import annotations

import json
import multiprocessing
import sys
from pathlib import Path

import pandas as pd

from elb.activations.store import ActivationSet, load_set
from elb.artifacts import write_measurements
from elb.config import Params, load_params
from elb.datasets.loaders import load_texts
from elb.measures.catalogue import CATALOGUE, SUBSETS, Measure
from elb.measures.measurement import Measurement
from elb.measures.phase2 import Probed
from elb.plan import activation_sets, layer_refs
from elb.provenance import base_provenance


def inputs_of(measure: Measure, params: Params, sets: dict[str, ActivationSet], texts: pd.DataFrame):
    """The `Probed` a measure reads (a `{published layer: Probed}` for a sweep)."""
    inputs, subset = measure.inputs, SUBSETS[measure.inputs.subset]
    activation_set = sets[inputs.text_set]
    rows = subset.select(texts, params)
    refs = layer_refs(params, activation_set.meta["provenance"]["model"]["n_layers"], inputs.text_set)
    by_layer = {layer: Probed(activation_set.at(inputs.pooling, refs[layer].block, rows=list(rows["text_id"])),
                              rows["label"].to_numpy(), subset.classes,
                              f"{inputs.text_set} format, {inputs.pooling}, {refs[layer].describe()}",
                              rows["response"].str.len().to_numpy())
                for layer in inputs.published_layers(params)}
    return by_layer if inputs.is_sweep else next(iter(by_layer.values()))


WORKERS = 2  # processes of the measure stages, each single-threaded (the fits are small): one per core here
_WORKER: tuple[Params, dict[str, ActivationSet], pd.DataFrame] | None = None  # a worker's inputs (`_start_worker`)


def measure_all(params: Params, sets: dict[str, ActivationSet], texts: pd.DataFrame, seeds: list[int] | None = None,
                measures: tuple[Measure, ...] = CATALOGUE) -> list[list[Measurement]]:
    """Each given catalogue measure (default: all) at each seed (default: [params.seed]), one list per seed in
    catalogue order. The (measure, seed) tasks run in WORKERS fresh processes (spawned: a fork after torch has run
    can hang) that each receive the activations once; every measure is seeded on its own, so the values do not
    depend on which worker ran it."""
    seeds = seeds or [params.seed]
    tasks = [(measure.name, seed) for seed in seeds for measure in measures]
    with multiprocessing.get_context("spawn").Pool(min(WORKERS, len(tasks)), initializer=_start_worker,
                                                   initargs=(params, sets, texts)) as pool:
        done = pool.map(_measure_one, tasks, chunksize=1)
    n = len(measures)
    return [[m for produced in done[k * n:(k + 1) * n] for m in produced] for k in range(len(seeds))]


def _start_worker(params: Params, sets: dict[str, ActivationSet], texts: pd.DataFrame) -> None:
    global _WORKER
    _WORKER = (params, sets, texts)


def _measure_one(task: tuple[str, int]) -> list[Measurement]:
    """One catalogue measure (by name) at one seed, in a worker; checked to produce exactly the quantities its
    entry declares."""
    assert _WORKER is not None, "the pool's initializer gives every worker its inputs"
    params, sets, texts = _WORKER
    measure, seed = next(m for m in CATALOGUE if m.name == task[0]), task[1]
    produced = measure.run(inputs_of(measure, params, sets, texts), params.analysis, seed)
    names, declared = [m.quantity for m in produced], measure.expanded(params)
    if sorted(names) != sorted(declared):
        raise RuntimeError(f"measure {measure.name!r} produced {names}, its catalogue entry declares {declared}")
    return produced


def load_sets(params: Params) -> dict[str, ActivationSet]:
    folder = params.model_dir / "activations"
    return {name: load_set(folder, name) for name in activation_sets()}


def run(params_path: str = "params.yaml", model: str | None = None) -> Path:
    params = load_params(params_path, model)
    (measurements,) = measure_all(params, load_sets(params), load_texts(params.data_dir))
    provenance = {
        **base_provenance(params.seed),
        "activations": json.loads((params.model_dir / "activations" / "provenance.json").read_text("utf-8")),
        "analysis": params.analysis.model_dump(),
    }
    target = params.model_dir / "measurements.json"
    write_measurements(target, [m.row() for m in measurements], provenance)
    return target


if __name__ == "__main__":
    run(*sys.argv[1:])  # optional: another params.yaml, then the key of one model of its grid
