"""The table of published models: names resolve per study part, shapes agree with the published files."""
from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from elb.claims.registry import load_registry
from elb.models.published import PUBLISHED, ModelNameError, resolve

from test_audit import PUBLISHED as PUBLISHED_FILES

STUDY_PARTS = ("elb-phase1", "elb-phase2", "elb-council", "eip")


@pytest.mark.parametrize("study", STUDY_PARTS)
def test_every_name_means_one_model_within_a_study_part(study):
    names = Counter(name for model in PUBLISHED.values() for name in model.names(study))
    assert [name for name, n in names.items() if n > 1] == []


def test_resolve_is_case_insensitive_and_asks_for_the_study_part_when_ambiguous():
    assert resolve("PHI3").hub_id == resolve("microsoft/phi-3-mini-4k-instruct").hub_id
    assert resolve("qwen2.5-7b", "elb-phase2").hub_id == "Qwen/Qwen2.5-7B"
    assert resolve("qwen2.5-7b", "eip").hub_id == "Qwen/Qwen2.5-7B-Instruct"
    with pytest.raises(ModelNameError, match="give the study part"):
        resolve("mistral-7b")


def test_unknown_name_suggests_the_closest():
    with pytest.raises(ModelNameError, match="did you mean 'gemma2-9b'"):
        resolve("gemma2-9")
    with pytest.raises(ModelNameError, match="no published model is named 'gemma2-9b' in eip"):
        resolve("gemma2-9b", "eip")


def test_layer_conventions_as_documented():
    assert resolve("qwen2.5-7b", "elb-phase2").use("elb-phase2").layer == 14
    assert resolve("gemma-7b", "elb-phase2").use("elb-phase2").layer == 16
    assert resolve("phi3", "eip").use("eip").convention == "resid_post"
    assert resolve("dolphin-llama-3.1-8b", "eip").use("eip").convention == "hidden_states"
    phase1 = [m.use("elb-phase1") for m in PUBLISHED.values() if m.use("elb-phase1")]
    assert len(phase1) == 5 and {(u.convention, u.layer) for u in phase1} == {("hidden_states", 24)}


def test_every_published_value_in_the_registry_names_a_table_entry():
    hub_ids = {model for claim in load_registry() for model in claim.published} - {"all-models"}
    assert hub_ids <= set(PUBLISHED)


def read(relative: str):
    path = PUBLISHED_FILES / relative
    if not path.exists():
        pytest.skip("../shared/published is absent")
    return np.load(path) if path.suffix == ".npy" else json.loads(path.read_text())


@pytest.mark.parametrize(("relative", "study"), [
    ("elb/experiments/tripartite/results/mistral-7b/results/experiment_b/mistral-7b_layer16_probe.json", "elb-phase2"),
    ("elb/experiments/tripartite/results/qwen2.5-7b/results/experiment_b/qwen2.5-7b_layer14_probe.json", "elb-phase2"),
])
def test_shapes_match_the_published_probe_files(relative, study):
    data = read(relative)
    model = resolve(data["model_name"], study)
    assert (model.d_model, model.use(study).layer) == (data["d_model"], data["layer"])


def test_shapes_match_the_other_published_files():
    for key, entry in read("elb/experiments/tripartite/results/cross_model_final.json").items():
        if key != "summary":
            assert resolve(key, "elb-council").n_layers == entry["num_layers"]
            assert resolve(entry["model_name"], "elb-council") is resolve(key, "elb-council")
    for key, entry in read("eip/results/cross_model_validation/all_models_results.json").items():
        assert resolve(key, "eip").d_model == entry["hidden_size"] and resolve(entry["model"], "eip").hub_id == entry["model"]
    assert read("eip/results/probes/empathy_direction_layer_12.npy").size == resolve("phi3", "eip").d_model
    for name, path in read("elb/results/empathy/pod_info.json")["models"].items():
        assert resolve(name, "elb-phase1") is resolve(path, "elb-phase1")
