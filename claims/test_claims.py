"""Every registered claim is one test; its outcome is its verdict (see conftest.py)."""
from __future__ import annotations

import pytest

from elb.claims.registry import load_registry

CLAIMS = load_registry()


@pytest.mark.parametrize("claim_id", [claim.id for claim in CLAIMS])
def test_claim(claim_id, verdict_of, failing_verdicts):
    verdict = verdict_of(claim_id)
    message = f"{verdict.verdict}: {verdict.reason}"
    if verdict.verdict in failing_verdicts:
        pytest.fail(message, pytrace=False)
    if verdict.verdict == "SKIPPED":
        pytest.skip(message)
