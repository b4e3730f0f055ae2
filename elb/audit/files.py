"""Reading an audited repository: glob by published naming patterns, safe readers, sha256 of every file read.

Nothing here unpickles: JSON and JSONL are parsed as text, .npy with allow_pickle=False. Only regular files of at
most MAX_BYTES are read, and a file with the same bytes as one read before is refused as a duplicate.
"""
from __future__ import annotations

import hashlib
import io
import json
import stat
from pathlib import Path
from typing import Any

import numpy as np

MAX_BYTES = 50 * 2**20
NOT_REGULAR = {"d": "a directory", "c": "a character device", "b": "a block device", "p": "a FIFO", "s": "a socket"}
KINDS = {dict: "a JSON object", list: "a JSON array", str: "a JSON string", np.ndarray: "an array"}


class AuditFileError(ValueError):
    """A file that is missing, unreadable or not in the expected format (message names file and cause)."""


class Repo:
    """One audited repository root; remembers the sha256 of every file it read."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()
        self.read: dict[str, str] = {}
        self.first_by_hash: dict[str, str] = {}

    def rel(self, path: Path) -> str:
        try:
            return Path(path).absolute().relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def glob(self, *patterns: str) -> list[Path]:
        """Everything but folders matching any pattern (relative to the root), sorted, without duplicates; links
        are kept unresolved, so that a link to a device is refused by name when it is read."""
        return sorted({p for pattern in patterns for p in self.root.glob(pattern) if not p.is_dir()})

    def _bytes(self, path: Path) -> bytes:
        rel = self.rel(path)
        try:
            info = Path(path).stat()
            if not stat.S_ISREG(info.st_mode):
                what = NOT_REGULAR.get(stat.filemode(info.st_mode)[0], "special")
                raise AuditFileError(f"{rel}: not a regular file ({what})")
            with Path(path).open("rb") as handle:
                raw = handle.read(MAX_BYTES + 1)      # never more, whatever the size said
        except OSError as error:
            raise AuditFileError(f"{rel}: cannot read ({error.strerror})") from error
        if max(info.st_size, len(raw)) > MAX_BYTES:
            raise AuditFileError(f"{rel}: larger than the {MAX_BYTES // 2**20} MiB read limit")
        return self._remember(rel, raw)

    def _remember(self, rel: str, raw: bytes) -> bytes:
        """Record the file's sha256; refuse bytes already read from another path (duplicate evidence)."""
        digest = hashlib.sha256(raw).hexdigest()
        self.read[rel] = digest
        first = self.first_by_hash.setdefault(digest, rel)
        if first != rel:
            raise AuditFileError(f"{rel}: duplicate of {first} (same sha256 {digest[:12]}...); its evidence is "
                                 f"counted once, from {first}")
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

    def load(self, path: Path, expect: type) -> Any:
        """The file parsed by its suffix (.json, .jsonl, .npy), or an AuditFileError unless it is an `expect`."""
        reader = {".jsonl": self.jsonl, ".npy": self.npy}.get(Path(path).suffix, self.json)
        content = reader(path)
        if not isinstance(content, expect):
            raise AuditFileError(f"{self.rel(path)}: expected {kind(expect)}, found {kind(type(content))}")
        return content


def kind(of: type) -> str:
    """How a file's top-level value reads in a message ("a JSON object", "a JSON array", ...)."""
    return KINDS.get(of, "null" if of is type(None) else f"a {of.__name__}")
