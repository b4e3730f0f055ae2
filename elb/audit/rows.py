"""Evidence rows, their statuses, the pandera schema they must satisfy, and the published-vs-recomputed rule."""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd
import pandera.pandas as pa

REPRODUCED, DISCREPANT, INCONSISTENT, UNSUPPORTED, SKIPPED = (
    "REPRODUCED", "DISCREPANT", "INCONSISTENT", "UNSUPPORTED", "SKIPPED")
STATUSES = (REPRODUCED, DISCREPANT, INCONSISTENT, UNSUPPORTED, SKIPPED)
Scalar = float | int | str | bool | None
# What the text columns must look like: one rule for the schema below and for each row as it is made.
TEXT_RULES = {"claim_id": r"[a-z0-9][a-z0-9-]*", "model": r"\S(?:.*\S)?", "quantity": r"[a-z0-9_]+"}


@dataclass
class Row:
    study: str
    claim_id: str
    model: str
    quantity: str
    published: Scalar
    recomputed: Scalar
    status: str
    source: str
    detail: str

    def dict(self) -> dict[str, Any]:
        row = asdict(self)
        for key in ("published", "recomputed"):
            if isinstance(row[key], float) and not math.isfinite(row[key]):
                row[key] = None
        return row


def text_problem(row: Row) -> str | None:
    """Why a row's text columns break the schema (e.g. a model or layer name taken from a file), or None."""
    for column, rule in TEXT_RULES.items():
        value = getattr(row, column)
        if not re.match(rule + r"\Z", value):
            return f"{column} {value!r} is not of the form {rule}"
    return None


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


ROW_SCHEMA = pa.DataFrameSchema(
    {
        "study": pa.Column(str, pa.Check.isin(["ELB", "EIP"])),
        **{column: pa.Column(str, pa.Check.str_matches(rule + r"\Z")) for column, rule in TEXT_RULES.items()},
        "published": pa.Column(object, pa.Check(lambda s: s.map(_scalar), element_wise=False), nullable=True),
        "recomputed": pa.Column(object, pa.Check(lambda s: s.map(_scalar), element_wise=False), nullable=True),
        "status": pa.Column(str, pa.Check.isin(list(STATUSES))),
        "source": pa.Column(str),
        "detail": pa.Column(str),
    },
    strict=True,
    coerce=False,
)


def validate_rows(rows: list[Row]) -> list[dict[str, Any]]:
    """Rows as dicts, after the schema accepted them (raises pandera's SchemaError otherwise)."""
    records = [row.dict() for row in rows]
    frame = pd.DataFrame(records, columns=list(ROW_SCHEMA.columns)).astype(
        {"published": object, "recomputed": object})
    ROW_SCHEMA.validate(frame)
    return records


def decimals_of(value: float) -> int:
    """Decimals a published number was stated with (from its shortest repr; 127.0 -> 1, 16 -> 0)."""
    if isinstance(value, int) or float(value).is_integer() and "." not in repr(value):
        return 0
    text = repr(float(value))
    if "e" in text:
        return 6
    return len(text.split(".")[1]) if "." in text else 0


def agrees(published: float, recomputed: float, decimals: int | None = None) -> bool:
    """True when `recomputed` rounds to `published` at the decimals it was stated with (half-unit band)."""
    if recomputed is None or not math.isfinite(recomputed):
        return False
    places = decimals_of(published) if decimals is None else decimals
    return abs(float(recomputed) - float(published)) <= 0.5 * 10 ** (-places) + 1e-9


def judged(published: Scalar, recomputed: Scalar, decimals: int | None = None) -> str:
    """REPRODUCED when published and recomputed agree within rounding (or are equal labels), else DISCREPANT."""
    if isinstance(published, (int, float)) and not isinstance(published, bool) and isinstance(recomputed, (int, float)):
        return REPRODUCED if agrees(float(published), float(recomputed), decimals) else DISCREPANT
    return REPRODUCED if published == recomputed else DISCREPANT
