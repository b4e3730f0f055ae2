"""Atomic file writes: an artifact is either complete or absent, never half-written; a report is retracted when a
run that will replace it starts."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Iterator

STAGING = ".staging"  # hidden folder beside outputs that holds folders being written
REPORT_OUTPUTS = ("claims.html", "claims.md", "claims.json", "figures")  # the report stage's outs (dvc.yaml)


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; it replaces `target` only if the block succeeds."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(handle)
    try:
        yield Path(temporary)
        os.chmod(temporary, _plain_file_mode())
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


@contextmanager
def staged_dir(target: Path) -> Iterator[Path]:
    """Yield an empty folder in the hidden `.staging` beside `target`; it replaces `target` only if the block succeeds.

    Leftovers of an interrupted run are removed first, and the staging folder is removed whatever happens, so no
    partial folder is ever visible beside the outputs.
    """
    target = Path(target)
    scratch = target.parent / STAGING
    staging = scratch / target.name
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        yield staging
        shutil.rmtree(target, ignore_errors=True)
        staging.replace(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        with suppress(OSError):
            scratch.rmdir()


def retract_report(folder: Path) -> None:
    """Remove the claims report (files and figures) from `folder`: called as a pipeline run starts, so that a run
    failing before the report stage leaves no report of an earlier run looking current (the report stage, whose
    outputs are then missing, recreates it on success)."""
    for name in REPORT_OUTPUTS:
        path = Path(folder) / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def _plain_file_mode() -> int:
    """The mode a plain open() gives a new file: 0o666 less the process umask (mkstemp would give 0o600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_text(target: Path, text: str) -> None:
    with atomic_path(target) as temporary:
        temporary.write_text(text, encoding="utf-8")


def write_json(target: Path, payload: Any) -> None:
    write_text(target, json.dumps(payload, indent=2, ensure_ascii=False, default=_jsonable) + "\n")


def write_with(target: Path, writer: Callable[[Path], None]) -> None:
    """Let `writer` fill a temporary file, then move it into place."""
    with atomic_path(target) as temporary:
        writer(temporary)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__} to JSON")
