"""EIP: our bundled data, the published-layout loaders, the probe and scoring functions on known answers, the
steering hook against a manual forward, and the verdict rules on planted and shuffled signals."""
from __future__ import annotations

import json
import random
import shutil

import numpy as np
import pytest
import torch
from scipy import stats

from elb.claims.registry import load_registry
from elb.cli import main
from elb.claims.verdict import judge
from elb.config import EipConfig
from elb.datasets.eip import (PAIR_FILES, SYNONYMS, ablate_pairs, ablate_text, eip_texts, load_pairs, load_rated,
                              load_scenarios, load_synonyms)
from elb.datasets.loaders import DatasetError
from elb.measures import eip
from elb.measures.catalogue import EIP_CATALOGUE

from conftest import BUNDLED, PUBLISHED

EIP_DATA = BUNDLED / "eip"
PUBLISHED_EIP = PUBLISHED / "eip" / "data"


# --- data --------------------------------------------------------------------------------------------------

def test_bundled_data_sizes_and_length_balance():
    scenarios = load_scenarios(EIP_DATA)
    train, test = (load_pairs(EIP_DATA / PAIR_FILES[role]) for role in ("train", "test"))
    assert len(scenarios) == 5 and len(train) >= 35 and len(test) >= 15
    assert {p.scenario_id for p in train + test} == set(scenarios)
    assert len(load_rated(EIP_DATA / "rated_texts.json")) >= 12
    empathic = np.array([len(p.empathic_text.split()) for p in train + test])
    other = np.array([len(p.non_empathic_text.split()) for p in train + test])
    assert abs(empathic.mean() - other.mean()) / other.mean() < 0.05
    assert stats.ttest_rel(empathic, other).pvalue > 0.05  # no detectable length difference between the sides


def test_committed_ablated_set_is_what_elb_ablate_builds(tmp_path):
    built = ablate_pairs(load_pairs(EIP_DATA / PAIR_FILES["test"]), load_synonyms(EIP_DATA / SYNONYMS), seed=42)
    copy = tmp_path / "eip"
    shutil.copytree(EIP_DATA, copy)
    (copy / PAIR_FILES["ablated"]).unlink()
    assert main(["ablate", str(copy)]) == 0
    assert (copy / PAIR_FILES["ablated"]).read_bytes() == (EIP_DATA / PAIR_FILES["ablated"]).read_bytes()
    committed = [json.loads(line) for line in (EIP_DATA / PAIR_FILES["ablated"]).read_text().splitlines()]
    assert committed == built
    original = load_pairs(EIP_DATA / PAIR_FILES["test"])
    assert all(a["non_empathic_text"] == o.non_empathic_text for a, o in zip(committed, original))
    assert sum(a["ablation_stats"]["total_replacements"] for a in committed) > 0


def test_ablation_replaces_whole_words_and_keeps_case():
    text, stats_ = ablate_text("Help! I help the helpers. HELP", {"help": ["aid"]}, random.Random(0))
    assert text == "Aid! I aid the helpers. AID"
    assert stats_["keyword_counts"] == {"help": 3} and stats_["total_replacements"] == 3


def test_bad_pair_line_names_file_line_and_field(tmp_path):
    bad = tmp_path / "pairs.jsonl"
    bad.write_text('{"scenario_id": "a", "scenario_title": "A", "empathic_text": "x", "non_empathic_text": "y"}\n'
                   '{"scenario_id": "a", "scenario_title": "A", "empathic_text": " "}\n')
    with pytest.raises(DatasetError, match=r"pairs.jsonl: line 2: field (empathic_text|non_empathic_text)"):
        load_pairs(bad)


def test_rated_texts_read_from_python_source_without_running_it(tmp_path):
    source = tmp_path / "eia_evaluator.py"
    source.write_text('raise SystemExit("executed")\n'
                      'def make():\n    test_completions = [\n'
                      '        {"scenario": "s", "text": "t1", "eia_score": 2, "expected_category": "high_empathy"},\n'
                      '        {"scenario": "s", "text": "t2", "eia_score": 0, "expected_category": "low_empathy"},\n'
                      '        {"scenario": "s", "text": "t3", "eia_score": 1, "expected_category": "medium_empathy"},\n'
                      '    ]\n')
    assert [r.eia_score for r in load_rated(source)] == [2, 0, 1]


