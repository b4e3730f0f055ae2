"""Load the claim registry (claims/registry/*.yaml), refusing duplicates and malformed entries."""
from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from elb.claims.model import Claim

REGISTRY_DIR = Path(__file__).resolve().parents[2] / "claims" / "registry"


def load_registry(folder: Path = REGISTRY_DIR) -> list[Claim]:
    claims: list[Claim] = []
    seen: dict[str, Path] = {}
    for path in sorted(Path(folder).glob("*.yaml")):
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        for position, entry in enumerate(entries):
            try:
                claim = Claim.model_validate(entry)
            except ValidationError as error:
                name = entry.get("id", f"entry {position}") if isinstance(entry, dict) else f"entry {position}"
                raise ValueError(f"{path}: claim {name}: {error}") from error
            if claim.id in seen:
                raise ValueError(f"{path}: claim id {claim.id!r} already defined in {seen[claim.id]}")
            seen[claim.id] = path
            claims.append(claim)
    return claims
