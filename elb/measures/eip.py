"""EIP analyses as pure functions: mean-difference probes, random-direction baseline, behavioural correlation, and
the published scoring of steered generations (keyword rule, coherence rule, success rules)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from elb.config import EipConfig
from elb.measures.measurement import Measurement
from elb.measures.stats import auroc_interval, binary_auroc, clopper_pearson, permutation_summary

# --- probes -------------------------------------------------------------------------------------------------


def mean_difference_direction(empathic: np.ndarray, non_empathic: np.ndarray) -> np.ndarray:
    """normalize(mean(empathic) - mean(non_empathic)) of pooled activations [n, d]."""
    difference = empathic.mean(axis=0) - non_empathic.mean(axis=0)
    return difference / np.linalg.norm(difference)


def probe_metrics(empathic: np.ndarray, non_empathic: np.ndarray) -> dict[str, float]:
    """Test metrics of dot-product scores as both published scripts computed them (numpy population SDs).

    accuracy_median: score >= median of all scores is empathic (Phi-3 script); accuracy_midpoint: score > midpoint
    of the two class means (cross-model script).
    """
    scores = np.concatenate([empathic, non_empathic])
    truth = np.concatenate([np.ones(len(empathic)), np.zeros(len(non_empathic))])
    midpoint = (empathic.mean() + non_empathic.mean()) / 2
    return {
        "auroc": binary_auroc(scores, truth),
        "accuracy_median": float(np.mean((scores >= np.median(scores)) == truth)),
        "accuracy_midpoint": float(np.mean((scores > midpoint) == truth)),
        "separation": float(empathic.mean() - non_empathic.mean()),
        "empathic_mean": float(empathic.mean()),
        "non_empathic_mean": float(non_empathic.mean()),
        "empathic_std": float(empathic.std()),
        "non_empathic_std": float(non_empathic.std()),
    }


def best_layer(aurocs: dict[int, float]) -> int:
    """The first layer (in the given order) of highest AUROC, as the published loop's strict `>` picks it."""
    best = next(iter(aurocs))
    for layer, value in aurocs.items():
        if value > aurocs[best]:
            best = layer
    return best


def pair_folds(n_pairs: int, folds: int, seed: int) -> list[np.ndarray]:
    """Pair indices split into shuffled folds: both texts of a pair always land in the same fold."""
    order = np.random.default_rng(seed).permutation(n_pairs)
    return [np.sort(part) for part in np.array_split(order, min(folds, n_pairs))]


def cross_validated_auroc(empathic: np.ndarray, non_empathic: np.ndarray, folds: int, seed: int) -> float:
    """Mean held-out-fold AUROC of the mean-difference probe over pair-grouped folds of the train pairs."""
    values = []
    for held in pair_folds(len(empathic), folds, seed):
        keep = np.setdiff1d(np.arange(len(empathic)), held)
        direction = mean_difference_direction(empathic[keep], non_empathic[keep])
        values.append(probe_metrics(empathic[held] @ direction, non_empathic[held] @ direction)["auroc"])
    return float(np.mean(values))


def random_direction_aurocs(empathic: np.ndarray, non_empathic: np.ndarray, n: int, seed: int | list[int]
                            ) -> np.ndarray:
    """AUROC of `n` seeded random unit directions (standard normal, normalised) on the same test activations."""
    rng = np.random.default_rng(seed)
    directions = rng.standard_normal((n, empathic.shape[1]))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    return np.array([probe_metrics(empathic @ d, non_empathic @ d)["auroc"] for d in directions])


def random_baseline(probe_auroc: float, random_aurocs: np.ndarray) -> dict[str, float]:
    """The published summary (population SD, z with +1e-10) and the empirical p of the probe among the randoms."""
    mean, sd = float(np.mean(random_aurocs)), float(np.std(random_aurocs))
    return {"mean": mean, "sd": sd, "p95": float(np.percentile(random_aurocs, 95)),
            "z": (probe_auroc - mean) / (sd + 1e-10),
            "p_empirical": (int(np.sum(random_aurocs >= probe_auroc)) + 1) / (len(random_aurocs) + 1)}


