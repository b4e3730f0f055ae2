"""ELB Phase 1 ("empathetic bandwidth"): results/empathy/empathy_<model>_<stamp>.json, analysis and combined files."""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from elb.audit import recompute as rc
from elb.audit.base import AGGREGATE, Audit, Check, Compare, Files, Invariant, Parsed, Reading, Where
from elb.audit.compare import UNIT

PATTERN = "results/empathy/empathy_*.json"
CLAIMS = ("elb-p1-bandwidth", "elb-p1-dimensionality", "elb-p1-steering-range", "elb-p1-probe-auroc",
          "elb-p1-dataset-size", "elb-p1-bandwidth-variation", "elb-p1-empathy-control-ratio",
          "elb-p1-sae-pca-agreement", "elb-p1-transfer-success", "elb-p1-cohens-d", "elb-p1-ranking",
          "elb-p1-dims-range-association", "elb-p1-descriptive-stats")
N_PAIRS = 50            # empathetic/neutral prompt pairs (documented)
VARIANCE_THRESHOLD = 0.90
ALPHA_LOW, ALPHA_HIGH = -20.0, 20.0
COHERENCE_THRESHOLD = 0.7
# The descriptive statistics as the documents state them (mean, SD), beside the registry's bandwidth mean.
DESCRIPTIVE = {"bandwidth": ("91.8", "41.6"), "dimensionality": ("11.4", "3.8"), "steering_range": ("7.7", "1.3")}
SAMPLES = ("18,100", "3,620")   # "Total: 18,100 samples (3,620 per model)"


class Probe(Parsed):
    auroc: float
    n_train: int
    n_test: int


class Pca(Parsed):
    effective_rank: int
    explained_variance_90: float
    total_components: int


class Steering(Parsed):
    max_alpha: float
    coherence_threshold: float
    n_alphas_tested: int


class Control(Parsed):
    control_dimensionality: int
    control_steering_range: float
    control_bandwidth: float


class Sae(Parsed):
    sae_active_features: int
    pca_rank: int
    agreement: bool


class Transfer(Parsed):
    transfer_success_rate: float


class Measurements(Parsed):
    probe: Probe
    pca: Pca
    steering: Steering
    control: Control
    sae: Sae
    transfer: Transfer


class Bandwidth(Parsed):
    bandwidth: float


class ModelFile(Parsed):
    model: str
    measurements: Measurements
    bandwidth_metric: Bandwidth

    @property
    def figures(self) -> dict[str, float]:
        m = self.measurements
        return {"bandwidth": self.bandwidth_metric.bandwidth, "dimensionality": m.pca.effective_rank,
                "steering_range": m.steering.max_alpha}


class Statistic(Parsed):
    mean: float
    stdev: float
    min: float | None = None
    max: float | None = None


class Ranked(Parsed):
    rank: int
    model: str


class Analysis(Parsed):
    statistics: dict[str, Statistic]
    rankings: list[Ranked]


class Combined(Parsed):
    results: list[ModelFile]


