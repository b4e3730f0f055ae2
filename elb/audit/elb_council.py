"""ELB council rounds 1-4: metric files under experiments/tripartite/results/ (methods mostly unpublished)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from elb.audit import recompute as rc
from elb.audit.base import AGGREGATE, Audit
from elb.audit.files import field, mapping, number, numbers

RESULTS = "experiments/tripartite/results"
MISTRAL = "mistral-7b"          # how rounds 1, 2 and 4 name their one model
R1 = {"elb-r1-dprime": ("d_prime", 12.1, 1.0), "elb-r1-probe-agreement": ("probe_agree", 0.96, 0.70),
      "elb-r1-purity": ("purity", 0.97, 0.42), "elb-r1-auroc": ("auroc", 1.0, 0.44)}
R3_RANDOM = {"elb-r3-dprime": ("d_prime", {"tinyllama": 1.62, "phi2": 1.73, "qwen3b": 1.61}),
             "elb-r3-purity": ("purity", {"tinyllama": 0.53, "phi2": 0.50, "qwen3b": 0.50})}
ALL = list(R1) + ["elb-r1-residualized-retention", "elb-r2-empathy-emergence", "elb-r2-formality-emergence",
                  "elb-r2-formality-removal-retention", "elb-r2-orthogonal-subspaces", "elb-r3-empathy-auroc",
                  "elb-r3-random-auroc", "elb-r3-dprime", "elb-r3-purity", "elb-r3-scale-independent",
                  "elb-r4-three-way-accuracy", "elb-r4-emotion-specificity", "elb-r4-token-position",
                  "elb-r4-causal-intervention"]
EMERGENCE_THRESHOLD = 0.9
N_TEXTS_R1 = 90       # first 30 triplets


def audit_length_validation(a: Audit, path: Path, data: dict) -> None:
    for claim, (key, _, random_published) in R1.items():
        empathy, random = number(data, f"empathy.{key}", str(path)), number(data, f"random.{key}", str(path))
        a.compare(claim, MISTRAL, f"empathy_{key}", empathy, a.source(path, f"empathy.{key}"),
                  decimals=2 if key != "d_prime" else 1)
        a.compare(claim, MISTRAL, f"random_{key}", random, a.source(path, f"random.{key}"),
                  published=random_published, decimals=2 if key != "d_prime" else 1)
        if key in ("purity", "auroc"):
            for label, value in (("empathy", empathy), ("random", random)):
                a.invariant(claim, MISTRAL, f"{label}_{key}_granularity", None, value,
                            rc.is_multiple_of(value, [N_TEXTS_R1, 2 * N_TEXTS_R1, 30 * 30, 60 * 30]) is not None,
                            a.source(path, f"{label}.{key}"), f"a {key} over the {N_TEXTS_R1} texts is a multiple of 1/n")
    a.each(f"{RESULTS}/alternative_metrics.json", list(R1),
           lambda a, path, other: audit_alternative_metrics(a, path, other, data), model=MISTRAL, required=True)


def audit_alternative_metrics(a: Audit, alternative: Path, other: dict, data: dict) -> None:
    for claim, (key, _, _) in R1.items():
        name = {"d_prime": "mean_diff_projection", "probe_agree": "probe_agreement", "purity": "clustering_purity",
                "auroc": "auroc"}[key]
        a.compare(claim, MISTRAL, f"random_{key}_alternative_metrics", number(other, f"{name}.random", ""),
                  a.source(alternative, f"{name}.random"), published=R1[claim][2],
                  decimals=2 if key != "d_prime" else 1)
        for label in ("empathy", "random"):
            mine, theirs = number(data, f"{label}.{key}", ""), number(other, f"{name}.{label}", "")
            a.invariant(claim, MISTRAL, f"{label}_{key}_same_in_alternative_metrics", mine, theirs,
                        abs(mine - theirs) < 1e-9, a.source(alternative, f"{name}.{label}"),
                        "length_validation.json and alternative_metrics.json report the same run's metrics "
                        "(identical d', agreement, purity); they must agree")


def audit_residualized_empathy(a: Audit, path: Path, data: dict) -> None:
    original = {k: float(v) for k, v in mapping(data, "original", "").items()}
    after = {k: float(v) for k, v in mapping(data, "residualized", "").items()}
    mine = rc.retention(original, after)
    a.compare("elb-r1-residualized-retention", MISTRAL, "retention", mine, a.source(path, "original / residualized"),
              f"mean of residualized/original over {sorted(original)}", decimals=2)
    stored = number(data, "retention_avg", "") / 100
    a.invariant("elb-r1-residualized-retention", MISTRAL, "stored_retention", mine, stored, abs(stored - mine) < 1e-6,
                a.source(path, "retention_avg"), "stored retention (percent) must recompute from the metrics")


def audit_layer_emergence(a: Audit, path: Path, data: dict) -> None:
    values = numbers(field(data, "auroc_cv", ""), "auroc_cv")
    layers = [int(x) for x in field(data, "layers", "")]
    layer = rc.first_layer_reaching(values, EMERGENCE_THRESHOLD, layers)
    stored = int(number(data, "summary.emergence_layer", ""))
    a.compare("elb-r2-empathy-emergence", MISTRAL, "auroc_at_emergence_layer",
              float(values[layers.index(layer)]) if layer is not None else None, a.source(path, "auroc_cv"),
              f"first layer with AUROC >= {EMERGENCE_THRESHOLD}: {layer} (stored emergence_layer {stored}); "
              f"min AUROC from layer 1 on {np.nanmin(values[1:]):.3f}", decimals=2)
    a.invariant("elb-r2-empathy-emergence", MISTRAL, "emergence_layer", layer, stored, layer == stored,
                a.source(path, "summary.emergence_layer"), f"first layer reaching {EMERGENCE_THRESHOLD}")
    peak = int(layers[int(np.nanargmax(values))])
    a.invariant("elb-r2-empathy-emergence", MISTRAL, "peak_layer", peak, int(number(data, "summary.peak_layer", "")),
                peak == int(number(data, "summary.peak_layer", "")), a.source(path, "summary.peak_layer"),
                "first layer of maximal AUROC")


def audit_emergence_comparison(a: Audit, path: Path, data: dict) -> None:
    values = numbers(field(data, "formality_aurocs", ""), "formality_aurocs")
    layer = rc.first_layer_reaching(values, EMERGENCE_THRESHOLD)
    a.compare("elb-r2-formality-emergence", MISTRAL, "formality_emergence_layer", layer,
              a.source(path, "formality_aurocs"), f"stored {number(data, 'summary.formality_emergence', '')}", decimals=0)


def audit_empathy_independence(a: Audit, path: Path, data: dict) -> None:
    original, after = number(data, "original_auroc", ""), number(data, "residualized_auroc", "")
    a.compare("elb-r2-formality-removal-retention", MISTRAL, "auroc_after_formality_removal", after,
              a.source(path, "residualized_auroc"), f"retention {after / original:.3f}", decimals=3)
    a.invariant("elb-r2-formality-removal-retention", MISTRAL, "stored_retention", after / original,
                number(data, "retention", ""), abs(after / original - number(data, "retention", "")) < 1e-6,
                a.source(path, "retention"), "retention = residualized / original AUROC")
    cos = number(data, "cosine_empathy_formality", "")
    flag = field(data, "summary.directions_orthogonal", "")
    a.compare("elb-r2-orthogonal-subspaces", MISTRAL, "cosine_empathy_formality", cos,
              a.source(path, "cosine_empathy_formality"),
              f"orthogonal directions have cosine 0; the file stores {cos:.3f} and summary.directions_orthogonal = {flag}",
              decimals=2)


def audit_cross_model_final(a: Audit, final: Path, data: dict) -> None:
    """Round 3's per-model metrics, and its count of models with empathy structure, recomputed."""
    passing = 0
    unknown = []
    for key, entry in data.items():
        if key == "summary" or not isinstance(entry, dict) or "empathy" not in entry:
            continue
        name = str(entry.get("model_name", key))
        e, r = mapping(entry, "empathy", key), mapping(entry.get("random", {}), "", f"{key}.random")
        a.compare("elb-r3-empathy-auroc", name, "empathy_auroc", number(e, "auroc", ""), a.source(final, f"{key}.empathy.auroc"),
                  decimals=3)
        a.compare("elb-r3-random-auroc", name, "random_auroc", number(r, "auroc", ""), a.source(final, f"{key}.random.auroc"),
                  decimals=2)
        for claim, (metric, random_published) in R3_RANDOM.items():
            if metric in e:
                a.compare(claim, name, f"empathy_{metric}", number(e, metric, ""), a.source(final, f"{key}.empathy.{metric}"),
                          decimals=2)
            if metric in r and key in random_published:
                a.compare(claim, name, f"random_{metric}", number(r, metric, ""), a.source(final, f"{key}.random.{metric}"),
                          published=random_published[key], decimals=2)
        above = number(e, "auroc", "") > 0.9
        if "d_prime" in r:
            beats = number(e, "d_prime", "") > number(r, "d_prime", "")
            passing += above and beats
        else:
            unknown.append(name)
        if "passes" in entry:
            a.invariant("elb-r3-scale-independent", name, "per_model_passes_flag", True, bool(entry["passes"]),
                        bool(entry["passes"]), a.source(final, f"{key}.passes"),
                        "the summary counts this model as having empathy structure, but its own passes flag is False")
    stored = number(data, "summary.models_with_empathy_structure", "")
    a.compare("elb-r3-scale-independent", AGGREGATE, "models_passing", passing, a.source(final, "*.empathy / *.random"),
              f"models with AUROC > 0.9 and empathy d' > random d' ({passing}); no random d' for {unknown}; "
              f"stored {stored:g}", decimals=0)
    a.each(f"{RESULTS}/cross_model_*.json", ["elb-r3-scale-independent"],
           lambda a, path, other: audit_cross_model_other(a, path, other, data), exclude=(final.name,))


