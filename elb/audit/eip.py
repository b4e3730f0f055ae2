"""EIP: probe validation files, probe direction .npy files, random baseline, lexical ablation, behavioural
correlation, and steering generations scored with the published keyword rule: the four-layer runs against the
README's numbers, the superseded v0 run (results/steering_comprehensive.json) against the v0 claims only."""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import TypeAdapter

from elb.audit import recompute as rc
from elb.audit.base import AGGREGATE, Audit, Check, Compare, Files, Invariant, Parsed, Reading, Record, Where
from elb.audit.compare import UNIT
from elb.audit.files import AuditFileError
from elb.measures import eip as score
from elb.measures.steering import V0_ALPHA, V0_LAYERS, SteeringFile, texts_at, v0_measures
from elb.measures.stats import auroc_interval
from elb.models.published import PUBLISHED

PHI3 = "phi3"                    # the name of the files that name no model (Phi-3's)
DOLPHIN = "cognitivecomputations/dolphin-2.9.4-llama3.1-8b"
LAYERS = {8, 12, 16, 20, 24}
N_TEST = 15                      # test pairs: 15 empathic x 15 non-empathic texts
README_ALPHAS = {-20.0, -10.0, -5.0, 0.0, 5.0, 10.0, 20.0}
STEERING = ("results/**/*_steering_multilayer.json", "results/**/phi3_steering_complete_*.json")
STEERING_AGGREGATE = "all_models_steering_multilayer.json"  # a summary of the per-model files, not a run
V0 = "results/steering_comprehensive.json"
L12_SUCCESS = "0.583"            # "Qwen L16 75% vs L12 58.3%": the registry holds the value at the detection layer
COHERENT_ENOUGH = 0.8            # our declared reading of "maintains coherence"
ABLATED_PAIRS = "data/contrastive_pairs/test_pairs_ablated.jsonl"
TEST_PAIRS = "data/contrastive_pairs/test_pairs.jsonl"
PROBE_CLAIMS = ("eip-probe-auroc", "eip-probe-best-layer", "eip-dolphin-matches-safety-trained")
STEERING_CLAIMS = ("eip-steering-success", "eip-steering-listener-resists", "eip-steering-coherence",
                   "eip-detection-vs-steering-layer", "eip-baseline-empathy-rates")
V0_CLAIMS = ("eip-v0-steering-l12", "eip-v0-steering-l8", "eip-v0-keyword-increase")
CLAIMS = (*PROBE_CLAIMS, "eip-random-baseline", "eip-probe-beats-random", "eip-plan-target-correlation",
          "eip-plan-target-steering", "eip-lexical-ablation", "eip-behavioral-correlation",
          "eip-cross-model-agreement", *STEERING_CLAIMS, *V0_CLAIMS, "eip-plan-targets")


# --- probes ---------------------------------------------------------------------------------------------------

class LayerMetrics(Parsed):
    auroc: float
    accuracy: float
    empathic_mean: float
    non_empathic_mean: float
    separation: float


class PhiValidation(Parsed):
    model: str = PHI3
    layer_results: dict[str, LayerMetrics]
    best_layer: int | None = None


class ModelProbes(Parsed):
    model: str
    layers: dict[str, LayerMetrics]


@dataclass(frozen=True)
class Best:
    layer: int
    auroc: float


