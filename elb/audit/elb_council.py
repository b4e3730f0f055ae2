"""ELB council rounds 1-4 and the methodology files under experiments/tripartite/results/ (methods mostly
unpublished: where a criterion is ambiguous, the rows say which reading they rest on and give the other's result)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from elb.audit import recompute as rc
from elb.audit.base import AGGREGATE, Audit, Check, Compare, Files, Invariant, Parsed, Reading, Where
from elb.audit.compare import UNIT
from elb.measures.rounds import (
    EMERGENCE_THRESHOLD, first_layer_reaching, intervention_criteria, position_hypotheses,
)

RESULTS = "experiments/tripartite/results"
MISTRAL = "mistral-7b"          # how rounds 1, 2 and 4 name their one model
TYPES = ("cognitive", "affective", "instrumental")
METRICS = ("d_prime", "probe_agree", "purity", "auroc")
# Round 1: claim per metric, and the published random-label value as written.
R1 = {"d_prime": ("elb-r1-dprime", "1.0"), "probe_agree": ("elb-r1-probe-agreement", "0.70"),
      "purity": ("elb-r1-purity", "0.42"), "auroc": ("elb-r1-auroc", "0.44")}
R1_LENGTH = {"d_prime": "1.77", "probe_agree": "0.79", "purity": "0.51", "auroc": "0.79"}   # length-tercile labels
ALTERNATIVE_NAMES = {"d_prime": "mean_diff_projection", "probe_agree": "probe_agreement", "purity": "clustering_purity",
                     "auroc": "auroc"}
R3_RANDOM = {"d_prime": ("elb-r3-dprime", {"tinyllama": "1.62", "phi2": "1.73", "qwen3b": "1.61"}),
             "purity": ("elb-r3-purity", {"tinyllama": "0.53", "phi2": "0.50", "qwen3b": "0.50"})}
R4_PROBABILITIES = {"cognitive": "0.915", "affective": "0.891", "instrumental": "0.844"}
N_TEXTS_R1 = 90       # first 30 triplets


class Metrics(Parsed):
    d_prime: float
    probe_agree: float
    purity: float
    auroc: float


class LengthValidation(Parsed):
    empathy: Metrics
    length: Metrics | None = None
    random: Metrics


class Pair(Parsed):
    empathy: float
    random: float


class Alternative(Parsed):
    mean_diff_projection: Pair
    probe_agreement: Pair
    clustering_purity: Pair
    auroc: Pair


class Residualized(Parsed):
    original: dict[str, float]
    residualized: dict[str, float]
    retention_avg: float


class EmergenceSummary(Parsed):
    emergence_layer: int
    peak_layer: int


class LayerEmergence(Parsed):
    layers: list[int]
    auroc_cv: list[float]
    summary: EmergenceSummary


class FormalitySummary(Parsed):
    formality_emergence: int


class EmergenceComparison(Parsed):
    formality_aurocs: list[float]
    summary: FormalitySummary


class IndependenceSummary(Parsed):
    directions_orthogonal: bool


class Independence(Parsed):
    original_auroc: float
    residualized_auroc: float
    retention: float
    cosine_empathy_formality: float
    summary: IndependenceSummary


class ModelMetrics(Parsed):
    auroc: float
    d_prime: float | None = None
    purity: float | None = None


class CrossModel(Parsed):
    model_name: str | None = None
    empathy: ModelMetrics
    random: ModelMetrics
    passes: bool | None = None


class CrossSummary(Parsed):
    models_with_empathy_structure: int | None = None
    conclusion: str | None = None
    generalization: bool | None = None


@dataclass(frozen=True)
class CrossModelFile:
    """Round 3's file: a summary, and an entry per model key (entries without metrics, e.g. errors, left out)."""

    summary: CrossSummary
    models: dict[str, CrossModel]

    @classmethod
    def parse(cls, content: dict[str, Any]) -> CrossModelFile:
        return cls(CrossSummary.model_validate(content["summary"]),
                   {k: CrossModel.model_validate(v) for k, v in content.items()
                    if k != "summary" and isinstance(v, dict) and "empathy" in v})


class ThreeWay(Parsed):
    accuracy: float
    chance: float