def audit_cross_model_other(a: Audit, path: Path, other: dict, data: dict) -> None:
    """Another round 3 file with the same numbers for a model must draw the same conclusion."""
    summary = mapping(other, "summary", a.repo.rel(path))
    conclusion = str(summary.get("conclusion", summary.get("generalization")))
    for key, entry in other.items():
        if key in data and isinstance(entry, dict) and "empathy" in entry and entry.get("empathy") == data[key].get("empathy"):
            a.invariant("elb-r3-scale-independent", str(entry.get("model_name", key)), "same_numbers_same_conclusion",
                        str(data["summary"].get("conclusion")), conclusion,
                        conclusion == str(data["summary"].get("conclusion")), a.source(path, "summary"),
                        f"{path.name} holds identical numbers for this model but concludes {conclusion!r}")


def audit_cycle1_3way_emotion(a: Audit, path: Path, data: dict) -> None:
    acc = number(data, "three_way_classification.accuracy", "")
    a.compare("elb-r4-three-way-accuracy", MISTRAL, "three_way_accuracy", acc,
              a.source(path, "three_way_classification.accuracy"), decimals=3)
    chance = number(data, "three_way_classification.chance", "")
    a.invariant("elb-r4-three-way-accuracy", MISTRAL, "chance_level", 1 / 3, chance, abs(chance - 1 / 3) < 5e-4,
                a.source(path, "three_way_classification.chance"), "chance of a balanced 3-way task is 1/3")
    auroc = number(data, "emotion_specificity.empathy_vs_emotion_auroc", "")
    a.compare("elb-r4-emotion-specificity", MISTRAL, "empathy_vs_emotion_auroc", auroc,
              a.source(path, "emotion_specificity.empathy_vs_emotion_auroc"), decimals=3)
    kept = number(data, "emotion_specificity.empathy_after_emotion_removal", "") / acc
    a.compare("elb-r4-emotion-specificity", MISTRAL, "retention_after_emotion_removal", kept,
              a.source(path, "emotion_specificity"), "after-removal accuracy / 3-way accuracy", published=1.0, decimals=3)


