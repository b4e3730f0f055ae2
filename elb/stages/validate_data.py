"""DVC stage: validate the configured datasets (ELB, EIP, formality pairs) and report their length balance."""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import yaml

from elb.artifacts import DATASET_LENGTHS
from elb.config import Params, load_params
from elb.datasets.eip import ablation_counts, data_hashes, eip_texts, length_balance, load_scenarios
from elb.datasets.loaders import load_pairs, validate
from elb.datasets.quality import pair_balance, validated_report
from elb.datasets.spec import PAIR_SPECS
from elb.io import retract_report, write_json
from elb.models.registry import sha256_of


def run(params_path: str = "params.yaml") -> Path:
    retract_report(_reports_dir(params_path))  # a run is starting: no earlier report may look current
    params = load_params(params_path)
    report = validated_report(params.data_dir, params)
    target = params.artifacts_dir / "dataset_report.json"
    rows = [{"subset": subset, "label": label, **stats, "chi2": result["chi2"], "p_value": result["p_value"]}
            for subset, result in report["length_confound"].items() for label, stats in result["lengths"].items()]
    validate(pd.DataFrame(rows), DATASET_LENGTHS, target, id_column="subset")
    texts = eip_texts(params.eip.data_dir, params.eip.rated_texts)
    report["eip"] = {"data_dir": str(params.eip.data_dir), "texts": texts["role"].value_counts().to_dict(),
                     "scenarios": len(load_scenarios(params.eip.data_dir)),
                     "length_balance": length_balance(params.eip.data_dir),
                     "ablation": ablation_counts(params.eip.data_dir),
                     "sha256": data_hashes(params.eip.data_dir, params.eip.rated_texts)}
    paired = {spec: params.data_dir / spec.filename for spec in PAIR_SPECS}  # Phase 1; council round 2 and Phase 1
    report["pairs"] = {spec.name: {"file": str(path), "sha256": sha256_of(path),
                                   "balance": pair_balance(load_pairs(path, spec))} for spec, path in paired.items()}
    write_json(target, report)
    return target


def _reports_dir(params_path: str) -> Path:
    """reports_dir read before validation, so that an invalid params.yaml still retracts the earlier report."""
    try:
        return Path(yaml.safe_load(Path(params_path).read_text(encoding="utf-8"))["reports_dir"])
    except (OSError, yaml.YAMLError, TypeError, KeyError):
        return Params.model_fields["reports_dir"].default


if __name__ == "__main__":
    run(*sys.argv[1:])  # optional: another params.yaml
