"""Render the claims report (HTML, Markdown, JSON) with autoescaping Jinja templates."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from elb.artifacts import VERDICTS
from elb.claims.model import Claim
from elb.claims.verdict import VERDICTS as ORDER, Verdict
from elb.datasets.loaders import validate
from elb.io import write_json, write_text


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"
    return str(value)


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("elb", "report/templates"),
                      autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["fmt"] = _fmt
    env.filters["md"] = lambda text: str(text).replace("|", "\\|").replace("\n", " ")
    return env


def evidence_by_claim(evidence: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in evidence:
        grouped.setdefault(row["claim_id"], []).append(row)
    return grouped


def build_context(claims: list[Claim], verdicts: list[Verdict], provenance: dict[str, Any],
                  evidence: list[dict[str, Any]], dataset: dict[str, Any] | None) -> dict[str, Any]:
    by_id = {claim.id: claim for claim in claims}
    grouped = evidence_by_claim(evidence)
    rows = [{"claim": by_id[v.claim_id], "verdict": v, "evidence": grouped.get(v.claim_id, []),
             "evidence_status": ", ".join(f"{s} x{n}" for s, n in Counter(
                 e["status"] for e in grouped.get(v.claim_id, [])).items()) or "not audited"}
            for v in verdicts]
    counts = Counter(v.verdict for v in verdicts)
    rows.sort(key=lambda row: row["claim"].quantity is None)  # measured on the model first; stable otherwise
    return {"rows": rows, "summary": {k: counts.get(k, 0) for k in ORDER}, "provenance": provenance,
            "model": verdicts[0].model if verdicts else "–", "dataset": dataset,
            "evidence_counts": dict(Counter(e["status"] for e in evidence))}


def write_report(folder: Path, claims: list[Claim], verdicts: list[Verdict], provenance: dict[str, Any],
                 evidence: list[dict[str, Any]] | None = None, dataset: dict[str, Any] | None = None) -> None:
    """claims.html, claims.md and claims.json under `folder`; verdict rows are schema-checked first."""
    validate(pd.DataFrame([v.row() for v in verdicts]), VERDICTS, folder / "claims.json", id_column="claim_id")
    context = build_context(claims, verdicts, provenance, evidence or [], dataset)
    env = _environment()
    write_text(folder / "claims.html", env.get_template("claims.html.j2").render(**context))
    write_text(folder / "claims.md", env.get_template("claims.md.j2").render(**context))
    write_json(folder / "claims.json", {
        "model": context["model"], "summary": context["summary"], "provenance": provenance,
        "dataset": dataset, "evidence_counts": context["evidence_counts"],
        "claims": [{**row["claim"].model_dump(), "verdict": row["verdict"].row(),
                    "evidence": row["evidence"]} for row in context["rows"]],
    })


def read_optional_json(path: Path) -> Any:
    path = Path(path)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