def check_layers(at: Where, model: str, layers: dict[str, LayerMetrics], stored_best: int | None) -> Iterator[Check]:
    """One model's per-layer probe metrics."""
    aurocs = {int(k): v.auroc for k, v in layers.items()}
    best = max(aurocs, key=lambda k: (aurocs[k], -k))
    ties = [k for k, v in aurocs.items() if v == aurocs[best]]
    yield Compare("eip-probe-auroc", model, "best_layer_auroc", aurocs[best], at("layers.*.auroc"),
                  f"per layer {aurocs}", n=2 * N_TEST * N_TEST)
    yield Compare("eip-probe-best-layer", model, "best_layer", best, at("layers.*.auroc"),
                  "argmax AUROC" + (f" (tie: {ties}, first taken)" if len(ties) > 1 else ""))
    if stored_best is not None:
        yield Invariant("eip-probe-best-layer", model, "stored_best_layer", stored_best, at("best_layer"),
                        "stored best layer must have the highest AUROC", expected=best, holds=stored_best in ties)
    extra = sorted(set(aurocs) - LAYERS)
    yield Invariant("eip-probe-best-layer", model, "layers_as_documented", str(sorted(aurocs)), at("layers"),
                    f"documented layers 8, 12, 16, 20, 24; extra {extra}" if extra else "documented layers",
                    expected=str(sorted(LAYERS)), holds=not extra)
    for layer, m in layers.items():
        ok = rc.is_multiple_of(m.auroc, [2 * N_TEST * N_TEST]) is not None and \
            rc.is_multiple_of(m.accuracy, [2 * N_TEST]) is not None
        yield Invariant("eip-probe-auroc", model, f"auroc_accuracy_granularity_l{layer}", m.auroc,
                        at(f"layers.{layer}"),
                        "AUROC on 15 x 15 test texts is a multiple of 1/450 (ties: half steps), accuracy of 1/30: "
                        f"AUROC {m.auroc:.6f}, accuracy {m.accuracy:.6f}", expected=None, holds=ok)
        separation = m.empathic_mean - m.non_empathic_mean
        yield Invariant("eip-probe-auroc", model, f"separation_is_mean_difference_l{layer}", m.separation,
                        at(f"layers.{layer}.separation"), "separation = empathic mean - non-empathic mean "
                        "(half-precision rounding allowed)", expected=separation,
                        holds=abs(separation - m.separation) <= 2e-3 * max(1.0, abs(m.separation)))


def best_of(layers: dict[str, LayerMetrics]) -> Best:
    layer = max(layers, key=lambda k: (layers[k].auroc, -int(k)))
    return Best(int(layer), layers[layer].auroc)


def audit_probes(a: Audit) -> dict[str, Best]:
    """Every model's probe files; returns the best layer and AUROC per hub id (the first file to give a model)."""
    best: dict[str, Best] = {}
    for f in a.each(Files(("results/validation_auroc.json",), PROBE_CLAIMS[:2], PhiValidation.model_validate,
                          model=PHI3, required=True),
                    lambda at, f: check_layers(at, f.model, f.layer_results, f.best_layer)):
        best.setdefault(a.hub_id(f.model), best_of(f.layer_results))
    singles = {a.hub_id(f.model): f for f in a.each(
        Files(("results/cross_model_validation/*_results.json",), PROBE_CLAIMS[:2], ModelProbes.model_validate,
              exclude=("all_models_results.json",)), lambda at, f: check_layers(at, f.model, f.layers, None))}
    combined = TypeAdapter(dict[str, ModelProbes]).validate_python
    for entries in a.each(Files(("results/cross_model_validation/all_models_results.json",), PROBE_CLAIMS[:2],
                                combined, model=AGGREGATE), lambda at, f: check_combined(a, at, f, singles)):
        for entry in entries.values():
            best.setdefault(a.hub_id(entry.model), best_of(entry.layers))
    for hub_id, f in singles.items():
        best.setdefault(hub_id, best_of(f.layers))
    return best


def check_combined(a: Audit, at: Where, f: dict[str, ModelProbes], singles: dict[str, ModelProbes]) -> Iterator[Check]:
    """all_models_results.json must repeat the per-model files; models without one are audited from it."""
    for key, entry in f.items():
        single = singles.get(a.hub_id(entry.model))
        if single is None:
            yield from check_layers(at, entry.model, entry.layers, None)
        else:
            same = single.layers == entry.layers
            yield Invariant("eip-probe-auroc", entry.model, "combined_matches_per_model_file", same, at(key),
                            "must repeat the model's own *_results.json", expected=True, holds=same)


def check_dolphin(best: dict[str, Best]) -> Iterator[Check]:
    """Detection: Dolphin's best AUROC inside the 95% AUROC interval (15 vs 15 texts) of every other model's."""
    if DOLPHIN not in best:
        return
    others = {m: b.auroc for m, b in best.items() if m != DOLPHIN}
    intervals = {m: auroc_interval(v, N_TEST, N_TEST) for m, v in others.items()}
    inside = all(low <= best[DOLPHIN].auroc <= high for low, high in intervals.values())
    yield Compare("eip-dolphin-matches-safety-trained", DOLPHIN, "detection_vs_other_models",
                  "indistinguishable" if inside else "distinguishable", "results/**: best-layer AUROCs",
                  f"Dolphin {best[DOLPHIN].auroc:.4f}; Hanley-McNeil 95% intervals of the others' best AUROCs "
                  + ", ".join(f"{m} [{low:.3f}, {high:.3f}]" for m, (low, high) in intervals.items()),
                  published="indistinguishable")


