"""Every registered claim is one test: HOLDS passes, FAILS fails, INCONCLUSIVE xfails, SKIPPED skips, ERROR errors."""
from __future__ import annotations

import pytest

from elb.claims.registry import load_registry
from elb.claims.verdict import judge

CLAIMS = load_registry()


@pytest.mark.parametrize("claim", CLAIMS, ids=[claim.id for claim in CLAIMS])
def test_claim(claim, measured, record):
    table, _, model = measured
    verdict = judge(claim, table, model)
    record(verdict)
    message = f"{verdict.verdict}: {verdict.reason}"
    if verdict.verdict == "SKIPPED":
        pytest.skip(message)
    if verdict.verdict == "INCONCLUSIVE":
        pytest.xfail(message)
    if verdict.verdict == "ERROR":
        raise RuntimeError(message)
    assert verdict.verdict == "HOLDS", message
