"""The published dataset formats (ELB tripartite), described once."""
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
