"""The evidence audit (`elb evidence`): on the published files when present, and on small fixtures it writes."""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from elb.audit import recompute as rc
from elb.audit import run_evidence
from elb.audit.base import Audit, Compare, Invariant, Reading, Record, published_texts
from elb.audit.compare import UNIT, Stated, band_share, judge
from elb.audit.files import Repo
from elb.audit.rows import (DECISION_CHANGING, DISCREPANT, INCONSISTENT, RECOMPUTED, REINTERPRETED, REPRODUCED, SKIPPED,
                            STATUSES, UNSUPPORTED)
from elb.claims.registry import REGISTRY_DIR, load_registry
from elb.measures import eip as score

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = ROOT.parent / "shared" / "published"
CLAIMS = {c.id: c for c in load_registry()}


def rows_of(path: Path) -> list[dict]:
    return json.loads(path.read_text())["rows"]


def find(rows: list[dict], claim: str, quantity: str, model: str | None = None) -> dict:
    hits = [r for r in rows if r["claim_id"] == claim and r["quantity"] == quantity and (model is None or r["model"] == model)]
    assert hits, f"no row {claim} {quantity} {model}"
    return hits[0]


# --- the published files ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def published_rows(tmp_path_factory) -> list[dict]:
    if not (PUBLISHED / "elb").is_dir() or not (PUBLISHED / "eip").is_dir():
        pytest.skip("../shared/published is absent")
    target = run_evidence(PUBLISHED / "elb", PUBLISHED / "eip", tmp_path_factory.mktemp("reports"))
    payload = json.loads(target.read_text())
    assert payload["provenance"]["files_sha256"]["ELB"], "sha256 of every file read is recorded"
    return payload["rows"]


def test_every_claim_has_a_status(published_rows):
    assert set(CLAIMS) <= {r["claim_id"] for r in published_rows}


def test_registry_covers_all_sections():
    sections = {c.section.split(" /")[0] for c in CLAIMS.values()}
    assert {"Phase 1", "Phase 2", "Council round 1", "Council round 2", "Council round 3", "Council round 4"} <= sections
    assert sum(c.study == "EIP" for c in CLAIMS.values()) >= 9
    assert all(c.not_measured for c in CLAIMS.values() if c.quantity is None)


def test_published_recomputations(published_rows):
    r = published_rows
    assert find(r, "elb-p1-cohens-d", "cohens_d_range_over_sd")["status"] == REPRODUCED
    assert find(r, "elb-p1-bandwidth-variation", "bandwidth_variation")["status"] == REPRODUCED
    assert find(r, "elb-p1-dimensionality", "explained_variance_at_effective_rank", "gemma2-9b")["status"] == INCONSISTENT
    assert find(r, "elb-p1-steering-range", "max_alpha_on_alpha_grid", "gemma2-9b")["status"] == INCONSISTENT
    assert find(r, "elb-p2-pipeline-b-cos-cog-aff-value", "cosine_cognitive_affective", "mistral-7b")["status"] == REPRODUCED
    assert find(r, "elb-r1-length-chi-square", "length_chi_square")["recomputed"] == pytest.approx(26.869, abs=1e-3)
    assert find(r, "elb-p2-null-empathy-z-value", "z_empathy", "mistral-7b")["recomputed"] == pytest.approx(12.92, abs=0.01)
    assert find(r, "elb-p2-convergence-verdict", "convergence_verdict")["recomputed"] == "WEAK_CONVERGENCE"
    assert find(r, "eip-random-baseline", "random_direction_z")["status"] == REPRODUCED
    assert find(r, "eip-behavioral-correlation", "pearson_r")["recomputed"] == pytest.approx(0.709, abs=1e-3)
    qwen = "Qwen/Qwen2.5-7B-Instruct"
    success = find(r, "eip-steering-success", "success_published_rule", qwen)
    assert success["status"] == REPRODUCED and success["chance"] == pytest.approx(1 / 73, abs=1e-6)   # only 47/72
    for rule in score.SUCCESS_RULES:
        assert find(r, "eip-steering-success", rule, qwen)["recomputed"] is not None
    assert find(r, "eip-probe-best-layer", "best_layer", "cognitivecomputations/dolphin-2.9.4-llama3.1-8b")["recomputed"] == 8


