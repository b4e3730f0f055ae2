"""Pure measures against hand-computable cases and sklearn."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from threadpoolctl import threadpool_limits

from elb.config import AnalysisConfig
from elb.measures import phase2
from elb.measures.length import length_terciles, tercile_chi_square
from elb.measures.phase2 import Probed
from elb.measures.probes import (cosine, cross_validated_auroc, logistic_probe, one_vs_rest_coefficients,
                                 pairwise_cosines, recording_fits, softmax_probabilities, train_softmax_probe)
from elb.measures.stats import clopper_pearson, label_shuffles, percentile_interval, permutation_summary

CLASSES = ("cognitive", "affective", "instrumental")


@pytest.fixture(autouse=True)
def one_thread():
    """As the measures stage runs them (elb.measures.catalogue.Measure.run): many times faster than oversubscribed."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(threads)
FAST = AnalysisConfig(bootstrap=20)


def synthetic(n_per_class: int = 30, d: int = 12, separation: float = 3.0, seed: int = 0) -> Probed:
    rng = np.random.default_rng(seed)
    labels = np.repeat(CLASSES, n_per_class)
    centers = rng.normal(size=(3, d)) * separation
    features = np.vstack([centers[i] + rng.normal(size=(n_per_class, d)) for i in range(3)])
    return Probed(features, labels, CLASSES, "synthetic")


def test_clopper_pearson_known_values():
    assert clopper_pearson(0, 10) == pytest.approx((0.0, 0.30850), abs=1e-4)
    assert clopper_pearson(54, 54) == pytest.approx((0.93397, 1.0), abs=1e-4)
    low, high = clopper_pearson(5, 10)
    assert low == pytest.approx(0.18709, abs=1e-4) and high == pytest.approx(0.81291, abs=1e-4)


def test_permutation_summary_by_hand():
    null = np.array([1.0, 2.0, 3.0, 4.0])
    s = permutation_summary(5.0, null)
    assert s["z"] == pytest.approx((5 - 2.5) / np.std(null))  # population SD, as published
    assert s["p_above"] == pytest.approx(1 / 5) and s["p_below"] == pytest.approx(5 / 5)
    assert permutation_summary(2.5, null)["p_above"] == pytest.approx(3 / 5)


def test_label_shuffles_keep_group_sizes_and_are_seeded():
    labels = np.array(list("aabbbc"))
    shuffles = list(label_shuffles(labels, 5, seed=1))
    assert all(sorted(s) == sorted(labels) for s in shuffles)
    assert any(list(s) != list(labels) for s in shuffles)
    assert [list(s) for s in shuffles] == [list(s) for s in label_shuffles(labels, 5, seed=1)]


def test_cosines_by_hand():
    assert cosine(np.array([1.0, 0.0]), np.array([0.0, 2.0])) == 0.0
    pairs = pairwise_cosines({"a": np.array([1.0, 0.0]), "b": np.array([-1.0, 0.0]), "c": np.array([1.0, 1.0])})
    assert pairs == {"a_b": -1.0, "a_c": pytest.approx(2 ** -0.5), "b_c": pytest.approx(-(2 ** -0.5))}


def test_one_vs_rest_matches_sklearn():
    data = synthetic()
    coefs = one_vs_rest_coefficients(data.features, data.labels, list(CLASSES), 1.0, 1000, 42)
    direct = LogisticRegression(C=1.0, max_iter=1000, random_state=42).fit(data.features, data.labels == "affective")
    np.testing.assert_allclose(coefs["affective"], direct.coef_[0])


def test_softmax_probe_learns_separable_classes_and_rows_sum_to_init():
    data = synthetic(separation=5.0)
    y = np.array([CLASSES.index(label) for label in data.labels])
    weight, bias = train_softmax_probe(data.features, y, 3, epochs=200, lr=0.05, seed=0)
    assert np.mean(softmax_probabilities(data.features, weight, bias).argmax(axis=1) == y) == 1.0
    again, _ = train_softmax_probe(data.features, y, 3, epochs=200, lr=0.05, seed=0)
    np.testing.assert_array_equal(weight, again)


def test_cross_validated_auroc_separates_separable_pairs_under_both_fold_semantics():
    data = synthetic()
    rows = np.isin(data.labels, ["cognitive", "affective"])
    positive = (data.labels[rows] == "cognitive").astype(int)
    for how in ("published", "pooled_shuffled"):
        value, per_fold = cross_validated_auroc(data.features[rows], positive, 5, 1.0, 1000, 42, how)
        assert value == 1.0 and per_fold == [1.0] * 5


