"""Dataset loading, validation errors and the length-confound report."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from elb.datasets.formatting import format_texts
from elb.datasets.loaders import DatasetError, load_texts
from elb.datasets.quality import dataset_report
from elb.datasets.spec import EMPATHY_TYPES, TRIPLETS

from conftest import BUNDLED


@pytest.fixture()
def bundled_copy(tmp_path):
    target = tmp_path / "data"
    shutil.copytree(BUNDLED, target)
    return target


def _edit_triplets(folder, edit):
    path = folder / TRIPLETS.filename
    payload = json.loads(path.read_text(encoding="utf-8"))
    edit(payload["triplets"])
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


def test_bundled_sizes_and_schema():
    texts = load_texts(BUNDLED)
    counts = texts.groupby("dataset")["item_id"].nunique().to_dict()
    assert counts == {"triplets": 90, "non_empathy": 60, "valence_stripped": 90}
    assert len(texts) == 720 and texts["text_id"].is_unique


def test_bundled_lengths_are_balanced_across_types():
    report = dataset_report(load_texts(BUNDLED), BUNDLED)
    for subset in report["length_confound"].values():
        means = [subset["lengths"][t]["mean"] for t in EMPATHY_TYPES]
        assert max(means) / min(means) < 1.03
        assert subset["p_value"] > 0.05, subset


def test_published_data_loads_and_reproduces_the_round1_chi_square(published_data_dir):
    report = dataset_report(load_texts(published_data_dir), published_data_dir)
    first = report["length_confound"]["first 30 triplets"]
    assert first["chi2"] == pytest.approx(26.869, abs=1e-3)
    assert first["contingency"] == [[18, 10, 2], [2, 9, 19], [10, 10, 10]]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda items: items[3].pop("affective"), "item id=3 (position 3): missing field 'affective'"),
        (lambda items: items[4].update(cognitive=7), "item id=4 (position 4): field 'cognitive' must be a string"),
        (lambda items: items[5].update(instrumental="   "), "item id=5 (position 5): field 'instrumental' is empty"),
        (lambda items: items[6].update(id="six"), "field 'id' must be an integer"),
    ],
)
def test_bad_items_name_file_item_and_field(bundled_copy, edit, message):
    path = _edit_triplets(bundled_copy, edit)
    with pytest.raises(DatasetError) as error:
        load_texts(bundled_copy)
    assert str(path) in str(error.value) and message in str(error.value)


def test_duplicate_ids_name_the_field_the_user_wrote(bundled_copy):
    path = _edit_triplets(bundled_copy, lambda items: items[1].update(id=0))
    with pytest.raises(DatasetError) as error:
        load_texts(bundled_copy)
    assert f"{path}: item id=0 (position 1): field 'id' repeats the id of the item at position 0" == str(error.value)


def test_unknown_top_level_key_names_file_and_key(bundled_copy):
    path = bundled_copy / TRIPLETS.filename
    payload = json.loads(path.read_text(encoding="utf-8"))
    payload["triplet"] = []
    path.write_text(json.dumps(payload), encoding="utf-8")
    with pytest.raises(DatasetError, match=r"triplets_filtered\.json: unknown top-level key 'triplet' "
                                           r"\(allowed: triplets, metadata\)"):
        load_texts(bundled_copy)


def test_bad_json_and_bad_encoding(bundled_copy):
    path = bundled_copy / TRIPLETS.filename
    path.write_text('{"triplets": [', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"invalid JSON at line 1"):
        load_texts(bundled_copy)
    path.write_bytes(b'{"triplets": ["caf\xe9"]}')
    with pytest.raises(DatasetError, match="not UTF-8"):
        load_texts(bundled_copy)


def test_dangling_valence_link(bundled_copy):
    path = bundled_copy / "controls_valence_stripped.json"
    payload = json.loads(path.read_text(encoding="utf-8"))
    payload["items"][0]["triplet_id"] = 999
    path.write_text(json.dumps(payload), encoding="utf-8")
    with pytest.raises(DatasetError, match="'triplet_id' = 999 names no triplet"):
        load_texts(bundled_copy)


def test_text_formats():
    texts = load_texts(BUNDLED).head(1)
    scenario, response = texts["scenario"].iloc[0], texts["response"].iloc[0]
    assert format_texts(texts, "pipeline") == [f"Scenario: {scenario}\n\nResponse: {response}"]
    assert format_texts(texts, "validation") == [f"{scenario}\n\nResponse: {response}"]


def test_no_stock_openers_give_the_type_away():
    texts = load_texts(BUNDLED)
    triplets = texts[texts["dataset"] == "triplets"]
    for label in EMPATHY_TYPES:
        openers = triplets[triplets["label"] == label]["response"].str.split().str[:2].str.join(" ")
        assert openers.value_counts().max() <= 4, (label, openers.value_counts().head(3).to_dict())
    assert np.all(triplets["response"].str.len().between(200, 340))
