"""The dataset formats (ELB tripartite files; paired Phase 1 and formality files), described once."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    filename: str
    list_key: str
    text_fields: tuple[str, ...]
    int_fields: tuple[str, ...] = ()


TRIPLETS = DatasetSpec("triplets", "triplets_filtered.json", "triplets", ("cognitive", "affective", "instrumental"))
NON_EMPATHY = DatasetSpec("non_empathy", "controls_non_empathy.json", "items",
                          ("response_1", "response_2", "response_3"))
VALENCE_STRIPPED = DatasetSpec("valence_stripped", "controls_valence_stripped.json", "items",
                               ("factual", "informational", "procedural"), int_fields=("triplet_id",))
SPECS = (TRIPLETS, NON_EMPATHY, VALENCE_STRIPPED)
TOP_LEVEL_KEYS = ("metadata",)  # allowed beside each file's list key
EMPATHY_TYPES = TRIPLETS.text_fields


@dataclass(frozen=True)
class PairSpec:
    """A paired-text file in the ELB Phase 1 shape: {"categories": {category: {"pairs": [pair, ...]}}, "metadata"};
    each pair has a string `id`, its `context_field` and one text per side."""
    name: str
    filename: str
    categories: tuple[str, ...]
    sides: tuple[str, str]  # (positive, negative): the steering vector is mean(positive) - mean(negative)
    context_field: str  # what both sides answer or are about
    min_pairs: int  # per category, as documented


PHASE1_PROMPTS = PairSpec(
    "phase1_prompts", "phase1_prompts.json",
    ("crisis_support", "emotional_disclosure", "frustration_complaint", "casual_conversation", "technical_assistance"),
    ("empathetic", "neutral"), "situation", min_pairs=10)
FORMALITY = PairSpec("formality", "formality_pairs.json", ("formality",), ("formal", "casual"), "topic", min_pairs=50)
PAIR_SPECS = (PHASE1_PROMPTS, FORMALITY)
PAIR_TOP_LEVEL_KEYS = ("categories", "metadata")
