"""Load the tripartite datasets (ours or the published files) into one validated texts table; load paired-text files."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.errors

from elb.datasets.schemas import PAIRS, TEXTS
from elb.datasets.spec import (PAIR_TOP_LEVEL_KEYS, SPECS, TOP_LEVEL_KEYS, TRIPLETS, VALENCE_STRIPPED, DatasetSpec,
                              PairSpec)


class DatasetError(ValueError):
    """Bad input, with the file, item and field that caused it."""


def read_json(path: Path) -> Any:
    """Parse a JSON file, turning decoding problems into errors that name the file and position."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DatasetError(f"{path}: cannot read: {error.strerror}") from error
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DatasetError(f"{path}: not UTF-8 (byte {error.start}: {raw[error.start:error.start + 1]!r})") from error
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise DatasetError(f"{path}: invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}") from error


def _items(path: Path, spec: DatasetSpec) -> list[dict[str, Any]]:
    """The file's items, each checked; unknown top-level keys and repeated ids are errors naming the file."""
    payload = read_json(path)
    items = payload.get(spec.list_key) if isinstance(payload, dict) else None
    if not isinstance(items, list) or not items:
        raise DatasetError(f"{path}: expected an object with a non-empty list under {spec.list_key!r}")
    allowed = (spec.list_key, *TOP_LEVEL_KEYS)
    unknown = sorted(set(payload) - set(allowed))
    if unknown:
        raise DatasetError(f"{path}: unknown top-level key {unknown[0]!r} (allowed: {', '.join(allowed)})")
    first_position: dict[int, int] = {}
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            raise DatasetError(f"{path}: item {position}: expected an object, got {type(item).__name__}")
        where = f"{path}: item id={item.get('id', '?')} (position {position})"
        _check_item(where, item, spec)
        earlier = first_position.setdefault(item["id"], position)
        if earlier != position:
            raise DatasetError(f"{where}: field 'id' repeats the id of the item at position {earlier}")
    return items


def _check_item(where: str, item: dict[str, Any], spec: DatasetSpec) -> None:
    """Integer id fields and non-empty text fields, or an error naming the item and field."""
    for field in ("id", *spec.int_fields):
        if not isinstance(item.get(field), int) or isinstance(item.get(field), bool):
            raise DatasetError(f"{where}: field {field!r} must be an integer, got {item.get(field)!r}")
    for field in ("scenario", *spec.text_fields):
        if field not in item:
            raise DatasetError(f"{where}: missing field {field!r}")
        if not isinstance(item[field], str):
            raise DatasetError(f"{where}: field {field!r} must be a string, got {type(item[field]).__name__}")
        if not item[field].strip():
            raise DatasetError(f"{where}: field {field!r} is empty")


def load_dataset(path: Path, spec: DatasetSpec) -> pd.DataFrame:
    """One file -> rows of (item, label, response), validated by the TEXTS schema."""
    rows = [
        {
            "text_id": f"{spec.name}-{item['id']}-{field}",
            "dataset": spec.name,
            "item_id": item["id"],
            "position": position,
            "label": field,
            "scenario": item["scenario"],
            "response": item[field],
            "triplet_id": item.get("triplet_id"),
        }
        for position, item in enumerate(_items(path, spec))
        for field in spec.text_fields
    ]
    frame = pd.DataFrame(rows).astype({"item_id": int, "position": int, "triplet_id": "Int64"})
    return validate(frame, TEXTS, path)


def validate(frame: pd.DataFrame, schema, path: Path, id_column: str = "text_id") -> pd.DataFrame:
    """Run a pandera schema lazily and report every failure with its file, row id and field."""
    try:
        return schema.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as errors:
        lines = []
        for case in errors.failure_cases.head(20).itertuples():
            index = case.index
            known = id_column in frame and index is not None and index == index
            row = frame[id_column].iloc[int(index)] if known else "-"
            lines.append(f"  row {row}: field {case.column!r} failed {case.check} (value {case.failure_case!r})")
        raise DatasetError(f"{path}: {len(errors.failure_cases)} schema failure(s):\n" + "\n".join(lines)) from errors