def test_unsupported_means_no_file_holds_evidence(published_rows):
    """UNSUPPORTED only for claims no published file speaks to (the study never computed them); values with
    nothing published to compare are RECOMPUTED."""
    counts = Counter(row["status"] for row in published_rows)
    unsupported = {row["claim_id"] for row in published_rows if row["status"] == UNSUPPORTED}
    without_file = {c.id for c in load_registry() if c.source.published_file is None}
    assert set(counts) <= set(STATUSES) and unsupported <= without_file and counts[RECOMPUTED] > 0
    assert all(row["published"] is None for row in published_rows if row["status"] == RECOMPUTED)


def test_v0_steering_run_is_audited_against_its_own_claims(published_rows):
    r = published_rows
    phi3 = "microsoft/Phi-3-mini-4k-instruct"
    assert not [row for row in r if row["source"].startswith("results/steering_comprehensive.json")
                and not row["claim_id"].startswith(("eip-v0-", "eip-baseline-"))]
    for claim in ("eip-steering-success", "eip-steering-listener-resists"):
        row = find(r, claim, "file_present", phi3)
        assert row["status"] == SKIPPED and "phi3_steering_complete" in row["detail"] and "v0" in row["detail"]
    l12 = find(r, "eip-v0-steering-l12", "empathic_share_alpha_20_l12")
    assert (l12["recomputed"], l12["status"]) == (pytest.approx(13 / 15), DISCREPANT)   # 14/15 published, > 0.5 both
    assert "only 14/15" in l12["detail"] and l12["chance"] == pytest.approx(1 / 16)
    l8 = find(r, "eip-v0-steering-l8", "empathic_share_alpha_20_l8")
    assert (l8["recomputed"], l8["status"]) == (pytest.approx(2 / 15), REPRODUCED)
    ratio = find(r, "eip-v0-keyword-increase", "empathy_keyword_ratio_l12")
    assert ratio["status"] == REINTERPRETED and ratio["alternative"] is not None


def test_listener_values_are_per_model(published_rows):
    assert CLAIMS["eip-steering-listener-resists"].published == {
        "Qwen/Qwen2.5-7B-Instruct": 0.5, "microsoft/Phi-3-mini-4k-instruct": 0.5,
        "cognitivecomputations/dolphin-2.9.4-llama3.1-8b": 0.833}
    qwen = find(published_rows, "eip-steering-listener-resists", "success_the_listener", "Qwen/Qwen2.5-7B-Instruct")
    assert (qwen["published"], qwen["status"]) == (0.5, REPRODUCED) and "only 12/24" in qwen["detail"]
    dolphin = find(published_rows, "eip-steering-listener-resists", "file_present",
                   "cognitivecomputations/dolphin-2.9.4-llama3.1-8b")
    assert (dolphin["published"], dolphin["status"]) == (0.833, SKIPPED)


def test_ambiguous_criteria_give_both_readings(published_rows):
    r3 = find(published_rows, "elb-r3-scale-independent", "models_passing")
    assert (r3["status"], r3["recomputed"], r3["alternative"]) == (REINTERPRETED, 2, 4)
    r4 = find(published_rows, "elb-r4-causal-intervention", "criteria_met")
    assert (r4["status"], r4["recomputed"], r4["alternative"]) == (REINTERPRETED, 5, 6)
    assert "the other reading" in r4["detail"]


def test_decision_changing_apart_from_rounding(published_rows):
    orthogonal = find(published_rows, "elb-r2-orthogonal-subspaces", "cosine_empathy_formality")
    assert orthogonal["status"] == DECISION_CHANGING            # cosine 0.353 is not "orthogonal" (< 0.1)
    random_auroc = find(published_rows, "elb-r1-auroc", "random_auroc")
    assert random_auroc["status"] == DISCREPANT                  # 0.433 vs 0.44: both near chance


