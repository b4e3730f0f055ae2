"""The evidence audit on corrupted copies of the published files: every problem is a row, the audit completes."""
from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from pathlib import Path

import pytest

from elb.audit import run_evidence
from elb.audit.files import MAX_BYTES
from elb.audit.rows import INCONSISTENT, REPRODUCED, SKIPPED
from elb.cli import main

from test_audit import PUBLISHED, ROOT, find, rows_of

# the slice of each study that the cases below corrupt
SLICES = {"ELB": ("elb", ("experiments/tripartite",)), "EIP": ("eip", ("results", "data"))}
PROBE = "experiments/tripartite/results/mistral-7b/results/experiment_b/mistral-7b_layer16_probe.json"
STRAY = "experiments/tripartite/results/stray/mistral-7b_layer16_probe.json"
# a row from another file that must survive each corruption
WITNESS = {"ELB": ("elb-p2-pipeline-b-cos-cog-aff-value", "cosine_cognitive_affective", "mistral-7b"),
           "EIP": ("eip-steering-success", "success_published_rule", "Qwen/Qwen2.5-7B-Instruct")}


def copy_slice(tmp_path: Path, study: str) -> Path:
    folder, parts = SLICES[study]
    if not (PUBLISHED / folder).is_dir():
        pytest.skip("../shared/published is absent")
    root = tmp_path / folder
    for part in parts:
        shutil.copytree(PUBLISHED / folder / part, root / part)
    return root


def audit(root: Path, study: str, reports: Path) -> list[dict]:
    return rows_of(run_evidence(*((root, None) if study == "ELB" else (None, root)), reports))


def completed(rows: list[dict], study: str) -> None:
    """The rest of the audit ran: the witness row from another file is still REPRODUCED."""
    assert find(rows, *WITNESS[study])["status"] == REPRODUCED


def skipped_rows(rows: list[dict], source: str) -> list[dict]:
    return [r for r in rows if r["status"] == SKIPPED and r["source"] == source]


def evidence_counts(rows: list[dict]) -> Counter:
    return Counter(r["status"] for r in rows if r["status"] != SKIPPED)


def edit_json(path: Path, change) -> None:
    path.write_text(json.dumps(change(json.loads(path.read_text()))))


# --- task 2: malformed files become SKIPPED rows -------------------------------------------------------------

@pytest.mark.parametrize(("study", "relative", "claim"), [
    ("ELB", "experiments/tripartite/results/cross_model_final.json", "elb-r3-empathy-auroc"),
    ("ELB", "experiments/tripartite/results/mistral-7b/results/experiment_b/probe_summary.json",
     "elb-p2-pipeline-b-cosines-negative"),
    ("EIP", "results/cross_model_validation/all_models_results.json", "eip-probe-auroc"),
    ("EIP", "results/cross-model-behavioral-correlation/all_models_eia_correlation-2.json", "eip-cross-model-agreement"),
])
def test_json_list_where_an_object_belongs_is_skipped(tmp_path, study, relative, claim):
    root = copy_slice(tmp_path, study)
    edit_json(root / relative, lambda data: [data])
    rows = audit(root, study, tmp_path / "reports")
    hits = [r for r in skipped_rows(rows, relative) if r["claim_id"] == claim]
    assert hits and "expected a JSON object, found a JSON array" in hits[0]["detail"]
    completed(rows, study)


def test_layer_key_that_breaks_the_row_schema_is_skipped(tmp_path):
    root = copy_slice(tmp_path, "EIP")
    path = root / "results/lexical_ablation.json"
    edit_json(path, lambda data: {**data, "layers": {("Layer 12" if k == "12" else k): v
                                                     for k, v in data["layers"].items()}})
    rows = audit(root, "EIP", tmp_path / "reports")
    [skip] = [r for r in skipped_rows(rows, "results/lexical_ablation.json") if r["claim_id"] == "eip-lexical-ablation"]
    assert "quantity 'ablated_auroc_layer_Layer 12'" in skip["detail"]
    assert not [r for r in rows if r["quantity"].startswith("ablated_auroc")], "a malformed file adds no evidence"
    completed(rows, "EIP")


@pytest.mark.parametrize(("study", "relative", "change", "claim", "message"), [
    ("ELB", "experiments/tripartite/results/validation_mistral.json", {"model": ""},
     "elb-p2-validation-pairwise-auroc", "model ''"),                                    # breaks the row schema
    ("EIP", "results/steering_comprehensive.json", {"alphas_tested": "all"},
     "eip-v0-keyword-increase", "schema errors; first at alphas_tested: Input should be a valid list"),  # the record
])
def test_malformed_field_is_skipped(tmp_path, study, relative, change, claim, message):
    root = copy_slice(tmp_path, study)
    edit_json(root / relative, lambda data: {**data, **change})
    rows = audit(root, study, tmp_path / "reports")
    skips = skipped_rows(rows, relative)
    assert claim in {r["claim_id"] for r in skips} and all(message in r["detail"] for r in skips)
    completed(rows, study)


