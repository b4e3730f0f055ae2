"""Render the claims report (HTML, Markdown, JSON) with autoescaping Jinja templates."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from elb.artifacts import VERDICTS
from elb.claims.judging import Grid, Judgement
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


def model_context(key: str, judgement: Judgement, grouped: dict[str, list[dict[str, Any]]],
                  params: Params) -> dict[str, Any]:
    """One model's part of the report: its verdict rows, counts, provenance panel and figures."""
    by_id, known = {claim.id: claim for claim in judgement.claims}, known_quantities(params)
    rows = [{"claim": by_id[v.claim_id], "verdict": v, "pins": _pins(by_id[v.claim_id], known, params),
             "evidence": grouped.get(v.claim_id, []), "evidence_status": _evidence_status(grouped, v.claim_id)}
            for v in judgement.verdicts]
    rows.sort(key=lambda row: row["claim"].quantity is None)  # measured on the model first; stable otherwise
    figures = [replace(f, name=f"{key}-{f.name}") for f in all_figures(judgement)]
    return {"key": key, "model": judgement.model, "rows": rows, "summary": judgement.counts(),
            "provenance": judgement.provenance.model_dump(), "panel": provenance_panel(judgement),
            "data_label": judgement.dataset, "figures": figures}


def provenance_panel(judgement: Judgement) -> dict[str, str]:
    """What a reader needs to rerun this model's audit, one line each."""
    made = judgement.provenance
    model = made.activations.model.model_dump()
    identity = (f"sha256 {model['weights_sha256']}" if model.get("weights_sha256")
                else f"revision {model.get('revision') or 'unpinned'}")
    return {"model": f"{model['model']} ({model['architecture']}, {model['n_layers']} layers x {model['d_model']})",
            "weights": f"{model['source']} {model.get('weights_file') or ''}; {identity}",
            "quantization": model.get("quantization") or "none",
            "dtype, device": f"{model['dtype']} on {model['device']}",
            "seed": str(made.seed), "code": made.git_commit or "unknown",
            "packages": ", ".join(f"{name} {version}" for name, version in made.packages.items()),
            "data": ", ".join(f"{name} {digest[:12]}" for name, digest in made.activations.data.items()),
            "created": made.created}


def _evidence_status(grouped: dict[str, list[dict[str, Any]]], claim_id: str) -> str:
    return ", ".join(f"{s} x{n}" for s, n in Counter(e["status"] for e in grouped.get(claim_id, [])).items()) \
        or "not audited"


def matrix(grid: Grid, grouped: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Claim x model: each claim's verdict and measured value per model (cross-model claims: over the models),
    grouped by study and section in registry order, with its evidence-audit status."""
    across = {v.claim_id: v for v in grid.across}
    rows = []
    for i, claim in enumerate(grid.judgements[0].claims):
        cells = {key: j.verdicts[i] for key, j in zip(grid.keys, grid.judgements)}
        rows.append({"claim": claim, "cells": cells, "across": across.get(claim.id),
                     "evidence_status": _evidence_status(grouped, claim.id)})
    return sorted(rows, key=lambda row: (row["claim"].study, row["claim"].section.split(" / ")[0]))


def build_context(grid: Grid, evidence: list[dict[str, Any]], dataset: dict[str, Any] | None,
                  params: Params) -> dict[str, Any]:
    grouped = evidence_by_claim(evidence)
    models = [model_context(key, j, grouped, params) for key, j in zip(grid.keys, grid.judgements)]
    return {"models": models, "matrix": matrix(grid, grouped), "across": grid.across, "counts": grid.counts(),
            "dataset": dataset, "confidence": params.analysis.confidence,
            "figures": [f for m in models for f in m["figures"]],
            "evidence_counts": dict(Counter(e["status"] for e in evidence))}


def write_report(folder: Path, grid: Grid, evidence: list[dict[str, Any]] | None,
                 dataset: dict[str, Any] | None, params: Params) -> None:
    """claims.html, claims.md and claims.json under `folder`; verdict rows are schema-checked first."""
    rows = [{**v.row(), "run": key} for key, j in zip(grid.keys, grid.judgements) for v in j.verdicts]
    rows += [{**v.row(), "run": "across models"} for v in grid.across]
    validate(pd.DataFrame(rows), VERDICTS, folder / "claims.json", id_column="claim_id")
    context = build_context(grid, evidence or [], dataset, params)
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
        "models": [{"key": m["key"], "model": m["model"], "data": m["data_label"], "summary": m["summary"],
                    "provenance": m["provenance"],
                    "claims": [{**row["claim"].model_dump(), "method_pins": row["pins"], "verdict": row["verdict"].row(),
                                "evidence": row["evidence"]} for row in m["rows"]]} for m in context["models"]],
        "across_models": [v.row() for v in grid.across],
        "counts": context["counts"], "dataset": dataset, "evidence_counts": context["evidence_counts"],
    })


def read_optional_json(path: Path) -> Any:
    path = Path(path)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
