"""ELB Phase 2 measurements (pipeline B, validation suite, null tests): arrays in, Measurements out."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from elb.config import AnalysisConfig
from elb.measures.length import length_terciles
from elb.measures.measurement import Measurement
from elb.measures.probes import (
    cross_validated_scores, one_vs_rest_coefficients, pairwise_cosines,
    softmax_probabilities, standardizer, train_softmax_probe,
)
from elb.measures.stats import (
    binary_auroc, bootstrap, clopper_pearson, macro_auroc, percentile_interval, permutation_null,
    permutation_summary, stratified_resample,
)

LENGTH_LABELS = np.array(["short", "medium", "long"])


@dataclass(frozen=True)
class Probed:
    """Activations of one labelled text set at one layer, with a description of where they came from."""

    features: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    inputs: str

    def relabel(self, labels: np.ndarray, classes: tuple[str, ...]) -> "Probed":
        return Probed(self.features, labels, classes, self.inputs)


def _interval_measure(quantity: str, value: float, samples: np.ndarray, cfg: AnalysisConfig, n: int, inputs: str,
                      how: str, **details) -> Measurement:
    low, high = percentile_interval(samples, cfg.confidence)
    return Measurement(quantity, value, low, high, f"{how} ({len(samples)} resamples, {cfg.confidence:.0%})",
                       n, inputs, details=details)


def _proportion_measure(quantity: str, successes: int, trials: int, cfg: AnalysisConfig, inputs: str,
                        **details) -> Measurement:
    return Measurement(quantity, successes / trials, *clopper_pearson(successes, trials, cfg.confidence),
                       f"Clopper-Pearson exact ({cfg.confidence:.0%})", trials, inputs, details=details)


def _prepare(features: np.ndarray, fit_rows: np.ndarray, cfg: AnalysisConfig) -> np.ndarray:
    if not cfg.standardize:
        return features.astype(np.float64)
    mean, scale = standardizer(features[fit_rows])
    return (features - mean) / scale


def pipeline_b(data: Probed, cfg: AnalysisConfig, seed: int) -> list[Measurement]:
    """3-class linear probe: held-out accuracy and macro AUROC, and the cosines between its weight rows."""
    pb = cfg.pipeline_b
    classes = list(data.classes)
    y = np.array([classes.index(label) for label in data.labels])
    rest, test = train_test_split(np.arange(len(y)), test_size=pb.test_fraction, stratify=y, random_state=seed)
    train, val = train_test_split(rest, test_size=pb.val_fraction, stratify=y[rest], random_state=seed)
    x = _prepare(data.features, train, cfg)

    def fit(rows: np.ndarray, fit_seed: int):
        return train_softmax_probe(x[rows], y[rows], len(classes), pb.epochs, pb.lr, fit_seed)

    def row_cosines(weight: np.ndarray) -> dict[str, float]:
        return pairwise_cosines(dict(zip(classes, weight)))

    weight, bias = fit(train, seed)
    split = {"train": len(train), "val": len(val), "test": len(test)}
    probabilities = softmax_probabilities(x[test], weight, bias)
    correct = int(np.sum(probabilities.argmax(axis=1) == y[test]))
    val_correct = int(np.sum(softmax_probabilities(x[val], weight, bias).argmax(axis=1) == y[val]))
    auroc_samples = bootstrap(lambda idx: macro_auroc(probabilities[idx], y[test][idx]), y[test], cfg.bootstrap, seed)
    observed = row_cosines(weight)
    rng = np.random.default_rng(seed)
    refits = [row_cosines(fit(rng.choice(train, size=len(train)), seed + b + 1)[0]) for b in range(cfg.bootstrap)]
    out = [
        _proportion_measure("pipeline_b.test_accuracy", correct, len(test), cfg, data.inputs, **split),
        _proportion_measure("pipeline_b.val_accuracy", val_correct, len(val), cfg, data.inputs),
        _interval_measure("pipeline_b.macro_auroc", macro_auroc(probabilities, y[test]), auroc_samples, cfg,
                          len(test), data.inputs, "stratified bootstrap of the test set"),
    ]
    for name, value in observed.items():
        out.append(_interval_measure(f"pipeline_b.cos_{name}", value, np.array([r[name] for r in refits]), cfg,
                                     len(train), data.inputs, "bootstrap refits of the probe on resampled training rows"))
    out.append(_interval_measure("pipeline_b.max_row_cosine", max(observed.values()),
                                 np.array([max(r.values()) for r in refits]), cfg, len(train), data.inputs,
                                 "bootstrap refits of the probe on resampled training rows", cosines=observed))
    return out


def _ovr_cosines(data: Probed, cfg: AnalysisConfig, seed: int, rows: np.ndarray | None = None) -> dict[str, float]:
    rows = np.arange(len(data.labels)) if rows is None else rows
    classes = list(data.classes)
    x = _prepare(data.features, rows, cfg)[rows]
    v = cfg.validation
    return pairwise_cosines(one_vs_rest_coefficients(x, data.labels[rows], classes, v.C, v.max_iter, seed))


def ovr_cosines(prefix: str, data: Probed, cfg: AnalysisConfig, seed: int) -> list[Measurement]:
    """One-vs-rest logistic probes fit on all texts; cosines of their coefficients, mean and max, bootstrapped."""
    observed = _ovr_cosines(data, cfg, seed)
    rng = np.random.default_rng(seed)
    refits = [_ovr_cosines(data, cfg, seed, stratified_resample(data.labels, rng)) for _ in range(cfg.bootstrap)]
    how = "stratified bootstrap refits of the one-vs-rest probes"
    out = [_interval_measure(f"{prefix}.cos_{name}", value, np.array([r[name] for r in refits]), cfg,
                             len(data.labels), data.inputs, how) for name, value in observed.items()]
    for summary, reduce in (("mean", np.mean), ("max", np.max)):
        out.append(_interval_measure(f"{prefix}.{summary}_cosine", float(reduce(list(observed.values()))),
                                     np.array([reduce(list(r.values())) for r in refits]), cfg, len(data.labels),
                                     data.inputs, how, cosines=observed))
    return out


def pairwise_auroc(data: Probed, cfg: AnalysisConfig, seed: int) -> list[Measurement]:
    """AUROC of each subtype pair from out-of-fold logistic scores; the minimum over pairs for the claim."""
    v = cfg.validation
    out, pooled = [], {}
    for i, a in enumerate(data.classes):
        for b in data.classes[i + 1:]:
            rows = np.flatnonzero(np.isin(data.labels, [a, b]))
            positive = (data.labels[rows] == a).astype(int)
            x = _prepare(data.features, rows, cfg)[rows]
            scores = cross_validated_scores(x, positive, v.cv_folds, v.C, v.max_iter, seed)
            pooled[f"{a}_vs_{b}"] = (scores, positive)
    samples = {name: bootstrap(lambda idx, s=s, p=p: binary_auroc(s[idx], p[idx]), p, cfg.bootstrap, seed)
               for name, (s, p) in pooled.items()}
    values = {name: binary_auroc(s, p) for name, (s, p) in pooled.items()}
    how = f"stratified bootstrap of out-of-fold scores ({v.cv_folds}-fold CV)"
    for name, value in values.items():
        out.append(_interval_measure(f"validation.auroc_{name}", value, samples[name], cfg,
                                     len(pooled[name][1]), data.inputs, how))
    out.append(_interval_measure("validation.min_pairwise_auroc", min(values.values()),
                                 np.min(np.vstack(list(samples.values())), axis=0), cfg,
                                 len(data.labels), data.inputs, how, aurocs=values))
    return out


def layer_sweep(by_layer: dict[str, Probed], cfg: AnalysisConfig, seed: int) -> list[Measurement]:
    """Cognitive-vs-affective one-vs-rest cosine at each swept layer, and its maximum over layers."""
    rng = np.random.default_rng(seed)
    labels = next(iter(by_layer.values())).labels
    resamples = [stratified_resample(labels, rng) for _ in range(cfg.bootstrap)]
    out, per_layer = [], {}
    for layer, data in by_layer.items():
        observed = _ovr_cosines(data, cfg, seed)["cognitive_affective"]
        samples = np.array([_ovr_cosines(data, cfg, seed, rows)["cognitive_affective"] for rows in resamples])
        per_layer[layer] = (observed, samples)
        out.append(_interval_measure(f"validation.layer_sweep.cos_cognitive_affective@{layer}", observed, samples,
                                     cfg, len(labels), data.inputs, "stratified bootstrap refits"))
    worst = max(per_layer, key=lambda layer: per_layer[layer][0])
    out.append(_interval_measure("validation.layer_sweep.max_cos_cognitive_affective", per_layer[worst][0],
                                 np.max(np.vstack([s for _, s in per_layer.values()]), axis=0), cfg, len(labels),
                                 f"layers {', '.join(by_layer)}", "stratified bootstrap refits (same resamples per layer)",
                                 per_layer={k: v for k, (v, _) in per_layer.items()}, argmax=worst))
    return out


def _null_measure(quantity: str, observed: float, null: np.ndarray, n: int, inputs: str, cfg: AnalysisConfig,
                  seed: int, **details) -> Measurement:
    summary = permutation_summary(observed, null)
    rng = np.random.default_rng(seed)
    resampled = [null[rng.integers(0, len(null), len(null))] for _ in range(cfg.bootstrap)]
    z_samples = np.array([(observed - r.mean()) / r.std(ddof=1) for r in resampled if r.std(ddof=1) > 0])
    low, high = percentile_interval(z_samples, cfg.confidence) if z_samples.size else (float("nan"),) * 2
    return Measurement(quantity, summary["z"], low, high,
                       f"bootstrap of the {len(null)} null values (Monte Carlo error of z; {cfg.confidence:.0%})",
                       n, inputs, p_value=summary["p_value"],
                       null_mean=summary["null_mean"], null_sd=summary["null_sd"], null_n=summary["null_n"],
                       details={"observed_mean_cosine": observed, **details})


def null_tests(empathy: Probed, control: Probed, response_lengths: np.ndarray, cfg: AnalysisConfig,
               seed: int) -> list[Measurement]:
    """Mean one-vs-rest cosine of empathy, control and length-tercile labels against shuffled-label nulls.

    As published, one null (shuffled empathy labels on the empathy activations) serves both the empathy
    and the control statistic; the length control has its own null from shuffled tercile labels.
    """
    def statistic(data: Probed) -> float:
        return float(np.mean(list(_ovr_cosines(data, cfg, seed).values())))

    def null_of(data: Probed, permutations: int) -> np.ndarray:
        return permutation_null(lambda shuffled: statistic(data.relabel(shuffled, data.classes)), data.labels,
                                permutations, seed)

    lengths = empathy.relabel(LENGTH_LABELS[length_terciles(response_lengths)], tuple(LENGTH_LABELS))
    observed = {"empathy": statistic(empathy), "control": statistic(control), "length": statistic(lengths)}
    empathy_null = null_of(empathy, cfg.null_test.permutations)
    length_null = null_of(lengths, cfg.null_test.length_permutations)
    n = len(empathy.labels)
    return [
        _null_measure("null.empathy_z", observed["empathy"], empathy_null, n, empathy.inputs, cfg, seed),
        _null_measure("null.control_z", observed["control"], empathy_null, len(control.labels), control.inputs, cfg, seed,
                      null_from="shuffled empathy labels on the empathy activations (published design)"),
        _null_measure("null.length_z", observed["length"], length_null, n, empathy.inputs, cfg, seed,
                      tercile_counts={k: int(np.sum(lengths.labels == k)) for k in LENGTH_LABELS}),
        _null_measure("null.empathy_z_vs_length_null", observed["empathy"], length_null, n, empathy.inputs, cfg, seed),
    ]
