"""Dataset quality report: sizes and the length confound of the empathy types."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from elb.config import Params
from elb.datasets.loaders import load_texts
from elb.datasets.sizes import check_sizes
from elb.datasets.spec import SPECS, TRIPLETS
from elb.measures.length import length_summary, tercile_chi_square
from elb.models.registry import sha256_of


def dataset_report(texts: pd.DataFrame, data_dir: Path, first_n: int = 30) -> dict[str, Any]:
    """sha256 of each dataset file; per-type response length means and the type x length-tercile chi-square, for
    the first N and all triplets."""
    triplets = texts[texts["dataset"] == TRIPLETS.name]
    subsets = {f"first {first_n} triplets": triplets[triplets["position"] < first_n], "all triplets": triplets}
    confound = {}
    for name, frame in subsets.items():
        labels, lengths = frame["label"].to_numpy(), frame["response"].str.len().to_numpy()
        confound[name] = {"lengths": length_summary(labels, lengths), **tercile_chi_square(labels, lengths)}
    return {
        "data_dir": str(data_dir),
        "sha256": {spec.filename: sha256_of(Path(data_dir) / spec.filename) for spec in SPECS},
        "counts": texts.groupby("dataset")["item_id"].nunique().to_dict(),
        "texts": int(len(texts)),
        "length_confound": confound,
    }


def validated_report(data_dir: Path, params: Params) -> dict[str, Any]:
    """Load a dataset folder, check it is large enough for the configured analyses, and report on it."""
    texts = load_texts(data_dir)
    check_sizes(texts, params, data_dir)
    return dataset_report(texts, data_dir, params.analysis.validation.n_triplets)