@pytest.mark.parametrize("relative", ["results/random_baseline_proper.json",           # a file the audit names
                                      "results/cross_model_steering/x_steering_multilayer.json"])  # one a glob finds
def test_link_to_a_device_is_refused(tmp_path, relative):
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    root = copy_slice(tmp_path, "EIP")
    (root / relative).unlink(missing_ok=True)
    (root / relative).symlink_to("/dev/zero")
    rows = audit(root, "EIP", tmp_path / "reports")
    skips = skipped_rows(rows, relative)
    assert skips and all("not a regular file (a character device)" in r["detail"] for r in skips)
    completed(rows, "EIP")


def test_oversized_file_is_refused(tmp_path):
    root = copy_slice(tmp_path, "EIP")
    with (root / "results/eia_correlation.json").open("r+b") as handle:
        handle.truncate(MAX_BYTES + 1)        # sparse: no disk space used
    rows = audit(root, "EIP", tmp_path / "reports")
    [skip] = skipped_rows(rows, "results/eia_correlation.json")
    assert skip["claim_id"] == "eip-behavioral-correlation" and "larger than the 50 MiB read limit" in skip["detail"]
    completed(rows, "EIP")


# --- task 3: duplicates counted once, absent files reported ---------------------------------------------------

def test_stray_copy_of_a_probe_file_is_counted_once(tmp_path):
    root = copy_slice(tmp_path, "ELB")
    baseline = audit(root, "ELB", tmp_path / "baseline")
    (root / STRAY).parent.mkdir()
    shutil.copy(root / PROBE, root / STRAY)
    rows = audit(root, "ELB", tmp_path / "reports")
    assert evidence_counts(rows) == evidence_counts(baseline)
    skips = skipped_rows(rows, STRAY)
    assert len(skips) == 7 and all(f"duplicate of {PROBE}" in r["detail"] for r in skips)


def test_reformatted_copy_is_folded_into_the_first_row(tmp_path):
    root = copy_slice(tmp_path, "ELB")
    baseline = audit(root, "ELB", tmp_path / "baseline")
    (root / STRAY).parent.mkdir()
    (root / STRAY).write_text(json.dumps(json.loads((root / PROBE).read_text()), indent=1))   # same values
    assert (root / STRAY).read_bytes() != (root / PROBE).read_bytes()
    rows = audit(root, "ELB", tmp_path / "reports")
    assert evidence_counts(rows) == evidence_counts(baseline)
    row = find(rows, "elb-p2-pipeline-b-cos-cog-aff-value", "cosine_cognitive_affective", "mistral-7b")
    assert row["source"].startswith(PROBE) and f"Also in {STRAY}: duplicate evidence, counted once." in row["detail"]


def test_copy_with_other_values_is_inconsistent(tmp_path):
    root = copy_slice(tmp_path, "ELB")
    (root / STRAY).parent.mkdir()
    shutil.copy(root / PROBE, root / STRAY)
    edit_json(root / STRAY, lambda data: {**data, "d_model": 1234})
    rows = audit(root, "ELB", tmp_path / "reports")
    conflicts = [r for r in rows if r["status"] == INCONSISTENT and r["source"].startswith(STRAY)]
    assert [r["quantity"] for r in conflicts] == ["probe_vector_length"]
    assert f"{PROBE} gives 4096 for the same model and quantity" in conflicts[0]["detail"]


def test_absent_phi3_validation_file_is_a_skipped_row(tmp_path):
    root = copy_slice(tmp_path, "EIP")
    (root / "results/validation_auroc.json").unlink()
    rows = audit(root, "EIP", tmp_path / "reports")
    for claim in ("eip-probe-auroc", "eip-probe-best-layer"):
        row = find(rows, claim, "file_present", "phi3")
        assert row["status"] == SKIPPED and row["detail"] == "published file absent"
    target = find(rows, "eip-plan-targets", "probe_auroc_vs_target", "microsoft/Phi-3-mini-4k-instruct")
    assert target["status"] == SKIPPED
    completed(rows, "EIP")


# --- task 4: `elb evidence` writes the evidence file only ----------------------------------------------------

def test_evidence_command_writes_only_the_evidence_file(tmp_path, capsys):
    root = copy_slice(tmp_path, "EIP")
    reports = sorted((ROOT / "reports").glob("claims.*"))
    before = {p: p.stat().st_mtime_ns for p in reports}
    assert main(["evidence", "--eip-repo", str(root), "--reports-dir", str(tmp_path / "out")]) == 0
    assert os.listdir(tmp_path / "out") == ["evidence.json"]
    out = capsys.readouterr().out
    assert "dvc repro" in out and "elb report" in out
    assert {p: p.stat().st_mtime_ns for p in reports} == before

