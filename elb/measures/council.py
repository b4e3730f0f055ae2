"""ELB council rounds 1 and 3 (declared reimplementations: the study never published these methods).

Four metrics of a labelling of the texts, each against shuffled labels on the same activations:
- d': out-of-fold decision scores of a multinomial logistic probe (stratified K-fold CV); per class, the difference
  of the class's and the other texts' mean score over their pooled SD; the mean over classes.
- probe agreement: mean pairwise cosine between the K fold probes' coefficient vectors, mean over classes.
- purity: k-means (k = number of labels) on the activations; mean dominant-label share per cluster.
- AUROC: one-vs-rest AUROC of the out-of-fold scores, mean over classes.
- accuracy (round 4's 3-way accuracy): share of texts whose highest out-of-fold score is their own class.
The same on response-length terciles, and on the activations with length regressed out of every dimension.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy.stats import norm
from sklearn.cluster import KMeans
from sklearn.model_selection import StratifiedKFold

from elb.config import AnalysisConfig
from elb.measures.length import length_terciles
from elb.measures.measurement import Measurement
from elb.measures.phase2 import (
    LENGTH_LABELS, Probed, _auroc_measure, _interval_measure, _proportion_measure, _records_convergence, _with_null,
)
from elb.measures.probes import cosine, logistic_probe
from elb.measures.sae import purity
from elb.measures.stats import binary_auroc, label_shuffles, stratified_resample

METRICS = ("d_prime", "probe_agreement", "purity", "auroc")  # round 1's four; retention is their mean ratio
REPORTED = (*METRICS, "accuracy")  # accuracy of the out-of-fold predictions: round 4's 3-way accuracy


@dataclass(frozen=True)
class Fitted:
    """One labelling's out-of-fold probe scores [texts, classes], fold-probe coefficients [folds, classes, d] and
    k-means clusters."""

    scores: np.ndarray
    coefficients: np.ndarray
    clusters: np.ndarray


def in_own_span(features: np.ndarray) -> np.ndarray:
    """The features in an orthonormal basis of their row span: distances and cosines are kept, and an L2 logistic
    probe has the same optimum (it lies in the span of its training rows); with d >> n each fit is several times
    faster."""
    return features @ np.linalg.svd(features, full_matrices=False)[2].T


def residualize(features: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Every dimension with its least-squares fit on length (with intercept) removed."""
    design = np.column_stack([np.ones(len(lengths)), lengths])
    return features - design @ np.linalg.lstsq(design, features, rcond=None)[0]


