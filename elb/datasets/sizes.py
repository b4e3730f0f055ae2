"""The dataset sizes the configured analyses need, checked up front so that no stage fails late on them."""
from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from elb.config import Params
from elb.datasets.loaders import DatasetError
from elb.datasets.spec import EMPATHY_TYPES, TRIPLETS


def check_sizes(texts: pd.DataFrame, params: Params, data_dir: Path) -> None:
    """Raise a DatasetError naming every param the data are too small for, with the counts."""
    problems = [*_subset_problems(texts, params), *_fold_problems(texts, params), *_split_problems(texts, params)]
    if problems:
        raise DatasetError(f"{data_dir}: too few items for the configured analyses:\n"
                           + "\n".join(f"  {problem}" for problem in problems))


def _items(texts: pd.DataFrame, dataset: str) -> int:
    return int(texts.loc[texts["dataset"] == dataset, "position"].nunique())


def _subset_problems(texts: pd.DataFrame, params: Params) -> Iterator[str]:
    """Each catalogue subset capped by a param (first N triplets, controls, ...) needs N items."""
    from elb.measures.catalogue import SUBSETS  # imports torch: only once params and data have loaded

    for subset in SUBSETS.values():
        for dataset in subset.datasets:
            wanted, have = subset.size(params), _items(texts, dataset)
            if wanted is not None and wanted > have:
                yield (f"analysis.validation.{subset.limit} = {wanted} needs {wanted} {dataset} items; "
                       f"the data have {have}")


def _fold_problems(texts: pd.DataFrame, params: Params) -> Iterator[str]:
    """Stratified K-fold of the pairwise AUROC needs K texts of each type."""
    v = params.analysis.validation
    per_type = min(v.auroc_triplets, _items(texts, TRIPLETS.name))
    if v.cv_folds > per_type:
        yield (f"analysis.validation.cv_folds = {v.cv_folds} needs {v.cv_folds} texts of each type among the first "
               f"analysis.validation.auroc_triplets = {v.auroc_triplets} triplets; the data have {per_type}")


def _split_problems(texts: pd.DataFrame, params: Params) -> Iterator[str]:
    """Pipeline B's stratified test, then validation, split needs every type on both sides of each split."""
    pb, n_types = params.analysis.pipeline_b, len(EMPATHY_TYPES)
    n = _items(texts, TRIPLETS.name) * n_types
    for key, fraction in (("test_fraction", pb.test_fraction), ("val_fraction", pb.val_fraction)):
        held = math.ceil(fraction * n)  # as sklearn's train_test_split rounds
        if min(held, n - held) < n_types:
            yield (f"analysis.pipeline_b.{key} = {fraction} splits {n} triplet texts into {held} and {n - held}; "
                   f"each side needs at least {n_types} (one per type)")
            return
        n -= held