class EmotionSpecificity(Parsed):
    empathy_vs_emotion_auroc: float
    empathy_after_emotion_removal: float


class ThreeWayEmotion(Parsed):
    three_way_classification: ThreeWay
    emotion_specificity: EmotionSpecificity


class TokenPosition(Parsed):
    """Round 4's quartile AUROCs per label set (`<set>_by_position`), and its hypothesis table."""

    by_position: dict[str, dict[str, float]]
    hypothesis_test: dict[str, bool]

    @classmethod
    def parse(cls, content: dict[str, Any]) -> TokenPosition:
        return cls.model_validate({"hypothesis_test": content["hypothesis_test"], "by_position": {
            k.removesuffix("_by_position"): v for k, v in content.items() if k.endswith("_by_position")}})


class Condition(Parsed):
    empathy_prob: float
    predictions: list[int]


class Intervention(Parsed):
    intervention_results: dict[str, Condition]
    summary: dict[str, float]


class AurocVsCosine(Parsed):
    length_auroc: float
    empathy_auroc: float


def check_length_validation(at: Where, f: LengthValidation) -> Iterator[Check]:
    for key, (claim, random_published) in R1.items():
        empathy, random = getattr(f.empathy, key), getattr(f.random, key)
        n = N_TEXTS_R1 if key == "purity" else None
        yield Compare(claim, MISTRAL, f"empathy_{key}", empathy, at(f"empathy.{key}"), n=n)
        yield Compare(claim, MISTRAL, f"random_{key}", random, at(f"random.{key}"), published=random_published, n=n)
        if key in ("purity", "auroc"):
            for label, value in (("empathy", empathy), ("random", random)):
                yield Invariant(claim, MISTRAL, f"{label}_{key}_granularity", value, at(f"{label}.{key}"),
                                f"a {key} over the {N_TEXTS_R1} texts is a multiple of 1/n", expected=None,
                                holds=rc.is_multiple_of(value, [N_TEXTS_R1, 2 * N_TEXTS_R1, 900, 1800]) is not None)
    if f.length is None:
        return
    for key, published in R1_LENGTH.items():
        value = getattr(f.length, key)
        yield Compare("elb-r1-length-metrics", MISTRAL, f"length_{key}", value, at(f"length.{key}"),
                      published=published, n=N_TEXTS_R1 if key == "purity" else None)
        order = (getattr(f.empathy, key), value, getattr(f.random, key))
        yield Invariant("elb-r1-length-metrics", MISTRAL, f"{key}_ordering", str(order), at(f"*.{key}"),
                        "the file's conclusion: empathy > length > random", expected="empathy > length > random",
                        holds=order[0] > order[1] > order[2])


def check_alternative(at: Where, f: Alternative, first: LengthValidation) -> Iterator[Check]:
    for key, (claim, random_published) in R1.items():
        pair: Pair = getattr(f, ALTERNATIVE_NAMES[key])
        yield Compare(claim, MISTRAL, f"random_{key}_alternative_metrics", pair.random,
                      at(f"{ALTERNATIVE_NAMES[key]}.random"), published=random_published)
        for label in ("empathy", "random"):
            mine, theirs = getattr(getattr(first, label), key), getattr(pair, label)
            yield Invariant(claim, MISTRAL, f"{label}_{key}_same_in_alternative_metrics", theirs,
                            at(f"{ALTERNATIVE_NAMES[key]}.{label}"),
                            "length_validation.json and alternative_metrics.json report the same run's metrics "
                            "(identical d', agreement, purity); they must agree", expected=mine,
                            holds=abs(mine - theirs) < 1e-9)


def check_residualized(at: Where, f: Residualized) -> Iterator[Check]:
    mine = rc.retention(f.original, f.residualized)
    claim = "elb-r1-residualized-retention"
    yield Compare(claim, MISTRAL, "retention", mine, at("original / residualized"),
                  f"mean of residualized/original over {sorted(f.original)}")
    yield Invariant(claim, MISTRAL, "stored_retention", f.retention_avg / 100, at("retention_avg"),
                    "stored retention (percent) must recompute from the metrics", expected=mine,
                    holds=abs(f.retention_avg / 100 - mine) < 1e-6)


