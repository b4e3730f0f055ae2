"""pandera schemas of the texts table every stage reads and of the paired-text tables."""
from __future__ import annotations

import pandera.pandas as pa

from elb.datasets.spec import PAIR_SPECS, SPECS

LABELS = sorted({field for spec in SPECS for field in spec.text_fields})


def _non_blank(series):
    return series.str.strip().str.len() > 0


TEXTS = pa.DataFrameSchema(
    {
        "text_id": pa.Column(str, unique=True),
        "dataset": pa.Column(str, pa.Check.isin([spec.name for spec in SPECS])),
        "item_id": pa.Column(int, pa.Check.ge(0)),
        "position": pa.Column(int, pa.Check.ge(0), description="order of the item in its file"),
        "label": pa.Column(str, pa.Check.isin(LABELS)),
        "scenario": pa.Column(str, pa.Check(_non_blank, error="empty text")),
        "response": pa.Column(str, pa.Check(_non_blank, error="empty text")),
        "triplet_id": pa.Column("Int64", nullable=True),
    },
    strict=True,
    name="texts",
)


PAIRS = pa.DataFrameSchema(
    {
        "text_id": pa.Column(str, unique=True),
        "dataset": pa.Column(str, pa.Check.isin([spec.name for spec in PAIR_SPECS])),
        "category": pa.Column(str, pa.Check.isin(sorted({c for spec in PAIR_SPECS for c in spec.categories}))),
        "pair_id": pa.Column(str),
        "position": pa.Column(int, pa.Check.ge(0), description="order of the pair in its category"),
        "side": pa.Column(str, pa.Check.isin(sorted({s for spec in PAIR_SPECS for s in spec.sides}))),
        "context": pa.Column(str, pa.Check(_non_blank, error="empty text")),
        "text": pa.Column(str, pa.Check(_non_blank, error="empty text")),
    },
    strict=True,
    name="pairs",
)
