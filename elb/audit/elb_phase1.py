"""ELB Phase 1 ("empathetic bandwidth"): results/empathy/empathy_<model>_<stamp>.json and the analysis file."""
from __future__ import annotations

from pathlib import Path

from elb.audit import recompute as rc
from elb.audit.base import AGGREGATE, Audit
from elb.audit.files import field, number

PATTERN = "results/empathy/empathy_*.json"
ANALYSIS = "results/empathy/analysis_*.json"
ALL_RESULTS = "results/empathy/all_results_*.json"
CLAIMS = ["elb-p1-bandwidth", "elb-p1-dimensionality", "elb-p1-steering-range", "elb-p1-probe-auroc",
          "elb-p1-bandwidth-variation", "elb-p1-empathy-control-ratio", "elb-p1-sae-pca-agreement",
          "elb-p1-transfer-success", "elb-p1-cohens-d"]
N_PAIRS = 50            # empathetic/neutral prompt pairs (documented)
VARIANCE_THRESHOLD = 0.90
ALPHA_LOW, ALPHA_HIGH = -20.0, 20.0
COHERENCE_THRESHOLD = 0.7


def audit_model_file(a: Audit, path: Path, data: dict) -> dict:
    """Rows for one per-model file; returns the parts the aggregates need."""
    where = a.repo.rel(path)
    model = str(field(data, "model", where))
    m = field(data, "measurements", where)
    src = lambda name: a.source(path, name)  # noqa: E731
    dims = number(m, "pca.effective_rank", where)
    alpha = number(m, "steering.max_alpha", where)
    stored = number(data, "bandwidth_metric.bandwidth", where)
    a.compare("elb-p1-bandwidth", model, "bandwidth", dims * alpha, src("pca.effective_rank x steering.max_alpha"),
              f"stored bandwidth {stored:.4f}")
    a.invariant("elb-p1-bandwidth", model, "bandwidth_equals_dims_x_range", dims * alpha, stored,
                abs(stored - dims * alpha) <= 1e-6 * max(1, abs(stored)), src("bandwidth_metric.bandwidth"),
                "stored bandwidth must equal effective_rank x max_alpha")
    a.compare("elb-p1-dimensionality", model, "effective_rank", dims, src("measurements.pca.effective_rank"))
    variance = number(m, "pca.explained_variance_90", where)
    a.invariant("elb-p1-dimensionality", model, "explained_variance_at_effective_rank", VARIANCE_THRESHOLD, variance,
                variance >= VARIANCE_THRESHOLD, src("measurements.pca.explained_variance_90"),
                f"an effective rank chosen at cumulative explained variance {VARIANCE_THRESHOLD} implies the explained "
                f"variance at that rank is >= {VARIANCE_THRESHOLD}; the file stores {variance:.4f}")
    n_train, n_test = number(m, "probe.n_train", where), number(m, "probe.n_test", where)
    components = number(m, "pca.total_components", where)
    max_components = min(N_PAIRS, components)
    a.invariant("elb-p1-dimensionality", model, "pca_component_count", max_components, components,
                components <= N_PAIRS, src("measurements.pca.total_components"),
                f"PCA on the {N_PAIRS} empathetic activations has at most min(n, d_model) = {N_PAIRS} components; "
                f"the file reports {components:g}")
    a.compare("elb-p1-steering-range", model, "steering_range", alpha, src("measurements.steering.max_alpha"))
    n_alphas = int(number(m, "steering.n_alphas_tested", where))
    grid = rc.linear_grid(ALPHA_LOW, ALPHA_HIGH, n_alphas)
    off = rc.on_grid([alpha], grid)
    a.invariant("elb-p1-steering-range", model, "max_alpha_on_alpha_grid", None, alpha, not off,
                src("measurements.steering.max_alpha"),
                f"the range is the largest |alpha| of a {n_alphas}-point grid from {ALPHA_LOW:g} to {ALPHA_HIGH:g} "
                f"(step {grid[1] - grid[0]:g}); {alpha:.4f} is {'not ' if off else ''}a grid point")
    threshold = number(m, "steering.coherence_threshold", where)
    a.invariant("elb-p1-steering-range", model, "coherence_threshold", COHERENCE_THRESHOLD, threshold,
                threshold == COHERENCE_THRESHOLD, src("measurements.steering.coherence_threshold"),
                "documented coherence threshold 0.7")
    auroc = number(m, "probe.auroc", where)
    a.compare("elb-p1-probe-auroc", model, "probe_auroc", auroc, src("measurements.probe.auroc"))
    denominator = rc.is_multiple_of(auroc, rc.auroc_denominators(int(n_test)))
    a.invariant("elb-p1-probe-auroc", model, "auroc_granularity", None, auroc, denominator is not None,
                src("measurements.probe.auroc"),
                f"an AUROC on {n_test:g} held-out texts is a multiple of 1/(n_pos*n_neg); "
                + (f"{auroc:.6f} = k/{denominator}" if denominator else f"{auroc:.10f} is no such multiple"))
    a.invariant("elb-p1-probe-auroc", model, "split_sizes", 2 * N_PAIRS, n_train + n_test,
                n_train + n_test == 2 * N_PAIRS and n_test == 0.2 * (n_train + n_test), src("measurements.probe"),
                f"{N_PAIRS} pairs give {2 * N_PAIRS} texts split 80/20; file: n_train {n_train:g}, n_test {n_test:g}")
    c_dims, c_range = number(m, "control.control_dimensionality", where), number(m, "control.control_steering_range", where)
    control = number(m, "control.control_bandwidth", where)
    a.invariant("elb-p1-empathy-control-ratio", model, "control_bandwidth_equals_dims_x_range", c_dims * c_range,
                control, abs(control - c_dims * c_range) <= 1e-6 * max(1, control), src("measurements.control"),
                "control bandwidth must equal control dimensionality x control steering range")
    sae, pca_rank = number(m, "sae.sae_active_features", where), number(m, "sae.pca_rank", where)
    stored_agree = field(m, "sae.agreement", where)
    rule = rc.sae_agrees(sae, pca_rank)
    a.invariant("elb-p1-sae-pca-agreement", model, "sae_agreement_flag", rule, stored_agree, rule == stored_agree,
                src("measurements.sae.agreement"),
                f"SAE features {sae:g} vs PCA rank {pca_rank:g} ({abs(sae - pca_rank) / pca_rank:.0%} apart; rule: within 20%)")
    a.invariant("elb-p1-sae-pca-agreement", model, "sae_pca_rank_matches_pca", dims, pca_rank, pca_rank == dims,
                src("measurements.sae.pca_rank"), "the SAE cross-check's PCA rank must be the PCA effective rank")
    transfer = number(m, "transfer.transfer_success_rate", where)
    return {"model": model, "bandwidth": stored, "control": control, "agreement": bool(stored_agree), "transfer": transfer}


