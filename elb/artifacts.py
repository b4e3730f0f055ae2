"""pandera schemas of every artifact a stage writes, and their validated readers/writers."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa

from elb.datasets.loaders import validate
from elb.io import write_json
from elb.measures.measurement import Measurement
from elb.provenance import MeasurementProvenance

ACTIVATION_INDEX = pa.DataFrameSchema(
    {
        "set": pa.Column(str),
        "row": pa.Column(int, pa.Check.ge(0)),
        "text_id": pa.Column(str),
        "dataset": pa.Column(str),
        "label": pa.Column(str),
        "n_tokens": pa.Column(int, pa.Check.gt(0)),
    },
    unique=["set", "text_id"],
    strict=True,
    name="activation_index",
)

EIP_INDEX = pa.DataFrameSchema(
    {
        "text_id": pa.Column(str, unique=True),
        "role": pa.Column(str, pa.Check.isin(["train", "test", "ablated", "rated"])),
        "label": pa.Column(int, pa.Check.isin([0, 1, 2])),
        "scenario": pa.Column(str),
        "n_tokens": pa.Column(int, pa.Check.gt(0)),
    },
    strict=True,
    name="eip_activation_index",
)

PHASE1_GENERATIONS = pa.DataFrameSchema(
    {
        "vector": pa.Column(str, pa.Check.isin(["empathy", "control"])),
        "sweep": pa.Column(bool),  # False: a transfer-only prompt, outside the range sweep
        "prompt": pa.Column(str),
        "category": pa.Column(str),
        "alpha": pa.Column(float),
        "sample": pa.Column(int, pa.Check.ge(0)),
        "tokens": pa.Column(str, pa.Check.str_matches(r"^[0-9 ]*$"), nullable=True),  # generated ids; NaN: none
        "nll": pa.Column(float, pa.Check.ge(0), nullable=True),  # NaN: nothing was generated
        "kl": pa.Column(float, pa.Check.ge(0)),
        "text": pa.Column(str, nullable=True),
    },
    unique=["vector", "prompt", "alpha", "sample"],
    strict=True,
    name="phase1_generations",
)

PHASE1_CALIBRATION = pa.DataFrameSchema(
    {
        "kind": pa.Column(str, pa.Check.isin(["unsteered", "shuffled_words", "repeated_token"])),
        "prompt": pa.Column(str),
        "sample": pa.Column(int, pa.Check.ge(0)),
        "tokens": pa.Column(str, pa.Check.str_matches(r"^[0-9 ]*$"), nullable=True),
        "nll": pa.Column(float, pa.Check.ge(0), nullable=True),
        "text": pa.Column(str, nullable=True),
    },
    unique=["kind", "prompt", "sample"],
    strict=True,
    name="phase1_calibration",
)

MEASUREMENTS = pa.DataFrameSchema(
    {
        "quantity": pa.Column(str, unique=True),
        "value": pa.Column(float, nullable=True),
        "ci_low": pa.Column(float, nullable=True),
        "ci_high": pa.Column(float, nullable=True),
        "interval": pa.Column(str),
        "n": pa.Column(int, pa.Check.gt(0)),
        "inputs": pa.Column(str),
        "p_above": pa.Column(float, pa.Check.in_range(0, 1), nullable=True),
        "p_below": pa.Column(float, pa.Check.in_range(0, 1), nullable=True),
        "null_mean": pa.Column(float, nullable=True),
        "null_sd": pa.Column(float, nullable=True),
        "null_n": pa.Column("Int64", nullable=True),
        "details": pa.Column(object),
    },
    checks=pa.Check(lambda df: df["ci_low"].isna() | df["ci_high"].isna() | (df["ci_low"] <= df["ci_high"]),
                    error="ci_low must not exceed ci_high"),
    strict=True,
    name="measurements",
)

DATASET_LENGTHS = pa.DataFrameSchema(
    {
        "subset": pa.Column(str),
        "label": pa.Column(str),
        "mean": pa.Column(float, pa.Check.gt(0)),
        "sd": pa.Column(float, pa.Check.ge(0)),
        "n": pa.Column(int, pa.Check.gt(1)),
        "chi2": pa.Column(float, pa.Check.ge(0)),
        "p_value": pa.Column(float, pa.Check.in_range(0, 1)),
    },
    unique=["subset", "label"],
    strict=True,
    name="dataset_lengths",
)

SEED_SPREAD = pa.DataFrameSchema(
    {
        "quantity": pa.Column(str),
        "seed": pa.Column(int),
        "value": pa.Column(float, nullable=True),
    },
    unique=["quantity", "seed"],
    strict=True,
    name="seed_spread",
)

VERDICTS = pa.DataFrameSchema(
    {
        "claim_id": pa.Column(str),
        "verdict": pa.Column(str, pa.Check.isin(["HOLDS", "FAILS", "INCONCLUSIVE", "SKIPPED", "ERROR"])),
        "model": pa.Column(str),  # a model, or "across N models (...)" for a cross-model claim
        "run": pa.Column(str),  # the model's key in params `models`, or "across models"
        "quantity": pa.Column(str),
        "reason": pa.Column(str),
    },
    unique=["claim_id", "run"],
    name="verdicts",
)


def measurements_frame(rows: list[dict[str, Any]], source: Path) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(MEASUREMENTS.columns))
    frame = frame.astype({"value": float, "ci_low": float, "ci_high": float, "p_above": float, "p_below": float,
                          "null_mean": float,
                          "null_sd": float, "null_n": "Int64", "n": int})
    return validate(frame, MEASUREMENTS, source, id_column="quantity")


def write_measurements(path: Path, rows: list[dict[str, Any]], provenance: dict[str, Any]) -> None:
    measurements_frame(rows, path)
    write_json(path, {"provenance": provenance, "measurements": rows})


def read_measurements(path: Path) -> tuple[dict[str, Measurement], MeasurementProvenance]:
    """The measurements (schema-checked, as typed records keyed by quantity) and their typed provenance."""
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise FileNotFoundError(f"{path}: no measurements yet; run `dvc repro` (or `elb run`) first") from error
    frame = measurements_frame(payload["measurements"], path)
    records = [Measurement.from_row(row) for row in frame.to_dict(orient="records")]
    return {m.quantity: m for m in records}, MeasurementProvenance.model_validate(payload["provenance"])


def write_seed_spread(path: Path, rows: list[dict[str, Any]], provenance: dict[str, Any]) -> None:
    validate(pd.DataFrame(rows, columns=list(SEED_SPREAD.columns)), SEED_SPREAD, path, id_column="quantity")
    write_json(path, {"provenance": provenance, "runs": rows})


def read_seed_spread(path: Path) -> dict[str, list[float]]:
    """The rerun values of each quantity (schema-checked); empty when the stage has not run."""
    if not Path(path).exists():
        return {}
    frame = validate(pd.DataFrame(json.loads(Path(path).read_text(encoding="utf-8"))["runs"]), SEED_SPREAD, path,
                     id_column="quantity")
    return {q: group.sort_values("seed")["value"].tolist() for q, group in frame.groupby("quantity")}