def direction_name(path: Path) -> str:
    key = path.name.split("_layer")[0]
    return PHI3 if key == "empathy_direction" else key


def check_direction(a: Audit, at: Where, vector: np.ndarray) -> Iterator[Check]:
    """One stored probe direction: length = hidden size, unit norm (normalize(mean difference))."""
    name = direction_name(at.path)
    layer = re.search(r"_layer_?(\d+)", at.path.name)
    if layer is None:
        raise AuditFileError(f"{at.rel}: no layer number in the file name")
    known = a.model(name)
    hidden = known.d_model if known else None
    yield Invariant("eip-probe-auroc", name, f"direction_length_l{layer.group(1)}", int(vector.size), at.rel,
                    f"direction must be a vector of the model's hidden size ({hidden}); shape {vector.shape}, "
                    f"dtype {vector.dtype}", expected=hidden, holds=vector.ndim == 1 and hidden in (None, vector.size))
    norm = float(np.linalg.norm(vector.astype(np.float64)))
    yield Invariant("eip-probe-auroc", name, f"direction_norm_l{layer.group(1)}", norm, at.rel,
                    "direction = normalize(mean difference) has unit norm", expected=1.0, holds=abs(norm - 1) < 1e-3)


# --- random baseline, lexical ablation, behavioural correlation -------------------------------------------------

class RandomBaseline(Parsed):
    all_aurocs: list[float]
    mean_auroc: float
    median_auroc: float
    std_auroc: float
    min_auroc: float
    max_auroc: float


class ProbeAuroc(Parsed):
    auroc: float


class ZScore(Parsed):
    z_score: float


class RandomFile(Parsed):
    num_trials: int
    test_set_size: int
    random_baseline: RandomBaseline
    empathy_probe: ProbeAuroc
    comparison: ZScore


def check_random_baseline(at: Where, f: RandomFile) -> Iterator[Check]:
    claim, rb = "eip-random-baseline", f.random_baseline
    values, probe = np.asarray(rb.all_aurocs), f.empathy_probe.auroc
    sds, zs = rc.sd_by_ddof(values), rc.null_z(probe, values)
    ddof = rc.matching_ddof(sds, rb.std_auroc, 1e-9)
    used = 0 if ddof is None else ddof
    src = at("random_baseline.all_aurocs")
    n = 2 * f.test_set_size ** 2
    yield Compare(claim, PHI3, "random_auroc_mean", float(values.mean()), src, published="0.498", span=UNIT)
    yield Compare(claim, PHI3, "random_auroc_sd", sds[used], src, f"SD with ddof={used} matches the stored SD",
                  published="0.240")
    yield Compare(claim, PHI3, "random_direction_z", zs[used], src,
                  f"(probe AUROC {probe} - mean) / SD (ddof {used}); with the other SD: {zs[1 - used]:.3f}; "
                  f"probe exceeds {np.mean(values < probe):.0%} of random directions")
    off = [float(v) for v in values if rc.is_multiple_of(float(v), [n]) is None]
    yield Invariant(claim, PHI3, "random_auroc_count_and_granularity", len(values), src,
                    f"{f.num_trials} trials, AUROCs on {f.test_set_size} x {f.test_set_size} test texts are "
                    f"multiples of 1/{n}; off-grid: {off[:3]}", expected=f.num_trials,
                    holds=len(values) == f.num_trials and not off)
    for key, value in (("mean_auroc", float(values.mean())), ("median_auroc", float(np.median(values))),
                       ("min_auroc", float(values.min())), ("max_auroc", float(values.max()))):
        stored = getattr(rb, key)
        yield Invariant(claim, PHI3, f"stored_{key}", stored, at(f"random_baseline.{key}"),
                        "summary must recompute from all_aurocs", expected=value, holds=abs(stored - value) < 1e-9)
    yield Invariant(claim, PHI3, "stored_z", f.comparison.z_score, at("comparison.z_score"), "stored z must recompute",
                    expected=zs[used], holds=abs(f.comparison.z_score - zs[used]) < 1e-6)
    p = (int(np.sum(values >= probe)) + 1) / (len(values) + 1)
    yield Record("eip-probe-beats-random", PHI3, "probe_empirical_p", p, src,
                 f"(1 + #random AUROC >= probe {probe}) / ({len(values)} + 1), one layer (the file holds no other "
                 "layer's random directions, so the best-of-layers null of our measurement cannot be rebuilt)")


