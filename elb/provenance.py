"""Provenance shared by every artifact: code version, package versions, numeric libraries and threads, seed."""
from __future__ import annotations

import platform
import subprocess
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from pydantic import BaseModel, ConfigDict

PACKAGES = ("torch", "transformers", "transformer-lens", "numpy", "scipy", "scikit-learn", "pandas", "pandera",
            "threadpoolctl", "dvc")


def git_commit() -> str | None:
    """HEAD of the working tree, with `-dirty` when it has uncommitted changes; None outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("-dirty" if dirty else "")


def package_versions() -> dict[str, str]:
    found = {}
    for package in PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


def numeric_libraries() -> dict[str, Any]:
    """The BLAS/OpenMP libraries loaded (kernel architecture, version, threads) and torch's threads: float results
    can differ across machines with them. The measures themselves run on one thread (`Measure.run`)."""
    import torch
    from threadpoolctl import threadpool_info

    keys = ("internal_api", "prefix", "version", "architecture", "threading_layer", "num_threads")
    libraries = [{k: pool[k] for k in keys if k in pool} for pool in threadpool_info()]
    return {"torch_threads": torch.get_num_threads(),
            "libraries": sorted(libraries, key=lambda library: [str(library.get(k)) for k in keys])}  # load order aside


def base_provenance(seed: int) -> dict[str, Any]:
    return {
        "git_commit": git_commit(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "packages": package_versions(),
        "numeric": numeric_libraries(),
        "seed": seed,
    }


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class ModelProvenance(_Record):
    """What was loaded: the identity of the weights and how they ran."""

    model: str
    architecture: str
    source: str
    n_layers: int
    d_model: int
    dtype: str
    device: str
    trust_remote_code: bool
    weights_sha256: str | None = None
    revision: str | None = None


class RunProvenance(_Record):
    """Shared by every artifact: code version, package versions, seed."""

    git_commit: str | None
    created: str
    python: str
    packages: dict[str, str]
    seed: int


class ActivationProvenance(RunProvenance):
    """The activations stage: model, datasets (sha256 per file), layers, hooks, loader parity, poolings."""

    model: ModelProvenance
    data: dict[str, str]
    layer_convention: str
    layers: dict[str, str]
    loader_parity: dict[str, Any]
    poolings: list[str]
    batch_size: int
    max_tokens: int


class MeasurementProvenance(RunProvenance):
    """The measures stage: the activations it read and the analysis settings."""

    activations: ActivationProvenance
    analysis: dict[str, Any]