def test_published_files_load_through_the_same_loaders():
    if not PUBLISHED_EIP.exists():
        pytest.skip(f"published EIP data not present at {PUBLISHED_EIP}")
    texts = eip_texts(PUBLISHED_EIP, EIP_DATA / "rated_texts.json")
    assert dict(texts["role"].value_counts()) == {"train": 70, "test": 30, "ablated": 30, "rated": 15}


# --- probe functions on known answers -------------------------------------------------------------------

def test_probe_metrics_by_hand():
    m = eip.probe_metrics(np.array([3.0, 2.0, 1.0]), np.array([0.0, 1.5, -1.0]))
    assert m["auroc"] == pytest.approx(8 / 9)
    assert m["separation"] == pytest.approx(2.0 - 1 / 6)
    assert m["empathic_std"] == pytest.approx(np.std([3.0, 2.0, 1.0]))  # population SD, as numpy's default
    # median of all six scores is 1.25: >= it -> 3, 2, 1.5 predicted empathic; 1 of 6 wrong each way
    assert m["accuracy_median"] == pytest.approx(4 / 6)
    assert eip.best_layer({8: 0.9, 12: 1.0, 16: 1.0}) == 12  # the first of tied maxima, as published


def test_direction_is_unit_mean_difference():
    rng = np.random.default_rng(0)
    a, b = rng.normal(1, 1, (10, 4)), rng.normal(0, 1, (10, 4))
    d = eip.mean_difference_direction(a, b)
    assert np.linalg.norm(d) == pytest.approx(1) and np.allclose(d * np.linalg.norm(a.mean(0) - b.mean(0)),
                                                                 a.mean(0) - b.mean(0))


def test_pair_folds_keep_pairs_together_and_cover_all():
    folds = eip.pair_folds(35, 5, seed=1)
    assert sorted(np.concatenate(folds).tolist()) == list(range(35)) and len(folds) == 5


def test_random_baseline_summary_uses_population_sd():
    randoms = np.array([0.4, 0.5, 0.6])
    summary = eip.random_baseline(0.9, randoms)
    assert summary["sd"] == pytest.approx(np.std(randoms)) and summary["z"] == pytest.approx(0.4 / np.std(randoms))
    assert summary["p_empirical"] == pytest.approx(1 / 4)


def test_success_rules_on_known_rates():
    flags = eip.alpha_successes({-5.0: 0.2, -1.0: 0.4, 0.0: 0.2, 1.0: 0.2, 5.0: 0.6})
    assert flags[-5.0]["success_published_rule"] and not flags[-5.0]["success_ties_as_failure"]  # tie: no rise
    assert not flags[-1.0]["success_published_rule"]  # rose under negative alpha
    assert not flags[1.0]["success_published_rule"] and flags[5.0]["success_published_rule"]
    rates = eip.steering_success({-5.0: 0.2, -1.0: 0.4, 0.0: 0.2, 1.0: 0.2, 5.0: 0.6})
    assert rates == {"success_published_rule": 0.5, "success_positive_alpha": 0.5, "success_negative_alpha": 0.5,
                     "success_ties_as_failure": 0.25}


def test_keyword_and_coherence_rules():
    assert eip.is_empathetic("I understand, I am sorry, let me help you")
    assert not eip.is_empathetic("Proceed with the task to win the goal; help")
    assert not eip.is_coherent("too short")


# --- verdict rules: planted signal holds, shuffled labels never hold -------------------------------------

