"""The audit context: collects evidence rows for one study and turns file problems into SKIPPED rows."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from elb.audit.files import AuditFileError, Repo
from elb.audit.rows import DISCREPANT, INCONSISTENT, REPRODUCED, SKIPPED, UNSUPPORTED, Row, Scalar, judged
from elb.claims.model import Claim

AGGREGATE = "all-models"


class Audit:
    """Rows for the claims of one study, with the published value looked up by model alias."""

    def __init__(self, study: str, repo: Repo, claims: dict[str, Claim], aliases: dict[str, str]) -> None:
        self.study, self.repo, self.claims, self.aliases = study, repo, claims, aliases
        self.rows: list[Row] = []
        self.seen: dict[str, set[str]] = {}

    # --- lookups ----------------------------------------------------------------------------------------
    def hub_id(self, model: str) -> str:
        return self.aliases.get(model, model)

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
        if claim_id not in self.claims:
            return
        self.seen.setdefault(claim_id, set()).add(self.hub_id(model))
        self.rows.append(Row(self.study, claim_id, model, quantity, published, recomputed, status, source, detail))

    def compare(self, claim_id: str, model: str, quantity: str, recomputed: Scalar, source: str, detail: str = "",
                published: Scalar = None, decimals: int | None = None) -> None:
        """Published (the document's value for this model, unless given) vs recomputed."""
        if published is None:
            published = self.published(claim_id, model)
        claim = self.claims.get(claim_id)
        if published is None and claim is not None and claim.threshold is not None and claim.comparator != "within" \
                and isinstance(recomputed, (int, float)):
            holds = {">": recomputed > claim.threshold, ">=": recomputed >= claim.threshold,
                     "<": recomputed < claim.threshold, "<=": recomputed <= claim.threshold}[claim.comparator]
            self.add(claim_id, model, quantity, f"{claim.comparator} {claim.threshold:g}", recomputed,
                     REPRODUCED if holds else DISCREPANT, source,
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

    def present(self, path: Path, claim_ids: list[str], model: str) -> bool:
        """True when the file exists; otherwise SKIPPED rows for the claims it would feed."""
        if path.exists():
            return True
        for claim_id in claim_ids:
            self.skip(claim_id, model, "file_present", self.repo.rel(path), "published file absent")
        return False

    @contextmanager
    def reading(self, claim_ids: list[str], model: str, source: str) -> Iterator[None]:
        """Turn a malformed file into SKIPPED rows for the claims it feeds, instead of a crash."""
        try:
            yield
        except (AuditFileError, KeyError, TypeError, ValueError, IndexError, ZeroDivisionError) as error:
            for claim_id in claim_ids:
                self.skip(claim_id, model, "file_readable", source, f"malformed or unreadable file: {error}")

    def missing(self, claim_ids: list[str], pattern: str) -> None:
        """SKIPPED rows for every published model of these claims that no file covered."""
        for claim_id in claim_ids:
            claim = self.claims.get(claim_id)
            if claim is None:
                continue
            absent = [m for m in claim.published if m not in self.seen.get(claim_id, set())
                      and not (m == AGGREGATE and self.seen.get(claim_id))]
            if not claim.published and claim_id not in self.seen:
                absent = [AGGREGATE]
            for model in absent:
                self.add(claim_id, model, "file_present", claim.published.get(model), None, SKIPPED, pattern,
                         f"no file matching {pattern} holds this model")
