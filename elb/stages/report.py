"""DVC stage: judge every claim from the stored measurements and write the report (FAILS is a finding, not a crash)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from elb.claims.judging import Judgement, judge_grid
from elb.config import Params, load_params
from elb.models.registry import sha256_of
from elb.report.render import read_optional_json, write_report


def check_one_run(params: Params, judgement: Judgement, dataset: dict[str, Any] | None) -> None:
    """Refuse a model's part of a report when it comes from different runs (params narrowed to that model): its
    dataset section must describe the files the activations were extracted from, and params.yaml must still hold
    the seed and analysis settings the measurements were made with (the method pins are rendered from params)."""
    made = judgement.provenance
    now = {"seed (params.yaml)": params.seed, "analysis (params.yaml)": params.analysis.model_dump(mode="json"),
           "data files (dataset_report.json)": (dataset or {}).get("sha256")}
    then = {"seed (params.yaml)": made.seed, "analysis (params.yaml)": made.analysis,
            "data files (dataset_report.json)": made.activations.data}
    for i, eip in enumerate(judgement.eip_provenance):
        now[f"EIP file {i + 1}: eip (params.yaml)"] = params.eip.model_dump(mode="json")
        then[f"EIP file {i + 1}: eip (params.yaml)"] = eip.analysis
        now[f"EIP file {i + 1}: model"] = made.activations.model.model_dump()
        then[f"EIP file {i + 1}: model"] = eip.activations.model.model_dump()
    stages = {"council rounds 2-4": (judgement.council_provenance, now["analysis (params.yaml)"]),
              "ELB Phase 1": (judgement.phase1_provenance, params.phase1.model_dump(mode="json"))}
    for name, (stage, settings) in stages.items():
        if stage is not None:
            now[f"{name}: settings (params.yaml)"], then[f"{name}: settings (params.yaml)"] = settings, stage.analysis
            now[f"{name}: model"] = made.activations.model.model_dump()
            then[f"{name}: model"] = stage.activations.model.model_dump()
    problems = [f"  {key}: {_difference(then[key], now[key])}" for key in now if then[key] != now[key]]
    if problems:
        raise RuntimeError("the stored measurements come from another run than the one described now; run "
                           "`dvc repro`:\n" + "\n".join(problems))


def check_evidence_current(evidence: dict[str, Any] | None) -> None:
    """Refuse an evidence audit whose published files changed since it ran (its provenance holds their sha256);
    the report stage runs on every `dvc repro`, so an edited published file never goes unnoticed."""
    if not evidence:
        return
    made = evidence["provenance"]
    changed = [str(Path(root) / name) for study, files in made.get("files_sha256", {}).items()
               if (root := made["repositories"].get(study)) and Path(root).is_dir()
               for name, digest in files.items()
               if not (Path(root) / name).is_file() or sha256_of(Path(root) / name) != digest]
    if changed:
        raise RuntimeError(f"the evidence audit is stale: {len(changed)} published file(s) changed or vanished since "
                           f"it ran ({', '.join(changed[:3])}); rerun `elb evidence`")


def _difference(then: Any, now: Any) -> str:
    if isinstance(then, dict) and isinstance(now, dict):
        return "differs in " + ", ".join(sorted(k for k in then.keys() | now.keys() if then.get(k) != now.get(k)))
    return f"measured with {then!r}, now {now!r}"


def run(params_path: str = "params.yaml") -> Path:
    params = load_params(params_path)
    grid = judge_grid(params)
    dataset = read_optional_json(params.artifacts_dir / "dataset_report.json")
    for key, judgement in zip(grid.keys, grid.judgements):
        check_one_run(params.for_model(key), judgement, dataset)
    evidence = read_optional_json(params.reports_dir / "evidence.json")
    check_evidence_current(evidence)
    write_report(params.reports_dir, grid, evidence["rows"] if evidence else None, dataset, params)
    print(grid.summary_line())
    return params.reports_dir


if __name__ == "__main__":
    run(*sys.argv[1:])  # optional: another params.yaml
