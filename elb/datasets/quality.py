"""Dataset quality report: sizes and the length confound of the empathy types; length balance of paired texts."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import ttest_rel, wilcoxon

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


def pair_balance(pairs: pd.DataFrame) -> dict[str, Any]:
    """Within-pair length balance (characters) of one paired file (`load_pairs`), per category (file order) and
    overall: the sides' mean lengths, mean |len(a) - len(b)| / mean length, and paired t-test and Wilcoxon
    signed-rank p-values."""
    sides = list(pd.unique(pairs["side"]))
    if len(sides) != 2:
        raise ValueError(f"pair_balance needs the two sides of one paired file, got {sides}")
    lengths = pairs.assign(length=pairs["text"].str.len()).pivot_table(
        index=["category", "pair_id"], columns="side", values="length", sort=False)
    summary = {"sides": sides, "categories": {}, "overall": _balance(lengths, sides)}
    for category, frame in lengths.groupby(level="category", sort=False):
        summary["categories"][category] = _balance(frame, sides)
    return summary


def _balance(lengths: pd.DataFrame, sides: list[str]) -> dict[str, int | float]:
    a, b = (lengths[side].to_numpy(dtype=float) for side in sides)
    tied = bool(np.all(a == b))  # both tests are undefined when every difference is zero
    return {
        "pairs": len(a),
        f"mean_{sides[0]}": float(a.mean()),
        f"mean_{sides[1]}": float(b.mean()),
        "relative_gap": float(np.abs(a - b).mean() / np.concatenate([a, b]).mean()),
        "t_p_value": 1.0 if tied else float(ttest_rel(a, b).pvalue),
        "wilcoxon_p_value": 1.0 if tied else float(wilcoxon(a, b).pvalue),
    }
