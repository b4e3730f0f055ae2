"""DVC stage (always run, cheap): record what decides the model's weights, so that activations rerun when it changes.

DVC cannot template an optional path dependency (model.name is a folder only sometimes), so this stage writes the
sha256 of every weight file (cached by size and modification time) or the hub id and revision into a small
tracked file that the activations stage depends on; when it comes out unchanged, nothing downstream reruns.
"""
from __future__ import annotations

import sys
from pathlib import Path

from elb.config import load_params
from elb.io import retract_report, write_json
from elb.models.loading import model_identity


def run(params_path: str = "params.yaml", model: str | None = None) -> Path:
    params = load_params(params_path, model)
    retract_report(params.reports_dir)  # a run is starting: no earlier report may look current
    target = params.model_dir / "model_identity.json"
    write_json(target, model_identity(params.model))
    return target


if __name__ == "__main__":
    run(*sys.argv[1:])  # optional: another params.yaml, then the key of one model of its grid
