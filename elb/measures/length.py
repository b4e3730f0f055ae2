"""Length confound: per-group length means and the chi-square of group x length tercile."""
from __future__ import annotations

import numpy as np
from scipy.stats import chi2_contingency


def length_terciles(lengths: np.ndarray) -> np.ndarray:
    """0/1/2 by the 33rd and 66th percentiles of the lengths (published rule)."""
    low, high = np.percentile(lengths, [33, 66])
    return np.digitize(lengths, [low, high], right=True)


def tercile_chi_square(groups: np.ndarray, lengths: np.ndarray) -> dict:
    """Chi-square test of independence between group and length tercile."""
    terciles = length_terciles(np.asarray(lengths, dtype=float))
    labels = sorted(set(groups))
    table = np.array([[np.sum((groups == g) & (terciles == t)) for t in range(3)] for g in labels], dtype=float)
    table = table[:, table.sum(axis=0) > 0]
    statistic, p_value, dof, _ = chi2_contingency(table, correction=False)
    return {"chi2": float(statistic), "p_value": float(p_value), "dof": int(dof),
            "groups": labels, "contingency": table.astype(int).tolist()}


def length_summary(groups: np.ndarray, lengths: np.ndarray) -> dict[str, dict[str, float]]:
    return {g: {"mean": float(np.mean(lengths[groups == g])), "sd": float(np.std(lengths[groups == g], ddof=1)),
                "n": int(np.sum(groups == g))} for g in sorted(set(groups))}
