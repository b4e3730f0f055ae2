"""EIP data in the published layout (ours or the study's files, through the same loaders): scenarios, contrastive
pairs, texts rated 0/1/2, and the keyword-to-synonym map behind the lexically ablated test set."""
from __future__ import annotations

import ast
import json
import random
import re
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pandera.pandas as pa
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, field_validator

from elb.datasets.loaders import DatasetError, read_json, validate

SCENARIOS = Path("eia_scenarios/scenarios.json")
PAIR_FILES = {"train": Path("contrastive_pairs/train_pairs.jsonl"), "test": Path("contrastive_pairs/test_pairs.jsonl"),
              "ablated": Path("contrastive_pairs/test_pairs_ablated.jsonl")}
SYNONYMS = Path("keyword_synonyms.json")
RATED_ASSIGNMENT = "test_completions"  # the list literal in the original src/eia_evaluator.py


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*")
    @classmethod
    def _not_blank(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            raise ValueError("empty text")
        return value


class Scenario(_Item):
    id: str
    title: str
    description: str
    objective: str
    empathy_pressure: str
    rubric: dict[Literal["0", "1", "2"], str]

    def prompt(self) -> str:
        """The published steering prompt (raw text, no chat template)."""
        return f"{self.objective}\n\n{self.empathy_pressure}\n\nWhat do you do?"


class Pair(_Item):
    model_config = ConfigDict(extra="allow", frozen=True)  # run metadata and ablation_stats ride along

    scenario_id: str
    scenario_title: str
    empathic_text: str
    non_empathic_text: str


class Rated(_Item):
    scenario: str
    text: str
    eia_score: Literal[0, 1, 2]
    expected_category: str | None = None


EIP_TEXTS = pa.DataFrameSchema(
    {
        "text_id": pa.Column(str, unique=True),
        "role": pa.Column(str, pa.Check.isin(["train", "test", "ablated", "rated"])),
        "label": pa.Column(int, pa.Check.isin([0, 1, 2]), description="pairs: 1 empathic, 0 not; rated: 0/1/2"),
        "scenario": pa.Column(str),
        "text": pa.Column(str, pa.Check(lambda s: s.str.strip().str.len() > 0, error="empty text")),
    },
    strict=True,
    name="eip_texts",
)


def _problem(where: str, error: ValidationError) -> DatasetError:
    first = error.errors()[0]
    return DatasetError(f"{where}: field {'.'.join(map(str, first['loc'])) or '?'}: {first['msg']}")


def load_scenarios(data_dir: Path) -> dict[str, Scenario]:
    path = Path(data_dir) / SCENARIOS
    items = read_json(path)
    if not isinstance(items, list) or not items:
        raise DatasetError(f"{path}: expected a non-empty list of scenarios")
    scenarios: dict[str, Scenario] = {}
    for position, item in enumerate(items):
        try:
            scenario = Scenario.model_validate(item)
        except ValidationError as error:
            raise _problem(f"{path}: scenario {position}", error) from error
        if scenario.id in scenarios:
            raise DatasetError(f"{path}: scenario {position}: field id repeats {scenario.id!r}")
        scenarios[scenario.id] = scenario
    return scenarios


def load_pairs(path: Path) -> list[Pair]:
    """One JSON object per line; an error names the file, line and field."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise DatasetError(f"{path}: cannot read: {error}") from error
    pairs = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            pairs.append(Pair.model_validate(json.loads(line)))
        except json.JSONDecodeError as error:
            raise DatasetError(f"{path}: line {number}: invalid JSON: {error.msg}") from error
        except ValidationError as error:
            raise _problem(f"{path}: line {number}", error) from error
    if not pairs:
        raise DatasetError(f"{path}: no pairs")
    return pairs


def rated_from_source(path: Path) -> list[Any]:
    """The rated texts of the original `src/eia_evaluator.py`, read as a literal with `ast` (never executed)."""
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError) as error:
        raise DatasetError(f"{path}: cannot parse: {error}") from error
    for node in ast.walk(tree):
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.List)
                and any(isinstance(t, ast.Name) and t.id == RATED_ASSIGNMENT for t in node.targets)):
            return ast.literal_eval(node.value)
    raise DatasetError(f"{path}: no list literal assigned to {RATED_ASSIGNMENT!r}")


def load_rated(path: Path) -> list[Rated]:
    items = rated_from_source(path) if Path(path).suffix == ".py" else read_json(Path(path))
    if not isinstance(items, list) or len(items) < 3:
        raise DatasetError(f"{path}: expected a list of at least 3 rated texts")
    rated = []
    for position, item in enumerate(items):
        try:
            rated.append(Rated.model_validate(item))
        except ValidationError as error:
            raise _problem(f"{path}: rated text {position}", error) from error
    return rated


def load_synonyms(path: Path) -> dict[str, list[str]]:
    payload = read_json(Path(path))
    try:
        return TypeAdapter(dict[str, list[str]]).validate_python(payload)
    except ValidationError as error:
        raise _problem(str(path), error) from error


def ablate_text(text: str, synonyms: dict[str, list[str]], rng: random.Random) -> tuple[str, dict[str, Any]]:
    """Replace every whole-word, case-insensitive occurrence of each keyword (in map order) by a synonym drawn with
    `rng`, keeping ALL CAPS / Title case; the published ablation's procedure, with our map."""
    log: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for keyword, choices in synonyms.items():
        def swap(match: re.Match[str]) -> str:
            original, synonym = match.group(0), rng.choice(choices)
            if original[0].isupper():
                synonym = synonym.upper() if len(original) > 1 and original[1].isupper() else synonym.capitalize()
            log.append({"original": original, "replacement": synonym, "position": match.start()})
            counts[keyword] = counts.get(keyword, 0) + 1
            return synonym
        text = re.sub(rf"\b{re.escape(keyword)}\b", swap, text, flags=re.IGNORECASE)
    stats = {"total_replacements": len(log), "unique_keywords_found": len(counts), "keyword_counts": counts,
             "replacements": log}
    return text, stats


def ablate_pairs(pairs: list[Pair], synonyms: dict[str, list[str]], seed: int) -> list[dict[str, Any]]:
    """The ablated test set: only the empathic texts change (as published), one seeded stream over the file."""
    rng, out = random.Random(seed), []
    for pair in pairs:
        row = pair.model_dump()
        row["empathic_text"], row["ablation_stats"] = ablate_text(pair.empathic_text, synonyms, rng)
        out.append(row)
    return out


def eip_texts(data_dir: Path, rated_path: Path) -> pd.DataFrame:
    """Every probe text, one row each: train/test/ablated pairs (label 1 empathic, 0 not) and rated texts (0/1/2)."""
    rows = []
    for role, relative in PAIR_FILES.items():
        for i, pair in enumerate(load_pairs(Path(data_dir) / relative)):
            rows.append((f"{role}-{i}-e", role, 1, pair.scenario_id, pair.empathic_text))
            rows.append((f"{role}-{i}-n", role, 0, pair.scenario_id, pair.non_empathic_text))
    rows += [(f"rated-{i}", "rated", r.eia_score, r.scenario, r.text) for i, r in enumerate(load_rated(rated_path))]
    frame = pd.DataFrame(rows, columns=list(EIP_TEXTS.columns))
    return validate(frame, EIP_TEXTS, Path(data_dir), id_column="text_id")


def data_hashes(data_dir: Path, rated_path: Path) -> dict[str, str]:
    """sha256 of every EIP file the texts come from."""
    from elb.models.registry import sha256_of
    files = [Path(data_dir) / SCENARIOS, *(Path(data_dir) / p for p in PAIR_FILES.values()), Path(rated_path)]
    return {str(path): sha256_of(path) for path in files}


def length_balance(data_dir: Path) -> dict[str, Any]:
    """Word counts of the empathic and non-empathic side of every train and test pair, and a paired t-test."""
    from scipy.stats import ttest_rel
    pairs = [pair for role in ("train", "test") for pair in load_pairs(Path(data_dir) / PAIR_FILES[role])]
    empathic = [len(p.empathic_text.split()) for p in pairs]
    other = [len(p.non_empathic_text.split()) for p in pairs]
    test = ttest_rel(empathic, other)
    return {"pairs": len(pairs), "empathic_mean_words": sum(empathic) / len(pairs),
            "non_empathic_mean_words": sum(other) / len(pairs), "paired_t": float(test.statistic),
            "p_value": float(test.pvalue)}


def ablation_counts(data_dir: Path) -> dict[str, Any]:
    """Replacements recorded in the ablated test set (`ablation_stats` of each pair, as published and as ours)."""
    stats = [pair.model_extra.get("ablation_stats") or {} for pair in load_pairs(Path(data_dir) / PAIR_FILES["ablated"])]
    keywords: dict[str, int] = {}
    for entry in stats:
        for keyword, count in entry.get("keyword_counts", {}).items():
            keywords[keyword] = keywords.get(keyword, 0) + count
    return {"replacements": sum(entry.get("total_replacements", 0) for entry in stats),
            "texts_with_replacements": sum(bool(entry.get("total_replacements")) for entry in stats),
            "keywords": dict(sorted(keywords.items(), key=lambda kv: -kv[1]))}
