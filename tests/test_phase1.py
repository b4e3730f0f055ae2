"""ELB Phase 1: known answers of the pure pieces, planted data through every judged claim (a planted signal HOLDS,
exchangeable or shuffled data never does), and the scoring forward passes on the tiny shipped model."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from elb.activations.extract import hidden_states_pooled
from elb.activations.steering import continuation_scores, generated_tokens
from elb.claims.registry import load_registry
from elb.claims.verdict import judge
from elb.config import Params
from elb.measures.catalogue import PHASE1_CATALOGUE, run_stage_measures
from elb.measures.measurement import Measurement
from elb.measures.phase1 import (Pairs, Phase1Data, coherence, contiguous_range, distinct_share, effective_rank,
                                 steering_range)

PARAMS = Params.model_validate({"analysis": {"bootstrap": 50}, "phase1": {"sae": {"steps": 50}}})
CLAIMS = [c for c in load_registry() if c.id.startswith("elb-p1-")]
JUDGED = {c.id for c in CLAIMS if c.scope == "any_model"}
DIM = 16
ALPHAS = PARAMS.phase1.steering.alphas
CATEGORIES = ("crisis_support", "emotional_disclosure", "frustration_complaint", "casual_conversation",
              "technical_assistance")


def test_effective_rank_counts_planted_dimensions():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)) @ rng.normal(size=(3, DIM)) * 10 + rng.normal(size=(40, DIM)) * 1e-3
    assert effective_rank(x, 0.9) <= 3 and effective_rank(x, 0.999) == 3
    assert effective_rank(rng.normal(size=(5, DIM)), 0.9999) == 4  # capped at n - 1


def test_range_rules_published_and_contiguous():
    curve = pd.Series({-4.0: 0.5, -2.0: 0.8, 0.0: 0.9, 2.0: 0.75, 4.0: 0.72, 6.0: 0.3, 8.0: 0.71})
    assert steering_range(curve, 0.7) == 8.0  # the script's rule: any alpha above the threshold
    assert contiguous_range(curve, 0.7) == 2.0  # ours: every alpha up to it, both signs
    assert steering_range(pd.Series({0.0: 0.6, 2.0: 0.5}), 0.7) == 0.0


def test_coherence_known_answers():
    assert distinct_share([1, 2, 3]) == 1.0 and distinct_share([7, 7, 7, 7]) == pytest.approx(1 / 3)
    assert distinct_share([5]) == 0.0
    values = coherence(np.array([2.0, 4.0, 1.0, np.nan]), np.array([1.0, 1.0, 0.5, 1.0]), np.full(4, 2.0))
    assert values.tolist() == [1.0, 0.5, 0.5, 0.0]  # capped at 1; half as likely per token; repetition; empty


# Planted data ---------------------------------------------------------------------------------------------------

def _pairs(rng: np.random.Generator, rank: int, n: int = 50) -> Pairs:
    """n positive texts on `rank` planted axes, shifted from n negatives."""
    basis = rng.normal(size=(rank, DIM))
    positive = rng.normal(size=(n, rank)) @ basis * 5 + 4.0
    negative = rng.normal(size=(n, rank)) @ basis * 5
    return Pairs(np.vstack([positive, negative]) + rng.normal(size=(2 * n, DIM)) * 0.01,
                 np.repeat([1, 0], n))


def _sweep(vector: str, decay: float) -> pd.DataFrame:
    """One sample per (prompt, alpha): NLL grows with |alpha| at the given rate (coherence 1 / (1 + |alpha| x decay));
    the empathy vector also on a second, transfer-only technical prompt."""
    prompts = [(f"{c}-11", c, True) for c in CATEGORIES]
    if vector == "empathy":
        prompts.append(("technical_assistance-12", "technical_assistance", False))
    rows = [{"vector": vector, "sweep": sweep, "prompt": prompt, "category": c, "alpha": a, "sample": 0,
             "tokens": "1 2 3 4", "nll": 2.0 * (1 + abs(a) * decay), "kl": 0.5 if a else 0.0, "text": "x"}
            for prompt, c, sweep in prompts for a in ALPHAS]
    return pd.DataFrame(rows)


def _data(rng: np.random.Generator, exchangeable: bool) -> Phase1Data:
    """Empathy: rank 4, range 16 (decay 1/40); control: rank 2, range 4 (decay 1/10), unless exchangeable (the
    control drawn like the empathy set). Readouts move along the probe's axis with alpha, unless exchangeable."""
    empathy = _pairs(rng, 4)
    control = _pairs(rng, 4) if exchangeable else _pairs(rng, 2)
    generations = pd.concat([_sweep("empathy", 1 / 40), _sweep("control", 1 / 40 if exchangeable else 1 / 10)],
                            ignore_index=True)
    axis = empathy.states[:50].mean(0) - empathy.states[50:].mean(0)
    shift = 0.0 if exchangeable else 0.05
    readouts = (empathy.states[50:].mean(0) + rng.normal(size=(len(generations), DIM)) * 0.01
                + shift * generations["alpha"].to_numpy()[:, None] * axis)
    calibration = pd.DataFrame([{"kind": k, "prompt": f"{c}-11", "sample": 0, "tokens": ids, "nll": nll, "text": "x"}
                                for c in CATEGORIES for k, nll, ids in (("unsteered", 2.0, "1 2 3"),
                                                                         ("shuffled_words", 6.0, "3 1 2"),
                                                                         ("repeated_token", 1.0, " ".join(["5"] * 21)))])
    return Phase1Data(empathy, control, generations, readouts, calibration, {"empathy": 0.1, "control": 0.1},
                      "planted")


