"""Load the claim registry (claims/registry/*.yaml), refusing duplicates, malformed entries and unknown quantities."""
from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import yaml
from pydantic import ValidationError

from elb.claims.model import Claim
from elb.measures.catalogue import unknown_quantity_message

REGISTRY_DIR = Path(__file__).resolve().parents[2] / "claims" / "registry"


def load_registry(folder: Path = REGISTRY_DIR, quantities: Collection[str] | None = None) -> list[Claim]:
    """Every claim, validated; with `quantities`, each claim's quantity must be one of them (with a suggestion)."""
    claims: list[Claim] = []
    seen: dict[str, Path] = {}
    for path in sorted(Path(folder).glob("*.yaml")):
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        for position, entry in enumerate(entries):
            name = entry.get("id", f"entry {position}") if isinstance(entry, dict) else f"entry {position}"
            try:
                claim = Claim.model_validate(entry)
            except ValidationError as error:
                raise ValueError(f"{path}: claim {name}: {error}") from error
            if claim.id in seen:
                raise ValueError(f"{path}: claim id {claim.id!r} already defined in {seen[claim.id]}")
            if quantities is not None and claim.quantity is not None and claim.quantity not in quantities:
                raise ValueError(f"{path}: claim {name}: {unknown_quantity_message(claim.quantity, quantities)}")
            seen[claim.id] = path
            claims.append(claim)
    return claims
