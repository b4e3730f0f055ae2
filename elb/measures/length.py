"""Length confound: per-group length means and the chi-square of group x length tercile."""
from __future__ import annotations

from typing import Literal

import numpy as np
from scipy.stats import chi2_contingency

LongFrom = Literal["p66", "above_p66"]


def length_terciles(lengths: np.ndarray, long_from: LongFrom = "p66") -> np.ndarray:
    """0/1/2 = short/medium/long by np.percentile 33 and 66 of the lengths: `<= p33` short, then long from p66
    itself (published `>= p66`) or, with "above_p66", only above it (our earlier rule)."""
    lengths = np.asarray(lengths, dtype=float)
    low, high = np.percentile(lengths, [33, 66])
    long = lengths >= high if long_from == "p66" else lengths > high
    return np.where(lengths <= low, 0, np.where(long, 2, 1))


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