class Scores(Parsed):
    auroc: float
    non_empathic_mean: float
    non_empathic_std: float


class AblationLayer(Parsed):
    original: Scores
    ablated: Scores


class AblationStats(Parsed):
    total_pairs: int


class Ablation(Parsed):
    layers: dict[str, AblationLayer]
    ablation_stats: AblationStats


class PairText(Parsed):
    non_empathic_text: str


PAIRS = TypeAdapter(list[PairText])


def check_ablation(at: Where, f: Ablation) -> Iterator[Check]:
    claim = "eip-lexical-ablation"
    for layer, entry in f.layers.items():
        original, ablated = entry.original, entry.ablated
        yield Compare(claim, PHI3, f"ablated_auroc_layer_{layer}", ablated.auroc, at(f"layers.{layer}.ablated.auroc"),
                      f"original {original.auroc}; drop {original.auroc - ablated.auroc:.4f}", n=2 * N_TEST * N_TEST)
        same = original.non_empathic_mean == ablated.non_empathic_mean and \
            original.non_empathic_std == ablated.non_empathic_std
        yield Invariant(claim, PHI3, "non_empathic_scores_unchanged", same, at(f"layers.{layer}"),
                        "only the empathic test texts are ablated", expected=True, holds=same)


def check_ablated_pairs(a: Audit, at: Where, ablated: list[PairText], stored: int) -> Iterator[Check]:
    """The ablated pairs: as many as stated, with the test pairs' non-empathic texts unchanged."""
    test = PAIRS.validate_python(a.repo.load(a.repo.root / TEST_PAIRS, list))
    unchanged = sum(x.non_empathic_text == y.non_empathic_text for x, y in zip(ablated, test))
    yield Invariant("eip-lexical-ablation", PHI3, "ablated_pairs_count", len(ablated), at.rel,
                    f"{len(ablated)} ablated pairs, {len(test)} test pairs ({TEST_PAIRS}), {unchanged} non-empathic "
                    "texts unchanged", expected=stored, holds=len(ablated) == stored == len(test) == unchanged)


class Rated(Parsed):
    true_score: float
    probe_score: float


class Correlation(Parsed):
    detailed_results: list[Rated]
    pearson_correlation: float
    pearson_p_value: float
    num_test_cases: int
    layer_used: int | None = None

    def pearson(self) -> tuple[float, float]:
        return rc.pearson([d.true_score for d in self.detailed_results], [d.probe_score for d in self.detailed_results])


def check_correlation(at: Where, claim: str, model: str, f: Correlation) -> Iterator[Check]:
    truth = [d.true_score for d in f.detailed_results]
    r, p = f.pearson()
    rho, _ = rc.spearman(truth, [d.probe_score for d in f.detailed_results])
    yield Compare(claim, model, "pearson_r", r, at("detailed_results (true_score, probe_score)"),
                  f"n={len(truth)}, p={p:.4f} (stored r {f.pearson_correlation:.4f}, p {f.pearson_p_value:.4f}), "
                  f"Spearman {rho:.3f}; layer used {f.layer_used}", span=(-1.0, 1.0))
    ok = abs(r - f.pearson_correlation) < 1e-6 and abs(p - f.pearson_p_value) < 1e-6 and len(truth) == f.num_test_cases
    yield Invariant(claim, model, "stored_correlation_recomputes", f.pearson_correlation, at("pearson_correlation"),
                    "stored r and p must recompute from the stored scores; count must equal num_test_cases",
                    expected=r, holds=ok)


