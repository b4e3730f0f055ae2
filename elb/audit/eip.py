"""EIP: probe validation files, probe direction .npy files, random baseline, lexical ablation, behavioural
correlation and steering generations (scored with the published keyword rule)."""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from elb.audit import recompute as rc
from elb.audit.base import AGGREGATE, Audit
from elb.audit.files import AuditFileError, field, mapping, number, numbers
from elb.audit.rows import DISCREPANT, REPRODUCED
from elb.models.published import PUBLISHED

PHI3 = "phi3"                    # the name of the files that name no model (Phi-3's)
LAYERS = {8, 12, 16, 20, 24}
N_TEST = 15                      # test pairs: 15 empathic x 15 non-empathic texts
README_ALPHAS = {-20.0, -10.0, -5.0, 0.0, 5.0, 10.0, 20.0}
STEERING = ("results/**/*_steering_multilayer.json", "results/**/phi3_steering_complete_*.json",
            "results/steering_comprehensive.json")
VALIDATION = "results/validation_auroc.json"
MODEL_PROBES = "results/cross_model_validation/*_results.json"
COMBINED_PROBES = "results/cross_model_validation/all_models_results.json"
DIRECTIONS = ("results/**/*_probe.npy", "results/probes/empathy_direction_layer_*.npy")
PROBE_CLAIMS = ["eip-probe-auroc", "eip-probe-best-layer"]
ABLATED_PAIRS = "data/contrastive_pairs/test_pairs_ablated.jsonl"
TEST_PAIRS = "data/contrastive_pairs/test_pairs.jsonl"
COHERENT_ENOUGH = 0.8          # our declared reading of "maintains coherence"
CLAIMS = ["eip-probe-auroc", "eip-probe-best-layer", "eip-random-baseline", "eip-lexical-ablation",
          "eip-behavioral-correlation", "eip-cross-model-agreement", "eip-steering-success",
          "eip-steering-listener-resists", "eip-steering-coherence", "eip-plan-targets"]


def _layer_metrics(a: Audit, path: Path, model: str, layers: dict[str, Any], best: tuple[int, float] | None) -> float:
    """Rows for one model's per-layer probe metrics; returns the best AUROC."""
    src = lambda name: a.source(path, name)  # noqa: E731
    aurocs = {int(k): number(v, "auroc", a.repo.rel(path)) for k, v in layers.items()}
    best_layer = max(aurocs, key=lambda k: (aurocs[k], -k))
    ties = [k for k, v in aurocs.items() if v == aurocs[best_layer]]
    a.compare("eip-probe-auroc", model, "best_layer_auroc", aurocs[best_layer], src("layers.*.auroc"),
              f"per layer {aurocs}", decimals=3)
    a.compare("eip-probe-best-layer", model, "best_layer", best_layer, src("layers.*.auroc"),
              f"argmax AUROC{' (tie: ' + str(ties) + ', first taken)' if len(ties) > 1 else ''}", decimals=0)
    if best:
        a.invariant("eip-probe-best-layer", model, "stored_best_layer", best_layer, best[0], best[0] in ties,
                    src("best_layer"), "stored best layer must have the highest AUROC")
    extra = sorted(set(aurocs) - LAYERS)
    a.invariant("eip-probe-best-layer", model, "layers_as_documented", str(sorted(LAYERS)), str(sorted(aurocs)), not extra,
                src("layers"), f"documented layers 8, 12, 16, 20, 24; extra {extra}" if extra else "documented layers")
    for layer, entry in layers.items():
        auroc, accuracy = number(entry, "auroc", ""), number(entry, "accuracy", "")
        ok = rc.is_multiple_of(auroc, [2 * N_TEST * N_TEST]) is not None and rc.is_multiple_of(accuracy, [2 * N_TEST]) is not None
        a.invariant("eip-probe-auroc", model, f"auroc_accuracy_granularity_l{layer}", None, auroc, ok, src(f"layers.{layer}"),
                    f"AUROC on 15 x 15 test texts is a multiple of 1/450 (ties: half steps), accuracy of 1/30: "
                    f"AUROC {auroc:.6f}, accuracy {accuracy:.6f}")
        sep, stored = number(entry, "empathic_mean", "") - number(entry, "non_empathic_mean", ""), number(entry, "separation", "")
        a.invariant("eip-probe-auroc", model, f"separation_is_mean_difference_l{layer}", sep, stored,
                    abs(sep - stored) <= 2e-3 * max(1.0, abs(stored)), src(f"layers.{layer}.separation"),
                    "separation = empathic mean - non-empathic mean (half-precision rounding allowed)")
    return aurocs[best_layer]


