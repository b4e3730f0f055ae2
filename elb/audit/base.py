"""The audit's one shape: readers parse each file into a typed record and return checks; `Audit` turns checks into
rows, and any absent, unreadable or malformed file into SKIPPED rows that name it and the reason."""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import KW_ONLY, dataclass, replace
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from elb.audit.compare import Criterion, Span, Stated, judge
from elb.audit.files import AuditFileError, Repo
from elb.audit.rows import (DECISION_CHANGING, INCONSISTENT, RECOMPUTED, REINTERPRETED, REPRODUCED, SKIPPED, Row,
                            Scalar, text_problem)
from elb.claims.model import Claim
from elb.claims.registry import REGISTRY_DIR
from elb.claims.verdict import satisfies
from elb.models.published import PublishedModel, Study, find

AGGREGATE = "all-models"
# What reading a malformed file raises: missing keys, lists where objects belong, text where numbers belong.
FILE_ERRORS = (AuditFileError, AttributeError, KeyError, TypeError, ValueError, IndexError, ZeroDivisionError)
R = TypeVar("R")


class Parsed(BaseModel):
    """A published file's typed record: the fields the audit reads, numbers strictly numbers, the rest ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


# --- checks: what a reader returns --------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    claim: str
    model: str  # as the file names it
    quantity: str
    value: Scalar  # recomputed (or, for an invariant, found)
    source: str
    detail: str = ""


@dataclass(frozen=True)
class Compare(Check):
    """`value` against the published number: `published` as written, else the registry's for this model (judged
    with the claim's criterion too), else the claim's criterion alone; RECOMPUTED when there is none of these."""

    _: KW_ONLY
    published: str | None = None
    n: int | None = None  # the value is a proportion k/n
    span: Span | None = None  # the value's possible range
    criterion: Criterion | None = None  # instead of the claim's


@dataclass(frozen=True)
class Reading(Compare):
    """A result that rests on our reading of an ambiguous criterion, beside the other reading's result."""

    _: KW_ONLY
    other: Scalar
    ours: str
    theirs: str


@dataclass(frozen=True)
class Invariant(Check):
    """A property the published method implies: REPRODUCED when it holds, else INCONSISTENT."""

    _: KW_ONLY
    expected: Scalar
    holds: bool


@dataclass(frozen=True)
class Record(Check):
    """A value recomputed from a file that no document states: RECOMPUTED."""


# --- files: which files a reader takes, and how it parses them ----------------------------------------------


@dataclass(frozen=True)
class Files(Generic[R]):
    """The files of one reader: patterns under the repository root, the claims they feed, the parser to a typed
    record, the model label of a file (a name, or a function of its path), and the file's top-level type."""

    patterns: tuple[str, ...]
    claims: tuple[str, ...]
    parse: Callable[[Any], R]
    model: str | Callable[[Path], str] = lambda path: path.stem
    expect: type = dict
    required: bool = False
    exclude: tuple[str, ...] = ()

    def label(self, path: Path | None) -> str:
        if isinstance(self.model, str):
            return self.model
        return self.model(path).strip() or "-" if path else AGGREGATE


@dataclass(frozen=True)
class Where:
    """The file a record came from; `where("field")` names a field of it as a row's source."""

    path: Path
    rel: str

    def __call__(self, name: str) -> str:
        return f"{self.rel}: {name}"


def reason(error: Exception) -> str:
    """A file error as a row's detail: the reader's own message, the first schema error, or the exception."""
    if isinstance(error, AuditFileError):
        cause = str(error)
    elif isinstance(error, ValidationError):
        first = error.errors()[0]
        cause = (f"malformed content ({error.error_count()} schema errors; first at "
                 f"{'.'.join(map(str, first['loc'])) or 'top level'}: {first['msg']})")
    else:
        cause = f"malformed content ({type(error).__name__}: {error})"
    return f"file left out of the audit: {cause}"


def published_texts(folder: Path = REGISTRY_DIR) -> dict[str, dict[str, str]]:
    """Each claim's published values as written in the registry (YAML keeps "0.960"; loading makes it 0.96)."""
    texts: dict[str, dict[str, str]] = {}
    for path in sorted(Path(folder).glob("*.yaml")):
        document = yaml.compose(path.read_text(encoding="utf-8"))
        for entry in getattr(document, "value", []):
            fields = {key.value: node for key, node in entry.value}
            if "id" in fields and isinstance(fields.get("published"), yaml.MappingNode):
                texts[fields["id"].value] = {k.value: v.value for k, v in fields["published"].value}
    return texts


