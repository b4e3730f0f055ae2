"""Every registered claim is one test per model of the grid (cross-model claims: one over the run's models); its
outcome is its verdict (see conftest.py, which parametrizes `case`)."""
from __future__ import annotations

import pytest


def test_claim(case, verdict_of, failing_verdicts):
    verdict = verdict_of(*case)
    message = f"{verdict.verdict}: {verdict.reason}"
    if verdict.verdict in failing_verdicts:
        pytest.fail(message, pytrace=False)
    if verdict.verdict == "SKIPPED":
        pytest.skip(message)