def check_cross_model_correlations(at: Where, f: dict[str, Correlation]) -> Iterator[Check]:
    for key, entry in f.items():
        yield from check_correlation(at, "eip-cross-model-agreement", key, entry)


# --- steering ---------------------------------------------------------------------------------------------------

def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower())


def success_by_cell(table: dict[tuple[int, str], dict[float, tuple[float, float]]]
                    ) -> dict[tuple[int, str], dict[str, float]]:
    """Each (layer, scenario) cell's success under the published rule and its variants."""
    return {cell: score.steering_success({al: v[0] for al, v in rates.items()}) for cell, rates in table.items()
            if 0.0 in rates}


def overall_success(cells: dict[tuple[int, str], dict[str, float]], rule: str = "success_published_rule") -> float:
    return float(np.nanmean([c[rule] for c in cells.values()]))


def check_steering(a: Audit, at: Where, f: SteeringFile) -> Iterator[Check]:
    """A four-layer steering run scored with the published keyword rule."""
    model, src = f.model, at("samples (keyword rule)")
    table = f.rates()
    cells = success_by_cell(table)
    sizes = {len(table[cell]) - 1 for cell in cells}
    n = sizes.pop() * len(cells) if len(sizes) == 1 else None
    for rule in score.SUCCESS_RULES:
        value = overall_success(cells, rule)
        if rule == "success_published_rule":
            yield Compare("eip-steering-success", model, rule, value, src, f"mean over {len(cells)} (layer, scenario) "
                          "cells of the share of alphas != 0 that moved the empathic rate in alpha's direction", n=n)
        else:
            yield Record("eip-steering-success", model, rule, value if value == value else None, src,
                         "variant of the published rule (overall)")
    for (layer, scenario), rules in sorted(cells.items()):
        for rule, value in rules.items():
            yield Record("eip-steering-success", model, f"{rule}_l{layer}_{slug(scenario)}",
                         None if value != value else value, src, f"layer {layer}, scenario {scenario}")
    by_layer = {layer: float(np.mean([r["success_published_rule"] for (l, _), r in cells.items() if l == layer]))
                for layer in sorted({l for l, _ in cells})}
    per_layer = n // len(by_layer) if n else None
    for layer, value in by_layer.items():
        yield Record("eip-steering-success", model, f"success_published_rule_l{layer}", value, src,
                     f"layer {layer}, mean over scenarios")
    detection = a.stated("eip-probe-best-layer", model)
    if a.stated("eip-detection-vs-steering-layer", model) is not None and detection is not None:
        yield from check_detection_layer(model, src, by_layer, per_layer, int(detection))
    listener = [r["success_published_rule"] for (_, s), r in cells.items() if s == "the_listener"]
    if listener:
        yield Compare("eip-steering-listener-resists", model, "success_the_listener", float(np.mean(listener)), src,
                      f"mean over {len(listener)} layers", n=per_layer)
    yield from check_coherence(model, src, table)
    baseline = [rates[0.0][0] for rates in table.values() if 0.0 in rates]
    yield Record("eip-baseline-empathy-rates", model, "baseline_empathic_rate", float(np.mean(baseline)), src,
                 f"alpha = 0, mean over {len(baseline)} (layer, scenario) cells")
    yield from check_grid(model, src, f, table)


def check_detection_layer(model: str, src: str, by_layer: dict[int, float], n: int | None, detection: int
                          ) -> Iterator[Check]:
    """"Qwen L16 75% vs L12 58.3%": success at the best detection layer and at L12; the best steering layer."""
    claim = "eip-detection-vs-steering-layer"
    for layer, name, published in ((detection, "success_best_detection_layer", None), (12, "success_l12", L12_SUCCESS)):
        if layer in by_layer:
            yield Compare(claim, model, name, by_layer[layer], src, f"layer {layer}", published=published, n=n)
    best = max(by_layer, key=lambda layer: by_layer[layer])
    yield Compare(claim, model, "best_steering_layer", best, src, f"success by layer {by_layer}; best detection "
                  f"layer {detection}", published=str(detection))


