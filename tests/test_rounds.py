"""Council rounds 2 and 4: the pure rules on known answers, every verdict rule on planted and shuffled data, and the
forward passes on the tiny shipped model."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from elb.activations.council import (
    alternate_halves, every_state, intervene, random_vectors, response_starts, type_vectors,
)
from elb.activations.extract import extract, to_tokens
from elb.activations.pooling import response_quartile_means
from elb.claims.registry import load_registry
from elb.claims.verdict import judge
from elb.config import Params
from elb.measures.catalogue import COUNCIL_CATALOGUE, known_quantities
from elb.measures.rounds import (
    PUBLISHED_HYPOTHESES, CouncilTexts, Intervened, first_layer_reaching, intervention_criteria, position_hypotheses,
    project_out,
)

PARAMS = Params.model_validate({"analysis": {"bootstrap": 20, "null_test": {"permutations": 19},
                                             "council": {"random_directions": 200, "intervention_random": 19}}})
COUNCIL_QUANTITIES = {q for m in COUNCIL_CATALOGUE for q in m.expanded(PARAMS)}
CLAIMS = [c for c in load_registry(quantities=known_quantities(PARAMS)) if c.quantity in COUNCIL_QUANTITIES]


def test_first_layer_reaching_skips_nan_and_reports_none():
    assert first_layer_reaching([0.5, float("nan"), 0.95, 0.8], 0.9) == 2
    assert first_layer_reaching([0.5, 0.6], 0.9) is None
    assert first_layer_reaching([0.95], 0.9, layers=[7]) == 7


def test_project_out_leaves_nothing_along_the_directions():
    rng = np.random.default_rng(0)
    x, directions = rng.normal(size=(20, 8)), rng.normal(size=(2, 8))
    assert np.abs(project_out(x, directions) @ directions.T).max() < 1e-10


def test_position_hypotheses_known_answers():
    flat = {q: 1.0 for q in ("Q1", "Q2", "Q3", "Q4")}
    assert position_hypotheses({"cognitive": flat, "affective": flat, "instrumental": flat}) == {
        "cognitive_peaks_early": False, "affective_is_distributed": True, "instrumental_peaks_late": False}
    early = {"Q1": 1.0, "Q2": 0.9, "Q3": 0.9, "Q4": 0.8}
    late = {"Q1": 0.7, "Q2": 0.8, "Q3": 0.8, "Q4": 0.9}
    assert position_hypotheses({"cognitive": early, "affective": flat, "instrumental": late}) == {
        "cognitive_peaks_early": True, "affective_is_distributed": True, "instrumental_peaks_late": True}


def test_intervention_criteria_both_readings():
    base = np.array([2, 2, 2, 2])
    assert intervention_criteria(0.1, base, 0.9, np.array([0, 0, 0, 1]), 0) == (2, 2)
    assert intervention_criteria(0.1, base, 0.9, np.array([2, 2, 2, 2]), 2) == (2, 1)  # already the majority
    assert intervention_criteria(0.5, base, 0.4, np.array([1, 1, 0, 0]), 0) == (0, 0)


def test_response_quartiles_are_means_of_four_contiguous_runs():
    hidden = torch.arange(10.0).reshape(1, 10, 1).repeat(1, 1, 2)
    mask = torch.tensor([[1] * 9 + [0]])
    quartiles = response_quartile_means(hidden, mask, torch.tensor([2]))  # response = positions 2..8 (7 tokens)
    assert quartiles[0, :, 0].tolist() == [2.5, 4.5, 6.5, 8.0]
    with pytest.raises(ValueError, match="at least 4"):
        response_quartile_means(hidden, mask, torch.tensor([7]))


# Planted data ---------------------------------------------------------------------------------------------------

N, DIM, STATES = 30, 48, 4


def _council(rng: np.random.Generator, shuffled: bool) -> CouncilTexts:
    """Three empathy types on orthogonal axes, emotion and neutral groups on others, formality on its own axis;
    signal from hidden state 1 on (state 0 is one embedding for every text). Quarters: every type apart in the first,
    cognitive and instrumental close in the others (so cognitive peaks early and affective stays perfect)."""
    axes = np.linalg.qr(rng.normal(size=(DIM, 6)))[0].T * 8.0
    labels = np.concatenate([np.repeat(["cognitive", "affective", "instrumental"], N),
                             np.repeat(["response_1", "response_2", "response_3"], N),
                             np.repeat(["factual", "informational", "procedural"], N)])
    groups = np.repeat(["empathy", "emotion", "neutral"], 3 * N)
    means = {"cognitive": axes[0], "affective": axes[1], "instrumental": axes[2], "response_1": axes[3],
             "response_2": axes[3], "response_3": axes[3]}
    centre = np.array([means.get(label, np.zeros(DIM)) for label in labels])
    depth = rng.normal(size=(len(labels), STATES, DIM)) + centre[:, None]
    depth[:, 0] = 0.0
    quartiles = rng.normal(size=(len(labels), 4, DIM)) + centre[:, None]
    close = labels == "instrumental"
    quartiles[close, 1:] += (axes[0] - axes[2]) * 0.65  # instrumental nearer cognitive after the first quarter
    formal = np.repeat(["formal", "casual"], 40)
    formality = rng.normal(size=(80, STATES, DIM)) + np.where(formal == "formal", 1.0, -1.0)[:, None, None] * axes[4]
    formality[:, 0] = 0.0
    if shuffled:
        order = rng.permutation(len(labels))
        labels, groups = labels[order], groups[order]
        formal = rng.permutation(formal)
    half = alternate_halves(labels)
    neutral_rows = np.flatnonzero((groups == "neutral") & half)[:8]
    x = depth[:, 2]
    vectors = type_vectors(x[half], labels[half], (groups == "neutral")[half])
    every = np.concatenate([vectors, random_vectors(DIM, 19, float(np.linalg.norm(vectors, axis=1).mean()), 0)])
    readout = np.stack([x[neutral_rows], *(x[neutral_rows] + v for v in every)])
    kl = np.concatenate([np.full((3, 8), 1.0), np.full((19, 8), 0.1)]) + rng.uniform(0, 0.05, size=(22, 8))
    if shuffled:
        kl = rng.permutation(kl)
    return CouncilTexts(depth, labels, groups, formality, formal, quartiles, 2, 2,
                        Intervened(tuple(f"v{i}" for i in range(len(every))), every, readout, kl), neutral_rows,
                        half, "planted")


def _verdicts(seed: int, shuffled: bool) -> dict[str, str]:
    data = _council(np.random.default_rng(seed), shuffled)
    measured = {m.quantity: m for measure in COUNCIL_CATALOGUE for m in measure.run(data, PARAMS.analysis, seed)}
    return {c.id: judge(c, measured, "planted").verdict for c in CLAIMS}


def test_planted_council_signals_hold():
    verdicts = _verdicts(0, shuffled=False)
    assert len(verdicts) == 11
    assert all(v == "HOLDS" for v in verdicts.values()), verdicts


def test_shuffled_council_labels_never_hold_unless_declared():
    allowed = {c.id for c in CLAIMS if c.null_satisfies or c.decide_by == "permutation"}
    for seed in (1, 2):
        verdicts = _verdicts(seed, shuffled=True)
        held = {claim for claim, verdict in verdicts.items() if verdict == "HOLDS"}
        assert held <= allowed, verdicts
        assert verdicts["elb-r2-empathy-emergence"] == "FAILS"


def test_retention_is_inconclusive_when_its_positive_control_keeps_the_signal():
    data = _council(np.random.default_rng(3), shuffled=False)
    measured = {m.quantity: m for m in COUNCIL_CATALOGUE[0].run(data, PARAMS.analysis, 3)}
    retention = measured["council.formality.retention"]
    claim = next(c for c in CLAIMS if c.quantity == "council.formality.retention")
    blind = type(retention)(**{**retention.row(), "null_mean": 1.0})
    verdict = judge(claim, {retention.quantity: blind}, "planted")
    assert verdict.verdict == "INCONCLUSIVE" and "positive control" in verdict.reason


def test_published_hypothesis_table_matches_itself():
    assert sum(flag == PUBLISHED_HYPOTHESES[name] for name, flag in PUBLISHED_HYPOTHESES.items()) == 3


# Forward passes on the tiny shipped model --------------------------------------------------------------------------

TEXTS = ["Scenario one\n\nResponse: I hear you, that sounds hard and tiring.",
         "Another scene\n\nResponse: Try writing the steps down, then do the first one today."]
PREFIXES = ["Scenario one\n\nResponse:", "Another scene\n\nResponse:"]


def test_every_state_matches_extraction_and_quartiles(tiny_model):
    starts = response_starts(tiny_model, TEXTS, PREFIXES)
    for text, prefix, start in zip(TEXTS, PREFIXES, starts):
        assert to_tokens(tiny_model, [text])[0][:start].tolist() == to_tokens(tiny_model, [prefix])[0][:start].tolist()
    last, quartiles, n_tokens = every_state(tiny_model, TEXTS, 2, 64, 0, starts)
    assert last.shape == (2, tiny_model.n_layers + 1, tiny_model.bridge.cfg.d_model)
    pooled, _ = extract(tiny_model, TEXTS, list(range(tiny_model.n_layers)), 2, 64, ("last_token",))
    torch.testing.assert_close(last[:, 1:], pooled["last_token"])
    assert quartiles.shape == (2, 4, tiny_model.bridge.cfg.d_model) and n_tokens == [len(r) for r in
                                                                                     to_tokens(tiny_model, TEXTS)]


def test_intervention_zero_vector_changes_nothing_and_a_large_one_does(tiny_model):
    d = tiny_model.bridge.cfg.d_model
    vectors = torch.stack([torch.zeros(d), torch.full((d,), 5.0)])
    readout, kl = intervene(tiny_model, TEXTS, vectors, 0, tiny_model.n_layers - 1, 2, 64)  # the last block too
    last, _, _ = every_state(tiny_model, TEXTS, 2, 64, None)
    torch.testing.assert_close(readout[0], last[:, -1], atol=1e-4, rtol=1e-4)  # HF forward == bridge extraction
    torch.testing.assert_close(readout[1], readout[0])
    assert kl[0].abs().max() < 1e-6 and kl[1].min() > 1e-4
    assert (readout[2] - readout[0]).norm() > 1.0