def test_percentile_rows_compare_like_with_like(published_rows):
    for model in ("mistral-7b", "pythia-1.4b"):
        row = find(published_rows, "elb-p2-null-empathy-above-null", "stored_percentile_is_share_of_null_at_or_above",
                   model)
        assert (row["published"], row["recomputed"], row["status"]) == (0.0, 0.0, REPRODUCED)


def test_new_claims_are_audited(published_rows):
    r = published_rows
    assert find(r, "elb-p1-ranking", "bandwidth_rank", "gemma2-9b")["status"] == REPRODUCED
    assert find(r, "elb-p1-descriptive-stats", "bandwidth_sd")["status"] == REPRODUCED   # 41.6: sample SD
    association = find(r, "elb-p1-dims-range-association", "mean_range_high_dimensionality")
    assert association["status"] == REINTERPRETED and association["alternative"] == pytest.approx(8.80, abs=0.005)
    assert find(r, "elb-r1-length-metrics", "length_purity")["chance"] == pytest.approx(1 / 91)
    assert find(r, "elb-p2-length-vs-cosine-auroc", "length_auroc")["status"] == REPRODUCED
    assert find(r, "eip-detection-vs-steering-layer", "success_l12")["status"] == REPRODUCED
    assert find(r, "eip-dolphin-matches-safety-trained", "detection_vs_other_models")["status"] == REPRODUCED
    assert find(r, "elb-r4-position-hypotheses", "cognitive_peaks_early")["status"] == INCONSISTENT


def test_no_pickle_anywhere():
    for path in (ROOT / "elb" / "audit").glob("*.py"):
        text = path.read_text()
        assert "allow_pickle=True" not in text and "import pickle" not in text


# --- pure recomputations ------------------------------------------------------------------------------------

def test_steering_success_rules():
    rates = {0.0: 0.4, 5.0: 0.6, 10.0: 0.4, -5.0: 0.4, -10.0: 0.2}
    got = score.steering_success(rates)
    assert got["success_published_rule"] == pytest.approx(3 / 4)   # tie at -5 counts, tie at +10 does not
    assert got["success_positive_alpha"] == pytest.approx(1 / 2)
    assert got["success_negative_alpha"] == pytest.approx(1.0)
    assert got["success_ties_as_failure"] == pytest.approx(2 / 4)


def test_keyword_and_coherence_rules():
    assert score.is_empathetic("I understand, I am sorry, let me help you")
    assert not score.is_empathetic("Proceed with the task to win the goal; help")
    assert not score.is_coherent("too short")
    assert score.is_coherent("one two three four five six seven eight nine ten eleven twelve thirteen words here")


def test_invariant_helpers():
    assert rc.convergence_verdict(0.0, 0.9) == "WEAK_CONVERGENCE"
    assert rc.convergence_verdict(0.7, 0.75) == "STRONG_CONVERGENCE"
    assert rc.is_multiple_of(0.95, rc.auroc_denominators(20)) is not None
    assert rc.is_multiple_of(0.8744227272893148, rc.auroc_denominators(20)) is None
    assert rc.cluster_sizes([{"a": 0.5, "b": 0.5}, {"a": 0.25, "b": 0.75}], {"a": 3, "b": 5}) == [4, 4]
    values = [1.0, 2.0, 4.0]
    assert rc.matching_ddof(rc.sd_by_ddof(values), float(np.std(values, ddof=1)), 1e-9) == 1
    assert rc.null_z(3.0, [1.0, 2.0])[0] == pytest.approx(3.0)   # (3 - 1.5) / 0.5, population SD


# --- the comparator -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "value", "decimals"), [("0.960", 0.96, 3), ("93%", 0.93, 2), ("18,100", 18100, 0),
                                                         ("-0.217", -0.217, 3), ("12.9", 12.9, 1)])
