"""Statistics: exact and bootstrap intervals, AUROC, permutation nulls."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import beta
from sklearn.metrics import roc_auc_score


def clopper_pearson(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact binomial interval for a proportion."""
    if trials <= 0:
        raise ValueError("clopper_pearson needs at least one trial")
    alpha = 1 - confidence
    low = 0.0 if successes == 0 else float(beta.ppf(alpha / 2, successes, trials - successes + 1))
    high = 1.0 if successes == trials else float(beta.ppf(1 - alpha / 2, successes + 1, trials - successes))
    return low, high


def percentile_interval(samples: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """Percentile interval of bootstrap samples (NaNs from degenerate resamples are dropped)."""
    samples = np.asarray(samples, dtype=float)
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        raise ValueError("no finite bootstrap samples")
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def stratified_resample(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices of a bootstrap resample that keeps each label's count."""
    return np.concatenate([rng.choice(np.flatnonzero(labels == value), size=np.sum(labels == value))
                           for value in np.unique(labels)])


def bootstrap(statistic: Callable[[np.ndarray], float], labels: np.ndarray, n_resamples: int,
              seed: int) -> np.ndarray:
    """Stratified bootstrap distribution of `statistic(indices)`."""
    rng = np.random.default_rng(seed)
    return np.array([statistic(stratified_resample(labels, rng)) for _ in range(n_resamples)])


def binary_auroc(scores: np.ndarray, positive: np.ndarray) -> float:
    return float(roc_auc_score(positive.astype(int), scores))


def macro_auroc(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """One-vs-rest macro AUROC of class probabilities (columns in sorted label order)."""
    return float(roc_auc_score(labels, probabilities, multi_class="ovr", average="macro"))


def permutation_null(statistic: Callable[[np.ndarray], float], labels: np.ndarray, n_permutations: int,
                     seed: int) -> np.ndarray:
    """Statistic recomputed under `n_permutations` shuffles of the labels (group sizes are kept)."""
    rng = np.random.default_rng(seed)
    return np.array([statistic(rng.permutation(labels)) for _ in range(n_permutations)])


def permutation_summary(observed: float, null: np.ndarray) -> dict[str, float]:
    """z against the null, and the one-sided permutation p of observed >= null, (k + 1) / (n + 1)."""
    sd = float(np.std(null, ddof=1)) if null.size > 1 else float("nan")
    exceed = int(np.sum(null >= observed))
    return {
        "null_mean": float(np.mean(null)),
        "null_sd": sd,
        "null_n": int(null.size),
        "z": (observed - float(np.mean(null))) / sd if sd > 0 else float("nan"),
        "p_value": (exceed + 1) / (null.size + 1),
    }
