"""The audit context: collects evidence rows for one study and turns file problems into SKIPPED rows."""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from elb.audit.files import AuditFileError, Repo
from elb.audit.rows import DISCREPANT, INCONSISTENT, REPRODUCED, SKIPPED, UNSUPPORTED, Row, Scalar, judged, text_problem
from elb.claims.model import Claim
from elb.claims.verdict import satisfies
from elb.models.published import PublishedModel, Study, find

AGGREGATE = "all-models"
# What reading a malformed file raises: missing keys, lists where objects belong, text where numbers belong.
FILE_ERRORS = (AuditFileError, AttributeError, KeyError, TypeError, ValueError, IndexError, ZeroDivisionError)
T = TypeVar("T")
Label = str | Callable[[Path], str]


def reason(error: Exception) -> str:
    """A file error as a row's detail: the reader's own message, or the exception and its type."""
    cause = str(error) if isinstance(error, AuditFileError) else f"malformed content ({type(error).__name__}: {error})"
    return f"file left out of the audit: {cause}"


class Audit:
    """Rows for the claims of one study part, with models named as that part's result files name them."""

    def __init__(self, study: str, repo: Repo, claims: dict[str, Claim], part: Study) -> None:
        self.study, self.repo, self.claims, self.part = study, repo, claims, part
        self.rows: list[Row] = []
        self.origins: list[str | None] = []  # the file each row came from (None: from no single file)
        self.origin: str | None = None

    # --- lookups ----------------------------------------------------------------------------------------
    def model(self, name: str) -> PublishedModel | None:
        return find(name, self.part)

    def hub_id(self, name: str) -> str:
        model = self.model(name)
        return model.hub_id if model else name

    def published(self, claim_id: str, model: str) -> float | None:
        claim = self.claims.get(claim_id)
        if claim is None:
            return None
        return claim.published.get(self.hub_id(model), claim.published.get(AGGREGATE))

    def source(self, path: Path, name: str) -> str:
        return f"{self.repo.rel(path)}: {name}"

    # --- row makers -------------------------------------------------------------------------------------
    def add(self, claim_id: str, model: str, quantity: str, published: Scalar, recomputed: Scalar, status: str,
            source: str, detail: str = "") -> None:
        """A row for a registry claim (others are ignored); text from a file that breaks the row schema is a file
        error."""
        if claim_id not in self.claims:
            return
        row = Row(self.study, claim_id, model, quantity, published, recomputed, status, source, detail)
        problem = text_problem(row)
        if problem:
            raise AuditFileError(f"{self.origin or source}: {problem}")
        self.rows.append(row)
        self.origins.append(self.origin)

    def compare(self, claim_id: str, model: str, quantity: str, recomputed: Scalar, source: str, detail: str = "",
                published: Scalar = None, decimals: int | None = None) -> None:
        """Published (the document's value for this model, unless given) vs recomputed."""
        if published is None:
            published = self.published(claim_id, model)
        claim = self.claims.get(claim_id)
        if published is None and claim is not None and claim.threshold is not None and claim.comparator != "within" \
                and isinstance(recomputed, (int, float)):
            self.add(claim_id, model, quantity, f"{claim.comparator} {claim.threshold:g}", recomputed,
                     REPRODUCED if satisfies(recomputed, claim.comparator, claim.threshold) else DISCREPANT, source,
                     "no per-model number published; checked against the claim's stated criterion. " + detail)
            return
        if published is None:
            self.record(claim_id, model, quantity, recomputed, source, detail)
            return
        self.add(claim_id, model, quantity, published, recomputed, judged(published, recomputed, decimals), source,
                 detail)

    def record(self, claim_id: str, model: str, quantity: str, recomputed: Scalar, source: str, detail: str = "") -> None:
        """A recomputed number no document states: UNSUPPORTED (nothing published to compare), kept for the record."""
        self.add(claim_id, model, quantity, None, recomputed, UNSUPPORTED, source,
                 "no published value for this in the documents; recomputed for the record. " + detail)

    def invariant(self, claim_id: str, model: str, quantity: str, expected: Scalar, found: Scalar, holds: bool,
                  source: str, detail: str) -> None:
        """A method-implied invariant: REPRODUCED when it holds, else INCONSISTENT with the reason."""
        self.add(claim_id, model, quantity, expected, found, REPRODUCED if holds else INCONSISTENT, source, detail)

    def skip(self, claim_id: str, model: str, quantity: str, source: str, reason: str) -> None:
        self.add(claim_id, model, quantity, self.published(claim_id, model), None, SKIPPED, source, reason)

    # --- reading files ----------------------------------------------------------------------------------
    @contextmanager
    def reading(self, claim_ids: Sequence[str], model: str, source: str) -> Iterator[None]:
        """Rows added inside stand only if the block completes; a malformed file instead leaves SKIPPED rows for
        the claims it feeds, naming it and the reason."""
        start, outer, self.origin = len(self.rows), self.origin, source
        try:
            yield
        except FILE_ERRORS as error:
            del self.rows[start:], self.origins[start:]
            for claim_id in claim_ids:
                self.skip(claim_id, model, "file_readable", source, reason(error))
        finally:
            self.origin = outer

    def each(self, patterns: str | tuple[str, ...], claim_ids: Sequence[str], read: Callable[[Audit, Path, Any], T],
             *, model: Label = lambda path: path.stem, expect: type = dict, required: bool = False,
             exclude: tuple[str, ...] = ()) -> list[T]:
        """`read(audit, path, content)` for every file matching the patterns (names in `exclude` left out).

        Content is parsed by suffix and must be an `expect`. A file that is unreadable, not a regular file, over
        the size limit, a duplicate of one read before or malformed, and no file at all when `required`, becomes
        SKIPPED rows for `claim_ids` that name the file and the reason. Returns what `read` returned.
        """
        patterns = (patterns,) if isinstance(patterns, str) else patterns
        paths = [p for p in self.repo.glob(*patterns) if p.name not in exclude]
        if required and not paths:
            label = model if isinstance(model, str) else AGGREGATE
            for claim_id in claim_ids:
                self.skip(claim_id, label, "file_present", " or ".join(patterns), "published file absent")
        results: list[T] = []
        for path in paths:
            label = model if isinstance(model, str) else model(path).strip() or "-"
            with self.reading(claim_ids, label, self.repo.rel(path)):
                results.append(read(self, path, self.repo.load(path, expect)))
        return results

    def missing(self, claim_ids: list[str], pattern: str) -> None:
        """SKIPPED rows for every published model of these claims that no file covered."""
        seen: dict[str, set[str]] = {}
        for row in self.rows:
            seen.setdefault(row.claim_id, set()).add(self.hub_id(row.model))
        for claim_id in claim_ids:
            claim = self.claims.get(claim_id)
            if claim is None:
                continue
            absent = [m for m in claim.published if m not in seen.get(claim_id, set())
                      and not (m == AGGREGATE and seen.get(claim_id))]
            if not claim.published and claim_id not in seen:
                absent = [AGGREGATE]
            for model in absent:
                self.add(claim_id, model, "file_present", claim.published.get(model), None, SKIPPED, pattern,
                         f"no file matching {pattern} holds this model")

    # --- result -----------------------------------------------------------------------------------------
    def evidence(self) -> list[Row]:
        """The rows, each piece of evidence counted once: a row whose claim, model and quantity another file gave
        already is folded into that row when the values agree (noted in its detail), INCONSISTENT otherwise."""
        kept: list[Row] = []
        first: dict[tuple[str, str, str], tuple[int, str]] = {}
        for row, origin in zip(self.rows, self.origins):
            if row.status != SKIPPED and origin is not None:
                index, earlier = first.setdefault((row.claim_id, self.hub_id(row.model), row.quantity),
                                                  (len(kept), origin))
                if earlier != origin:
                    _fold(kept, index, earlier, row, origin)
                    continue
            kept.append(row)
        return kept


def _fold(kept: list[Row], index: int, earlier: str, row: Row, origin: str) -> None:
    """Fold `row` (from file `origin`) into kept[index] (from file `earlier`); keep it as INCONSISTENT if they differ."""
    first = kept[index]
    if _same(first, row):
        kept[index] = replace(first, detail=f"{first.detail} Also in {origin}: duplicate evidence, counted once.")
    else:
        kept.append(replace(row, status=INCONSISTENT, detail=f"{earlier} gives {first.recomputed!r} for the same "
                            f"model and quantity, {origin} {row.recomputed!r}. {row.detail}"))


def _same(a: Row, b: Row) -> bool:
    """Same published value, recomputed value and status (NaN equal to NaN)."""
    def equal(x: Scalar, y: Scalar) -> bool:
        return x == y or (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))
    return a.status == b.status and equal(a.published, b.published) and equal(a.recomputed, b.recomputed)