def _measured(seed: int, exchangeable: bool) -> dict[str, Measurement]:
    data = _data(np.random.default_rng(seed), exchangeable)
    return {m.quantity: m for m in run_stage_measures(PHASE1_CATALOGUE, data, PARAMS, seed)}


def test_planted_bandwidths_and_transfer_hold():
    measured = _measured(0, exchangeable=False)
    assert measured["phase1.steering_range"].value == 16.0 and measured["phase1.control.steering_range"].value == 4.0
    assert measured["phase1.dimensionality"].value <= 4 and measured["phase1.control.dimensionality"].value <= 2
    assert measured["phase1.probe.auroc"].value > 0.95
    assert measured["phase1.coherence.unsteered"].value == 1.0
    assert measured["phase1.coherence.repeated_token"].value < 0.1 < measured["phase1.coherence.shuffled_words"].value
    verdicts = {c.id: judge(c, measured, "planted").verdict for c in CLAIMS if c.id in JUDGED}
    assert verdicts["elb-p1-empathy-control-ratio"] == "HOLDS"
    assert verdicts["elb-p1-transfer-success"] == "HOLDS"
    assert all(judge(c, measured, "planted").verdict == "SKIPPED" for c in CLAIMS if c.id not in JUDGED)


def test_exchangeable_empathy_and_control_never_hold():
    for seed in (1, 2):
        measured = _measured(seed, exchangeable=True)
        verdicts = {c.id: judge(c, measured, "planted").verdict for c in CLAIMS if c.id in JUDGED}
        assert verdicts["elb-p1-empathy-control-ratio"] != "HOLDS", measured["phase1.bandwidth_ratio"]
        assert verdicts["elb-p1-transfer-success"] == "FAILS", measured["phase1.transfer.success"]


def test_published_per_model_values_hold_inside_the_interval_and_fail_outside():
    rank = next(c for c in CLAIMS if c.id == "elb-p1-steering-range")
    model = "meta-llama/Llama-3.1-8B-Instruct"  # published 9.1
    inside = Measurement("phase1.steering_range", 10.0, 8.0, 12.0, "bootstrap", 5, "x")
    outside = Measurement("phase1.steering_range", 10.0, 10.0, 12.0, "bootstrap", 5, "x")
    assert judge(rank, {"phase1.steering_range": inside}, model).verdict == "HOLDS"
    assert judge(rank, {"phase1.steering_range": outside}, model).verdict == "FAILS"


def test_sae_agreement_and_an_undefined_ratio_give_every_answer():
    sae = next(c for c in CLAIMS if c.id == "elb-p1-sae-pca-agreement")
    gap = {g: Measurement("phase1.sae.relative_gap", g, g, g, "exact", 50, "x") for g in (0.1, 0.5)}
    assert judge(sae, {"phase1.sae.relative_gap": gap[0.1]}, "m").verdict == "HOLDS"
    assert judge(sae, {"phase1.sae.relative_gap": gap[0.5]}, "m").verdict == "FAILS"
    ratio = next(c for c in CLAIMS if c.id == "elb-p1-empathy-control-ratio")
    nan = float("nan")
    undefined = Measurement.from_row(Measurement("phase1.bandwidth_ratio", nan, nan, nan, "undefined", 1, "x",
                                                 details={"undefined": "control bandwidth 0"}).row())
    verdict = judge(ratio, {"phase1.bandwidth_ratio": undefined}, "m")
    assert verdict.verdict == "INCONCLUSIVE" and "control bandwidth 0" in verdict.reason


def test_cross_model_claims_are_skipped_for_scope_with_the_measured_input():
    measured = _measured(0, exchangeable=False)
    variation = next(c for c in CLAIMS if c.id == "elb-p1-bandwidth-variation")
    verdict = judge(variation, measured, "planted")
    assert verdict.verdict == "SKIPPED" and verdict.reason.startswith("scope: a statistic across models")
    assert verdict.measured["value"] == measured["phase1.bandwidth"].value


# The tiny shipped model -----------------------------------------------------------------------------------------

def test_last_token_states_match_one_text_at_a_time(tiny_model):
    texts = ["I hear you, that sounds hard.", "Restart the router and check the cable again today."]
    batched, counts = hidden_states_pooled(tiny_model, texts, [1, 2], 2, 64, "last_token")
    for i, text in enumerate(texts):
        ids = tiny_model.hf_tokenizer(text, return_tensors="pt")
        with torch.inference_mode():
            alone = tiny_model.hf_model(**ids, output_hidden_states=True).hidden_states
        assert counts[i] == ids["input_ids"].shape[1]
        for j, index in enumerate((1, 2)):
            assert torch.allclose(batched[i, j], alone[index][0, -1].float(), atol=1e-4)


def test_continuation_scores_read_only_the_continuation(tiny_model):
    ids = torch.tensor([tiny_model.hf_tokenizer("Hello there")["input_ids"]])
    continuation = tiny_model.hf_tokenizer(" my friend", add_special_tokens=False)["input_ids"]
    nll, states = continuation_scores(tiny_model, ids, [continuation, [], continuation[:1]], 1)
    full = torch.tensor([ids[0].tolist() + continuation])
    with torch.inference_mode():
        out = tiny_model.hf_model(full, output_hidden_states=True)
    lp = torch.log_softmax(out.logits[0, ids.shape[1] - 1:-1].float(), -1)
    expected = -float(lp.gather(-1, torch.tensor(continuation)[:, None]).mean())
    assert nll[0] == pytest.approx(expected, abs=1e-4) and math.isnan(nll[1])
    assert torch.allclose(states[0], out.hidden_states[1][0, -1].float(), atol=1e-4)
    eos = tiny_model.hf_tokenizer.eos_token_id
    assert generated_tokens(tiny_model, torch.tensor([[5, eos, eos], [5, 6, 7]])) == [[5, eos], [5, 6, 7]]