def check_layer_emergence(at: Where, f: LayerEmergence) -> Iterator[Check]:
    claim = "elb-r2-empathy-emergence"
    layer = first_layer_reaching(f.auroc_cv, EMERGENCE_THRESHOLD, f.layers)
    stored = f.summary.emergence_layer
    yield Compare(claim, MISTRAL, "auroc_at_emergence_layer",
                  f.auroc_cv[f.layers.index(layer)] if layer is not None else None, at("auroc_cv"),
                  f"first layer with AUROC >= {EMERGENCE_THRESHOLD}: {layer} (stored emergence_layer {stored}); "
                  f"min AUROC from layer 1 on {np.nanmin(f.auroc_cv[1:]):.3f}", published="0.96", span=UNIT)
    yield Invariant(claim, MISTRAL, "emergence_layer", stored, at("summary.emergence_layer"),
                    f"first layer reaching {EMERGENCE_THRESHOLD}", expected=layer, holds=layer == stored)
    peak = f.layers[int(np.nanargmax(f.auroc_cv))]
    yield Invariant(claim, MISTRAL, "peak_layer", f.summary.peak_layer, at("summary.peak_layer"),
                    "first layer of maximal AUROC", expected=peak, holds=peak == f.summary.peak_layer)


def check_emergence_comparison(at: Where, f: EmergenceComparison) -> Iterator[Check]:
    layer = first_layer_reaching(f.formality_aurocs, EMERGENCE_THRESHOLD)
    yield Compare("elb-r2-formality-emergence", MISTRAL, "formality_emergence_layer", layer, at("formality_aurocs"),
                  f"stored {f.summary.formality_emergence}")


def check_independence(at: Where, f: Independence) -> Iterator[Check]:
    retention = f.residualized_auroc / f.original_auroc
    yield Compare("elb-r2-formality-removal-retention", MISTRAL, "auroc_after_formality_removal", f.residualized_auroc,
                  at("residualized_auroc"), f"retention {retention:.3f}", span=UNIT)
    yield Invariant("elb-r2-formality-removal-retention", MISTRAL, "stored_retention", f.retention, at("retention"),
                    "retention = residualized / original AUROC", expected=retention,
                    holds=abs(retention - f.retention) < 1e-6)
    yield Compare("elb-r2-orthogonal-subspaces", MISTRAL, "cosine_empathy_formality", f.cosine_empathy_formality,
                  at("cosine_empathy_formality"), f"the file's own summary.directions_orthogonal is "
                  f"{f.summary.directions_orthogonal}")


def check_cross_model(at: Where, f: CrossModelFile) -> Iterator[Check]:
    """Round 3's per-model metrics, and its count of models with empathy structure under both readings."""
    by_d_prime, by_auroc, unknown = 0, 0, []
    for key, m in f.models.items():
        name, e, r = m.model_name or key, m.empathy, m.random
        yield Compare("elb-r3-empathy-auroc", name, "empathy_auroc", e.auroc, at(f"{key}.empathy.auroc"), span=UNIT)
        yield Compare("elb-r3-random-auroc", name, "random_auroc", r.auroc, at(f"{key}.random.auroc"), span=UNIT)
        for metric, (claim, random_published) in R3_RANDOM.items():
            if getattr(e, metric) is not None:
                yield Compare(claim, name, f"empathy_{metric}", getattr(e, metric), at(f"{key}.empathy.{metric}"))
            if getattr(r, metric) is not None and key in random_published:
                yield Compare(claim, name, f"random_{metric}", getattr(r, metric), at(f"{key}.random.{metric}"),
                              published=random_published[key])
        above = e.auroc > 0.9
        by_auroc += above and e.auroc > r.auroc
        if e.d_prime is not None and r.d_prime is not None:
            by_d_prime += above and e.d_prime > r.d_prime
        else:
            unknown.append(name)
        if m.passes is not None:
            yield Invariant("elb-r3-scale-independent", name, "per_model_passes_flag", m.passes, at(f"{key}.passes"),
                            "the summary counts this model as having empathy structure; its own passes flag must agree",
                            expected=True, holds=m.passes)
    yield Reading("elb-r3-scale-independent", AGGREGATE, "models_passing", by_d_prime, at("*.empathy / *.random"),
                  f"no random d' for {unknown}; stored {f.summary.models_with_empathy_structure}", other=by_auroc,
                  ours="AUROC > 0.9 and empathy d' above random d'",
                  theirs="AUROC > 0.9 and empathy AUROC above random AUROC (the council's 'gaps of 0.47-0.60')",
                  criterion=(">=", float(len(f.models))))  # all of the file's models


