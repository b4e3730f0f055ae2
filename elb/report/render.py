"""Render the claims report (HTML, Markdown, JSON) with autoescaping Jinja templates."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from elb.artifacts import VERDICTS
from elb.claims.judging import Judgement
from elb.claims.model import Claim
from elb.config import Params
from elb.datasets.loaders import validate
from elb.io import write_json, write_text, write_with
from elb.measures.catalogue import known_quantities, method_pins
from elb.report.figures import all_figures


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


def _pins(claim: Claim, known: dict[str, Any], params: Params) -> dict[str, str]:
    """Measured claims: the method as the catalogue and params implement it; others: the published method."""
    if claim.quantity is None:
        return dict(claim.method_pins)
    return method_pins(known[claim.quantity], params)


def build_context(judgement: Judgement, evidence: list[dict[str, Any]], dataset: dict[str, Any] | None,
                  params: Params) -> dict[str, Any]:
    by_id = {claim.id: claim for claim in judgement.claims}
    grouped, known = evidence_by_claim(evidence), known_quantities(params)
    rows = [{"claim": by_id[v.claim_id], "verdict": v, "pins": _pins(by_id[v.claim_id], known, params),
             "evidence": grouped.get(v.claim_id, []),
             "evidence_status": ", ".join(f"{s} x{n}" for s, n in Counter(
                 e["status"] for e in grouped.get(v.claim_id, [])).items()) or "not audited"}
            for v in judgement.verdicts]
    rows.sort(key=lambda row: row["claim"].quantity is None)  # measured on the model first; stable otherwise
    return {"rows": rows, "summary": judgement.counts(), "provenance": judgement.provenance.model_dump(),
            "model": judgement.model, "dataset": dataset, "confidence": params.analysis.confidence,
            "data_label": judgement.dataset, "figures": all_figures(judgement),
            "evidence_counts": dict(Counter(e["status"] for e in evidence))}


def write_report(folder: Path, judgement: Judgement, evidence: list[dict[str, Any]] | None,
                 dataset: dict[str, Any] | None, params: Params) -> None:
    """claims.html, claims.md and claims.json under `folder`; verdict rows are schema-checked first."""
    validate(pd.DataFrame([v.row() for v in judgement.verdicts]), VERDICTS, folder / "claims.json",
             id_column="claim_id")
    context = build_context(judgement, evidence or [], dataset, params)
    env = _environment()
    current = {figure.filename for figure in context["figures"]}
    for stale in (folder / "figures").glob("*.png"):
        if stale.name not in current:
            stale.unlink()
    for figure in context["figures"]:
        write_with(folder / "figures" / figure.filename, lambda path, data=figure.png: path.write_bytes(data))
    write_text(folder / "claims.html", env.get_template("claims.html.j2").render(**context))
    write_text(folder / "claims.md", env.get_template("claims.md.j2").render(**context))
    write_json(folder / "claims.json", {
        "model": context["model"], "data": judgement.dataset, "summary": context["summary"],
        "provenance": context["provenance"], "dataset": dataset, "evidence_counts": context["evidence_counts"],
        "claims": [{**row["claim"].model_dump(), "method_pins": row["pins"], "verdict": row["verdict"].row(),
                    "evidence": row["evidence"]} for row in context["rows"]],
    })


def read_optional_json(path: Path) -> Any:
    path = Path(path)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
