"""Evidence rows: the status vocabulary, the row, and the pandera schema every row must satisfy."""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd
import pandera.pandas as pa

REPRODUCED, DISCREPANT, DECISION_CHANGING, INCONSISTENT, REINTERPRETED, RECOMPUTED, UNSUPPORTED, SKIPPED = (
    "REPRODUCED", "DISCREPANT", "DECISION-CHANGING", "INCONSISTENT", "REINTERPRETED", "RECOMPUTED", "UNSUPPORTED",
    "SKIPPED")
# The vocabulary, one meaning each (the report and the README quote these).
STATUSES: dict[str, str] = {
    REPRODUCED: "the recomputed value lies inside the published number's rounding band (or equals a published label), "
                "or a method-implied invariant holds",
    DISCREPANT: "outside the rounding band, but the claim's conclusion (its criterion) is the same for both values",
    DECISION_CHANGING: "the recomputed value reverses the claim's conclusion: one side of its criterion, or another "
                       "label (statcheck's decision inconsistency)",
    INCONSISTENT: "the files contradict themselves or the published method (an invariant fails, or no value of the "
                  "stated granularity rounds to the published number)",
    REINTERPRETED: "the result rests on our reading of an ambiguous criterion; the other reading's result is in "
                   "`alternative`",
    RECOMPUTED: "recomputed from a published file, with no published value to compare against",
    UNSUPPORTED: "no published file holds evidence for the claim",
    SKIPPED: "the file that would hold the evidence is absent, unreadable or malformed (the reason is given)",
}
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
    alternative: Scalar = None  # REINTERPRETED: the result under the other reading
    chance: float | None = None  # how likely a random value would have passed this comparison

    def dict(self) -> dict[str, Any]:
        row = asdict(self)
        for key in ("published", "recomputed", "alternative"):
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


def _scalar_column() -> pa.Column:
    return pa.Column(object, pa.Check(lambda s: s.map(_scalar), element_wise=False), nullable=True)


ROW_SCHEMA = pa.DataFrameSchema(
    {
        "study": pa.Column(str, pa.Check.isin(["ELB", "EIP"])),
        **{column: pa.Column(str, pa.Check.str_matches(rule + r"\Z")) for column, rule in TEXT_RULES.items()},
        "published": _scalar_column(),
        "recomputed": _scalar_column(),
        "status": pa.Column(str, pa.Check.isin(list(STATUSES))),
        "source": pa.Column(str),
        "detail": pa.Column(str),
        "alternative": _scalar_column(),
        "chance": pa.Column(float, pa.Check.in_range(0.0, 1.0), nullable=True),
    },
    strict=True,
    coerce=False,
)


def validate_rows(rows: list[Row]) -> list[dict[str, Any]]:
    """Rows as dicts, after the schema accepted them (raises pandera's SchemaError otherwise)."""
    records = [row.dict() for row in rows]
    frame = pd.DataFrame(records, columns=list(ROW_SCHEMA.columns)).astype(
        {"published": object, "recomputed": object, "alternative": object, "chance": float})
    ROW_SCHEMA.validate(frame)
    return records