def check_cross_model_other(at: Where, other: CrossModelFile, final: CrossModelFile) -> Iterator[Check]:
    """Another round 3 file with the same numbers for a model must draw the same conclusion."""
    conclusion = str(other.summary.conclusion)
    for key, entry in other.models.items():
        if key in final.models and entry.empathy == final.models[key].empathy:
            yield Invariant("elb-r3-scale-independent", entry.model_name or key, "same_numbers_same_conclusion",
                            conclusion, at("summary"),
                            f"{at.path.name} holds identical numbers for this model but concludes {conclusion!r}",
                            expected=str(final.summary.conclusion),
                            holds=conclusion == str(final.summary.conclusion))


def check_three_way(at: Where, f: ThreeWayEmotion) -> Iterator[Check]:
    acc, emotion = f.three_way_classification.accuracy, f.emotion_specificity
    yield Compare("elb-r4-three-way-accuracy", MISTRAL, "three_way_accuracy", acc,
                  at("three_way_classification.accuracy"), span=UNIT)
    chance = f.three_way_classification.chance
    yield Invariant("elb-r4-three-way-accuracy", MISTRAL, "chance_level", chance, at("three_way_classification.chance"),
                    "chance of a balanced 3-way task is 1/3", expected=1 / 3, holds=abs(chance - 1 / 3) < 5e-4)
    yield Compare("elb-r4-emotion-specificity", MISTRAL, "empathy_vs_emotion_auroc", emotion.empathy_vs_emotion_auroc,
                  at("emotion_specificity.empathy_vs_emotion_auroc"), span=UNIT)
    yield Compare("elb-r4-emotion-removal-retention", MISTRAL, "retention_after_emotion_removal",
                  emotion.empathy_after_emotion_removal / acc, at("emotion_specificity"),
                  "after-removal accuracy / 3-way accuracy", published="100%")


def check_token_position(at: Where, f: TokenPosition) -> Iterator[Check]:
    values = {f"{k}.{q}": v for k, block in f.by_position.items() for q, v in block.items()}
    yield Compare("elb-r4-token-position", MISTRAL, "min_quartile_auroc", min(values.values()), at("*_by_position"),
                  f"{len(values)} quartile AUROCs", span=UNIT)
    recomputed = position_hypotheses(f.by_position)
    for name, stored in f.hypothesis_test.items():
        if name in recomputed:
            yield Invariant("elb-r4-position-hypotheses", MISTRAL, name, stored, at(f"hypothesis_test.{name}"),
                            "recomputed from the quartile AUROCs: a peak is a quartile strictly above the others, "
                            "'distributed' is every quartile equal", expected=recomputed[name],
                            holds=stored == recomputed[name])


def check_intervention(at: Where, f: Intervention) -> Iterator[Check]:
    results = f.intervention_results
    base = results["baseline"]
    claim = "elb-r4-causal-intervention"
    ours, theirs, reasons = 0, 0, []
    for index, name in enumerate(TYPES):
        entry = results[f"add_{name}"]
        yield Compare(claim, MISTRAL, f"empathy_prob_add_{name}", entry.empathy_prob,
                      at(f"intervention_results.add_{name}.empathy_prob"), f"baseline {base.empathy_prob}",
                      published=R4_PROBABILITIES[name], span=UNIT)
        stored = f.summary[f"{name}_increase"]
        yield Invariant(claim, MISTRAL, f"{name}_increase", stored, at(f"summary.{name}_increase"),
                        "increase = empathy_prob - baseline", expected=round(entry.empathy_prob - base.empathy_prob, 3),
                        holds=abs(entry.empathy_prob - base.empathy_prob - stored) < 1e-6)
        published, mine = intervention_criteria(base.empathy_prob, np.array(base.predictions), entry.empathy_prob,
                                                np.array(entry.predictions), index)
        ours, theirs = ours + mine, theirs + published
        if np.sum(np.array(base.predictions) == index) > len(base.predictions) / 2:
            reasons.append(f"add_{name}: class {index} was already the majority before the intervention")
    yield Reading(claim, MISTRAL, "criteria_met", ours, at("intervention_results"),
                  "; ".join(reasons) + f"; stored {f.summary['criteria_met']:g}", published="6", other=theirs,
                  ours="empathy_prob rises, and the majority prediction becomes the added type when it was not already",
                  theirs="empathy_prob rises, and the majority prediction is the added type")