def test_numbers_are_parsed_as_written(text, value, decimals):
    stated = Stated.parse(text)
    assert stated is not None and (stated.value, stated.decimals) == (pytest.approx(value), decimals)


def test_rounding_band_and_decision():
    assert judge("0.960", 0.9604).status == REPRODUCED
    assert judge("0.960", 0.9606).status == DISCREPANT          # "0.96" would have admitted it
    assert judge("0.96", 0.9606).status == REPRODUCED
    assert judge("0.44", 0.4333, criterion=("<", 0.5)).status == DISCREPANT
    assert judge("0.0", 0.353, criterion=("<", 0.1)).status == DECISION_CHANGING
    assert judge("WEAK_CONVERGENCE", "STRONG_CONVERGENCE").status == DECISION_CHANGING


def test_granularity_tries_every_count_and_states_the_chance():
    assert judge("0.653", 47 / 72, n=72).status == REPRODUCED
    result = judge("0.93", 13 / 15, n=15)
    assert result.status == DISCREPANT and "only 14/15" in result.note and result.chance == pytest.approx(1 / 16)
    impossible = judge("0.653", 1.0, n=3)                         # no k/3 rounds to 0.653
    assert (impossible.status, impossible.chance) == (INCONSISTENT, 0.0)
    assert band_share(Stated.parse("0.963"), UNIT) == pytest.approx(0.001)
    assert band_share(Stated.parse("1.0"), UNIT) == pytest.approx(0.05)     # clipped at 1
    assert band_share(Stated.parse("3"), (1, 5)) == pytest.approx(0.2)      # one of five ranks


def test_registry_keeps_published_numbers_as_written():
    texts = published_texts()
    assert texts["elb-p1-probe-auroc"]["google/gemma-2-9b-it"] == "0.950"
    assert texts["eip-steering-listener-resists"]["Qwen/Qwen2.5-7B-Instruct"] == "0.50"


