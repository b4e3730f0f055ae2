"""DVC stage: validate the configured datasets and report their length confound."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from elb.artifacts import DATASET_LENGTHS
from elb.config import load_params
from elb.datasets.loaders import validate
from elb.datasets.quality import validated_report
from elb.io import write_json


def run(params_path: str = "params.yaml") -> Path:
    params = load_params(params_path)
    report = validated_report(params.data_dir, params)
    target = params.artifacts_dir / "dataset_report.json"
    rows = [{"subset": subset, "label": label, **stats, "chi2": result["chi2"], "p_value": result["p_value"]}
            for subset, result in report["length_confound"].items() for label, stats in result["lengths"].items()]
    validate(pd.DataFrame(rows), DATASET_LENGTHS, target, id_column="subset")
    write_json(target, report)
    return target


if __name__ == "__main__":
    run()