def check_auroc_vs_cosine(at: Where, f: AurocVsCosine) -> Iterator[Check]:
    claim = "elb-p2-length-vs-cosine-auroc"
    yield Compare(claim, MISTRAL, "length_auroc", f.length_auroc, at("length_auroc"), span=UNIT)
    yield Compare(claim, MISTRAL, "empathy_auroc", f.empathy_auroc, at("empathy_auroc"), published="1.0", span=UNIT)


Builder = Callable[[Where, Any], Iterator[Check]]
# (file under RESULTS, claims it feeds, parser, checks) for the files read on their own
FILES: list[tuple[str, tuple[str, ...], Callable[[Any], Any], Builder]] = [
    ("residualized_empathy.json", ("elb-r1-residualized-retention",), Residualized.model_validate, check_residualized),
    ("layer_emergence.json", ("elb-r2-empathy-emergence",), LayerEmergence.model_validate, check_layer_emergence),
    ("emergence_comparison.json", ("elb-r2-formality-emergence",), EmergenceComparison.model_validate,
     check_emergence_comparison),
    ("empathy_independence.json", ("elb-r2-formality-removal-retention", "elb-r2-orthogonal-subspaces"),
     Independence.model_validate, check_independence),
    ("cycle1_3way_emotion.json", ("elb-r4-three-way-accuracy", "elb-r4-emotion-specificity",
                                  "elb-r4-emotion-removal-retention"),
     ThreeWayEmotion.model_validate, check_three_way),
    ("cycle2_token_position.json", ("elb-r4-token-position", "elb-r4-position-hypotheses"), TokenPosition.parse,
     check_token_position),
    ("cycle3_intervention.json", ("elb-r4-causal-intervention",), Intervention.model_validate, check_intervention),
    ("auroc_vs_cosine.json", ("elb-p2-length-vs-cosine-auroc",), AurocVsCosine.model_validate, check_auroc_vs_cosine),
]
R1_CLAIMS = tuple(claim for claim, _ in R1.values()) + ("elb-r1-length-metrics",)
R3_CLAIMS = ("elb-r3-empathy-auroc", "elb-r3-random-auroc", "elb-r3-dprime", "elb-r3-purity",
             "elb-r3-scale-independent")


def audit(a: Audit) -> None:
    for name, claims, parse, build in FILES:
        a.each(Files((f"{RESULTS}/{name}",), claims, parse, model=MISTRAL, required=True), build)
    for first in a.each(Files((f"{RESULTS}/length_validation.json",), R1_CLAIMS, LengthValidation.model_validate,
                              model=MISTRAL, required=True), check_length_validation):
        a.each(Files((f"{RESULTS}/alternative_metrics.json",), R1_CLAIMS[:4], Alternative.model_validate, model=MISTRAL,
                     required=True), lambda at, f: check_alternative(at, f, first))
    final_name = "cross_model_final.json"
    for final in a.each(Files((f"{RESULTS}/{final_name}",), R3_CLAIMS, CrossModelFile.parse, model=AGGREGATE,
                              required=True), check_cross_model):
        a.each(Files((f"{RESULTS}/cross_model_*.json",), ("elb-r3-scale-independent",), CrossModelFile.parse,
                     model=AGGREGATE, exclude=(final_name,)), lambda at, f: check_cross_model_other(at, f, final))
    claims = [c for _, cs, _, _ in FILES for c in cs] + list(R1_CLAIMS) + list(R3_CLAIMS)
    a.missing(claims, f"{RESULTS}/*.json")