class Audit:
    """Rows for the claims of one study part, with models named as that part's result files name them."""

    def __init__(self, study: str, repo: Repo, claims: dict[str, Claim], part: Study,
                 texts: dict[str, dict[str, str]]) -> None:
        self.study, self.repo, self.claims, self.part, self.texts = study, repo, claims, part, texts
        self.rows: list[Row] = []
        self.origins: list[str | None] = []  # the file each row came from (None: from no single file)
        self.origin: str | None = None

    # --- lookups ----------------------------------------------------------------------------------------
    def model(self, name: str) -> PublishedModel | None:
        return find(name, self.part)

    def hub_id(self, name: str) -> str:
        model = self.model(name)
        return model.hub_id if model else name

    def stated(self, claim_id: str, model: str) -> str | None:
        """The registry's published value for this model (or for all models), as written."""
        texts = self.texts.get(claim_id, {})
        return texts.get(self.hub_id(model), texts.get(AGGREGATE))

    # --- rows -------------------------------------------------------------------------------------------
    def add(self, checks: Iterable[Check]) -> None:
        """Rows for the checks of registry claims (others are ignored); text from a file that breaks the row
        schema is a file error."""
        for check in checks:
            if check.claim not in self.claims:
                continue
            row = self._row(check)
            problem = text_problem(row)
            if problem:
                raise AuditFileError(f"{self.origin or row.source}: {problem}")
            self.rows.append(row)
            self.origins.append(self.origin)

    def _row(self, c: Check) -> Row:
        base = Row(self.study, c.claim, c.model, c.quantity, None, c.value, RECOMPUTED, c.source,
                   c.detail or "recomputed; no document states this value")
        if isinstance(c, Invariant):
            return replace(base, published=c.expected, status=REPRODUCED if c.holds else INCONSISTENT)
        if not isinstance(c, Compare):
            return base
        claim = self.claims[c.claim]
        criterion = c.criterion
        if criterion is None and claim.threshold is not None and claim.comparator != "within" and c.published is None:
            criterion = (claim.comparator, claim.threshold)
        text = c.published or self.stated(c.claim, c.model)
        stated = Stated.parse(text) if text is not None and c.published is None else None
        if stated is not None and claim.decimals is not None:   # the claim says how the number was written
            text = f"{stated.value:.{claim.decimals}f}"
        if text is None:
            if criterion is None or not isinstance(c.value, (int, float)):
                return base
            holds = satisfies(float(c.value), *criterion)
            return replace(base, published=f"{criterion[0]} {criterion[1]:g}",
                           status=REPRODUCED if holds else DECISION_CHANGING,
                           detail=_join("no per-model number published; checked against the claim's criterion",
                                        c.detail))
        ours = judge(text, c.value, n=c.n, span=c.span, criterion=criterion)
        published = _published(text)
        row = replace(base, published=published, status=ours.status, chance=ours.chance,
                      detail=_join(c.detail, ours.note))
        if isinstance(c, Reading):
            other = judge(text, c.other, n=c.n, span=c.span, criterion=criterion)
            row = replace(row, status=REINTERPRETED, alternative=c.other, detail=_join(
                c.detail, f"our reading ({c.ours}): {c.value!r}, {ours.status}; the other reading ({c.theirs}): "
                          f"{c.other!r}, {other.status}", ours.note))
        return row

    def skip(self, claim_id: str, model: str, quantity: str, source: str, why: str) -> None:
        self.rows.append(Row(self.study, claim_id, model, quantity, _published(self.stated(claim_id, model)), None,
                             SKIPPED, source, why))
        self.origins.append(self.origin)

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
                if claim_id in self.claims:
                    self.skip(claim_id, model, "file_readable", source, reason(error))
        finally:
            self.origin = outer

    def each(self, files: Files[R], build: Callable[[Where, R], Iterable[Check]]) -> list[R]:
        """Parse every file matching `files` into its record and add the checks `build` returns; returns the records
        of the files that completed. A file that is unreadable, not a regular file, over the size limit, a duplicate
        of one read before or malformed, and no file at all when `files.required`, becomes SKIPPED rows for
        `files.claims` that name the file and the reason."""
        paths = [p for p in self.repo.glob(*files.patterns) if p.name not in files.exclude]
        if files.required and not paths:
            for claim_id in files.claims:
                if claim_id in self.claims:
                    self.skip(claim_id, files.label(None), "file_present", " or ".join(files.patterns),
                              "published file absent")
        records: list[R] = []
        for path in paths:
            where = Where(path, self.repo.rel(path))
            with self.reading(files.claims, files.label(path), where.rel):
                record = files.parse(self.repo.load(path, files.expect))
                self.add(list(build(where, record)))
                records.append(record)
        return records

    def missing(self, claim_ids: Sequence[str], pattern: str, why: str = "") -> None:
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
                self.skip(claim_id, model, "file_present", pattern,
                          why or f"no file matching {pattern} holds this model")

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


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _published(text: str | None) -> Scalar:
    """The published column: the number a text states (as a float), else the label itself."""
    stated = Stated.parse(text) if text is not None else None
    return stated.value if stated else text


def _fold(kept: list[Row], index: int, earlier: str, row: Row, origin: str) -> None:
    """Fold `row` (from file `origin`) into kept[index] (from `earlier`); keep it as INCONSISTENT if they differ."""
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
