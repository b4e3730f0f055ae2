"""pytest view of the claims: the same judgements as the report stage, one test per claim.

Each test reports its verdict as its outcome word (HOLDS, FAILS, INCONCLUSIVE, ERROR; SKIPPED is a pytest skip);
none of them counts as "passed". The session ends with one line of verdict counts. By default a verdict is a
finding, not a test failure; `--claims-fail-on FAILS,ERROR` makes those verdicts fail the run (for a claim
suite in your own CI).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from elb.claims.judging import Judgement, judge_all
from elb.claims.verdict import VERDICTS, Verdict
from elb.config import load_params

ROOT = Path(__file__).resolve().parents[1]
JUDGEMENT = pytest.StashKey[Judgement]()
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


@pytest.fixture(scope="session")
def judgement(request: pytest.FixtureRequest) -> Judgement:
    config = request.config
    if JUDGEMENT not in config.stash:
        config.stash[JUDGEMENT] = judge_all(load_params(config.getoption("--params")))
    return config.stash[JUDGEMENT]


@pytest.fixture()
def verdict_of(request: pytest.FixtureRequest, judgement: Judgement):
    def find(claim_id: str) -> Verdict:
        verdict = next(v for v in judgement.verdicts if v.claim_id == claim_id)
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
    if JUDGEMENT in config.stash:
        judgement = config.stash[JUDGEMENT]
        judged = set(config.stash[VERDICT_OF])
        counted = [v for v in judgement.verdicts if any(node.endswith(f"[{v.claim_id}]") for node in judged)]
        counts = {name: sum(v.verdict == name for v in counted) for name in VERDICTS}
        terminalreporter.write_line(f"claims on {judgement.model}: "
                                    + ", ".join(f"{n} {name}" for name, n in counts.items()))
