"""pytest view of the claims: the same judgements as the report stage, one test per claim and model of the grid
(`claim@key`), and one per cross-model claim over the run's models (`claim@across`).

Each test reports its verdict as its outcome word (HOLDS, FAILS, INCONCLUSIVE, ERROR; SKIPPED is a pytest skip);
none of them counts as "passed". The session ends with one line of verdict counts. By default a verdict is a
finding, not a test failure; `--claims-fail-on FAILS,ERROR` makes those verdicts fail the run (for a claim
suite in your own CI).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from elb.claims.judging import Grid, judge_grid
from elb.claims.registry import load_registry
from elb.claims.verdict import VERDICTS, Verdict
from elb.config import load_params

ROOT = Path(__file__).resolve().parents[1]
ACROSS = "across"  # the run key of a cross-model claim's test
GRID = pytest.StashKey[Grid]()
VERDICT_OF = pytest.StashKey[dict[str, str]]()
CATEGORY = {"HOLDS": "holds", "FAILS": "fails", "INCONCLUSIVE": "inconclusive", "ERROR": "unmeasurable"}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("claims")
    group.addoption("--params", default=str(ROOT / "params.yaml"),
                    help="params.yaml naming the artifacts to judge (default: the project's)")
    group.addoption("--claims-fail-on", default="", metavar="VERDICTS",
                    help="comma-separated verdicts that fail the run, e.g. FAILS,ERROR (default: none)")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[VERDICT_OF] = {}
    wanted = {v.strip() for v in config.getoption("--claims-fail-on").split(",") if v.strip()}
    if wanted - set(VERDICTS):
        raise pytest.UsageError(f"--claims-fail-on takes {', '.join(VERDICTS)}; got {', '.join(sorted(wanted))}")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`case` = (claim id, model key), or (claim id, "across") for a cross-model claim."""
    if "case" in metafunc.fixturenames:
        keys = list(load_params(metafunc.config.getoption("--params")).models)
        cases = [(claim.id, key) for claim in load_registry()
                 for key in ([ACROSS] if claim.scope == "cross_model" and claim.quantity else keys)]
        metafunc.parametrize("case", cases, ids=[f"{claim}@{key}" for claim, key in cases])


@pytest.fixture(scope="session")
def grid(request: pytest.FixtureRequest) -> Grid:
    config = request.config
    if GRID not in config.stash:
        config.stash[GRID] = judge_grid(load_params(config.getoption("--params")))
    return config.stash[GRID]


@pytest.fixture()
def verdict_of(request: pytest.FixtureRequest, grid: Grid):
    def find(claim_id: str, key: str) -> Verdict:
        verdicts = grid.across if key == ACROSS else grid.judgements[grid.keys.index(key)].verdicts
        verdict = next(v for v in verdicts if v.claim_id == claim_id)
        request.config.stash[VERDICT_OF][request.node.nodeid] = verdict.verdict
        return verdict
    return find


@pytest.fixture(scope="session")
def failing_verdicts(request: pytest.FixtureRequest) -> set[str]:
    """The verdicts that fail the run (`--claims-fail-on`)."""
    return {v.strip() for v in request.config.getoption("--claims-fail-on").split(",") if v.strip()}


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config):
    verdict = config.stash[VERDICT_OF].get(report.nodeid)
    if report.when == "call" and report.passed and verdict and verdict != "SKIPPED":
        return CATEGORY[verdict], verdict[0], verdict
    return None


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    """One count line per model of the grid (and one across models), over the tests that ran."""
    if GRID not in config.stash:
        return
    grid, judged = config.stash[GRID], set(config.stash[VERDICT_OF])
    runs = [*((f"claims on {j.model}", key, j.verdicts) for key, j in zip(grid.keys, grid.judgements)),
            ("across models", ACROSS, grid.across)]
    for label, key, verdicts in runs:
        counted = [v for v in verdicts if any(node.endswith(f"[{v.claim_id}@{key}]") for node in judged)]
        if counted:
            counts = {name: sum(v.verdict == name for v in counted) for name in VERDICTS}
            terminalreporter.write_line(f"{label}: " + ", ".join(f"{n} {name}" for name, n in counts.items()))