def length_r_squared(features: np.ndarray, lengths: np.ndarray,
                     confidence: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R^2 of length for every varying dimension (the squared correlation), with the bounds of its Fisher z interval."""
    x = features[:, features.std(axis=0) > 0]
    r = np.array([np.corrcoef(column, lengths)[0, 1] for column in x.T])
    half = float(norm.ppf(1 - (1 - confidence) / 2)) / np.sqrt(len(lengths) - 3)
    low, high = np.tanh(np.arctanh(r) - half), np.tanh(np.arctanh(r) + half)
    return r**2, np.where(low * high <= 0, 0.0, np.minimum(low**2, high**2)), np.maximum(low**2, high**2)


def _cross_fit(x: np.ndarray, labels: np.ndarray, cfg: AnalysisConfig, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Logistic probes by stratified K-fold CV (folds shuffled with the seed): out-of-fold decision scores [texts,
    classes in sorted order; one column for two classes] and each fold probe's coefficients."""
    splitter = StratifiedKFold(cfg.council.cv_folds, shuffle=True, random_state=seed)
    n_classes = len(np.unique(labels))
    scores, coefficients = np.empty((len(labels), n_classes if n_classes > 2 else 1)), []
    for train, test in splitter.split(x, labels):
        probe = logistic_probe(x[train], labels[train], cfg.validation.C, cfg.validation.max_iter, seed)
        scores[test] = probe.decision_function(x[test]).reshape(len(test), -1)
        coefficients.append(probe.coef_)
    return scores, np.array(coefficients)


def out_of_fold_scores(x: np.ndarray, labels: np.ndarray, cfg: AnalysisConfig, seed: int) -> np.ndarray:
    """Out-of-fold decision scores of the council's CV probes (see `_cross_fit`)."""
    return _cross_fit(x, labels, cfg, seed)[0]


def fit(x: np.ndarray, labels: np.ndarray, clusters: np.ndarray, cfg: AnalysisConfig, seed: int) -> Fitted:
    """Multinomial logistic probes by stratified K-fold CV: out-of-fold scores, fold-probe coefficients, clusters."""
    return Fitted(*_cross_fit(x, labels, cfg, seed), clusters)


def d_prime(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mean over classes of (mean score of the class - mean of the rest) / pooled SD, on that class's score column."""
    values = []
    for column, name in enumerate(np.unique(labels)):
        inside, outside = scores[labels == name, column], scores[labels != name, column]
        pooled = ((len(inside) - 1) * inside.var(ddof=1) + (len(outside) - 1) * outside.var(ddof=1)) \
            / (len(inside) + len(outside) - 2)
        values.append((inside.mean() - outside.mean()) / np.sqrt(pooled))
    return float(np.mean(values))


def agreement(coefficients: np.ndarray) -> float:
    """Mean pairwise cosine between fold probes' coefficient vectors, mean over classes."""
    return float(np.mean([cosine(a[c], b[c]) for c in range(coefficients.shape[1])
                          for a, b in combinations(coefficients, 2)]))


def macro_ovr_auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean([binary_auroc(scores[:, i], labels == name) for i, name in enumerate(np.unique(labels))]))


def accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    """Share of texts whose highest out-of-fold score is their own class (classes in sorted order)."""
    return float(np.mean(np.unique(labels)[scores.argmax(axis=1)] == labels))


def metrics(fitted: Fitted, labels: np.ndarray, rows: np.ndarray) -> dict[str, float]:
    """The four metrics on the texts `rows` (fits held fixed: agreement does not depend on `rows`)."""
    return {"d_prime": d_prime(fitted.scores[rows], labels[rows]), "probe_agreement": agreement(fitted.coefficients),
            "purity": purity(fitted.clusters[rows], labels[rows]),
            "auroc": macro_ovr_auroc(fitted.scores[rows], labels[rows]),
            "accuracy": accuracy(fitted.scores[rows], labels[rows])}


def _jackknife_interval(coefficients: np.ndarray, confidence: float) -> tuple[float, float]:
    """Normal interval of the agreement from its leave-one-fold-probe-out jackknife standard error."""
    k, value = len(coefficients), agreement(coefficients)
    left_out = np.array([agreement(np.delete(coefficients, j, axis=0)) for j in range(k)])
    error = float(norm.ppf(1 - (1 - confidence) / 2)) * np.sqrt((k - 1) / k * np.sum((left_out - left_out.mean()) ** 2))
    return value - error, value + error


def _labelling(name: str, x: np.ndarray, labels: np.ndarray, permutations: int, resamples: list[np.ndarray],
               cfg: AnalysisConfig, seed: int, inputs: str) -> tuple[list[Measurement], list[dict[str, float]]]:
    """The four metrics of one labelling with their intervals and shuffled-label nulls; their bootstrap samples
    (first: the value on every text)."""
    n, everything = len(labels), np.arange(len(labels))
    clusters = KMeans(len(np.unique(labels)), n_init=cfg.council.n_init, random_state=seed).fit(x).labels_
    fitted = fit(x, labels, clusters, cfg, seed)
    value, samples = metrics(fitted, labels, everything), [metrics(fitted, labels, rows) for rows in resamples]
    nulls = [metrics(fit(x, shuffled, clusters, cfg, seed), shuffled, everything)
             for shuffled in label_shuffles(labels, permutations, seed)]
    smallest = int(np.unique(labels, return_counts=True)[1].min())
    how = "stratified bootstrap of the texts over fixed out-of-fold scores and clusters"
    measured = {metric: _interval_measure(f"council.{name}.{metric}", value[metric],
                                          np.array([s[metric] for s in samples]), cfg, n, inputs, how)
                for metric in ("d_prime", "purity")}
    measured["probe_agreement"] = Measurement(
        f"council.{name}.probe_agreement", value["probe_agreement"],
        *_jackknife_interval(fitted.coefficients, cfg.confidence),
        f"jackknife over the {cfg.council.cv_folds} fold probes (normal, {cfg.confidence:.0%})", n, inputs)
    measured["accuracy"] = _proportion_measure(f"council.{name}.accuracy", round(value["accuracy"] * n), n, cfg,
                                               inputs, chance=1 / len(np.unique(labels)))
    measured["auroc"] = _auroc_measure(f"council.{name}.auroc", value["auroc"], smallest, n - smallest, cfg, inputs,
                                       note="conservative: the smallest class vs the rest")
    return ([_with_null(measured[metric], np.array([null[metric] for null in nulls]),
                        f"shuffled {name} labels on the same activations") for metric in REPORTED], [value, *samples])


@_records_convergence
def rounds_one_and_three(data: Probed, cfg: AnalysisConfig, seed: int) -> list[Measurement]:
    """d', probe agreement, purity and AUROC of the empathy types, of length terciles and of the empathy types on
    length-residualized activations, each against its shuffled-label null; retention and length R^2."""
    if data.lengths is None:
        raise ValueError("the council metrics need the response lengths of their texts")
    empathy, residualized = in_own_span(data.features), in_own_span(residualize(data.features, data.lengths))
    labellings = {"empathy": (empathy, data.labels, cfg.null_test.permutations),
                  "length": (empathy, LENGTH_LABELS[length_terciles(data.lengths)], cfg.null_test.length_permutations),
                  "residualized": (residualized, data.labels, cfg.null_test.permutations)}
    rng, n = np.random.default_rng(seed), len(data.labels)
    resamples = [stratified_resample(data.labels, rng) for _ in range(cfg.bootstrap)]
    out, samples = [], {}
    for name, (x, labels, permutations) in labellings.items():
        measured, samples[name] = _labelling(name, x, labels, permutations, resamples, cfg, seed, data.inputs)
        out += measured
    retention = [float(np.mean([r[m] / e[m] for m in METRICS]))
                 for r, e in zip(samples["residualized"], samples["empathy"])]
    r_squared, low, high = length_r_squared(data.features, data.lengths, cfg.confidence)
    r2_how = f"per-dimension Fisher z interval of the length correlation, squared ({cfg.confidence:.0%})"
    return [*out,
            _interval_measure("council.residualized.retention", retention[0], np.array(retention[1:]), cfg, n,
                              data.inputs, "paired stratified bootstrap of the texts (d', purity, AUROC; agreement "
                                           "at its value)",
                              ratios={m: samples["residualized"][0][m] / samples["empathy"][0][m] for m in METRICS}),
            Measurement("council.length_r2_mean", float(r_squared.mean()), float(low.mean()), float(high.mean()),
                        f"mean over dimensions of the {r2_how}", n, data.inputs),
            Measurement("council.length_r2_max", float(r_squared.max()), float(low.max()), float(high.max()),
                        f"max over dimensions of the {r2_how}", n, data.inputs)]
