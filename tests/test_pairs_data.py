"""The paired-text datasets (ELB Phase 1 prompts, formality control): loading, sizes, length balance, bad input."""
from __future__ import annotations

import json
import shutil
from collections import Counter

import pandas as pd
import pytest

from elb.datasets.loaders import DatasetError, load_pairs, load_texts, validate
from elb.datasets.quality import pair_balance
from elb.datasets.schemas import PAIRS
from elb.datasets.spec import FORMALITY, PAIR_SPECS, PHASE1_PROMPTS, SPECS, PairSpec

from conftest import BUNDLED

MAX_RELATIVE_GAP = 0.15  # mean |len(a) - len(b)| / mean length, per category


@pytest.mark.parametrize("spec", PAIR_SPECS, ids=lambda spec: spec.name)
def test_bundled_pair_files_load_and_validate(spec: PairSpec):
    pairs = load_pairs(BUNDLED / spec.filename, spec)
    assert list(pd.unique(pairs["category"])) == list(spec.categories)
    assert list(pd.unique(pairs["side"])) == list(spec.sides)
    assert pairs["text_id"].is_unique and len(pairs) == 2 * pairs["pair_id"].nunique()


def test_bundled_pair_counts():
    phase1 = load_pairs(BUNDLED / PHASE1_PROMPTS.filename, PHASE1_PROMPTS)
    per_category = phase1.groupby("category")["pair_id"].nunique()
    assert per_category.min() >= PHASE1_PROMPTS.min_pairs, per_category.to_dict()
    formality = load_pairs(BUNDLED / FORMALITY.filename, FORMALITY)
    assert formality["pair_id"].nunique() >= max(60, FORMALITY.min_pairs)
    topics = formality.drop_duplicates("pair_id")["context"].value_counts()
    assert len(topics) >= 8 and topics.max() <= 10, topics.to_dict()


@pytest.mark.parametrize("spec", PAIR_SPECS, ids=lambda spec: spec.name)
def test_bundled_pairs_are_length_balanced(spec: PairSpec):
    balance = pair_balance(load_pairs(BUNDLED / spec.filename, spec))
    for category, summary in balance["categories"].items():
        assert summary["relative_gap"] < MAX_RELATIVE_GAP, (category, summary)
    assert balance["overall"]["t_p_value"] > 0.05 and balance["overall"]["wilcoxon_p_value"] > 0.05, balance


@pytest.mark.parametrize("spec", PAIR_SPECS, ids=lambda spec: spec.name)
def test_no_stock_openers_give_the_side_away(spec: PairSpec):
    pairs = load_pairs(BUNDLED / spec.filename, spec)
    for side in spec.sides:
        openers = pairs.loc[pairs["side"] == side, "text"].str.split().str[:2].str.join(" ").value_counts()
        assert openers.max() <= 3, (side, openers.head(3).to_dict())


def test_no_text_is_repeated_within_or_across_bundled_files():
    texts = load_texts(BUNDLED)
    filenames = {spec.name: spec.filename for spec in SPECS}
    files = {filenames[name]: set(group["scenario"]) | set(group["response"])
             for name, group in texts.groupby("dataset")}
    for spec in PAIR_SPECS:
        pairs = load_pairs(BUNDLED / spec.filename, spec)
        repeated = [text for text, n in Counter(pairs["text"]).items() if n > 1]
        assert not repeated, (spec.filename, repeated[:3])
        files[spec.filename] = set(pairs["text"]) | set(pairs["context"])
    for spec in PAIR_SPECS:
        for other, other_texts in files.items():
            shared = files[spec.filename] & other_texts if other != spec.filename else set()
            assert not shared, (spec.filename, other, sorted(shared)[:3])


def test_pair_balance_known_answer():
    rows = [("c", "p1", "a", "x" * 100), ("c", "p1", "b", "x" * 90), ("c", "p2", "a", "x" * 50),
            ("c", "p2", "b", "x" * 60), ("d", "p3", "a", "x" * 10), ("d", "p3", "b", "x" * 10)]
    frame = pd.DataFrame(rows, columns=["category", "pair_id", "side", "text"])
    balance = pair_balance(frame)
    assert balance["sides"] == ["a", "b"]
    c = balance["categories"]["c"]
    assert (c["pairs"], c["mean_a"], c["mean_b"]) == (2, 75.0, 75.0)
    assert c["relative_gap"] == pytest.approx(10 / 75)
    assert balance["categories"]["d"]["t_p_value"] == 1.0 == balance["categories"]["d"]["wilcoxon_p_value"]
    assert balance["overall"]["pairs"] == 3
    with pytest.raises(ValueError, match="two sides"):
        pair_balance(frame[frame["side"] == "a"])