def check_coherence(model: str, src: str, table: dict[tuple[int, str], dict[float, tuple[float, float]]]
                    ) -> Iterator[Check]:
    def share(keep) -> float:
        return float(np.mean([v[1] for rates in table.values() for al, v in rates.items() if keep(al, rates)]))

    rates = {"coherence_rate": share(lambda al, r: True), "coherence_rate_negative_alpha": share(lambda al, r: al < 0),
             "coherence_rate_positive_alpha": share(lambda al, r: al > 0),
             "coherence_rate_largest_alpha": share(lambda al, r: abs(al) == max(abs(x) for x in r))}
    state = "maintained" if min(rates["coherence_rate_negative_alpha"],
                                rates["coherence_rate_positive_alpha"]) >= COHERENT_ENOUGH else "breakdown"
    yield Compare("eip-steering-coherence", model, "coherence_state", state, src,
                  ", ".join(f"{k} {v:.3f}" for k, v in rates.items()) + f"; our reading: 'maintained' when both signs "
                  f"keep >= {COHERENT_ENOUGH} coherent",
                  published="breakdown" if "dolphin" in model.lower() else "maintained")
    for label, value in rates.items():
        yield Record("eip-steering-coherence", model, label, value, src, "coherent share (published rule)")


def check_grid(model: str, src: str, f: SteeringFile, table: dict) -> Iterator[Check]:
    found = sorted({al for rates in table.values() for al in rates})
    yield Invariant("eip-steering-success", model, "alphas_in_alphas_tested", str(found), src,
                    "condition alphas must be among alphas_tested", expected=str(f.alphas_tested),
                    holds=set(found) <= set(f.alphas_tested))
    off = rc.on_grid(f.alphas_tested, sorted(README_ALPHAS))
    yield Invariant("eip-steering-success", model, "alphas_on_documented_grid", str(f.alphas_tested), src,
                    f"README grid {{-20, -10, -5, 0, 5, 10, 20}}; off-grid alphas {off}" if off else "README grid",
                    expected=str(sorted(README_ALPHAS)), holds=not off)
    stated = f.num_samples or f.num_samples_per_condition or 5
    counts = sorted({len(samples) for *_, samples in f.cells()})
    yield Invariant("eip-steering-success", model, "samples_per_condition", str(counts), src,
                    f"documented 5 samples per condition; file states {stated}, holds {counts}", expected=5,
                    holds=counts == [5] and stated == 5)


def check_v0(at: Where, f: SteeringFile) -> Iterator[Check]:
    """The superseded v0 Phi-3 run (layers 8 and 12, no empathy-pressure text), against the v0 claims."""
    src = at("samples (keyword rule)")
    samples, measured = texts_at(f), {m.quantity: m for m in v0_measures(f, 0.95)}  # the harness's own readings
    for layer, claim in ((12, "eip-v0-steering-l12"), (8, "eip-v0-steering-l8")):
        rate = measured[f"eip.v0.empathic_rate_l{layer}"]
        yield Compare(claim, PHI3, f"empathic_share_alpha_{V0_ALPHA:g}_l{layer}", rate.value, src,
                      f"{rate.interval.split('(')[-1].rstrip(')')} samples empathetic", n=rate.n)
    layers = sorted({layer for layer, _ in samples})
    yield Invariant("eip-v0-steering-l12", PHI3, "v0_layers", str(layers), at("experiments[].layer"),
                    "the v0 run tested layers 8 and 12", expected=str(list(V0_LAYERS)), holds=layers == list(V0_LAYERS))
    counts = sorted({len(texts) for *_, texts in f.cells()})
    yield Invariant("eip-v0-steering-l12", PHI3, "samples_per_condition", str(counts), src,
                    "5 samples per condition", expected=5, holds=counts == [5])

    def distinct_keywords(alpha: float) -> int:
        return sum(k in t.lower() for t in samples[(12, alpha)] for k in score.EMPATHY_KEYWORDS)

    distinct = distinct_keywords(V0_ALPHA) / max(distinct_keywords(0.0), 1)
    yield Reading("eip-v0-keyword-increase", PHI3, "empathy_keyword_ratio_l12",
                  measured["eip.v0.keyword_ratio_l12"].value, src,
                  f"alpha {V0_ALPHA:g} vs alpha 0 at layer 12 over the 11 published empathy keywords", other=distinct,
                  ours="occurrences of the keywords", theirs="distinct keywords per sample")
    baseline = [score.is_empathetic(t) for (_, alpha), texts in samples.items() if alpha == 0.0 for t in texts]
    yield Record("eip-baseline-empathy-rates", PHI3, "baseline_empathic_rate_v0", float(np.mean(baseline)), src,
                 "alpha = 0 in the v0 run, layers 8 and 12")