# --- behavioural correlation ----------------------------------------------------------------------------------

def behavioural_correlation(scores: np.ndarray, ratings: np.ndarray, permutations: int, seed: int
                            ) -> dict[str, float]:
    """Pearson and Spearman r with their p, a one-sided permutation p of Pearson r (ratings shuffled), and the
    published binary accuracy: 0 vs 2 texts only, score >= their median is a 2."""
    pearson_r, pearson_p = stats.pearsonr(scores, ratings)
    spearman_r, spearman_p = stats.spearmanr(scores, ratings)
    rng = np.random.default_rng(seed)
    null = np.array([stats.pearsonr(scores, rng.permutation(ratings))[0] for _ in range(permutations)])
    binary = (ratings == 0) | (ratings == 2)
    chosen = scores[binary]
    accuracy = float(np.mean((chosen >= np.median(chosen)) == (ratings[binary] == 2)))
    return {"pearson_r": float(pearson_r), "pearson_p": float(pearson_p), "spearman_r": float(spearman_r),
            "spearman_p": float(spearman_p), "permutation_p": (int(np.sum(null >= pearson_r)) + 1) / (permutations + 1),
            "null_mean": float(null.mean()), "null_sd": float(null.std()), "binary_accuracy": accuracy,
            "n_binary": int(binary.sum())}


