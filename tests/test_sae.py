"""Pipeline A (elb/measures/sae.py) on known answers: planted clusters, the published purity and convergence rule."""
from __future__ import annotations

import numpy as np
import pytest

from elb.config import AnalysisConfig, PipelineAConfig
from elb.datasets.spec import EMPATHY_TYPES, NON_EMPATHY, TRIPLETS, VALENCE_STRIPPED
from elb.measures.phase2 import Probed
from elb.measures.sae import (
    cluster_probe_cosines, convergence_level, matched_cosine, partitions, pipeline_a, purity, train_sae,
)

SMALL_SAE = {"features": 32, "epochs": 30}


def _planted(rng: np.random.Generator, k: int, per_cluster: int = 40, dim: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """k clusters 8 noise SDs apart along orthogonal axes."""
    clusters = np.repeat(np.arange(k), per_cluster)
    return 8.0 * np.eye(k, dim)[clusters] + rng.normal(size=(len(clusters), dim)), clusters


def test_purity_of_the_published_mistral_split_is_one_quarter():
    """Published k = 2: the 180 non-empathy texts in one cluster (1/3 each), the other 540 texts in the other (1/6)."""
    types = [*NON_EMPATHY.text_fields, *TRIPLETS.text_fields, *VALENCE_STRIPPED.text_fields]
    labels = np.repeat(types, [60, 60, 60, 90, 90, 90, 90, 90, 90])
    clusters = (~np.isin(labels, NON_EMPATHY.text_fields)).astype(int)
    assert purity(clusters, labels) == pytest.approx(0.25)


@pytest.mark.parametrize(("k_match", "purity_value", "level"),
                         [(1.0, 0.7, 2), (0.6, 0.69, 1), (0.4, 0.5, 1), (0.39, 1.0, 0), (1.0, 0.49, 0), (0.0, 0.25, 0)])
def test_convergence_rule(k_match, purity_value, level):
    assert convergence_level(k_match, purity_value) == level


def test_planted_clusters_give_their_k_and_purity_near_one():
    x, planted = _planted(np.random.default_rng(0), 4)
    codes, decoder, _ = train_sae(x, PipelineAConfig(**SMALL_SAE), 0)
    assert codes.shape == (len(x), 32) and decoder.shape == (16, 32) and (codes >= 0).all()
    by_k = partitions(codes, range(2, 7), 10, 0)
    assert max(by_k, key=lambda k: by_k[k].silhouettes.mean()) == 4
    assert purity(by_k[4].clusters, planted) > 0.95


def test_matching_finds_the_best_assignment_and_aligned_directions_give_one():
    assert matched_cosine(np.array([[0.1, 0.9, 0.0], [0.8, 0.2, 0.1], [0.0, 0.3, 0.7]])) == pytest.approx(0.8)
    codes, clusters = _planted(np.random.default_rng(1), 3)
    centred = np.array([codes[clusters == c].mean(axis=0) for c in range(3)]) - codes.mean(axis=0)
    rows = 2.0 * centred[[2, 0, 1]]  # probe rows: the same directions, in another order and scale
    assert matched_cosine(cluster_probe_cosines(codes, np.eye(16), clusters, rows)) == pytest.approx(1.0)


def test_pipeline_a_on_three_planted_types_converges_strongly_above_its_null():
    rng = np.random.default_rng(2)
    x, planted = _planted(rng, 3, per_cluster=60, dim=24)
    data = Probed(x, np.array(EMPATHY_TYPES)[planted], EMPATHY_TYPES, "synthetic")
    cfg = AnalysisConfig.model_validate({"bootstrap": 20, "null_test": {"permutations": 19},
                                         "pipeline_a": SMALL_SAE, "pipeline_b": {"lr": 0.02}})
    out = {m.quantity: m for m in pipeline_a(data, cfg, 0)}
    assert out["pipeline_a.best_k"].value == 3 and out["pipeline_a.purity"].value > 0.95
    assert out["pipeline_a.purity"].p_above == pytest.approx(1 / 20)
    assert out["pipeline_a.convergence_level"].value == 2
    assert out["pipeline_a.convergence_level"].details["verdict"] == "STRONG_CONVERGENCE"
    cosine = out["pipeline_a.centroid_probe_cosine"]
    assert cosine.value > 0.5 and cosine.p_above == pytest.approx(1 / 20) and cosine.ci_low <= cosine.value
    assert out["pipeline_a.best_k"].details["datasets_by_cluster"][3] == {str(c): {"triplets": 60} for c in range(3)}