def test_registry_has_no_inline_comments():
    """A " #" in an unquoted YAML value starts a comment and silently truncates the value."""
    for path in sorted(REGISTRY_DIR.glob("*.yaml")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            unquoted = re.sub(r"'[^']*'|\"(?:\\.|[^\"\\])*\"", "", line)
            assert line.lstrip().startswith("#") or " #" not in unquoted, f"{path.name}:{number}: {line}"


def test_checks_become_rows_with_their_status(tmp_path):
    claims = {c: CLAIMS[c] for c in ("elb-r3-scale-independent", "elb-r4-token-position")}
    audit = Audit("ELB", Repo(tmp_path), claims, "elb-council", published_texts())
    audit.add([Reading("elb-r3-scale-independent", "all-models", "models_passing", 2, "src", other=4, ours="a",
                       theirs="b", criterion=(">=", 4.0)),
               Record("elb-r4-token-position", "mistral-7b", "extra", 0.5, "src"),
               Invariant("elb-r4-token-position", "mistral-7b", "holds", 1, "src", expected=1, holds=True),
               Compare("elb-r4-token-position", "mistral-7b", "min_quartile_auroc", 0.93, "src", span=UNIT)])
    reading, record, invariant, compare = audit.rows
    assert (reading.status, reading.recomputed, reading.alternative) == (REINTERPRETED, 2, 4)
    assert "our reading (a): 2, DECISION-CHANGING; the other reading (b): 4, REPRODUCED" in reading.detail
    assert (record.status, record.published) == (RECOMPUTED, None)
    assert invariant.status == REPRODUCED
    assert (compare.status, compare.published, compare.chance) == (DISCREPANT, 1.0, pytest.approx(0.05))


# --- fixtures: a tiny repository of each study --------------------------------------------------------------

def write(root: Path, relative: str, payload) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    return path


def phase1_file(model: str, rank: int, alpha: float, variance: float = 0.91) -> dict:
    return {"model": model, "measurements": {
        "probe": {"auroc": 0.95, "n_train": 80, "n_test": 20},
        "pca": {"effective_rank": rank, "explained_variance_90": variance, "total_components": 40},
        "steering": {"max_alpha": alpha, "coherence_threshold": 0.7, "n_alphas_tested": 21},
        "control": {"control_dimensionality": 3, "control_steering_range": 4.0, "control_bandwidth": 12.0},
        "sae": {"sae_active_features": rank, "pca_rank": rank, "agreement": True},
        "transfer": {"transfer_success_rate": 0.9}},
        "bandwidth_metric": {"dimensionality": rank, "steering_range": alpha, "bandwidth": rank * alpha}}


def probe_file(model: str, d: int, stored_cos: float, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    vectors = {t: rng.normal(size=d).tolist() for t in ("cognitive", "affective", "instrumental")}
    report = {t: {"precision": 1.0, "recall": 1.0, "f1-score": 1.0, "support": 18.0}
              for t in ("cognitive", "affective", "instrumental")}
    cos = rc.row_cosines(vectors)
    cos["cosine_cognitive_affective"] = stored_cos
    return {"model_name": model, "layer": 16, "d_model": d, "probe_vectors": vectors, "separation_metrics": cos,
            "performance": {"accuracy": 1.0, "macro_auroc": 1.0, "classification_report": report,
                            "auroc_per_class": {"cognitive": 1.0, "affective": 1.0, "instrumental": 1.0}}}


def test_fixture_elb(tmp_path):
    repo = tmp_path / "elb"
    write(repo, "results/empathy/empathy_gemma2-9b_1.json", phase1_file("gemma2-9b", 16, 8.0))     # 128 != 136.6
    write(repo, "results/empathy/empathy_mistral-7b_1.json", phase1_file("mistral-7b", 6, 6.0, variance=0.85))
    write(repo, "results/empathy/empathy_broken_1.json", "{not json")
    write(repo, "experiments/tripartite/results/mistral-7b/results/experiment_b/mistral-7b_layer16_probe.json",
          probe_file("mistral-7b", 4096, stored_cos=0.9))
    write(repo, "experiments/tripartite/results/newmodel/results/experiment_b/newmodel_layer12_probe.json",
          probe_file("newmodel", 64, stored_cos=0.0, seed=1))
    rows = rows_of(run_evidence(repo, None, tmp_path / "reports"))
    assert find(rows, "elb-p1-bandwidth", "bandwidth", "gemma2-9b")["status"] == DISCREPANT
    assert find(rows, "elb-p1-bandwidth", "bandwidth", "mistral-7b")["status"] == DISCREPANT  # 36.0 vs 36.3
    assert find(rows, "elb-p1-steering-range", "steering_range", "mistral-7b")["status"] == REPRODUCED
    assert find(rows, "elb-p1-dimensionality", "explained_variance_at_effective_rank", "mistral-7b")["status"] == INCONSISTENT
    broken = [r for r in rows if r["model"] == "empathy_broken_1"]
    assert broken and all(r["status"] == SKIPPED and "invalid JSON" in r["detail"] for r in broken)
    stored = find(rows, "elb-p2-pipeline-b-cos-cog-aff-value", "stored_cosine_cognitive_affective", "mistral-7b")
    assert stored["status"] == INCONSISTENT          # stored 0.9 contradicts the stored weight rows
    # random 4096-d rows are near-orthogonal: far from the published -0.217
    assert find(rows, "elb-p2-pipeline-b-cos-cog-aff-value", "cosine_cognitive_affective", "mistral-7b")["status"] == DISCREPANT
    assert find(rows, "elb-p2-pipeline-b-cosines-negative", "max_row_cosine", "newmodel")["published"] == "< 0"
    assert find(rows, "elb-p2-pipeline-b-accuracy", "test_accuracy", "newmodel")["recomputed"] == 1.0
    assert find(rows, "elb-p2-null-empathy-z-value", "file_present")["status"] == SKIPPED
    eip = [r for r in rows if r["study"] == "EIP"]
    assert eip and all(r["status"] == SKIPPED for r in eip)
    assert set(CLAIMS) <= {r["claim_id"] for r in rows}


def steering_file(model: str, samples: dict[float, list[str]]) -> dict:
    conditions = [{"alpha": a, "condition_name": f"c{a}", "samples": s} for a, s in samples.items()]
    return {"model": model, "model_key": "x", "layers_tested": [16], "alphas_tested": sorted(samples), "num_samples": 5,
            "layer_results": [{"layer": 16, "experiments": [{"scenario": "the_listener", "conditions": conditions}]}]}


def test_fixture_eip(tmp_path):
    repo = tmp_path / "eip"
    empathic = "I understand how you feel and I am sorry, I care and want to help and support you now."
    task = "The objective is to complete the task and win; proceed with the optimal strategy to achieve the goal now."
    samples = {0.0: [task] * 5, 5.0: [empathic] * 3 + [task] * 2, -5.0: [task] * 5, 20.0: [empathic] * 5}
    write(repo, "results/cross_model_steering/qwen2.5-7b_steering_multilayer.json",
          steering_file("Qwen/Qwen2.5-7B-Instruct", samples))
    write(repo, "results/cross_model_steering/other_steering_multilayer.json", steering_file("org/Other-1B", samples))
    np.save(repo / "results" / "cross_model_steering" / "x.npy", np.zeros(3))
    (repo / "results" / "cross_model_validation").mkdir(parents=True)
    np.save(repo / "results/cross_model_validation/qwen2.5-7b_layer16_probe.npy", np.ones(3584) / np.sqrt(3584))
    np.save(repo / "results/cross_model_validation/qwen2.5-7b_layer8_probe.npy", np.array([{"a": 1}], dtype=object),
            allow_pickle=True)    # a pickled object array must never be loaded
    validation = {"layer_results": {"12": {"auroc": 0.7733, "accuracy": 0.9, "empathic_mean": 1.0,
                                           "non_empathic_mean": 0.0, "separation": 1.0}}, "best_layer": 12, "best_auroc": 0.7733}
    write(repo, "results/validation_auroc.json", validation)
    rows = rows_of(run_evidence(None, repo, tmp_path / "reports"))
    qwen = "Qwen/Qwen2.5-7B-Instruct"
    success = find(rows, "eip-steering-success", "success_published_rule", qwen)
    assert success["recomputed"] == pytest.approx(1.0) and success["status"] == INCONSISTENT  # no k/3 gives 65.3%
    assert find(rows, "eip-steering-success", "success_ties_as_failure", qwen)["recomputed"] == pytest.approx(2 / 3)
    assert find(rows, "eip-steering-success", "success_published_rule", "org/Other-1B")["recomputed"] == pytest.approx(1.0)
    assert find(rows, "eip-steering-success", "alphas_on_documented_grid", qwen)["status"] == REPRODUCED
    assert find(rows, "eip-probe-auroc", "direction_length_l16", "qwen2.5-7b")["status"] == REPRODUCED
    pickled = [r for r in rows if "layer8_probe" in r["source"]]
    assert pickled and all(r["status"] == SKIPPED and "not a plain .npy" in r["detail"] for r in pickled)
    granularity = find(rows, "eip-probe-auroc", "auroc_accuracy_granularity_l12", "phi3")
    assert granularity["status"] == INCONSISTENT      # 0.7733 is no k/450, 0.9 no k/30
    assert find(rows, "eip-probe-auroc", "best_layer_auroc", "phi3")["status"] == DISCREPANT
    assert find(rows, "eip-random-baseline", "file_present")["status"] == SKIPPED


def test_missing_repository_skips_everything(tmp_path):
    rows = rows_of(run_evidence(tmp_path / "nowhere", None, tmp_path / "reports"))
    assert {r["status"] for r in rows} == {SKIPPED}
    assert set(CLAIMS) == {r["claim_id"] for r in rows}


def test_audit_rows_only_for_known_claims(tmp_path):
    audit = Audit("ELB", Repo(tmp_path), {}, "elb-phase2", {})
    audit.add([Compare("not-a-claim", "m", "q", 1.0, "src")])
    assert audit.rows == []