def synthetic_layers(signal: float, seed: int, shuffle: bool = False) -> dict[int, eip.EipLayer]:
    """Five layers of 35 train / 15 test pairs and 15 rated texts; `signal` separates empathic from not."""
    rng = np.random.default_rng(seed)
    d = 32
    axis = np.eye(d)[0]

    def texts(label: np.ndarray) -> np.ndarray:
        return rng.normal(0, 1, (len(label), d)) + signal * np.outer(label, axis)

    out = {}
    for layer in (8, 12, 16, 20, 24):
        labels = {n: np.repeat([1.0, 0.0], n) for n in (35, 15)}
        if shuffle:
            labels = {n: rng.permutation(v) for n, v in labels.items()}
        train, test = texts(labels[35]), texts(labels[15])
        ratings = np.tile([0, 1, 2], 5)
        rated = texts(ratings / 2 if not shuffle else rng.permutation(ratings) / 2)
        out[layer] = eip.EipLayer(train[:35], train[35:], test[:15], test[15:], test[:15], test[15:], rated,
                                  ratings, f"synthetic layer {layer}")
    return out


def measure(data: dict[int, eip.EipLayer], seed: int) -> dict:
    cfg = EipConfig(random_directions=100, permutations=199)
    produced = [m for measure in EIP_CATALOGUE if measure.stage == "eip_measures"
                for m in measure.run(data, cfg, seed)]
    return {m.quantity: m for m in produced}


ANY_MODEL_PROBE_CLAIMS = ("eip-probe-beats-random", "eip-plan-targets", "eip-plan-target-correlation",
                          "eip-probe-honest-layer")


def test_planted_signal_holds_every_any_model_probe_claim():
    claims = {c.id: c for c in load_registry()}
    measured = measure(synthetic_layers(signal=3.0, seed=0), seed=0)
    for claim_id in ANY_MODEL_PROBE_CLAIMS:
        assert judge(claims[claim_id], measured, "synthetic").verdict == "HOLDS", claim_id


@pytest.mark.parametrize("seed", range(10))
def test_shuffled_labels_never_hold(seed):
    claims = {c.id: c for c in load_registry()}
    measured = measure(synthetic_layers(signal=3.0, seed=seed, shuffle=True), seed=seed)
    for claim_id in ANY_MODEL_PROBE_CLAIMS:
        assert judge(claims[claim_id], measured, "synthetic").verdict != "HOLDS", claim_id


# --- steering on the tiny model ----------------------------------------------------------------------------

def test_hook_adds_alpha_times_direction_to_block_output(tiny_model):
    from elb.activations.steering import decoder_blocks, steered
    ids = torch.tensor([[1, 5, 7, 9]])
    direction = torch.zeros(tiny_model.d_model)
    direction[3] = 1.0
    block = decoder_blocks(tiny_model.hf_model)[0]
    seen = []

    def capture(module, inputs, output):  # runs after the steering hook, on what block 1 receives
        seen.append((output[0] if isinstance(output, tuple) else output).clone())

    with torch.inference_mode():
        handle = block.register_forward_hook(capture)
        plain_logits = tiny_model.hf_model(ids).logits
        handle.remove()
        with steered(tiny_model, 0, direction, torch.tensor([2.5])):
            handle = block.register_forward_hook(capture)
            shifted_logits = tiny_model.hf_model(ids).logits
            handle.remove()
    plain, shifted = seen
    assert torch.allclose(shifted - plain, (2.5 * direction).expand_as(plain), atol=1e-5)
    assert not torch.allclose(plain_logits, shifted_logits)


def test_shared_prefill_generates_as_a_plain_batch(tiny_model):
    """The cached steered prompt (one per alpha, shared by its samples) gives the very samples of a plain batched
    generate with the hook on, and zero effect size where the direction is zero."""
    from elb.activations.steering import generate_cell, prompt_ids, steered
    ids = prompt_ids(tiny_model, "You are Player A.\n\nWhat do you do?", chat=False)
    direction = torch.nn.functional.normalize(torch.randn(tiny_model.d_model, generator=torch.Generator().manual_seed(0)),
                                              dim=0)
    alphas = [-3.0, 0.0, 3.0]
    cell = generate_cell(tiny_model, ids, 1, direction, alphas, 2, 6, 0.7, seed=7, kl_steps=3)
    rows = torch.tensor(alphas).repeat_interleave(2)
    torch.manual_seed(7)
    with steered(tiny_model, 1, direction, rows), torch.inference_mode():
        plain = tiny_model.hf_model.generate(ids.repeat(6, 1), attention_mask=torch.ones(6, ids.shape[1], dtype=torch.long),
                                             do_sample=True, temperature=0.7, max_new_tokens=6,
                                             pad_token_id=tiny_model.hf_tokenizer.pad_token_id)
    assert torch.equal(cell.new_tokens, plain[:, ids.shape[1]:])
    assert all(v > 0 for v in cell.kl.values())
    zero = generate_cell(tiny_model, ids, 1, direction * 0, alphas, 2, 6, 0.7, seed=7, kl_steps=3)
    assert all(v == pytest.approx(0, abs=1e-7) for v in zero.kl.values())


