"""Judge every registered claim from stored artifacts: the one code path behind the report stage and `pytest claims/`."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from elb.artifacts import read_measurements, read_seed_spread
from elb.claims.across import judge_across
from elb.claims.model import Claim
from elb.claims.registry import load_registry
from elb.claims.tolerance import Tolerance, derive_tolerance
from elb.claims.verdict import VERDICTS, Verdict, judge
from elb.config import Params
from elb.datasets.eip import PAIR_FILES
from elb.datasets.spec import TRIPLETS
from elb.measures.catalogue import DATASET_QUANTITIES, known_quantities
from elb.measures.measurement import Measurement
from elb.provenance import MeasurementProvenance


BUNDLED = Path(__file__).resolve().parents[2] / "data" / "bundled"
EIP_MEASUREMENTS = ("eip/measurements.json", "eip/steering_measurements.json")  # under the model's folder
EIP_SPREAD = "eip/seed_spread.json"
COUNCIL_MEASUREMENTS = "council/measurements.json"  # council rounds 2 and 4 (their own stages)
PHASE1_MEASUREMENTS = "phase1/measurements.json"  # ELB Phase 1 (its own stages)
PHASE1_SPREAD = "phase1/seed_spread.json"


def dataset_label(data_dir: Path, hashes: dict[str, str]) -> str:
    """Which data a verdict stands on: our bundled set or another folder, with the triplet file's sha256."""
    kind = ("bundled (our own writing, length-balanced)" if Path(data_dir).resolve() == BUNDLED
            else f"folder {data_dir}")
    digest = hashes.get(TRIPLETS.filename, "unknown")
    return f"{kind}; {TRIPLETS.filename} sha256 {digest[:12]}"


def eip_dataset_label(data_dir: Path, hashes: dict[str, str]) -> str:
    """Which EIP data a verdict stands on, with the train pairs' sha256."""
    kind = ("bundled EIP set (our own writing, length-balanced)" if Path(data_dir).resolve() == BUNDLED / "eip"
            else f"EIP folder {data_dir}")
    digest = next((h for f, h in hashes.items() if f.endswith(str(PAIR_FILES["train"]))), "unknown")
    return f"{kind}; train_pairs.jsonl sha256 {digest[:12]}"


@dataclass(frozen=True)
class Judgement:
    """Every claim with its verdict, for one model's measurements and one dataset."""

    claims: list[Claim]
    verdicts: list[Verdict]
    provenance: MeasurementProvenance
    dataset: str
    measurements: dict[str, Measurement]
    eip_provenance: tuple[MeasurementProvenance, ...] = ()  # one per EIP measurement file
    council_provenance: MeasurementProvenance | None = None  # the council rounds 2 and 4 file, when present
    phase1_provenance: MeasurementProvenance | None = None  # the ELB Phase 1 file, when present

    @property
    def model(self) -> str:
        return self.provenance.activations.model.model

    def counts(self) -> dict[str, int]:
        found = Counter(v.verdict for v in self.verdicts)
        return {name: found.get(name, 0) for name in VERDICTS}

    def summary_line(self) -> str:
        return f"claims on {self.model}: " + ", ".join(f"{n} {name}" for name, n in self.counts().items())


def _tolerance(claim: Claim, spread: dict[str, list[float]], params: Params) -> Tolerance | None:
    if claim.decide_by != "prediction" or claim.quantity not in spread:
        return None
    return derive_tolerance(spread[claim.quantity], params.claims.prediction_confidence, claim.decimals)


def judge_all(params: Params) -> Judgement:
    """One model of the grid (params narrowed with `for_model`): load the registry (checked against the catalogue),
    its measurements and seed spread; judge each claim (a cross-model claim: SKIPPED here, see `judge_grid`)."""
    claims = load_registry(quantities=known_quantities(params))
    folder = params.model_dir
    measurements, provenance = read_measurements(folder / "measurements.json")
    report_path = params.artifacts_dir / "dataset_report.json"
    if report_path.exists():  # absent: its quantities are missing, so their claims get ERROR with that reason
        report = json.loads(report_path.read_text(encoding="utf-8"))
        measurements |= {q: d.read(report, params) for q, d in DATASET_QUANTITIES.items()}
    eip_provenance = []
    for name in EIP_MEASUREMENTS:  # absent: their claims get ERROR naming the missing quantity
        if (folder / name).exists():
            found, made = read_measurements(folder / name)
            measurements |= found
            eip_provenance.append(made)
    council_provenance, phase1_provenance = (_stage_file(folder / name, measurements)
                                             for name in (COUNCIL_MEASUREMENTS, PHASE1_MEASUREMENTS))
    spread = {quantity: values for name in ("seed_spread.json", EIP_SPREAD, PHASE1_SPREAD)
              for quantity, values in read_seed_spread(folder / name).items()}
    model = provenance.activations.model.model
    dataset = dataset_label(params.data_dir, provenance.activations.data)
    eip_data = eip_dataset_label(params.eip.data_dir, eip_provenance[0].activations.data if eip_provenance else {})
    verdicts = [judge(c, measurements, model, _tolerance(c, spread, params), eip_data if c.study == "EIP" else dataset)
                for c in claims]
    return Judgement(claims, verdicts, provenance, dataset, measurements, tuple(eip_provenance), council_provenance,
                     phase1_provenance)


@dataclass(frozen=True)
class Grid:
    """A run: every model of the grid judged (in params order), and the cross-model claims judged over them."""

    keys: list[str]
    judgements: list[Judgement]
    across: list[Verdict]

    def counts(self) -> dict[str, dict[str, int]]:
        found = Counter(v.verdict for v in self.across)
        return {**{key: j.counts() for key, j in zip(self.keys, self.judgements)},
                "across models": {name: found.get(name, 0) for name in VERDICTS}}

    def summary_line(self) -> str:
        return "\n".join(j.summary_line() for j in self.judgements) + "\nacross models: " + ", ".join(
            f"{n} {name}" for name, n in self.counts()["across models"].items())


def judge_grid(params: Params) -> Grid:
    """Every model of params' grid, then each cross-model claim over the models (by model name)."""
    keys = list(params.models)
    judgements = [judge_all(params.for_model(key)) for key in keys]
    names = [j.model for j in judgements]
    runs = {(name if names.count(name) == 1 else f"{name} ({key})"): j.measurements
            for key, name, j in zip(keys, names, judgements)}
    first = judgements[0]
    across = [judge_across(claim, runs, verdict.dataset) for claim, verdict in zip(first.claims, first.verdicts)
              if claim.scope == "cross_model" and claim.quantity]
    return Grid(keys, judgements, across)


def _stage_file(path: Path, measurements: dict[str, Measurement]) -> MeasurementProvenance | None:
    """Add a stage's measurements when its file exists (absent: its claims get ERROR naming the quantity)."""
    if not path.exists():
        return None
    found, made = read_measurements(path)
    measurements |= found
    return made
