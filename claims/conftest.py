"""pytest plugin of the claims suite: loads measurements once, collects verdicts, writes the report."""
from __future__ import annotations

from pathlib import Path

import pytest

from elb.artifacts import read_measurements
from elb.claims.registry import load_registry
from elb.claims.verdict import Verdict
from elb.report.render import read_optional_json, write_report

ROOT = Path(__file__).resolve().parents[1]
VERDICTS = pytest.StashKey[list[Verdict]]()
PROVENANCE = pytest.StashKey[dict]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[VERDICTS] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("claims")
    group.addoption("--measurements", default=str(ROOT / "artifacts" / "measurements.json"),
                    help="measurements.json written by `dvc repro` (default: artifacts/measurements.json)")
    group.addoption("--reports-dir", default=str(ROOT / "reports"), help="where claims.{html,md,json} go")
    group.addoption("--dataset-report", default=str(ROOT / "artifacts" / "dataset_report.json"))
    group.addoption("--evidence", default=str(ROOT / "reports" / "evidence.json"),
                    help="published-evidence audit rows (`elb evidence`), shown beside the verdicts")


@pytest.fixture(scope="session")
def measured(request: pytest.FixtureRequest):
    """(measurements table, provenance, audited model id)."""
    table, provenance = read_measurements(Path(request.config.getoption("--measurements")))
    request.config.stash[PROVENANCE] = provenance
    return table, provenance, provenance["activations"]["model"]["model"]


@pytest.fixture(scope="session")
def record(request: pytest.FixtureRequest):
    return request.config.stash[VERDICTS].append


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    verdicts = config.stash[VERDICTS]
    if not verdicts:
        return
    provenance = config.stash[PROVENANCE]
    evidence = read_optional_json(Path(config.getoption("--evidence")))
    registry = load_registry()
    if len(verdicts) < len(registry):
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.ensure_newline()
            reporter.write_line(f"claims report not rewritten: {len(verdicts)} of {len(registry)} claims judged "
                                "(a selection); run the whole suite to refresh reports/")
        return
    order = {claim.id: position for position, claim in enumerate(registry)}
    write_report(Path(config.getoption("--reports-dir")), registry, sorted(verdicts, key=lambda v: order[v.claim_id]),
                 provenance, evidence["rows"] if evidence else None,
                 read_optional_json(Path(config.getoption("--dataset-report"))))
