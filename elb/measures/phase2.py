"""ELB Phase 2 measurements (pipeline B, validation suite, null tests): arrays in, Measurements out."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import wraps

import numpy as np
from sklearn.model_selection import train_test_split

from elb.config import AnalysisConfig
from elb.measures.length import length_terciles
from elb.measures.measurement import Measurement
from elb.measures.probes import (
    convergence_summary, cross_validated_auroc, one_vs_rest_coefficients, pairwise_cosines, recording_fits,
    softmax_probabilities, standardizer, threads_in_effect, train_softmax_probe,
)
from elb.measures.stats import (
    auroc_interval, clopper_pearson, label_shuffles, macro_auroc, percentile_interval, permutation_summary, stratified_resample,
)

LENGTH_LABELS = np.array(["short", "medium", "long"])
Cosines = dict[str, float]
MeasureFunction = Callable[..., list[Measurement]]


@dataclass(frozen=True)
class Probed:
    """Activations of one labelled text set at one layer, with a description of where they came from."""

    features: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    inputs: str
    lengths: np.ndarray | None = None  # response length in characters, for the length control

    def relabel(self, labels: np.ndarray, classes: tuple[str, ...]) -> "Probed":
        return Probed(self.features, labels, classes, self.inputs, self.lengths)


def _records_convergence(measure: MeasureFunction) -> MeasureFunction:
    """`measure` with, in each Measurement's details, how the solvers of every probe fit behind it ended
    (`elb.measures.probes.convergence_summary`) and the threads they ran on."""
    @wraps(measure)
    def recorded(*args, **kwargs) -> list[Measurement]:
        with recording_fits() as fits:
            out = measure(*args, **kwargs)
        solver = {"convergence": convergence_summary(fits), "threads": threads_in_effect()}
        return [replace(m, details={**m.details, **solver}) for m in out]
    return recorded


def _interval_measure(quantity: str, value: float, samples: np.ndarray, cfg: AnalysisConfig, n: int, inputs: str,
                      how: str, **details) -> Measurement:
    low, high = percentile_interval(samples, cfg.confidence)
    return Measurement(quantity, value, low, high, f"{how} ({len(samples)} resamples, {cfg.confidence:.0%})",
                       n, inputs, details=details)


def _proportion_measure(quantity: str, successes: int, trials: int, cfg: AnalysisConfig, inputs: str,
                        **details) -> Measurement:
    return Measurement(quantity, successes / trials, *clopper_pearson(successes, trials, cfg.confidence),
                       f"Clopper-Pearson exact ({cfg.confidence:.0%})", trials, inputs, details=details)


def _auroc_measure(quantity: str, value: float, n_positive: int, n_negative: int, cfg: AnalysisConfig,
                   inputs: str, **details) -> Measurement:
    return Measurement(quantity, value, *auroc_interval(value, n_positive, n_negative, cfg.confidence),
                       f"Hanley-McNeil score interval, {n_positive} vs {n_negative} ({cfg.confidence:.0%})",
                       n_positive + n_negative, inputs, details=details)


def _with_null(measurement: Measurement, null: np.ndarray, how: str) -> Measurement:
    """The measurement with the permutation null of its own statistic attached."""
    summary = permutation_summary(measurement.value, null)
    return Measurement(**{**measurement.row(), "p_above": summary["p_above"], "p_below": summary["p_below"],
                          "null_mean": summary["null_mean"], "null_sd": summary["null_sd"],
                          "null_n": summary["null_n"],
                          "details": {**measurement.details, "null_from": how, "null_values": null.tolist()}})


def _prepare(features: np.ndarray, fit_rows: np.ndarray, cfg: AnalysisConfig) -> np.ndarray:
    if not cfg.standardize:
        return features.astype(np.float64)
    mean, scale = standardizer(features[fit_rows])
    return (features - mean) / scale


@_records_convergence
def pipeline_b(data: Probed, cfg: AnalysisConfig, seed: int) -> list[Measurement]:
    """3-class linear probe: held-out accuracy and macro AUROC, and the cosines between its weight rows."""
    pb = cfg.pipeline_b
    classes = list(data.classes)
    y = np.array([classes.index(label) for label in data.labels])
    rest, test = train_test_split(np.arange(len(y)), test_size=pb.test_fraction, stratify=y, random_state=seed)
    train, val = train_test_split(rest, test_size=pb.val_fraction, stratify=y[rest], random_state=seed)
    x = _prepare(data.features, train, cfg)

    def row_cosines(rows: np.ndarray, labels: np.ndarray, fit_seed: int) -> Cosines:
        weight, _ = train_softmax_probe(x[rows], labels, len(classes), pb.epochs, pb.lr, fit_seed)
        return pairwise_cosines(dict(zip(classes, weight)))

    weight, bias = train_softmax_probe(x[train], y[train], len(classes), pb.epochs, pb.lr, seed)
    split = {"train": len(train), "val": len(val), "test": len(test)}
    probabilities = softmax_probabilities(x[test], weight, bias)
    correct = int(np.sum(probabilities.argmax(axis=1) == y[test]))
    val_correct = int(np.sum(softmax_probabilities(x[val], weight, bias).argmax(axis=1) == y[val]))
    smallest = int(np.bincount(y[test]).min())
    rng = np.random.default_rng(seed)
    refits = []
    for b in range(cfg.bootstrap):
        rows = rng.choice(train, size=len(train))
        refits.append(row_cosines(rows, y[rows], seed + b + 1))
    shuffled = [row_cosines(train, labels, seed)
                for labels in label_shuffles(y[train], cfg.null_test.permutations, seed)]
    return [
        _proportion_measure("pipeline_b.test_accuracy", correct, len(test), cfg, data.inputs, **split),
        _proportion_measure("pipeline_b.val_accuracy", val_correct, len(val), cfg, data.inputs),
        _auroc_measure("pipeline_b.macro_auroc", macro_auroc(probabilities, y[test]), smallest,
                       len(test) - smallest, cfg, data.inputs, note="conservative: the smallest class vs the rest"),
        *_cosine_measures("pipeline_b", pairwise_cosines(dict(zip(classes, weight))), refits, shuffled, ("max",),
                          cfg, len(train), data.inputs, "bootstrap refits of the probe on resampled training rows",
                          "the probe refit on the training rows with shuffled labels"),
    ]


def _cosine_measures(prefix: str, observed: Cosines, refits: list[Cosines], shuffled: list[Cosines],
                     summaries: tuple[str, ...], cfg: AnalysisConfig, n: int, inputs: str, how: str,
                     null_how: str) -> list[Measurement]:
    """Each pairwise cosine and the requested summaries (mean, max), with bootstrap intervals and their nulls."""
    reducers: dict[str, Callable] = {"mean": np.mean, "max": np.max}
    statistics: dict[str, Callable[[Cosines], float]] = {f"cos_{k}": (lambda c, k=k: c[k]) for k in observed}
    statistics |= {f"{s}_cosine": (lambda c, r=reducers[s]: float(r(list(c.values())))) for s in summaries}
    out = []
    for name, statistic in statistics.items():
        measured = _interval_measure(f"{prefix}.{name}", statistic(observed), np.array([statistic(r) for r in refits]),
                                     cfg, n, inputs, how, cosines=observed)
        out.append(_with_null(measured, np.array([statistic(c) for c in shuffled]), null_how))
    return out


def _ovr_cosines(data: Probed, cfg: AnalysisConfig, seed: int, rows: np.ndarray | None = None) -> Cosines:
    rows = np.arange(len(data.labels)) if rows is None else rows
    x = _prepare(data.features, rows, cfg)[rows]
    v = cfg.validation
    return pairwise_cosines(one_vs_rest_coefficients(x, data.labels[rows], list(data.classes), v.C, v.max_iter, seed))


def _shuffled_cosines(data: Probed, cfg: AnalysisConfig, seed: int, permutations: int) -> list[Cosines]:
    """One-vs-rest cosines refit under `permutations` group-size preserving shuffles of the labels."""
    return [_ovr_cosines(data.relabel(labels, data.classes), cfg, seed)
            for labels in label_shuffles(data.labels, permutations, seed)]


def _z_measure(quantity: str, observed: float, null: np.ndarray, n: int, inputs: str, cfg: AnalysisConfig,
               seed: int, how: str, **details) -> Measurement:
    """z of `observed` against a null, with a bootstrap of the null values for its Monte Carlo error."""
    summary = permutation_summary(observed, null)
    rng = np.random.default_rng(seed)
    resampled = [null[rng.integers(0, len(null), len(null))] for _ in range(cfg.bootstrap)]
    z_samples = np.array([(observed - r.mean()) / r.std() for r in resampled if r.std() > 0])
    low, high = percentile_interval(z_samples, cfg.confidence) if z_samples.size else (float("nan"),) * 2
    return Measurement(quantity, summary["z"], low, high,
                       f"bootstrap of the {len(null)} null values (Monte Carlo error of z; {cfg.confidence:.0%})",
                       n, inputs, p_above=summary["p_above"], p_below=summary["p_below"],
                       null_mean=summary["null_mean"], null_sd=summary["null_sd"], null_n=summary["null_n"],
                       details={"observed_mean_cosine": observed, "null_from": how,
                                "null_z_values": ((null - summary["null_mean"]) / summary["null_sd"]).tolist(),
                                **details})


@_records_convergence
def ovr_with_null(prefix: str, z_quantity: str, data: Probed, cfg: AnalysisConfig, seed: int) -> list[Measurement]:
    """One-vs-rest probes fit on all texts: coefficient cosines (bootstrapped), and their own shuffled-label null.

    The null (group-size preserving label shuffles of these same activations) gives the max cosine its null
    and the mean cosine its z, so every statistic is compared with a null built on its own data.
    """
    observed = _ovr_cosines(data, cfg, seed)
    rng = np.random.default_rng(seed)
    refits = [_ovr_cosines(data, cfg, seed, stratified_resample(data.labels, rng)) for _ in range(cfg.bootstrap)]
    shuffled = _shuffled_cosines(data, cfg, seed, cfg.null_test.permutations)
    null_how = "shuffled labels on the same activations"
    mean_null = np.array([np.mean(list(c.values())) for c in shuffled])
    return [*_cosine_measures(prefix, observed, refits, shuffled, ("mean", "max"), cfg, len(data.labels), data.inputs,
                              "stratified bootstrap refits of the one-vs-rest probes", null_how),
            _z_measure(z_quantity, float(np.mean(list(observed.values()))), mean_null, len(data.labels), data.inputs,
                       cfg, seed, null_how)]


@_records_convergence
def pairwise_auroc(data: Probed, cfg: AnalysisConfig, seed: int) -> list[Measurement]:
    """Cross-validated AUROC of each subtype pair (fold semantics: analysis.validation.auroc_folds, published by
    default); the minimum over pairs for the claim."""
    v = cfg.validation
    out = []
    for i, a in enumerate(data.classes):
        for b in data.classes[i + 1:]:
            rows = np.flatnonzero(np.isin(data.labels, [a, b]))
            positive = (data.labels[rows] == a).astype(int)
            x = _prepare(data.features, rows, cfg)[rows]
            value, per_fold = cross_validated_auroc(x, positive, v.cv_folds, v.C, v.max_iter, seed, v.auroc_folds)
            out.append(_auroc_measure(f"validation.auroc_{a}_vs_{b}", value, int(positive.sum()),
                                      int(len(positive) - positive.sum()), cfg, data.inputs, folds=v.cv_folds,
                                      auroc_folds=v.auroc_folds, fold_aurocs=per_fold))
    worst = min(out, key=lambda m: m.value)
    out.append(Measurement("validation.min_pairwise_auroc", worst.value, min(m.ci_low for m in out),
                           min(m.ci_high for m in out), f"minimum of the pairwise intervals ({worst.interval})",
                           len(data.labels), data.inputs, details={m.quantity: m.value for m in out}))
    return out


@_records_convergence
def layer_sweep(by_layer: dict[int, Probed], cfg: AnalysisConfig, seed: int) -> list[Measurement]:
    """Cognitive-vs-affective one-vs-rest cosine at each swept (published) layer, and its maximum over layers.

    Every layer sees the same bootstrap resamples and the same label shuffles, so the maximum has a joint
    interval and a joint null.
    """
    rng = np.random.default_rng(seed)
    labels = next(iter(by_layer.values())).labels
    resamples = [stratified_resample(labels, rng) for _ in range(cfg.bootstrap)]
    shuffles = list(label_shuffles(labels, cfg.null_test.length_permutations, seed))

    def cos_ca(data: Probed, rows: np.ndarray | None = None, relabel: np.ndarray | None = None) -> float:
        data = data if relabel is None else data.relabel(relabel, data.classes)
        return _ovr_cosines(data, cfg, seed, rows)["cognitive_affective"]

    observed = {layer: cos_ca(data) for layer, data in by_layer.items()}
    samples = {layer: np.array([cos_ca(data, rows) for rows in resamples]) for layer, data in by_layer.items()}
    nulls = {layer: np.array([cos_ca(data, relabel=s) for s in shuffles]) for layer, data in by_layer.items()}
    how, null_how = "stratified bootstrap refits (same resamples per layer)", "shuffled labels (same shuffles per layer)"
    n = len(labels)
    out = [_with_null(_interval_measure(f"validation.layer_sweep.cos_cognitive_affective@L{layer}", observed[layer],
                                        samples[layer], cfg, n, by_layer[layer].inputs, how), nulls[layer], null_how)
           for layer in by_layer]
    worst = max(observed, key=observed.get)
    largest = _interval_measure("validation.layer_sweep.max_cos_cognitive_affective", observed[worst],
                                np.max(np.vstack(list(samples.values())), axis=0), cfg, n,
                                f"published layers {', '.join(f'L{k}' for k in by_layer)}", how,
                                per_layer={f"L{k}": v for k, v in observed.items()}, argmax=f"L{worst}")
    return [*out, _with_null(largest, np.max(np.vstack(list(nulls.values())), axis=0), null_how)]


@_records_convergence
def length_control(empathy: Probed, cfg: AnalysisConfig, seed: int) -> list[Measurement]:
    """Mean one-vs-rest cosine of response-length tercile labels against their own shuffled-label null."""
    if empathy.lengths is None:
        raise ValueError("the length control needs the response lengths of its texts")
    lengths = empathy.relabel(LENGTH_LABELS[length_terciles(empathy.lengths)], tuple(LENGTH_LABELS))

    def mean_cosine(data: Probed) -> float:
        return float(np.mean(list(_ovr_cosines(data, cfg, seed).values())))

    null = np.array([np.mean(list(c.values()))
                     for c in _shuffled_cosines(lengths, cfg, seed, cfg.null_test.length_permutations)])
    how, n = "shuffled length-tercile labels on the same activations", len(empathy.labels)
    counts = {k: int(np.sum(lengths.labels == k)) for k in LENGTH_LABELS}
    return [
        _z_measure("null.length_z", mean_cosine(lengths), null, n, empathy.inputs, cfg, seed, how,
                   tercile_counts=counts),
        _z_measure("null.empathy_z_vs_length_null", mean_cosine(empathy), null, n, empathy.inputs, cfg, seed, how),
    ]