def audit_validation(a: Audit, path: Path, data: dict) -> tuple[str, float]:
    """Phi-3's validation file (it names no model); returns (hub id, best AUROC)."""
    model = str(data.get("model", PHI3))
    stored = (int(number(data, "best_layer", "")), number(data, "best_auroc", "")) if "best_layer" in data else None
    return a.hub_id(model), _layer_metrics(a, path, model, mapping(data, "layer_results", a.repo.rel(path)), stored)


def audit_model_probes(a: Audit, path: Path, data: dict) -> tuple[str, float]:
    """One `<model>_results.json`; returns (hub id, best AUROC)."""
    model = str(field(data, "model", a.repo.rel(path)))
    return a.hub_id(model), _layer_metrics(a, path, model, mapping(data, "layers", a.repo.rel(path)), None)


def audit_combined_probes(a: Audit, path: Path, data: dict) -> list[tuple[str, float]]:
    """all_models_results.json: must repeat the per-model files; models without one are audited from it."""
    best = []
    for key, entry in data.items():
        model = str(field(entry, "model", a.repo.rel(path)))
        single = path.parent / f"{key}_results.json"
        if single.exists():
            same = a.repo.json(single) == entry
            a.invariant("eip-probe-auroc", model, "combined_matches_per_model_file", True, same,
                        same, a.source(path, key), f"must repeat {single.name}")
        else:
            layers = mapping(entry, "layers", a.repo.rel(path))
            best.append((a.hub_id(model), _layer_metrics(a, path, model, layers, None)))
    return best


def audit_probes(a: Audit) -> dict[str, float]:
    """Best probe AUROC per hub id, from every probe validation file."""
    best = a.each(VALIDATION, PROBE_CLAIMS, audit_validation, model=PHI3, required=True)
    best += a.each(MODEL_PROBES, PROBE_CLAIMS, audit_model_probes, exclude=(Path(COMBINED_PROBES).name,))
    for found in a.each(COMBINED_PROBES, ["eip-probe-auroc"], audit_combined_probes, model=AGGREGATE):
        best += found
    return dict(reversed(best))     # the first file to give a model wins


def direction_name(path: Path) -> str:
    key = path.name.split("_layer")[0]
    return PHI3 if key == "empathy_direction" else key


def audit_direction(a: Audit, path: Path, vector: np.ndarray) -> None:
    """One stored probe direction: length = hidden size, unit norm (normalize(mean difference))."""
    name, rel = direction_name(path), a.repo.rel(path)
    layer = re.search(r"_layer_?(\d+)", path.name)
    if layer is None:
        raise AuditFileError(f"{rel}: no layer number in the file name")
    known = a.model(name)
    hidden = known.d_model if known else None
    a.invariant("eip-probe-auroc", name, f"direction_length_l{layer.group(1)}", hidden, int(vector.size),
                vector.ndim == 1 and (hidden is None or vector.size == hidden), rel,
                f"direction must be a vector of the model's hidden size ({hidden}); shape {vector.shape}, dtype {vector.dtype}")
    norm = float(np.linalg.norm(vector.astype(np.float64)))
    a.invariant("eip-probe-auroc", name, f"direction_norm_l{layer.group(1)}", 1.0, norm, abs(norm - 1) < 1e-3, rel,
                "direction = normalize(mean difference) has unit norm")