def fisher_interval(r: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Interval of a Pearson r from the Fisher z transform (needs n > 3)."""
    half = float(stats.norm.ppf(1 - (1 - confidence) / 2)) / np.sqrt(n - 3)
    centre = np.arctanh(np.clip(r, -0.999999, 0.999999))
    return float(np.tanh(centre - half)), float(np.tanh(centre + half))


# --- scoring of steered generations ---------------------------------------------------------------------------

EMPATHY_KEYWORDS = ("help", "support", "concern", "care", "worry", "feel", "understand", "sorry", "comfort",
                    "listen", "reach out")
TASK_KEYWORDS = ("objective", "task", "goal", "win", "complete", "achieve", "strategy", "efficient", "optimal",
                 "proceed")


def distinct_keywords(text: str, keywords: Sequence[str]) -> int:
    lower = text.lower()
    return sum(k in lower for k in keywords)


def is_empathetic(text: str) -> bool:
    """Published scoring: more distinct empathy keywords than task keywords (lower-case substring match)."""
    return distinct_keywords(text, EMPATHY_KEYWORDS) > distinct_keywords(text, TASK_KEYWORDS)


def is_coherent(text: str) -> bool:
    """Published coherence: >= 50 characters, >= 10 words, unique-word ratio >= 0.3."""
    words = text.split()
    return len(text) >= 50 and len(words) >= 10 and len(set(words)) / len(words) >= 0.3


SUCCESS_RULES = ("success_published_rule", "success_positive_alpha", "success_negative_alpha",
                 "success_ties_as_failure")


def alpha_successes(rates: dict[float, float]) -> dict[float, dict[str, bool]]:
    """Whether each alpha != 0 of one (layer, scenario) succeeded under each rule (alpha 0 is the baseline).

    published rule: positive alpha succeeds when the rate rose, negative alpha when it did not rise;
    ties as failure: negative alpha must make the rate fall. Positive/negative-only rules skip the other sign.
    """
    base = rates[0.0]
    out = {}
    for alpha, rate in rates.items():
        if alpha == 0.0:
            continue
        moved = rate - base
        flags = {"success_published_rule": (moved > 0) if alpha > 0 else (moved <= 0),
                 "success_ties_as_failure": (moved > 0) if alpha > 0 else (moved < 0)}
        flags["success_positive_alpha" if alpha > 0 else "success_negative_alpha"] = flags["success_published_rule"]
        out[alpha] = flags
    return out


def steering_success(rates: dict[float, float]) -> dict[str, float]:
    """Share of alphas succeeding under each rule for one (layer, scenario); NaN where a rule has no alphas."""
    flags = alpha_successes(rates)
    return {rule: float(np.mean(values)) if (values := [f[rule] for f in flags.values() if rule in f])
            else float("nan") for rule in SUCCESS_RULES}


# --- measures (catalogue entries) -----------------------------------------------------------------------------

@dataclass(frozen=True)
class EipLayer:
    """One probe layer's mean-pooled activations of every EIP text set (rows of a set in file order)."""

    train_empathic: np.ndarray
    train_non_empathic: np.ndarray
    test_empathic: np.ndarray
    test_non_empathic: np.ndarray
    ablated_empathic: np.ndarray
    ablated_non_empathic: np.ndarray
    rated: np.ndarray
    ratings: np.ndarray
    inputs: str  # where the activations came from (layer convention, mapping)

    def direction(self) -> np.ndarray:
        return mean_difference_direction(self.train_empathic, self.train_non_empathic)

    def test_metrics(self) -> dict[str, float]:
        d = self.direction()
        return probe_metrics(self.test_empathic @ d, self.test_non_empathic @ d)


def _auroc_measurement(quantity: str, auroc: float, layer: EipLayer, confidence: float, **extra) -> Measurement:
    n_pos, n_neg = len(layer.test_empathic), len(layer.test_non_empathic)
    low, high = auroc_interval(auroc, n_pos, n_neg, confidence)
    return Measurement(quantity, auroc, low, high, "Hanley-McNeil score interval", n_pos + n_neg, layer.inputs,
                       **extra)


def probes(data: dict[int, EipLayer], cfg: EipConfig, seed: int, confidence: float = 0.95) -> list[Measurement]:
    """Test AUROC by layer; the best layer as published (highest test AUROC) with its metrics, against random unit
    directions (the null of a best-of-layers AUROC: each draw's best AUROC over the same layers); the published
    random-baseline summary at the best layer; and the honest variant: the layer chosen by pair-grouped CV on the
    train pairs, scored once on test."""
    metrics = {layer: d.test_metrics() for layer, d in data.items()}
    aurocs = {layer: m["auroc"] for layer, m in metrics.items()}
    best = best_layer(aurocs)
    chosen = data[best]
    randoms = {layer: random_direction_aurocs(d.test_empathic, d.test_non_empathic, cfg.random_directions,
                                              [seed, layer]) for layer, d in data.items()}
    null = permutation_summary(aurocs[best], np.max(np.stack(list(randoms.values())), axis=0))
    cv = {layer: cross_validated_auroc(d.train_empathic, d.train_non_empathic, cfg.cv_folds, seed)
          for layer, d in data.items()}
    honest = best_layer(cv)
    n = len(chosen.test_empathic) + len(chosen.test_non_empathic)
    exact = "exact: a deterministic function of the data"
    out = [_auroc_measurement(f"eip.probe.auroc@L{layer}", aurocs[layer], data[layer], confidence,
                              details=metrics[layer]) for layer in data]
    out += [
        _auroc_measurement("eip.probe.best_auroc", aurocs[best], chosen, confidence, p_above=null["p_above"],
                           p_below=null["p_below"], null_mean=null["null_mean"], null_sd=null["null_sd"],
                           null_n=null["null_n"], details={"layer": best, "null": "best AUROC over the same layers of "
                                                           "each random unit direction", **metrics[best]}),
        Measurement("eip.probe.best_layer", best, best, best, exact, n, chosen.inputs,
                    details={"auroc_by_layer": aurocs, "selection": "highest test AUROC (published)"}),
        Measurement("eip.probe.accuracy_median", metrics[best]["accuracy_median"],
                    *clopper_pearson(round(metrics[best]["accuracy_median"] * n), n, confidence),
                    "Clopper-Pearson", n, chosen.inputs),
        Measurement("eip.probe.cv_layer", honest, honest, honest, exact, 2 * len(chosen.train_empathic),
                    chosen.inputs, details={"cv_auroc_by_layer": cv, "folds": cfg.cv_folds}),
        _auroc_measurement("eip.probe.cv_test_auroc", aurocs[honest], data[honest], confidence,
                           details={"layer": honest, "selection": "pair-grouped CV on the train pairs (ours)"}),
    ]
    summary = random_baseline(aurocs[best], randoms[best])
    band = {layer: random_baseline(aurocs[layer], values) for layer, values in randoms.items()}
    how = f"{cfg.random_directions} random unit directions (seeded), population SD, at the best layer"
    details = {"layer": best, "probe_auroc": aurocs[best], "band_by_layer": band, **summary}
    return out + [Measurement(f"eip.random.{key}", summary[key], summary[key], summary[key], how,
                              cfg.random_directions, chosen.inputs, details=details if key == "z" else {})
                  for key in ("z", "mean", "sd", "p95")]


def ablation(data: dict[int, EipLayer], cfg: EipConfig, seed: int, confidence: float = 0.95) -> list[Measurement]:
    """AUROC and separation of the train direction on the test set before and after lexical ablation, at the
    best layer (every layer in details)."""
    by_layer = {}
    for layer, d in data.items():
        direction = d.direction()
        before = probe_metrics(d.test_empathic @ direction, d.test_non_empathic @ direction)
        after = probe_metrics(d.ablated_empathic @ direction, d.ablated_non_empathic @ direction)
        by_layer[layer] = {"auroc_before": before["auroc"], "auroc_after": after["auroc"],
                           "separation_before": before["separation"], "separation_after": after["separation"]}
    best = best_layer({layer: v["auroc_before"] for layer, v in by_layer.items()})
    chosen, values = data[best], by_layer[best]
    after = _auroc_measurement("eip.ablation.auroc_after", values["auroc_after"], chosen, confidence,
                               details={"layer": best, "by_layer": by_layer})
    drop = values["auroc_before"] - values["auroc_after"]
    return [after, Measurement("eip.ablation.auroc_drop", drop, drop, drop, "exact: a deterministic function of the "
                               "data", after.n, chosen.inputs, details=values)]


def correlation(data: dict[int, EipLayer], cfg: EipConfig, seed: int, confidence: float = 0.95) -> list[Measurement]:
    """Probe scores of the rated texts against their 0/1/2 ratings, at the best layer (as published)."""
    best = best_layer({layer: d.test_metrics()["auroc"] for layer, d in data.items()})
    chosen = data[best]
    scores = chosen.rated @ chosen.direction()
    result = behavioural_correlation(scores, chosen.ratings.astype(float), cfg.permutations, seed)
    n = len(scores)
    details = {"layer": best, **result, "scores": scores.tolist(), "ratings": chosen.ratings.tolist()}
    r = result["pearson_r"]
    return [
        Measurement("eip.correlation.pearson_r", r, *fisher_interval(r, n, confidence), "Fisher z", n, chosen.inputs,
                    p_above=result["permutation_p"], p_below=None, null_mean=result["null_mean"],
                    null_sd=result["null_sd"], null_n=cfg.permutations, details=details),
        Measurement("eip.correlation.spearman_r", result["spearman_r"],
                    *fisher_interval(result["spearman_r"], n, confidence), "Fisher z (approximate for Spearman)", n,
                    chosen.inputs),
        Measurement("eip.correlation.binary_accuracy", result["binary_accuracy"],
                    *clopper_pearson(round(result["binary_accuracy"] * result["n_binary"]), result["n_binary"],
                                     confidence), "Clopper-Pearson", result["n_binary"], chosen.inputs),
    ]
