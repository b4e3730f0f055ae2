"""`elb evidence`: audit both studies' published files, validate the rows, write reports/evidence.json."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from elb.audit import eip, elb_council, elb_phase1, elb_phase2
from elb.audit.base import Audit, published_texts
from elb.audit.files import Repo
from elb.audit.rows import SKIPPED, UNSUPPORTED, Row, validate_rows
from elb.claims.model import Claim
from elb.claims.registry import load_registry
from elb.io import write_json
from elb.models.published import Study
from elb.provenance import base_provenance

# Each study's auditors, with the part of the study whose model names its files use (elb.models.published).
AUDITORS: dict[str, list[tuple[Callable[[Audit], None], Study]]] = {
    "ELB": [(elb_phase1.audit, "elb-phase1"), (elb_phase2.audit, "elb-phase2"), (elb_council.audit, "elb-council")],
    "EIP": [(eip.audit, "eip")],
}


def audit_study(study: str, root: Path | None, claims: list[Claim], texts: dict[str, dict[str, str]]
                ) -> tuple[list[Row], dict[str, str]]:
    """Rows for every claim of one study: from the auditors, or SKIPPED/UNSUPPORTED with the reason."""
    mine = {c.id: c for c in claims if c.study == study}
    if root is None:
        return [Row(study, c.id, "-", "repository", None, None, SKIPPED, "-",
                    f"no {study} repository given (--{study.lower()}-repo)") for c in mine.values()], {}
    repo = Repo(root)
    rows: list[Row] = []
    if not repo.root.is_dir():
        return [Row(study, c.id, "-", "repository", None, None, SKIPPED, str(root), f"{root} is not a directory")
                for c in mine.values()], {}
    for auditor, part in AUDITORS[study]:
        audit = Audit(study, repo, mine, part, texts)
        auditor(audit)
        rows.extend(audit.evidence())
    covered = {r.claim_id for r in rows}
    rows += [Row(study, c.id, "-", "evidence", None, None, UNSUPPORTED, c.source.published_file or "-",
                 "no published file in the audited repository holds evidence for this claim")
             for c in mine.values() if c.id not in covered]
    return rows, repo.read


def run_evidence(elb_repo: Path | None, eip_repo: Path | None, reports_dir: Path) -> Path:
    """Audit the given repositories against every registry claim; returns the path of reports/evidence.json."""
    claims, texts = load_registry(), published_texts()
    rows: list[Row] = []
    files: dict[str, dict[str, str]] = {}
    for study, root in (("ELB", elb_repo), ("EIP", eip_repo)):
        study_rows, read = audit_study(study, Path(root) if root else None, claims, texts)
        rows += study_rows
        files[study] = read
    provenance = {**base_provenance(seed=0), "repositories": {"ELB": str(elb_repo) if elb_repo else None,
                                                              "EIP": str(eip_repo) if eip_repo else None},
                  "files_sha256": files}
    target = Path(reports_dir) / "evidence.json"
    write_json(target, {"provenance": provenance, "rows": validate_rows(rows)})
    return target