def load_texts(data_dir: Path) -> pd.DataFrame:
    """All three datasets of a folder (bundled or published) in one table; valence rows must link to triplets."""
    data_dir = Path(data_dir)
    frames = {spec.name: load_dataset(data_dir / spec.filename, spec) for spec in SPECS}
    triplet_ids = set(frames[TRIPLETS.name]["item_id"])
    valence = frames[VALENCE_STRIPPED.name]
    dangling = valence[~valence["triplet_id"].isin(triplet_ids)]
    if len(dangling):
        first = dangling.iloc[0]
        raise DatasetError(f"{data_dir / VALENCE_STRIPPED.filename}: item id={first['item_id']}: "
                           f"field 'triplet_id' = {first['triplet_id']} names no triplet")
    return pd.concat(frames.values(), ignore_index=True)


def load_pairs(path: Path, spec: PairSpec) -> pd.DataFrame:
    """A paired-text file (Phase 1 shape) -> one row per text (category, pair_id, position, side, context, text),
    validated by the PAIRS schema."""
    rows = [
        {
            "text_id": f"{spec.name}-{pair['id']}-{side}",
            "dataset": spec.name,
            "category": category,
            "pair_id": pair["id"],
            "position": position,
            "side": side,
            "context": pair[spec.context_field],
            "text": pair[side],
        }
        for category, position, pair in _pairs(Path(path), spec)
        for side in spec.sides
    ]
    return validate(pd.DataFrame(rows).astype({"position": int}), PAIRS, path)


def _pairs(path: Path, spec: PairSpec) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """(category, position, pair) in file order, each checked; errors name the file, category, pair and field."""
    payload = read_json(path)
    categories = payload.get("categories") if isinstance(payload, dict) else None
    if not isinstance(categories, dict) or not categories:
        raise DatasetError(f"{path}: expected an object with a non-empty object under 'categories'")
    unknown = sorted(set(payload) - set(PAIR_TOP_LEVEL_KEYS))
    if unknown:
        raise DatasetError(f"{path}: unknown top-level key {unknown[0]!r} (allowed: {', '.join(PAIR_TOP_LEVEL_KEYS)})")
    wrong = sorted(set(categories) ^ set(spec.categories))
    if wrong:
        state = "missing" if wrong[0] in spec.categories else "unknown"
        raise DatasetError(f"{path}: {state} category {wrong[0]!r} (expected: {', '.join(spec.categories)})")
    first: dict[str, str] = {}
    for category, body in categories.items():
        pairs = body.get("pairs") if isinstance(body, dict) else None
        if not isinstance(pairs, list) or not pairs or set(body) != {"pairs"}:
            raise DatasetError(f"{path}: category {category!r}: expected an object with only a non-empty 'pairs' list")
        for position, pair in enumerate(pairs):
            where = f"{path}: category {category!r} pair {position}"
            if not isinstance(pair, dict):
                raise DatasetError(f"{where}: expected an object, got {type(pair).__name__}")
            where = f"{path}: category {category!r} pair id={pair.get('id', '?')} (position {position})"
            _check_pair(where, pair, spec)
            if pair["id"] in first:
                raise DatasetError(f"{where}: field 'id' repeats the id of the pair at {first[pair['id']]}")
            first[pair["id"]] = f"category {category!r} position {position}"
            yield category, position, pair


def _check_pair(where: str, pair: dict[str, Any], spec: PairSpec) -> None:
    """A non-empty string id, the context and both sides as non-empty text, no other field."""
    fields = ("id", spec.context_field, *spec.sides)
    extra = sorted(set(pair) - set(fields))
    if extra:
        raise DatasetError(f"{where}: unknown field {extra[0]!r} (allowed: {', '.join(fields)})")
    for field in fields:
        value = pair.get(field)
        if not isinstance(value, str) or not value.strip():
            kind = "empty" if isinstance(value, str) else "not a string"
            problem = f"{kind} (got {value!r})" if field in pair else "missing"
            raise DatasetError(f"{where}: field {field!r} is {problem}")