def test_pairwise_auroc_by_default_is_the_published_cross_val_score_mean():
    """Published: cross_val_score(LogisticRegression(max_iter=1000, random_state=42), X, y, cv=5, scoring="roc_auc")
    (unshuffled stratified folds, mean of the fold AUROCs); the interval stays Hanley-McNeil on the pair's counts."""
    data = synthetic(separation=0.4)
    out = {m.quantity: m for m in phase2.pairwise_auroc(data, FAST, seed=42)}
    for a, b in (("cognitive", "affective"), ("cognitive", "instrumental"), ("affective", "instrumental")):
        rows = np.isin(data.labels, [a, b])
        published = cross_val_score(LogisticRegression(max_iter=1000, random_state=42), data.features[rows],
                                    (data.labels[rows] == a).astype(int), cv=5, scoring="roc_auc").mean()
        measured = out[f"validation.auroc_{a}_vs_{b}"]
        assert measured.value == pytest.approx(published, abs=1e-12) and measured.value < 1
        assert measured.details["auroc_folds"] == "published" and measured.interval.startswith("Hanley-McNeil")
    pooled = AnalysisConfig(bootstrap=20, validation={"auroc_folds": "pooled_shuffled"})
    declared = phase2.pairwise_auroc(data, pooled, seed=42)[0]
    assert declared.details["auroc_folds"] == "pooled_shuffled"
    assert declared.value != out["validation.auroc_cognitive_vs_affective"].value


def test_percentile_interval():
    assert percentile_interval(np.arange(101.0), 0.9) == pytest.approx((5.0, 95.0))


def test_length_terciles_and_chi_square_by_hand():
    assert length_terciles(np.array([1, 2, 3, 4, 5, 6, 7, 8, 9])).tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    groups = np.array(["a"] * 3 + ["b"] * 3 + ["c"] * 3)
    result = tercile_chi_square(groups, np.arange(1, 10))
    assert result["chi2"] == pytest.approx(18.0) and result["dof"] == 4


def test_pipeline_b_on_separable_data():
    data = synthetic(n_per_class=90, separation=4.0)
    cfg = AnalysisConfig(bootstrap=10, pipeline_b={"lr": 0.05, "epochs": 200}, null_test={"permutations": 3})
    out = {m.quantity: m for m in phase2.pipeline_b(data, cfg, seed=42)}
    assert out["pipeline_b.test_accuracy"].n == 54 and out["pipeline_b.test_accuracy"].details["train"] == 172
    assert out["pipeline_b.macro_auroc"].value > 0.95
    cosines = out["pipeline_b.max_cosine"].details["cosines"]
    assert out["pipeline_b.max_cosine"].value == max(cosines.values())
    for m in out.values():
        assert m.ci_low <= m.ci_high


def test_null_tests_on_structured_and_unstructured_data():
    data = synthetic()
    control = data.relabel(np.tile(["response_1", "response_2", "response_3"], 30),
                           ("response_1", "response_2", "response_3"))
    cfg = AnalysisConfig(bootstrap=20, null_test={"permutations": 19, "length_permutations": 19})
    out = {m.quantity: m for m in [*phase2.ovr_with_null("validation.ovr", "null.empathy_z", data, cfg, seed=42),
                                   *phase2.ovr_with_null("validation.control", "null.control_z", control, cfg, 42)]}
    assert out["null.empathy_z"].null_n == 19 and 0 < out["null.empathy_z"].p_above <= 1
    assert out["null.control_z"].null_n == 19 and np.isfinite(out["null.control_z"].value)


def test_every_probe_fit_records_its_convergence_and_warnings_are_not_printed():
    """max_iter=1 forces every lbfgs fit to stop unconverged: recorded in details, no ConvergenceWarning escapes."""
    data = synthetic()
    cfg = AnalysisConfig(bootstrap=10, validation={"max_iter": 1}, null_test={"permutations": 3})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = phase2.ovr_with_null("validation.ovr", "null.empathy_z", data, cfg, seed=42)
    fits = 3 * (1 + 10 + 3)  # three one-vs-rest probes: observed, bootstrap refits, shuffled labels
    assert {str(m.details["convergence"]) for m in out} == {str({"solver": "lbfgs", "fits": fits,
                                                                 "not_converged": fits, "max_iter": 1})}
    converged = phase2.pairwise_auroc(data, FAST, seed=42)[0].details["convergence"]
    assert converged == {"solver": "lbfgs", "fits": 15, "not_converged": 0, "max_iter": 1000}
    assert out[0].details["threads"] >= 1


def test_softmax_probe_records_its_final_loss():
    data = synthetic(n_per_class=90, separation=4.0)
    cfg = AnalysisConfig(bootstrap=10, pipeline_b={"lr": 0.05, "epochs": 200}, null_test={"permutations": 3})
    convergence = phase2.pipeline_b(data, cfg, seed=42)[0].details["convergence"]
    assert convergence["solver"] == "adam" and convergence["fits"] == 1 + 10 + 3 and convergence["max_iter"] == 200
    assert convergence["not_converged"] is None  # fixed epochs: no stopping rule to meet
    assert 0 <= convergence["final_loss"] < 0.1 <= convergence["max_final_loss"]  # shuffled labels fit worse


def test_a_fit_recorded_in_a_nested_block_reaches_the_enclosing_one():
    data = synthetic()
    with recording_fits() as outer:
        with recording_fits() as inner:
            logistic_probe(data.features, data.labels == "affective", 1.0, 1000, 0)
    assert len(inner) == len(outer) == 1 and outer[0].converged