def check_model_file(at: Where, f: ModelFile) -> Iterator[Check]:
    m, model = f.measurements, f.model
    dims, alpha, stored = m.pca.effective_rank, m.steering.max_alpha, f.bandwidth_metric.bandwidth
    yield Compare("elb-p1-bandwidth", model, "bandwidth", dims * alpha, at("pca.effective_rank x steering.max_alpha"),
                  f"stored bandwidth {stored:.4f}")
    yield Invariant("elb-p1-bandwidth", model, "bandwidth_equals_dims_x_range", stored,
                    at("bandwidth_metric.bandwidth"),
                    "stored bandwidth must equal effective_rank x max_alpha", expected=dims * alpha,
                    holds=abs(stored - dims * alpha) <= 1e-6 * max(1, abs(stored)))
    yield Compare("elb-p1-dimensionality", model, "effective_rank", dims, at("measurements.pca.effective_rank"))
    variance = m.pca.explained_variance_90
    yield Invariant("elb-p1-dimensionality", model, "explained_variance_at_effective_rank", variance,
                    at("measurements.pca.explained_variance_90"),
                    f"an effective rank chosen at cumulative explained variance {VARIANCE_THRESHOLD} implies the "
                    f"explained variance at that rank is >= {VARIANCE_THRESHOLD}; the file stores {variance:.4f}",
                    expected=VARIANCE_THRESHOLD, holds=variance >= VARIANCE_THRESHOLD)
    components = m.pca.total_components
    yield Invariant("elb-p1-dimensionality", model, "pca_component_count", components,
                    at("measurements.pca.total_components"),
                    f"PCA on the {N_PAIRS} empathetic activations has at most min(n, d_model) = {N_PAIRS} components; "
                    f"the file reports {components}", expected=min(N_PAIRS, components), holds=components <= N_PAIRS)
    yield Compare("elb-p1-steering-range", model, "steering_range", alpha, at("measurements.steering.max_alpha"))
    grid = rc.linear_grid(ALPHA_LOW, ALPHA_HIGH, m.steering.n_alphas_tested)
    off = rc.on_grid([alpha], grid)
    yield Invariant("elb-p1-steering-range", model, "max_alpha_on_alpha_grid", alpha,
                    at("measurements.steering.max_alpha"),
                    f"the range is the largest |alpha| of a {len(grid)}-point grid from {ALPHA_LOW:g} to "
                    f"{ALPHA_HIGH:g} (step {grid[1] - grid[0]:g}); {alpha:.4f} is {'not ' if off else ''}a grid point",
                    expected=None, holds=not off)
    threshold = m.steering.coherence_threshold
    yield Invariant("elb-p1-steering-range", model, "coherence_threshold", threshold,
                    at("measurements.steering.coherence_threshold"), "documented coherence threshold 0.7",
                    expected=COHERENCE_THRESHOLD, holds=threshold == COHERENCE_THRESHOLD)
    auroc, n_train, n_test = m.probe.auroc, m.probe.n_train, m.probe.n_test
    yield Compare("elb-p1-probe-auroc", model, "probe_auroc", auroc, at("measurements.probe.auroc"), span=UNIT)
    denominator = rc.is_multiple_of(auroc, rc.auroc_denominators(n_test))
    yield Invariant("elb-p1-probe-auroc", model, "auroc_granularity", auroc, at("measurements.probe.auroc"),
                    f"an AUROC on {n_test} held-out texts is a multiple of 1/(n_pos*n_neg); "
                    + (f"{auroc:.6f} = k/{denominator}" if denominator else f"{auroc:.10f} is no such multiple"),
                    expected=None, holds=denominator is not None)
    yield Invariant("elb-p1-probe-auroc", model, "split_sizes", n_train + n_test, at("measurements.probe"),
                    f"{N_PAIRS} pairs give {2 * N_PAIRS} texts split 80/20; file: n_train {n_train}, n_test {n_test}",
                    expected=2 * N_PAIRS, holds=n_train + n_test == 2 * N_PAIRS and 5 * n_test == n_train + n_test)
    yield Compare("elb-p1-dataset-size", model, "prompt_pairs", (n_train + n_test) / 2, at("measurements.probe"),
                  "one empathetic and one neutral text per pair: (n_train + n_test) / 2")
    c = m.control
    yield Invariant("elb-p1-empathy-control-ratio", model, "control_bandwidth_equals_dims_x_range", c.control_bandwidth,
                    at("measurements.control"), "control bandwidth must equal control dimensionality x control range",
                    expected=c.control_dimensionality * c.control_steering_range,
                    holds=abs(c.control_bandwidth - c.control_dimensionality * c.control_steering_range)
                    <= 1e-6 * max(1, c.control_bandwidth))
    sae = m.sae
    rule = rc.sae_agrees(sae.sae_active_features, sae.pca_rank)
    yield Invariant("elb-p1-sae-pca-agreement", model, "sae_agreement_flag", sae.agreement,
                    at("measurements.sae.agreement"),
                    f"SAE features {sae.sae_active_features} vs PCA rank {sae.pca_rank} "
                    f"({abs(sae.sae_active_features - sae.pca_rank) / sae.pca_rank:.0%} apart; rule: within 20%)",
                    expected=rule, holds=rule == sae.agreement)
    yield Invariant("elb-p1-sae-pca-agreement", model, "sae_pca_rank_matches_pca", sae.pca_rank,
                    at("measurements.sae.pca_rank"), "the SAE cross-check's PCA rank must be the PCA effective rank",
                    expected=dims, holds=sae.pca_rank == dims)