def test_our_steering_measurement_and_the_audit_score_alike():
    """One scoring path: the success the steering measure reports equals the audit's reading of the same file."""
    from elb.audit.eip import overall_success, success_by_cell
    from elb.measures.steering import SteeringFile, SteeringRun, steering
    empathic, plain = "I feel sorry and want to help and support and comfort you", "the task and goal are to win"
    layer = [{"layer": 12, "experiments": [{"scenario": s, "conditions": [
        {"alpha": a, "samples": [empathic if (a > 0) == (i % 2 == 0) else plain for i in range(3)]}
        for a in (-5.0, 0.0, 5.0, 10.0)]} for s in ("the_listener", "the_ferry")]}]
    f = SteeringFile.model_validate({"model": "m", "alphas_tested": [-5.0, 0.0, 5.0, 10.0], "layer_results": layer})
    kl = {12: {-5.0: 1.0, 5.0: 1.0, 10.0: 1.0}}
    measured = {m.quantity: m for m in steering(SteeringRun(f, [f], f, kl, 12, "synthetic"), EipConfig(), 0)}
    assert measured["eip.steering.success_published_rule"].value == pytest.approx(
        overall_success(success_by_cell(f.rates())))
    assert measured["eip.steering.success_minus_random"].value == 0


def test_v0_readings_come_from_the_v0_cells_and_match_the_audit():
    """The v0 measures read only alpha 0 / 20 at layers 8 and 12 of a v0-format file (a layer per experiment), and
    the audit of the published v0 file reports the same numbers from the same function."""
    from elb.audit.eip import check_v0
    from elb.measures.steering import SteeringFile, v0_measures
    empathic, plain = "I feel sorry and want to help and support and comfort you", "the task and goal are to win"
    rows = {(12, 20.0): [empathic] * 4 + [plain], (12, 0.0): [plain] * 4 + [empathic],
            (8, 20.0): [plain] * 5, (8, 0.0): [empathic] * 5, (12, 10.0): [empathic] * 5}
    f = SteeringFile.model_validate({"model": "m", "alphas_tested": [0.0, 10.0, 20.0], "experiments": [
        {"layer": layer, "scenario": "s", "conditions": [{"alpha": a, "samples": rows[(layer, a)]}
                                                        for a in (0.0, 10.0, 20.0) if (layer, a) in rows]}
        for layer in (8, 12)]})
    measured = {m.quantity: m for m in v0_measures(f, 0.95)}
    assert measured["eip.v0.empathic_rate_l12"].value == pytest.approx(0.8)
    assert measured["eip.v0.empathic_rate_l8"].value == 0
    assert measured["eip.v0.keyword_ratio_l12"].value == pytest.approx(4.0)  # 4 x 4 keywords over 1 x 4
    readings = {c.quantity: c for c in check_v0(lambda field: field, f)}
    assert readings["empathic_share_alpha_20_l12"].value == pytest.approx(0.8)
    assert readings["empathy_keyword_ratio_l12"].value == pytest.approx(4.0)
    empty = SteeringFile.model_validate({"model": "m", "alphas_tested": [0.0], "layer_results": []})
    assert all(np.isnan(m.value) for m in v0_measures(empty, 0.95))  # no v0 cells: nothing measured, not zero