def audit_random_baseline(a: Audit, path: Path, data: dict) -> None:
    claim = "eip-random-baseline"
    values = numbers(field(data, "random_baseline.all_aurocs", ""), "all_aurocs")
    probe = number(data, "empathy_probe.auroc", "")
    mean, sd0, sd1 = float(values.mean()), float(values.std(ddof=0)), float(values.std(ddof=1))
    stored_sd = number(data, "random_baseline.std_auroc", "")
    sd = sd0 if abs(sd0 - stored_sd) < 1e-9 else sd1
    z = (probe - mean) / sd
    src = a.source(path, "random_baseline.all_aurocs")
    a.compare(claim, PHI3, "random_auroc_mean", mean, src, published=0.498, decimals=3)
    a.compare(claim, PHI3, "random_auroc_sd", sd, src, f"SD with ddof={0 if sd == sd0 else 1} matches the stored SD",
              published=0.240, decimals=3)
    a.compare(claim, PHI3, "random_direction_z", z, src, f"(probe AUROC {probe} - mean) / SD; with ddof=1: "
              f"{(probe - mean) / sd1:.3f}; probe exceeds {np.mean(values < probe):.0%} of random directions",
              decimals=2)
    n = int(number(data, "num_trials", ""))
    test = int(number(data, "test_set_size", ""))
    off = [float(v) for v in values if rc.is_multiple_of(float(v), [2 * test * test]) is None]
    a.invariant(claim, PHI3, "random_auroc_count_and_granularity", n, len(values), len(values) == n and not off, src,
                f"{n} trials, AUROCs on {test} x {test} test texts are multiples of 1/{2 * test * test}; off-grid: {off[:3]}")
    for key, value in (("mean_auroc", mean), ("median_auroc", float(np.median(values))), ("min_auroc", float(values.min())),
                       ("max_auroc", float(values.max()))):
        stored = number(data, f"random_baseline.{key}", "")
        a.invariant(claim, PHI3, f"stored_{key}", value, stored, abs(stored - value) < 1e-9,
                    a.source(path, f"random_baseline.{key}"), "summary must recompute from all_aurocs")
    stored_z = number(data, "comparison.z_score", "")
    a.invariant(claim, PHI3, "stored_z", z, stored_z, abs(stored_z - z) < 1e-6, a.source(path, "comparison.z_score"),
                "stored z must recompute")


def audit_ablation(a: Audit, path: Path, data: dict) -> None:
    claim = "eip-lexical-ablation"
    for layer, entry in mapping(data, "layers", a.repo.rel(path)).items():
        original, ablated = number(entry, "original.auroc", ""), number(entry, "ablated.auroc", "")
        a.compare(claim, PHI3, f"ablated_auroc_layer_{layer}", ablated, a.source(path, f"layers.{layer}.ablated.auroc"),
                  f"original {original}; drop {original - ablated:.4f}", decimals=3)
        same_neg = all(abs(number(entry, f"original.{k}", "") - number(entry, f"ablated.{k}", "")) < 1e-9
                       for k in ("non_empathic_mean", "non_empathic_std"))
        a.invariant(claim, PHI3, "non_empathic_scores_unchanged", True, same_neg, same_neg,
                    a.source(path, f"layers.{layer}"), "only the empathic test texts are ablated")
    stored = int(number(data, "ablation_stats.total_pairs", a.repo.rel(path)))
    a.each(ABLATED_PAIRS, [claim], lambda a, path, ablated: audit_ablated_pairs(a, path, ablated, stored),
           model=PHI3, expect=list, required=True)


def audit_ablated_pairs(a: Audit, path: Path, ablated: list, stored: int) -> None:
    """The ablated pairs: as many as stated, with the test pairs' non-empathic texts unchanged."""
    test = a.repo.load(a.repo.root / TEST_PAIRS, list)
    unchanged = sum(x.get("non_empathic_text") == y.get("non_empathic_text") for x, y in zip(ablated, test))
    a.invariant("eip-lexical-ablation", PHI3, "ablated_pairs_count", stored, len(ablated),
                len(ablated) == stored == len(test) and unchanged == len(test), a.repo.rel(path),
                f"{len(ablated)} ablated pairs, {len(test)} test pairs ({TEST_PAIRS}), {unchanged} non-empathic "
                "texts unchanged")


def _correlation(a: Audit, path: Path, claim: str, model: str, entry: dict) -> float:
    details = field(entry, "detailed_results", a.repo.rel(path))
    truth = [number(d, "true_score", "") for d in details]
    scores = [number(d, "probe_score", "") for d in details]
    r, p = rc.pearson(truth, scores)
    rho, _ = rc.spearman(truth, scores)
    stored_r, stored_p = number(entry, "pearson_correlation", ""), number(entry, "pearson_p_value", "")
    a.compare(claim, model, "pearson_r", r, a.source(path, "detailed_results (true_score, probe_score)"),
              f"n={len(truth)}, p={p:.4f} (stored r {stored_r:.4f}, p {stored_p:.4f}), Spearman {rho:.3f}; "
              f"layer used {entry.get('layer_used')}", decimals=2)
    ok = abs(r - stored_r) < 1e-6 and abs(p - stored_p) < 1e-6 and len(truth) == int(number(entry, "num_test_cases", ""))
    a.invariant(claim, model, "stored_correlation_recomputes", r, stored_r, ok, a.source(path, "pearson_correlation"),
                "stored r and p must recompute from the stored scores; count must equal num_test_cases")
    return r