def audit_cycle2_token_position(a: Audit, path: Path, data: dict) -> None:
    values = {f"{k}.{q}": float(v) for k, block in data.items() if k.endswith("_by_position") for q, v in block.items()}
    a.compare("elb-r4-token-position", MISTRAL, "min_quartile_auroc", min(values.values()),
              a.source(path, "*_by_position"), f"{len(values)} quartile AUROCs", decimals=3)
    tests = field(data, "hypothesis_test", "")
    flat = {t: len({values[k] for k in values if k.startswith(t)}) == 1 for t in ("cognitive", "affective", "instrumental")}
    claimed_peak = bool(tests.get("cognitive_peaks_early"))
    a.invariant("elb-r4-token-position", MISTRAL, "hypothesis_labels_match_values", False, claimed_peak,
                not (claimed_peak and flat["cognitive"]), a.source(path, "hypothesis_test.cognitive_peaks_early"),
                "cognitive AUROC is identical in every quartile, so it cannot 'peak early' (and conclusions say "
                "no positional specificity)")


def audit_cycle3_intervention(a: Audit, path: Path, data: dict) -> None:
    results = field(data, "intervention_results", "")
    base = number(results, "baseline.empathy_prob", "")
    for name in ("cognitive", "affective", "instrumental"):
        entry = results[f"add_{name}"]
        prob = number(entry, "empathy_prob", "")
        published = {"cognitive": 0.915, "affective": 0.891, "instrumental": 0.844}[name]
        a.compare("elb-r4-causal-intervention", MISTRAL, f"empathy_prob_add_{name}", prob,
                  a.source(path, f"intervention_results.add_{name}.empathy_prob"), f"baseline {base}", published=published,
                  decimals=3)
        stored = number(data, f"summary.{name}_increase", "")
        a.invariant("elb-r4-causal-intervention", MISTRAL, f"{name}_increase", round(prob - base, 3), stored,
                    abs(prob - base - stored) < 1e-6, a.source(path, f"summary.{name}_increase"),
                    "increase = empathy_prob - baseline")
    base_pred = [int(x) for x in field(results, "baseline.predictions", "")]
    met = 0
    reasons = []
    for index, name in enumerate(("cognitive", "affective", "instrumental")):
        entry = results[f"add_{name}"]
        met += number(entry, "empathy_prob", "") > base
        preds = [int(x) for x in entry["predictions"]]
        targets = sum(p == index for p in preds) > len(preds) / 2 and sum(p == index for p in base_pred) <= len(base_pred) / 2
        met += targets
        if not targets:
            reasons.append(f"add_{name}: predictions {preds} vs baseline {base_pred} (class {index} already "
                           "predicted before the intervention)" if sum(p == index for p in base_pred) > len(base_pred) / 2
                           else f"add_{name}: predictions {preds}")
    stored = number(data, "summary.criteria_met", "")
    a.compare("elb-r4-causal-intervention", MISTRAL, "criteria_met", met, a.source(path, "intervention_results"),
              "criteria: empathy_prob rises, and the majority prediction becomes the added type (class index in "
              f"cognitive/affective/instrumental order) when it was not already; {'; '.join(reasons)}; stored {stored:g}",
              published=6, decimals=0)


