"""DVC stage: the catalogue's `spread` measures rerun with seeds seed+1..seed+N, behind each derived tolerance."""
from __future__ import annotations

import sys
from pathlib import Path

from elb.artifacts import write_seed_spread
from elb.config import load_params
from elb.datasets.loaders import load_texts
from elb.measures.catalogue import CATALOGUE
from elb.provenance import base_provenance
from elb.stages.measures import load_sets, measure_all

SPREAD = tuple(measure for measure in CATALOGUE if measure.spread)


def run(params_path: str = "params.yaml", model: str | None = None) -> Path:
    params = load_params(params_path, model)
    rerun = params.model_copy(update={"analysis": params.analysis.model_copy(
        update={"bootstrap": params.claims.seed_bootstrap})})
    sets, texts = load_sets(params), load_texts(params.data_dir)
    seeds = [params.seed + k for k in range(1, params.claims.seed_runs + 1)]
    rows = [{"quantity": m.quantity, "seed": seed, "value": m.value}
            for seed, measured in zip(seeds, measure_all(rerun, sets, texts, seeds, SPREAD)) for m in measured]
    target = params.model_dir / "seed_spread.json"
    write_seed_spread(target, rows, {**base_provenance(params.seed), "seeds": seeds,
                                     "bootstrap": params.claims.seed_bootstrap})
    return target


if __name__ == "__main__":
    run(*sys.argv[1:])  # optional: another params.yaml, then the key of one model of its grid