@pytest.fixture()
def phase1_copy(tmp_path):
    target = tmp_path / PHASE1_PROMPTS.filename
    shutil.copy(BUNDLED / PHASE1_PROMPTS.filename, target)
    return target


def _edit(path, edit):
    payload = json.loads(path.read_text(encoding="utf-8"))
    edit(payload)
    path.write_text(json.dumps(payload), encoding="utf-8")


def _pair(payload, category, position):
    return payload["categories"][category]["pairs"][position]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda p: _pair(p, "crisis_support", 2).pop("neutral"),
         "category 'crisis_support' pair id=crisis_support-03 (position 2): field 'neutral' is missing"),
        (lambda p: _pair(p, "casual_conversation", 0).update(empathetic="  "),
         "category 'casual_conversation' pair id=casual_conversation-01 (position 0): field 'empathetic' is empty"),
        (lambda p: _pair(p, "emotional_disclosure", 4).update(situation=5),
         "pair id=emotional_disclosure-05 (position 4): field 'situation' is not a string (got 5)"),
        (lambda p: _pair(p, "crisis_support", 1).update(neutrl="typo"),
         "pair id=crisis_support-02 (position 1): unknown field 'neutrl' "
         "(allowed: id, situation, empathetic, neutral)"),
        (lambda p: _pair(p, "crisis_support", 3).update(id=4),
         "pair id=4 (position 3): field 'id' is not a string (got 4)"),
        (lambda p: _pair(p, "technical_assistance", 5).update(id=_pair(p, "crisis_support", 0)["id"]),
         "category 'technical_assistance' pair id=crisis_support-01 (position 5): field 'id' repeats the id of the "
         "pair at category 'crisis_support' position 0"),
        (lambda p: p["categories"]["crisis_support"]["pairs"].insert(0, "text"),
         "category 'crisis_support' pair 0: expected an object, got str"),
        (lambda p: p.update(pairs=[]), "unknown top-level key 'pairs' (allowed: categories, metadata)"),
        (lambda p: p["categories"].update(small_talk={"pairs": []}),
         "unknown category 'small_talk' (expected: crisis_support, emotional_disclosure"),
        (lambda p: p["categories"].pop("technical_assistance"), "missing category 'technical_assistance'"),
        (lambda p: p["categories"]["crisis_support"].update(pairs=[]),
         "category 'crisis_support': expected an object with only a non-empty 'pairs' list"),
        (lambda p: p.pop("categories"), "expected an object with a non-empty object under 'categories'"),
    ],
    ids=["missing-side", "empty-text", "non-string-context", "unknown-field", "int-id", "duplicate-id",
         "pair-not-object", "unknown-top-level-key", "unknown-category", "missing-category", "empty-category",
         "no-categories"],
)
def test_bad_pairs_name_file_item_and_field(phase1_copy, edit, message):
    _edit(phase1_copy, edit)
    with pytest.raises(DatasetError) as error:
        load_pairs(phase1_copy, PHASE1_PROMPTS)
    assert str(error.value).startswith(f"{phase1_copy}: ") and message in str(error.value), str(error.value)


def test_bad_json_and_bad_encoding_name_the_file(phase1_copy):
    phase1_copy.write_bytes(b'{"categories": {"formality": {"pairs": [{"id": "f1", "formal": "caf\xe9"}]}}}')
    with pytest.raises(DatasetError, match=rf"{phase1_copy.name}: not UTF-8 \(byte \d+"):
        load_pairs(phase1_copy, FORMALITY)
    phase1_copy.write_text('{"categories": {', encoding="utf-8")
    with pytest.raises(DatasetError, match=rf"{phase1_copy.name}: invalid JSON at line 1"):
        load_pairs(phase1_copy, PHASE1_PROMPTS)


def test_wrong_spec_names_the_categories(tmp_path):
    """The formality file read as Phase 1 prompts fails on its categories, not later."""
    path = tmp_path / FORMALITY.filename
    shutil.copy(BUNDLED / FORMALITY.filename, path)
    with pytest.raises(DatasetError, match=rf"{path.name}: missing category 'casual_conversation'"):
        load_pairs(path, PHASE1_PROMPTS)


def test_pairs_schema_names_row_and_field():
    path = BUNDLED / PHASE1_PROMPTS.filename
    frame = load_pairs(path, PHASE1_PROMPTS)
    frame.loc[0, "text"], frame.loc[3, "side"] = " ", "warm"
    with pytest.raises(DatasetError) as error:
        validate(frame, PAIRS, path)
    assert "row phase1_prompts-crisis_support-01-empathetic: field 'text' failed empty text" in str(error.value)
    assert "row phase1_prompts-crisis_support-02-neutral: field 'side' failed isin" in str(error.value)