def audit_targets(a: Audit, best: dict[str, Best], r: float | None, steering: dict[str, float]) -> None:
    """The plan's targets (seed 002) for every EIP model: a row each, SKIPPED where nothing was recomputed."""
    models = [m.hub_id for m in PUBLISHED.values() if m.use(a.part)]
    aurocs = {m: b.auroc for m, b in best.items()}
    for claim, quantity, values, target in (("eip-plan-targets", "probe_auroc_vs_target", aurocs, 0.75),
                                            ("eip-plan-target-steering", "steering_success_vs_target", steering, 0.5)):
        for model in dict.fromkeys([*values, *models]):
            _target(a, claim, model, quantity, values.get(model), target)
    _target(a, "eip-plan-target-correlation", PHI3, "behavioural_r_vs_target", r, 0.4)


def _target(a: Audit, claim: str, model: str, quantity: str, value: float | None, target: float) -> None:
    source = "plan target (seed 002)"
    if value is None:
        a.skip(claim, model, quantity, source, "no recomputed value: its file is absent or was left out")
    else:
        a.add([Compare(claim, model, quantity, value, source, "a target of the plan, not a result",
                       criterion=(">", target))])


def audit(a: Audit) -> None:
    best = audit_probes(a)
    with a.reading(("eip-dolphin-matches-safety-trained",), DOLPHIN, "results/**: best-layer AUROCs"):
        a.add(check_dolphin(best))
    a.each(Files(("results/**/*_probe.npy", "results/probes/empathy_direction_layer_*.npy"), ("eip-probe-auroc",),
                 lambda vector: vector, model=direction_name, expect=np.ndarray),
           lambda at, v: check_direction(a, at, v))
    a.each(Files(("results/random_baseline_proper.json",), ("eip-random-baseline", "eip-probe-beats-random"),
                 RandomFile.model_validate,
                 model=PHI3, required=True), check_random_baseline)
    for ablation in a.each(Files(("results/lexical_ablation.json",), ("eip-lexical-ablation",), Ablation.model_validate,
                                 model=PHI3, required=True), check_ablation):
        stated = ablation.ablation_stats.total_pairs
        a.each(Files((ABLATED_PAIRS,), ("eip-lexical-ablation",), PAIRS.validate_python, model=PHI3, expect=list,
                     required=True), lambda at, pairs: check_ablated_pairs(a, at, pairs, stated))
    phi3 = a.each(Files(("results/eia_correlation.json",), ("eip-behavioral-correlation",), Correlation.model_validate,
                        model=PHI3, required=True),
                  lambda at, f: check_correlation(at, "eip-behavioral-correlation", PHI3, f))
    a.each(Files(("results/cross-model-behavioral-correlation/*.json",), ("eip-cross-model-agreement",),
                 TypeAdapter(dict[str, Correlation]).validate_python),
           check_cross_model_correlations)
    steering: dict[str, float] = {}
    for f in a.each(Files(STEERING, STEERING_CLAIMS, SteeringFile.model_validate, exclude=(STEERING_AGGREGATE,)),
                    lambda at, f: check_steering(a, at, f)):
        steering.setdefault(a.hub_id(f.model), overall_success(success_by_cell(f.rates())))
    a.each(Files((V0,), V0_CLAIMS, SteeringFile.model_validate, model=PHI3, required=True), check_v0)
    audit_targets(a, best, phi3[0].pearson()[0] if phi3 else None, steering)
    a.missing(("eip-steering-success", "eip-steering-listener-resists"), STEERING[1],
              "published file absent: the four-layer run these numbers come from (for Phi-3 "
              "results/phi3_steering_complete_*.json) is not in the audited repository; "
              "results/steering_comprehensive.json is the superseded v0 run, audited against the eip-v0-* claims")
    a.missing(CLAIMS, "EIP results/")
