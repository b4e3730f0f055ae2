"""Reading an audited repository: glob by published naming patterns, safe readers, sha256 of every file read.

Nothing here unpickles: JSON and JSONL are parsed as text, .npy with allow_pickle=False.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np


class AuditFileError(ValueError):
    """A file that is missing, unreadable or not in the expected format (message names file and cause)."""


class Repo:
    """One audited repository root; remembers the sha256 of every file it read."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()
        self.read: dict[str, str] = {}

    def rel(self, path: Path) -> str:
        try:
            return Path(path).resolve().relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def glob(self, *patterns: str) -> list[Path]:
        """Files matching any pattern (relative to the root), sorted, without duplicates."""
        found = {p.resolve() for pattern in patterns for p in self.root.glob(pattern) if p.is_file()}
        return sorted(found)

    def _bytes(self, path: Path) -> bytes:
        try:
            raw = Path(path).read_bytes()
        except OSError as error:
            raise AuditFileError(f"{self.rel(path)}: cannot read ({error.strerror})") from error
        self.read[self.rel(path)] = hashlib.sha256(raw).hexdigest()
        return raw

    def _text(self, path: Path) -> str:
        raw = self._bytes(path)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise AuditFileError(f"{self.rel(path)}: not UTF-8 (byte {error.start})") from error

    def json(self, path: Path) -> Any:
        """Parse JSON; NaN/Infinity (as Python's json writes them) are accepted."""
        try:
            return json.loads(self._text(path))
        except json.JSONDecodeError as error:
            raise AuditFileError(f"{self.rel(path)}: invalid JSON at line {error.lineno}: {error.msg}") from error

    def jsonl(self, path: Path) -> list[Any]:
        rows = []
        for number, line in enumerate(self._text(path).splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as error:
                    raise AuditFileError(f"{self.rel(path)}: invalid JSON on line {number}: {error.msg}") from error
        return rows

    def npy(self, path: Path) -> np.ndarray:
        raw = self._bytes(path)
        try:
            return np.load(io.BytesIO(raw), allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            raise AuditFileError(f"{self.rel(path)}: not a plain .npy array ({error})") from error


def field(data: Any, dotted: str, where: str = "") -> Any:
    """`data[a][b]...` for "a.b...", with an AuditFileError that names the missing key."""
    value = data
    for key in dotted.split("."):
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            raise AuditFileError(f"{where}: missing field {dotted!r} (at {key!r})")
    return value


def number(data: Any, dotted: str, where: str = "") -> float:
    """A numeric field as float (NaN allowed), or an AuditFileError."""
    value = field(data, dotted, where)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AuditFileError(f"{where}: field {dotted!r} is not a number ({value!r})")
    return float(value)


def numbers(values: Any, where: str) -> np.ndarray:
    """A list of numbers as a float array, or an AuditFileError."""
    if not isinstance(values, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise AuditFileError(f"{where}: expected a list of numbers")
    return np.asarray(values, dtype=float)


def finite(value: float) -> float | None:
    return value if value is not None and math.isfinite(value) else None