def audit_cross_model_correlations(a: Audit, path: Path, data: dict) -> None:
    for key, entry in data.items():
        _correlation(a, path, "eip-cross-model-agreement", key, entry)


def audit_correlations(a: Audit) -> float | None:
    """Phi-3's behavioural correlation r (None when its file is absent or malformed), and the other models'."""
    phi3 = a.each("results/eia_correlation.json", ["eip-behavioral-correlation"],
                  lambda a, path, data: _correlation(a, path, "eip-behavioral-correlation", PHI3, data),
                  model=PHI3, required=True)
    a.each("results/cross-model-behavioral-correlation/*.json", ["eip-cross-model-agreement"],
           audit_cross_model_correlations)
    return phi3[0] if phi3 else None


# --- steering -----------------------------------------------------------------------------------------------


def steering_conditions(data: dict, where: str) -> tuple[str, list[float], list[tuple[int, str, float, list[str]]]]:
    """(model, alphas tested, [(layer, scenario, alpha, samples)]) from either published steering format."""
    model = str(field(data, "model", where))
    alphas = [float(x) for x in field(data, "alphas_tested", where)]
    blocks: list[tuple[int, dict]] = []
    if "layer_results" in data:
        blocks = [(int(number(lr, "layer", where)), e) for lr in data["layer_results"] for e in field(lr, "experiments", where)]
    elif "experiments" in data:
        blocks = [(int(number(e, "layer", where)), e) for e in data["experiments"]]
    else:
        raise AuditFileError(f"{where}: neither 'layer_results' nor 'experiments'")
    out = []
    for layer, experiment in blocks:
        for condition in field(experiment, "conditions", where):
            samples = field(condition, "samples", where)
            if not isinstance(samples, list) or not all(isinstance(s, str) for s in samples):
                raise AuditFileError(f"{where}: samples must be a list of strings")
            out.append((layer, str(field(experiment, "scenario", where)), float(number(condition, "alpha", where)), samples))
    return model, alphas, out


def steering_rates(conditions: list[tuple[int, str, float, list[str]]]) -> dict[tuple[int, str], dict[float, tuple[float, float]]]:
    """(layer, scenario) -> alpha -> (empathic rate, coherent rate)."""
    table: dict[tuple[int, str], dict[float, tuple[float, float]]] = defaultdict(dict)
    for layer, scenario, alpha, samples in conditions:
        n = max(len(samples), 1)
        table[(layer, scenario)][alpha] = (sum(map(rc.is_empathetic, samples)) / n, sum(map(rc.is_coherent, samples)) / n)
    return table