def check_aggregates(parts: list[ModelFile]) -> Iterator[Check]:
    """The cross-model figures as the documents define them, recomputed from the per-model files."""
    m = [p.measurements for p in parts]
    bandwidths = [p.bandwidth_metric.bandwidth for p in parts]
    figures = rc.phase1_aggregates(bandwidths, [x.control.control_bandwidth for x in m], [x.sae.agreement for x in m],
                                   [x.transfer.transfer_success_rate for x in m])
    source, names = f"{PATTERN}: measurements", ", ".join(p.model for p in parts)
    detail = f"from the {len(parts)} per-model files ({names})"
    for claim, key, n in [("elb-p1-bandwidth-variation", "bandwidth_variation", None),
                          ("elb-p1-empathy-control-ratio", "empathy_control_ratio", None),
                          ("elb-p1-sae-pca-agreement", "sae_pca_agreement_rate", len(parts)),
                          ("elb-p1-transfer-success", "transfer_success_mean", None),
                          ("elb-p1-cohens-d", "cohens_d_range_over_sd", None)]:
        yield Compare(claim, AGGREGATE, key, figures[key], source, detail, n=n)
    order = sorted(parts, key=lambda p: -p.bandwidth_metric.bandwidth)
    for rank, p in enumerate(order, 1):
        yield Compare("elb-p1-ranking", p.model, "bandwidth_rank", rank, source, "rank by bandwidth, highest first",
                      span=(1, len(parts)))
    for key, (mean, sd) in DESCRIPTIVE.items():
        stats = rc.describe([p.figures[key] for p in parts])
        yield Compare("elb-p1-descriptive-stats", AGGREGATE, f"{key}_mean", stats["mean"], source, detail,
                      published=mean)
        population = rc.sd_by_ddof([p.figures[key] for p in parts])[0]
        yield Compare("elb-p1-descriptive-stats", AGGREGATE, f"{key}_sd", stats["stdev"], source,
                      f"sample SD (ddof 1, the analysis file's convention); population SD {population:.3f}",
                      published=sd)
    yield from check_association(parts, source)
    total, per_model = (float(s.replace(",", "")) for s in SAMPLES)
    yield Invariant("elb-p1-dataset-size", AGGREGATE, "samples_total_is_per_model_times_models", total, "seeds/001",
                    f"{SAMPLES[0]} samples = {len(parts)} models x {SAMPLES[1]}; no count in the files gives "
                    f"{SAMPLES[1]} per model (they hold {2 * N_PAIRS} probe texts each)",
                    expected=len(parts) * per_model, holds=total == len(parts) * per_model)


def check_association(parts: list[ModelFile], source: str) -> Iterator[Check]:
    """"Models with above-average dimensionality (>= 11) also show strong steering range (8.8 on average)"."""
    dims = np.array([p.figures["dimensionality"] for p in parts], dtype=float)
    ranges = np.array([p.figures["steering_range"] for p in parts])
    literal, above_mean = ranges[dims >= 11].mean(), ranges[dims > dims.mean()].mean()
    yield Reading("elb-p1-dims-range-association", AGGREGATE, "mean_range_high_dimensionality", float(literal), source,
                  other=float(above_mean), ours="dimensionality >= 11, as the text states",
                  theirs=f"dimensionality above the mean {dims.mean():g}, as 'above-average' says")
    r, p = rc.pearson(dims, ranges)
    yield Compare("elb-p1-dims-range-association", AGGREGATE, "correlation_sign", "positive" if r > 0 else "negative",
                  source, f"Pearson r = {r:.3f} (p = {p:.3f}, n = {len(parts)})", published="positive")