# (file under RESULTS, claims it feeds, its auditor) for every file the rounds read
FILES: list[tuple[str, list[str], Callable[[Audit, Path, dict], None]]] = [
    ("length_validation.json", list(R1), audit_length_validation),
    ("residualized_empathy.json", ["elb-r1-residualized-retention"], audit_residualized_empathy),
    ("layer_emergence.json", ["elb-r2-empathy-emergence"], audit_layer_emergence),
    ("emergence_comparison.json", ["elb-r2-formality-emergence"], audit_emergence_comparison),
    ("empathy_independence.json", ["elb-r2-formality-removal-retention", "elb-r2-orthogonal-subspaces"],
     audit_empathy_independence),
    ("cross_model_final.json", ALL[9:14], audit_cross_model_final),
    ("cycle1_3way_emotion.json", ["elb-r4-three-way-accuracy", "elb-r4-emotion-specificity"],
     audit_cycle1_3way_emotion),
    ("cycle2_token_position.json", ["elb-r4-token-position"], audit_cycle2_token_position),
    ("cycle3_intervention.json", ["elb-r4-causal-intervention"], audit_cycle3_intervention),
]


def audit(a: Audit) -> None:
    for name, claims, auditor in FILES:
        a.each(f"{RESULTS}/{name}", claims, auditor, model=AGGREGATE if name.startswith("cross_model") else MISTRAL,
               required=True)
    a.missing(ALL, f"{RESULTS}/*.json")
