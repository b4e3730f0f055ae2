"""Pure recomputations and invariant tests on values read from published files (no file access here)."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from scipy import stats

from elb.measures.probes import pairwise_cosines
from elb.measures.stats import permutation_summary

# --- generic invariants -------------------------------------------------------------------------------------


def is_multiple_of(value: float, denominators: Iterable[int], tol: float = 1e-6) -> int | None:
    """The first denominator n with value * n (nearly) an integer, or None."""
    for n in denominators:
        if n > 0 and abs(value * n - round(value * n)) <= tol * max(1, n):
            return n
    return None


def auroc_denominators(n_total: int) -> list[int]:
    """Every 2 * n_pos * n_neg a held-out set of n_total texts can have (ties give half-steps; balanced first)."""
    half = n_total // 2
    balanced = 2 * half * (n_total - half)
    return sorted({2 * p * (n_total - p) for p in range(1, n_total)}, key=lambda d: abs(d - balanced))


def on_grid(values: Iterable[float], grid: Sequence[float], tol: float = 1e-9) -> list[float]:
    """Values that are not on the grid."""
    return [v for v in values if not any(abs(v - g) <= tol for g in grid)]


def linear_grid(low: float, high: float, points: int) -> list[float]:
    return [float(x) for x in np.linspace(low, high, points)]


# --- ELB Phase 1 --------------------------------------------------------------------------------------------


def phase1_aggregates(bandwidths: Sequence[float], controls: Sequence[float], agreements: Sequence[bool],
                      transfers: Sequence[float]) -> dict[str, float]:
    """The derived Phase 1 figures as the documents define them."""
    b = np.asarray(bandwidths, dtype=float)
    return {
        "bandwidth_variation": float((b.max() - b.min()) / b.mean()),
        "empathy_control_ratio": float(b.mean() / np.mean(controls)),
        "sae_pca_agreement_rate": float(np.mean(agreements)),
        "transfer_success_mean": float(np.mean(transfers)),
        "cohens_d_range_over_sd": float((b.max() - b.min()) / np.std(b, ddof=1)),
    }


def sae_agrees(sae_features: float, pca_rank: float, within: float = 0.2) -> bool:
    """The documented SAE-PCA agreement rule: counts within about 20% of the PCA rank."""
    return abs(sae_features - pca_rank) / pca_rank <= within


def describe(values: Sequence[float]) -> dict[str, float]:
    """Mean, sample SD (the analysis file's `stdev`), min and max."""
    v = np.asarray(values, dtype=float)
    return {"mean": float(v.mean()), "stdev": sd_by_ddof(v)[1], "min": float(v.min()), "max": float(v.max())}


# --- ELB Phase 2 --------------------------------------------------------------------------------------------


def row_cosines(vectors: dict[str, np.ndarray]) -> dict[str, float]:
    """Cosines between probe weight rows, keyed like the published separation_metrics ("cosine_a_b")."""
    return {f"cosine_{pair}": value for pair, value in pairwise_cosines(vectors).items()}


def accuracy_from_report(classes: Sequence[tuple[float, float]]) -> tuple[float, int]:
    """Accuracy and test size from an sklearn classification_report's (recall, support) per class."""
    correct = sum(recall * support for recall, support in classes)
    total = sum(support for _, support in classes)
    return float(correct / total), int(round(total))


def purity(distributions: Iterable[dict[str, float]]) -> float:
    """Mean over clusters of the dominant type's share."""
    return float(np.mean([max(d.values()) for d in distributions]))


def convergence_verdict(k_match_rate: float, mean_purity: float) -> str:
    """The published rule: STRONG (>= 0.6, >= 0.7), MODERATE (>= 0.4, >= 0.5), else WEAK."""
    if k_match_rate >= 0.6 and mean_purity >= 0.7:
        return "STRONG_CONVERGENCE"
    if k_match_rate >= 0.4 and mean_purity >= 0.5:
        return "MODERATE_CONVERGENCE"
    return "WEAK_CONVERGENCE"


def cluster_sizes(distributions: Sequence[dict[str, float]], type_counts: dict[str, int]) -> list[int] | None:
    """Cluster sizes that make every share a whole count and add up to the dataset's count per type, or None."""
    total = sum(type_counts.values())
    candidates = [[n for n in range(1, total + 1)
                   if all(abs(share * n - round(share * n)) < 1e-6 for share in d.values())] for d in distributions]

    def search(index: int, left: int, chosen: list[int]) -> list[int] | None:
        if index == len(candidates):
            if left:
                return None
            counts: dict[str, int] = {}
            for size, d in zip(chosen, distributions):
                for label, share in d.items():
                    counts[label] = counts.get(label, 0) + round(share * size)
            return chosen if {k: v for k, v in counts.items() if v} == type_counts else None
        for n in candidates[index]:
            if n <= left:
                found = search(index + 1, left - n, chosen + [n])
                if found:
                    return found
        return None

    return search(0, total, [])


def sd_by_ddof(values: Sequence[float]) -> dict[int, float]:
    """Population (ddof 0) and sample (ddof 1) SD."""
    v = np.asarray(values, dtype=float)
    return {0: float(v.std()), 1: float(v.std(ddof=1)) if v.size > 1 else float("nan")}


def null_z(observed: float, null: Sequence[float]) -> dict[int, float]:
    """z of `observed` against the null with its population SD (elb.measures.stats, as published) and sample SD."""
    summary = permutation_summary(observed, np.asarray(null, dtype=float))
    sd = sd_by_ddof(null)[1]
    return {0: summary["z"], 1: (observed - summary["null_mean"]) / sd if sd > 0 else float("nan")}


def matching_ddof(by_ddof: dict[int, float], stored: float, tol: float) -> int | None:
    """Which SD convention gives the stored value (a stored SD, or a z computed with it); None if neither."""
    return next((ddof for ddof, value in by_ddof.items() if abs(value - stored) <= tol), None)


def retention(original: dict[str, float], after: dict[str, float]) -> float:
    """Mean ratio after/original over the metrics both hold."""
    keys = [k for k in original if k in after and original[k]]
    return float(np.mean([after[k] / original[k] for k in keys]))


def pearson(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    result = stats.pearsonr(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return float(result[0]), float(result[1])


def spearman(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    result = stats.spearmanr(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return float(result[0]), float(result[1])