def audit_steering_file(a: Audit, path: Path, data: dict) -> tuple[str, float]:
    """One steering file, scored with the published keyword rule; returns (hub id, success under that rule)."""
    where = a.repo.rel(path)
    model, alphas, conditions = steering_conditions(data, where)
    name = model
    src = a.source(path, "samples (keyword rule)")
    table = steering_rates(conditions)
    per_cell = {cell: rc.steering_success({al: v[0] for al, v in rates.items()}) for cell, rates in table.items()
                if 0.0 in rates}
    overall = {rule: float(np.nanmean([c[rule] for c in per_cell.values()])) for rule in rc.SUCCESS_RULES}
    for rule, value in overall.items():
        if rule == "success_published_rule":
            a.compare("eip-steering-success", name, rule, value, src,
                      f"mean over {len(per_cell)} (layer, scenario) cells of the share of alphas != 0 that moved the "
                      "empathic rate in alpha's direction", decimals=3)
        else:
            a.record("eip-steering-success", name, rule, value if value == value else None, src,
                     "variant of the published rule (overall)")
    for (layer, scenario), rules in sorted(per_cell.items()):
        for rule, value in rules.items():
            a.record("eip-steering-success", name, f"{rule}_l{layer}_{re.sub(r'[^a-z0-9]+', '_', scenario.lower())}",
                     None if value != value else value, src, f"layer {layer}, scenario {scenario}")
    for layer in sorted({l for l, _ in per_cell}):
        a.record("eip-steering-success", name, f"success_published_rule_l{layer}",
                 float(np.nanmean([r["success_published_rule"] for (l, _), r in per_cell.items() if l == layer])), src,
                 f"layer {layer}, mean over scenarios")
    scenarios = sorted({s for _, s in per_cell})
    for scenario in scenarios:
        mean = float(np.mean([r["success_published_rule"] for (l, s), r in per_cell.items() if s == scenario]))
        if scenario == "the_listener":
            a.compare("eip-steering-listener-resists", name, "success_the_listener", mean, src, decimals=2)
    # coherence
    coherent = [v[1] for rates in table.values() for al, v in rates.items()]
    neg = [v[1] for rates in table.values() for al, v in rates.items() if al < 0]
    pos = [v[1] for rates in table.values() for al, v in rates.items() if al > 0]
    extreme = [v[1] for rates in table.values() for al, v in rates.items() if abs(al) == max(abs(x) for x in rates)]
    documented = "breakdown" if "dolphin" in model.lower() else "maintained"
    state = "maintained" if min(np.mean(neg), np.mean(pos)) >= COHERENT_ENOUGH else "breakdown"
    a.add("eip-steering-coherence", name, "coherence_state", documented, state,
          REPRODUCED if state == documented else DISCREPANT, src,
          f"coherent share (published rule) overall {np.mean(coherent):.3f}; negative alpha {np.mean(neg):.3f}, positive "
          f"alpha {np.mean(pos):.3f}, at the largest |alpha| {np.mean(extreme):.3f}; our reading: 'maintained' when both "
          f"signs keep >= {COHERENT_ENOUGH} coherent")
    for label, values in (("coherence_rate", coherent), ("coherence_rate_negative_alpha", neg),
                          ("coherence_rate_positive_alpha", pos), ("coherence_rate_largest_alpha", extreme)):
        a.record("eip-steering-coherence", name, label, float(np.mean(values)), src)
    # invariants
    found_alphas = sorted({al for _, _, al, _ in conditions})
    a.invariant("eip-steering-success", name, "alphas_in_alphas_tested", str(alphas), str(found_alphas),
                set(found_alphas) <= set(alphas), src, "condition alphas must be among alphas_tested")
    off = rc.on_grid(alphas, sorted(README_ALPHAS))
    a.invariant("eip-steering-success", name, "alphas_on_documented_grid", str(sorted(README_ALPHAS)), str(alphas), not off, src,
                f"README grid {{-20, -10, -5, 0, 5, 10, 20}}; off-grid alphas {off}" if off else "README grid")
    n_expected = int(data.get("num_samples", data.get("num_samples_per_condition", 5)))
    counts = sorted({len(s) for *_, s in conditions})
    a.invariant("eip-steering-success", name, "samples_per_condition", 5, str(counts), counts == [5] and n_expected == 5, src,
                f"documented 5 samples per condition; file states {n_expected}, holds {counts}")
    return a.hub_id(name), overall["success_published_rule"]


def audit_targets(a: Audit, best: dict[str, float], r: float | None, steering: dict[str, float]) -> None:
    """The plan's targets (seed 002) for every EIP model: a row each, SKIPPED where nothing was recomputed."""
    models = [m.hub_id for m in PUBLISHED.values() if m.use(a.part)]
    for quantity, values, target in (("probe_auroc_vs_target", best, 0.75), ("steering_success_vs_target", steering, 0.5)):
        for model in dict.fromkeys([*values, *models]):
            _target(a, model, quantity, values.get(model), target)
    _target(a, PHI3, "behavioural_r_vs_target", r, 0.4)


def _target(a: Audit, model: str, quantity: str, value: float | None, target: float) -> None:
    source = "plan target (seed 002)"
    if value is None:
        a.skip("eip-plan-targets", model, quantity, source, "no recomputed value: its file is absent or was left out")
    else:
        a.add("eip-plan-targets", model, quantity, target, value, REPRODUCED if value > target else DISCREPANT,
              source, f"target > {target}; recomputed {value:.3f}")


def audit(a: Audit) -> None:
    best = audit_probes(a)
    a.each(DIRECTIONS, ["eip-probe-auroc"], audit_direction, model=direction_name, expect=np.ndarray)
    a.each("results/random_baseline_proper.json", ["eip-random-baseline"], audit_random_baseline, model=PHI3,
           required=True)
    a.each("results/lexical_ablation.json", ["eip-lexical-ablation"], audit_ablation, model=PHI3, required=True)
    r = audit_correlations(a)
    steering = dict(reversed(a.each(STEERING, ["eip-steering-success"], audit_steering_file)))
    audit_targets(a, best, r, steering)
    a.missing(CLAIMS, "EIP results/")