def audit_aggregates(a: Audit, parts: list[dict], sources: str) -> dict[str, float]:
    figures = rc.phase1_aggregates([p["bandwidth"] for p in parts], [p["control"] for p in parts],
                                   [p["agreement"] for p in parts], [p["transfer"] for p in parts])
    detail = f"from the {len(parts)} per-model files ({', '.join(p['model'] for p in parts)})"
    for claim_id, key, decimals in [("elb-p1-bandwidth-variation", "bandwidth_variation", 2),
                                    ("elb-p1-empathy-control-ratio", "empathy_control_ratio", 1),
                                    ("elb-p1-sae-pca-agreement", "sae_pca_agreement_rate", 2),
                                    ("elb-p1-transfer-success", "transfer_success_mean", 2),
                                    ("elb-p1-cohens-d", "cohens_d_range_over_sd", 2)]:
        a.compare(claim_id, AGGREGATE, key, figures[key], sources, detail, decimals=decimals)
    return figures


def audit_analysis(a: Audit, path: Path, data: dict, parts: list[dict]) -> None:
    """The analysis file's statistics must recompute from the per-model files."""
    where = a.repo.rel(path)
    mine = rc.describe([p["bandwidth"] for p in parts])
    for key in ("mean", "stdev", "min", "max"):
        stored = number(data, f"statistics.bandwidth.{key}", where)
        a.invariant("elb-p1-bandwidth-variation", AGGREGATE, f"analysis_bandwidth_{key}", mine[key], stored,
                    abs(stored - mine[key]) <= 1e-6 * max(1, abs(stored)), a.source(path, f"statistics.bandwidth.{key}"),
                    "aggregate must recompute from the per-model bandwidths")
    ratios = [p["bandwidth"] / p["control"] for p in parts]
    stored_ratio = number(data, "statistics.empathy_control_ratio.mean", where)
    mean_ratio = sum(ratios) / len(ratios)
    a.invariant("elb-p1-empathy-control-ratio", AGGREGATE, "analysis_mean_of_ratios", mean_ratio, stored_ratio,
                abs(stored_ratio - mean_ratio) <= 1e-6, a.source(path, "statistics.empathy_control_ratio.mean"),
                f"the analysis file's ratio is the mean of per-model ratios ({stored_ratio:.3f}); the documented 2.8x is "
                "the ratio of means")


def audit_combined(a: Audit, path: Path, data: dict, parts: list[dict]) -> None:
    """The combined results file must repeat the per-model bandwidths."""
    stored = {r["model"]: r["bandwidth_metric"]["bandwidth"] for r in field(data, "results", a.repo.rel(path))}
    mine = {p["model"]: p["bandwidth"] for p in parts}
    a.invariant("elb-p1-bandwidth", AGGREGATE, "combined_file_matches_per_model_files", len(mine), len(stored),
                all(abs(stored.get(k, float("nan")) - v) < 1e-9 for k, v in mine.items()),
                a.source(path, "results[].bandwidth_metric.bandwidth"),
                "the combined results file must repeat the per-model bandwidths")


def audit(a: Audit) -> None:
    by_model: dict[str, dict] = {}
    for part in a.each(PATTERN, CLAIMS[:4], audit_model_file):
        by_model.setdefault(a.hub_id(part["model"]), part)    # a model in two files counts once
    parts = list(by_model.values())
    if parts:
        audit_aggregates(a, parts, f"{PATTERN}: measurements")
        a.each(ANALYSIS, ["elb-p1-bandwidth-variation"], lambda a, path, data: audit_analysis(a, path, data, parts),
               model=AGGREGATE, required=True)
        a.each(ALL_RESULTS, ["elb-p1-bandwidth"], lambda a, path, data: audit_combined(a, path, data, parts),
               model=AGGREGATE, required=True)
    a.missing(CLAIMS, PATTERN)