def check_analysis(at: Where, f: Analysis, parts: list[ModelFile]) -> Iterator[Check]:
    """The analysis file's statistics and ranking must recompute from the per-model files."""
    for key in DESCRIPTIVE:
        values = [p.figures[key] for p in parts]
        mine, stored = rc.describe(values), f.statistics[key]
        ddof = rc.matching_ddof(rc.sd_by_ddof(values), stored.stdev, 1e-6 * max(1, abs(stored.stdev)))
        for stat in ("mean", "stdev", "min", "max"):
            value = getattr(stored, stat)
            if value is not None:
                expected = rc.sd_by_ddof(values)[ddof] if stat == "stdev" and ddof is not None else mine[stat]
                yield Invariant("elb-p1-descriptive-stats", AGGREGATE, f"analysis_{key}_{stat}", value,
                                at(f"statistics.{key}.{stat}"), "must recompute from the per-model files"
                                + (f" (SD with ddof {ddof})" if stat == "stdev" and ddof is not None else ""),
                                expected=expected, holds=abs(value - expected) <= 1e-6 * max(1, abs(value)))
    ratios = [p.bandwidth_metric.bandwidth / p.measurements.control.control_bandwidth for p in parts]
    stored_ratio = f.statistics["empathy_control_ratio"].mean
    yield Invariant("elb-p1-empathy-control-ratio", AGGREGATE, "analysis_mean_of_ratios", stored_ratio,
                    at("statistics.empathy_control_ratio.mean"),
                    f"the analysis file's ratio is the mean of per-model ratios ({stored_ratio:.3f}); the documented "
                    "2.8x is the ratio of means", expected=float(np.mean(ratios)),
                    holds=abs(stored_ratio - float(np.mean(ratios))) <= 1e-6)
    order = [p.model for p in sorted(parts, key=lambda p: -p.bandwidth_metric.bandwidth)]
    for entry in f.rankings:
        mine_rank = order.index(entry.model) + 1 if entry.model in order else None
        yield Invariant("elb-p1-ranking", entry.model, "analysis_rank", entry.rank, at("rankings"),
                        "stored rank must be the rank by the per-model bandwidths", expected=mine_rank,
                        holds=entry.rank == mine_rank)


def check_combined(at: Where, f: Combined, parts: list[ModelFile]) -> Iterator[Check]:
    stored = {r.model: r.bandwidth_metric.bandwidth for r in f.results}
    same = all(abs(stored.get(p.model, float("nan")) - p.bandwidth_metric.bandwidth) < 1e-9 for p in parts)
    yield Invariant("elb-p1-bandwidth", AGGREGATE, "combined_file_matches_per_model_files", len(stored),
                    at("results[].bandwidth_metric.bandwidth"),
                    "the combined results file must repeat the per-model bandwidths", expected=len(parts), holds=same)


def audit(a: Audit) -> None:
    by_model: dict[str, ModelFile] = {}
    for part in a.each(Files((PATTERN,), CLAIMS[:5], ModelFile.model_validate), check_model_file):
        by_model.setdefault(a.hub_id(part.model), part)    # a model in two files counts once
    parts = list(by_model.values())
    if parts:
        with a.reading(CLAIMS[5:], AGGREGATE, f"{PATTERN}: measurements"):
            a.add(check_aggregates(parts))
        a.each(Files(("results/empathy/analysis_*.json",), ("elb-p1-descriptive-stats",), Analysis.model_validate,
                     model=AGGREGATE, required=True), lambda at, f: check_analysis(at, f, parts))
        a.each(Files(("results/empathy/all_results_*.json",), ("elb-p1-bandwidth",), Combined.model_validate,
                     model=AGGREGATE, required=True), lambda at, f: check_combined(at, f, parts))
    a.missing(CLAIMS, PATTERN)
