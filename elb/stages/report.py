"""DVC stage: judge every claim with `pytest claims/` and write the report; FAILS is a finding, not a crash."""
from __future__ import annotations

import sys

import pytest

from elb.claims.registry import REGISTRY_DIR

TESTS_RAN = (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)


def run(extra: list[str] | None = None) -> int:
    code = pytest.main([str(REGISTRY_DIR.parent), "-q", "-rfEx", "--no-header", "-p", "no:cacheprovider",
                        "-W", "ignore::pytest.PytestAssertRewriteWarning", *(extra or [])])
    if code not in TESTS_RAN:
        raise SystemExit(f"the claims suite could not run (pytest exit code {int(code)})")
    return int(code)


if __name__ == "__main__":
    run(sys.argv[1:])
