"""DVC stage: judge every claim from the stored measurements and write the report (FAILS is a finding, not a crash)."""
from __future__ import annotations

from pathlib import Path

from elb.claims.judging import judge_all
from elb.config import load_params
from elb.report.render import read_optional_json, write_report


def run(params_path: str = "params.yaml") -> Path:
    params = load_params(params_path)
    judgement = judge_all(params)
    evidence = read_optional_json(params.reports_dir / "evidence.json")
    write_report(params.reports_dir, judgement, evidence["rows"] if evidence else None,
                 read_optional_json(params.artifacts_dir / "dataset_report.json"), params)
    print(judgement.summary_line())
    return params.reports_dir


if __name__ == "__main__":
    run()
