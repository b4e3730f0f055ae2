"""DVC stage: validate the configured datasets and report their length confound."""
from __future__ import annotations

from pathlib import Path

from elb.config import load_params
from elb.datasets.loaders import load_texts
from elb.datasets.quality import dataset_report
from elb.io import write_json


def run(params_path: str = "params.yaml") -> Path:
    params = load_params(params_path)
    report = dataset_report(load_texts(params.data_dir), params.data_dir, params.analysis.validation.n_triplets)
    target = params.artifacts_dir / "dataset_report.json"
    write_json(target, report)
    return target


if __name__ == "__main__":
    run()
