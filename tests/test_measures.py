"""Pure measures against hand-computable cases and sklearn."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from elb.config import AnalysisConfig
from elb.measures import phase2
from elb.measures.length import length_terciles, tercile_chi_square
from elb.measures.phase2 import Probed
from elb.measures.probes import (cosine, cross_validated_scores, one_vs_rest_coefficients, pairwise_cosines,
                                 softmax_probabilities, train_softmax_probe)
from elb.measures.stats import clopper_pearson, percentile_interval, permutation_null, permutation_summary

CLASSES = ("cognitive", "affective", "instrumental")
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
    assert s["z"] == pytest.approx((5 - 2.5) / np.std(null, ddof=1))
    assert s["p_value"] == pytest.approx(1 / 5)
    assert permutation_summary(2.5, null)["p_value"] == pytest.approx(3 / 5)


def test_permutation_null_keeps_group_sizes():
    labels = np.array(list("aabbbc"))
    seen = []
    permutation_null(lambda shuffled: seen.append(sorted(shuffled)) or 0.0, labels, 5, seed=1)
    assert all(s == sorted(labels) for s in seen)


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


def test_cross_validated_scores_give_out_of_fold_auroc():
    data = synthetic()
    rows = np.isin(data.labels, ["cognitive", "affective"])
    positive = (data.labels[rows] == "cognitive").astype(int)
    scores = cross_validated_scores(data.features[rows], positive, 5, 1.0, 1000, 42)
    assert roc_auc_score(positive, scores) == 1.0


def test_percentile_interval():
    assert percentile_interval(np.arange(101.0), 0.9) == pytest.approx((5.0, 95.0))


def test_length_terciles_and_chi_square_by_hand():
    assert length_terciles(np.array([1, 2, 3, 4, 5, 6, 7, 8, 9])).tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    groups = np.array(["a"] * 3 + ["b"] * 3 + ["c"] * 3)
    result = tercile_chi_square(groups, np.arange(1, 10))
    assert result["chi2"] == pytest.approx(18.0) and result["dof"] == 4


def test_pipeline_b_on_separable_data():
    data = synthetic(n_per_class=90, separation=4.0)
    cfg = AnalysisConfig(bootstrap=20, pipeline_b={"lr": 0.05, "epochs": 200})
    out = {m.quantity: m for m in phase2.pipeline_b(data, cfg, seed=42)}
    assert out["pipeline_b.test_accuracy"].n == 54 and out["pipeline_b.test_accuracy"].details["train"] == 172
    assert out["pipeline_b.macro_auroc"].value > 0.95
    cosines = out["pipeline_b.max_row_cosine"].details["cosines"]
    assert out["pipeline_b.max_row_cosine"].value == max(cosines.values())
    for m in out.values():
        assert m.ci_low <= m.ci_high


def test_null_tests_on_structured_and_unstructured_data():
    data = synthetic()
    control = data.relabel(np.repeat(["response_1", "response_2", "response_3"], 30),
                           ("response_1", "response_2", "response_3"))
    cfg = AnalysisConfig(bootstrap=20, null_test={"permutations": 19, "length_permutations": 19})
    out = {m.quantity: m for m in phase2.null_tests(data, control, np.arange(90), cfg, seed=42)}
    assert set(out) == {"null.empathy_z", "null.control_z", "null.length_z", "null.empathy_z_vs_length_null"}
    assert out["null.empathy_z"].null_n == 19 and 0 < out["null.empathy_z"].p_value <= 1
