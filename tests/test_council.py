"""Council rounds 1 and 3 (elb/measures/council.py) on known answers: planted types, shuffled labels, pure length."""
from __future__ import annotations

import numpy as np
import pytest

from elb.config import AnalysisConfig
from elb.datasets.spec import EMPATHY_TYPES
from elb.measures.council import (
    d_prime, fit, in_own_span, length_r_squared, metrics, residualize, rounds_one_and_three,
)
from elb.measures.phase2 import Probed

CFG = AnalysisConfig.model_validate({"bootstrap": 20, "null_test": {"permutations": 19, "length_permutations": 19}})
LABELS = np.repeat(np.array(EMPATHY_TYPES), 30)


def _types(rng: np.random.Generator, strength: float, dim: int = 20) -> np.ndarray:
    """Three types `strength` noise SDs from the origin along orthogonal axes."""
    return strength * np.eye(3, dim)[np.repeat(np.arange(3), 30)] + rng.normal(size=(90, dim))


def _metrics(x: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    clusters = np.repeat(np.arange(3), 30)
    return metrics(fit(x, labels, clusters, CFG, 0), labels, np.arange(len(labels)))


def test_planted_types_separate_and_shuffled_labels_give_d_prime_near_zero():
    rng = np.random.default_rng(0)
    planted = _metrics(_types(rng, 6.0), LABELS)
    assert planted["d_prime"] > 3 and planted["auroc"] > 0.99 and planted["probe_agreement"] > 0.9
    assert planted["purity"] == pytest.approx(1.0)
    shuffled = [_metrics(_types(rng, 6.0), rng.permutation(LABELS))["d_prime"] for _ in range(5)]
    assert abs(np.mean(shuffled)) < 0.3


def test_d_prime_of_two_known_score_distributions():
    scores = np.array([[1.0, -1.0], [3.0, -3.0], [-1.0, 1.0], [-3.0, 3.0]])  # class means 2 and -2, pooled SD sqrt(2)
    assert d_prime(scores, np.array(["a", "a", "b", "b"])) == pytest.approx(4 / np.sqrt(2))


def test_fits_in_the_span_equal_fits_in_the_full_space():
    x = np.random.default_rng(1).normal(size=(90, 200)) + 2 * np.eye(3, 200)[np.repeat(np.arange(3), 30)]
    full, span = fit(x, LABELS, LABELS, CFG, 0), fit(in_own_span(x), LABELS, LABELS, CFG, 0)
    assert in_own_span(x).shape == (90, 90)
    np.testing.assert_allclose(span.scores, full.scores, atol=0.05)  # the same optimum, up to lbfgs tolerance


def test_residualizing_a_pure_length_signal_retains_nothing_of_it():
    rng = np.random.default_rng(2)
    lengths = rng.uniform(100, 400, size=90)
    x = np.outer(lengths, rng.normal(size=20)) / 50 + rng.normal(size=(90, 20))
    terciles = np.array(EMPATHY_TYPES)[np.digitize(lengths, np.percentile(lengths, [33, 66]), right=True)]
    original, residual = _metrics(x, terciles), _metrics(residualize(x, lengths), terciles)
    assert original["d_prime"] > 1.5 and original["auroc"] > 0.8  # the middle tercile is not linearly separable
    assert abs(residual["d_prime"] / original["d_prime"]) < 0.3 and residual["auroc"] < 0.6  # chance (CV: below)
    r_squared, low, high = length_r_squared(x, lengths, 0.95)
    assert r_squared.max() > 0.9 and (low <= r_squared).all() and (r_squared <= high).all()
    assert length_r_squared(residualize(x, lengths), lengths, 0.95)[0].max() < 1e-20


def test_rounds_one_and_three_on_types_independent_of_length():
    rng = np.random.default_rng(3)
    data = Probed(_types(rng, 6.0), LABELS, EMPATHY_TYPES, "synthetic", rng.uniform(100, 400, size=90))
    out = {m.quantity: m for m in rounds_one_and_three(data, CFG, 0)}
    for metric in ("d_prime", "probe_agreement", "purity", "auroc"):
        measured = out[f"council.empathy.{metric}"]
        assert measured.p_above == pytest.approx(1 / 20) and measured.ci_low <= measured.value <= measured.ci_high
        assert out[f"council.length.{metric}"].p_above > 0.05  # terciles of a length the types do not carry
    assert out["council.residualized.retention"].value == pytest.approx(1.0, abs=0.05)
    assert out["council.length_r2_mean"].value < 0.05
