"""ELB Phase 2: pipeline B probe files, pipeline A convergence reports, validation suite, null and length tests."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from elb.audit import recompute as rc
from elb.audit.base import AGGREGATE, Audit
from elb.audit.files import field, mapping, number, numbers
from elb.audit.rows import DISCREPANT, INCONSISTENT, REPRODUCED
from elb.measures.length import tercile_chi_square

RESULTS = "experiments/tripartite/results"
DATA = "experiments/tripartite/data"
PROBE = f"{RESULTS}/**/*_probe.json"
SUMMARY = f"{RESULTS}/**/probe_summary.json"
CONVERGENCE = f"{RESULTS}/**/convergence_report.json"
VALIDATION = f"{RESULTS}/validation_*.json"
NULL = f"{RESULTS}/null_distribution_*.json"
LENGTH = f"{RESULTS}/length_control_*.json"
TRIPLETS = f"{DATA}/triplets_filtered.json"
STORED_CHI_SQUARE = f"{RESULTS}/length_validation.json"
CHI_SQUARE = "elb-r1-length-chi-square"
TYPES = ("cognitive", "affective", "instrumental")
SPLIT = (172, 44, 54)
PIPELINE_B = ["elb-p2-pipeline-b-accuracy", "elb-p2-pipeline-b-macro-auroc", "elb-p2-pipeline-b-cosines-negative",
              "elb-p2-pipeline-b-cog-aff-success", "elb-p2-pipeline-b-cos-cog-aff-value",
              "elb-p2-pipeline-b-cos-cog-instr-value", "elb-p2-pipeline-b-cos-aff-instr-value"]
PIPELINE_A = ["elb-p2-pipeline-a-best-k", "elb-p2-pipeline-a-silhouette", "elb-p2-pipeline-a-purity",
              "elb-p2-convergence-verdict"]
VALIDATION_CLAIMS = ["elb-p2-validation-pairwise-auroc", "elb-p2-validation-ovr-cosines-negative",
                     "elb-p2-validation-control-cosines-negative", "elb-p2-validation-layer-sweep-negative"]
NULL_CLAIMS = ["elb-p2-null-empathy-above-null", "elb-p2-null-control-above-null", "elb-p2-null-empathy-z-value",
               "elb-p2-validation-ovr-mean-cosine-value"]
LENGTH_CLAIMS = ["elb-p2-length-control-above-null", "elb-p2-length-control-empathy-z-value"]
COSINE_CLAIMS = {"cosine_cognitive_affective": "elb-p2-pipeline-b-cos-cog-aff-value",
                 "cosine_cognitive_instrumental": "elb-p2-pipeline-b-cos-cog-instr-value",
                 "cosine_affective_instrumental": "elb-p2-pipeline-b-cos-aff-instr-value"}
SWEEP_LAYERS = [4, 8, 12, 16, 20, 24]
DATASET_TYPE_COUNTS = {"cognitive": 90, "affective": 90, "instrumental": 90, "response_1": 60, "response_2": 60,
                       "response_3": 60, "factual": 90, "informational": 90, "procedural": 90}


def close(a: float, b: float, tol: float = 1e-6) -> bool:
    return abs(a - b) <= tol


def audit_probe(a: Audit, path: Path, data: dict) -> dict:
    """One pipeline B `<model>_layer<L>_probe.json`: recompute cosines, accuracy, macro AUROC; shape invariants.
    Returns the file's content, for the files that must repeat it."""
    where = a.repo.rel(path)
    model = str(field(data, "model_name", where))
    src = lambda name: a.source(path, name)  # noqa: E731
    vectors = field(data, "probe_vectors", where)
    mine = rc.row_cosines({t: numbers(field(vectors, t, where), f"{where}: probe_vectors.{t}") for t in TYPES})
    for key, claim_id in COSINE_CLAIMS.items():
        stored = number(data, f"separation_metrics.{key}", where)
        a.compare(claim_id, model, key, mine[key], src(f"probe_vectors -> {key}"), f"stored {stored:.6f}")
        a.invariant(claim_id, model, f"stored_{key}", mine[key], stored, close(mine[key], stored, 1e-5),
                    src(f"separation_metrics.{key}"), "stored cosine must equal the cosine of the stored weight rows")
    a.compare("elb-p2-pipeline-b-cosines-negative", model, "max_row_cosine", max(mine.values()),
              src("probe_vectors"), "largest of the three recomputed cosines")
    a.compare("elb-p2-pipeline-b-cog-aff-success", model, "cosine_cognitive_affective",
              mine["cosine_cognitive_affective"], src("probe_vectors"),
              f"criterion cos(C,A) < 0.5: {'met' if mine['cosine_cognitive_affective'] < 0.5 else 'not met'}")
    d_model = int(number(data, "d_model", where))
    layer = int(number(data, "layer", where))
    lengths = {len(field(vectors, t, where)) for t in TYPES}
    known = a.model(model)
    expected_d = known.d_model if known and known.d_model else d_model
    a.invariant("elb-p2-pipeline-b-cosines-negative", model, "probe_vector_length", expected_d, max(lengths),
                lengths == {d_model} and d_model == expected_d, src("probe_vectors / d_model"),
                f"weight rows must have the model's hidden size ({expected_d}); lengths {sorted(lengths)}, d_model {d_model}")
    use = known.use(a.part) if known else None
    if use and use.layer is not None:
        a.invariant("elb-p2-pipeline-b-cosines-negative", model, "probe_layer", use.layer, layer, layer == use.layer,
                    src("layer"), f"documented layer {use.convention}[{use.layer}]")
    perf = field(data, "performance", where)
    report = field(perf, "classification_report", where)
    accuracy, n_test = rc.accuracy_from_report(report, TYPES)
    stored_accuracy = number(perf, "accuracy", where)
    a.compare("elb-p2-pipeline-b-accuracy", model, "test_accuracy", accuracy, src("classification_report (recall x support)"),
              f"stored accuracy {stored_accuracy:.4f}", decimals=3)
    a.invariant("elb-p2-pipeline-b-accuracy", model, "test_set_size", SPLIT[2], n_test, n_test == SPLIT[2],
                src("classification_report.*.support"), f"documented stratified split {SPLIT}: {SPLIT[2]} test texts")
    a.invariant("elb-p2-pipeline-b-accuracy", model, "accuracy_granularity", None, stored_accuracy,
                rc.is_multiple_of(stored_accuracy, [n_test]) is not None and close(stored_accuracy, accuracy),
                src("performance.accuracy"), f"accuracy on {n_test} texts is a multiple of 1/{n_test} and equals the report's")
    per_class = [number(perf, f"auroc_per_class.{t}", where) for t in TYPES]
    macro = number(perf, "macro_auroc", where)
    a.compare("elb-p2-pipeline-b-macro-auroc", model, "macro_auroc", float(np.mean(per_class)),
              src("performance.auroc_per_class (mean)"), f"stored macro {macro:.4f}", decimals=3)
    a.invariant("elb-p2-pipeline-b-macro-auroc", model, "macro_is_mean_of_classes", float(np.mean(per_class)), macro,
                close(macro, float(np.mean(per_class))), src("performance.macro_auroc"),
                "macro AUROC must be the mean of the per-class AUROCs")
    return data


def audit_summary(a: Audit, path: Path, data: dict, probes: dict[str, dict]) -> None:
    """probe_summary.json must repeat each model's probe file."""
    for model, entry in data.items():
        if model in probes:
            same = entry.get("separation_metrics") == probes[model].get("separation_metrics") and \
                entry.get("performance") == probes[model].get("performance")
            a.invariant("elb-p2-pipeline-b-cosines-negative", model, "summary_matches_probe_file", True, same, same,
                        a.source(path, model), "probe_summary.json must repeat the per-model probe file")


def audit_convergence(a: Audit, path: Path, data: dict, probes: dict[str, dict]) -> None:
    where = a.repo.rel(path)
    src = lambda name: a.source(path, name)  # noqa: E731
    purities, matches = [], []
    for model, entry in mapping(data, "per_model", where).items():
        k = int(number(entry, "optimal_k", where))
        a.compare("elb-p2-pipeline-a-best-k", model, "best_k", k, src(f"per_model.{model}.optimal_k"), decimals=0)
        a.compare("elb-p2-pipeline-a-silhouette", model, "silhouette", number(entry, "silhouette_score", where),
                  src(f"per_model.{model}.silhouette_score"))
        clusters = mapping(entry, "cluster_composition.cluster_purity", where)
        distributions = [field(c, "distribution", where) for c in clusters.values()]
        mine = rc.purity(distributions)
        stored = number(entry, "cluster_composition.mean_purity", where)
        a.compare("elb-p2-pipeline-a-purity", model, "mean_purity", mine, src("cluster_purity.*.distribution"),
                  f"stored {stored:.4f}; document gives ~0.25 (seed 000: 0.211)", decimals=2)
        a.invariant("elb-p2-pipeline-a-purity", model, "stored_purity_recomputes", mine, stored, close(mine, stored),
                    src(f"per_model.{model}.cluster_composition.mean_purity"),
                    "mean purity must be the mean of the clusters' dominant shares")
        sizes = rc.cluster_sizes(distributions, DATASET_TYPE_COUNTS)
        a.invariant("elb-p2-pipeline-a-purity", model, "cluster_counts_match_dataset", sum(DATASET_TYPE_COUNTS.values()),
                    sum(sizes) if sizes else None, sizes is not None, src("cluster_purity.*.distribution"),
                    f"cluster sizes {sizes} turn every share into whole counts that add up to the dataset's {DATASET_TYPE_COUNTS}"
                    if sizes else f"no cluster sizes turn the shares into the dataset's counts per type {DATASET_TYPE_COUNTS}")
        k_match = bool(field(entry, "k_match", where))
        theoretical = int(number(entry, "theoretical_k", where))
        a.invariant("elb-p2-pipeline-a-best-k", model, "k_match_flag", k == theoretical, k_match, k_match == (k == theoretical),
                    src(f"per_model.{model}.k_match"), f"k_match must say whether optimal k {k} equals theoretical {theoretical}")
        matches.append(k == theoretical)
        purities.append(mine)
        if model in probes:
            same = field(entry, "probe_separation", where) == probes[model].get("separation_metrics")
            a.invariant("elb-p2-convergence-verdict", model, "probe_separation_matches_probe_file", True, same, same,
                        src(f"per_model.{model}.probe_separation"), "must repeat the pipeline B file's cosines")
    verdict = rc.convergence_verdict(float(np.mean(matches)), float(np.mean(purities)))
    stored = str(field(data, "summary.convergence_conclusion", where))
    label = "+".join(field(data, "per_model", where))
    a.add("elb-p2-convergence-verdict", label, "convergence_verdict", "WEAK_CONVERGENCE", verdict,
          REPRODUCED if verdict == "WEAK_CONVERGENCE" == stored else (INCONSISTENT if verdict != stored else DISCREPANT),
          src("summary.convergence_conclusion"),
          f"rule on k-match rate {np.mean(matches):.2f} and purity {np.mean(purities):.3f}; stored {stored}")


def audit_validation(a: Audit, path: Path, data: dict) -> None:
    where = a.repo.rel(path)
    model = str(field(data, "model", where))
    src = lambda name: a.source(path, name)  # noqa: E731
    aurocs = {k: float(v) for k, v in mapping(data, "auroc", where).items()}
    a.compare("elb-p2-validation-pairwise-auroc", model, "min_pairwise_auroc", min(aurocs.values()), src("auroc"),
              f"pairs {aurocs}", decimals=3)
    for name, denominator in aurocs.items():
        a.invariant("elb-p2-validation-pairwise-auroc", model, "auroc_granularity", None, denominator,
                    rc.is_multiple_of(denominator, [60 * 60]) is not None, src(f"auroc.{name}"),
                    "pooled out-of-fold AUROC over 60 x 60 texts is a multiple of 1/3600")
    empathy = {k: float(v) for k, v in mapping(data, "control.empathy", where).items()}
    control = {k: float(v) for k, v in mapping(data, "control.control", where).items()}
    a.compare("elb-p2-validation-ovr-cosines-negative", model, "max_ovr_cosine", max(empathy.values()),
              src("control.empathy"), f"cosines {empathy}")
    a.compare("elb-p2-validation-control-cosines-negative", model, "max_control_cosine", max(control.values()),
              src("control.control"), f"cosines {control}")
    sweep = {int(k): float(v) for k, v in mapping(data, "multilayer", where).items()}
    a.compare("elb-p2-validation-layer-sweep-negative", model, "max_cos_cognitive_affective", max(sweep.values()),
              src("multilayer"), f"per layer {sweep}")
    a.invariant("elb-p2-validation-layer-sweep-negative", model, "swept_layers", str(SWEEP_LAYERS), str(sorted(sweep)),
                sorted(sweep) == SWEEP_LAYERS, src("multilayer"), "documented layers 4, 8, 12, 16, 20, 24")
    default = int(number(data, "default_layer", where))
    if default in sweep and "cog_aff" in empathy:
        a.invariant("elb-p2-validation-layer-sweep-negative", model, "sweep_matches_default_layer", empathy["cog_aff"],
                    sweep[default], close(sweep[default], empathy["cog_aff"]), src(f"multilayer.{default}"),
                    "the sweep's default layer must repeat control.empathy.cog_aff")


def _null_rows(a: Audit, path: Path, data: dict, model: str, observed_key: str, observed: float, null: np.ndarray,
               z_key: str, claims: tuple[str, str | None], label: str) -> None:
    """z recomputed from the stored null values, compared with the document and the stored statistic."""
    summary = rc.null_summary(observed, null)
    where = a.repo.rel(path)
    stored_z = number(data, f"statistics.{z_key}", where)
    z = summary["z_ddof0"] if close(summary["z_ddof0"], stored_z, 1e-3) else summary["z_ddof1"]
    ddof = 0 if z == summary["z_ddof0"] else 1
    detail = (f"{label} {observed:.6f} vs null mean {summary['mean']:.6f}, SD {summary['sd_ddof0']:.6f} (n={summary['n']}); "
              f"SD ddof={ddof} matches the stored z {stored_z:.3f}; share of null >= observed "
              f"{summary['share_null_ge_observed']:.3f} (permutation p = {(1 + summary['share_null_ge_observed'] * summary['n']) / (summary['n'] + 1):.4f})")
    above_claim, value_claim = claims
    a.compare(above_claim, model, z_key, z, a.source(path, "null_distribution.values"), detail, decimals=1)
    if value_claim:
        a.compare(value_claim, model, z_key, z, a.source(path, "null_distribution.values"), detail, decimals=1)
    a.invariant(above_claim, model, f"stored_{z_key}", z, stored_z, close(z, stored_z, 1e-3),
                a.source(path, f"statistics.{z_key}"), "stored z must recompute from the stored null values")


def audit_null(a: Audit, path: Path, data: dict) -> None:
    where = a.repo.rel(path)
    model = str(field(data, "model", where))
    src = lambda name: a.source(path, name)  # noqa: E731
    null = numbers(field(data, "null_distribution.values", where), f"{where}: null_distribution.values")
    empathy = {k: float(v) for k, v in mapping(data, "empathy_cosines", where).items()}
    control = {k: float(v) for k, v in mapping(data, "control_cosines", where).items()}
    e_mean, c_mean = float(np.mean(list(empathy.values()))), float(np.mean(list(control.values())))
    a.compare("elb-p2-validation-ovr-mean-cosine-value", model, "empathy_mean_cosine", e_mean, src("empathy_cosines"),
              f"stored empathy_mean {number(data, 'empathy_mean', where):.6f}")
    a.invariant("elb-p2-validation-ovr-mean-cosine-value", model, "stored_empathy_mean", e_mean,
                number(data, "empathy_mean", where), close(e_mean, number(data, "empathy_mean", where)),
                src("empathy_mean"), "empathy_mean must be the mean of the three stored cosines")
    _null_rows(a, path, data, model, "empathy_mean", e_mean, null, "z_empathy",
               ("elb-p2-null-empathy-above-null", "elb-p2-null-empathy-z-value"), "empathy mean cosine")
    _null_rows(a, path, data, model, "control_mean", c_mean, null, "z_control",
               ("elb-p2-null-control-above-null", None), "control mean cosine")
    for key, value in (("mean", float(np.mean(null))), ("std", None)):
        stored = number(data, f"null_distribution.{key}", where)
        if value is None:
            value = float(np.std(null, ddof=0)) if close(stored, float(np.std(null, ddof=0)), 1e-9) else float(np.std(null, ddof=1))
        a.invariant("elb-p2-null-empathy-above-null", model, f"null_{key}_recomputes", value, stored, close(stored, value, 1e-9),
                    src(f"null_distribution.{key}"), "stored null summary must recompute from the stored values")
    expected_n = re.search(r"_(\d+)\.json$", path.name)
    documented = {"mistralai/Mistral-7B-v0.1": 100, "EleutherAI/pythia-1.4b": 20}.get(a.hub_id(model))
    n_expected = int(expected_n.group(1)) if expected_n else documented
    if n_expected:
        a.invariant("elb-p2-null-empathy-above-null", model, "null_permutation_count", n_expected, len(null),
                    len(null) == n_expected, src("null_distribution.values"), "number of permutations as documented/named")
    share = float(np.mean(null >= e_mean))
    stored_pct = number(data, "statistics.empathy_percentile", where)
    a.invariant("elb-p2-null-empathy-above-null", model, "empathy_percentile_definition",
                round(100 * float(np.mean(null < e_mean)), 3), stored_pct, close(stored_pct, share) or close(stored_pct, 100 * share),
                src("statistics.empathy_percentile"),
                f"the stored 'percentile' equals the share of null >= observed ({share:.3f}), not the observed value's "
                f"percentile rank ({100 * float(np.mean(null < e_mean)):.1f})")


def audit_length(a: Audit, path: Path, data: dict) -> None:
    where = a.repo.rel(path)
    model = str(field(data, "model", where))
    null = numbers(field(data, "null_distribution.values", where), f"{where}: null_distribution.values")
    length = {k: float(v) for k, v in mapping(data, "length_cosines", where).items()}
    empathy = {k: float(v) for k, v in mapping(data, "empathy_cosines", where).items()}
    _null_rows(a, path, data, model, "length_mean", float(np.mean(list(length.values()))), null, "z_length",
               ("elb-p2-length-control-above-null", None), "length-tercile mean cosine")
    _null_rows(a, path, data, model, "empathy_mean", float(np.mean(list(empathy.values()))), null, "z_empathy",
               ("elb-p2-length-control-empathy-z-value", None), "empathy mean cosine")
    a.invariant("elb-p2-length-control-above-null", model, "null_permutation_count", 50, len(null), len(null) == 50,
                a.source(path, "null_distribution.values"), "documented 50 permutations")


def audit_length_chi_square(a: Audit, path: Path, data: dict) -> None:
    """Round 1's type x length-tercile chi-square, recomputed from the published triplets."""
    triplets = field(data, "triplets", a.repo.rel(path))[:30]
    groups = np.array([t for _ in triplets for t in TYPES])
    lengths = np.array([len(str(item[t])) for item in triplets for t in TYPES])
    result = tercile_chi_square(groups, lengths)
    detail = f"first 30 triplets, character counts; contingency (rows {result['groups']}) {result['contingency']}"
    a.compare(CHI_SQUARE, AGGREGATE, "length_chi_square", result["chi2"], TRIPLETS, detail, decimals=2)
    a.each(STORED_CHI_SQUARE, [CHI_SQUARE], lambda a, path, stored: audit_stored_chi_square(a, path, stored, result),
           model=AGGREGATE, required=True)


def audit_stored_chi_square(a: Audit, path: Path, stored: dict, result: dict) -> None:
    chi2 = number(stored, "confound.chi2", a.repo.rel(path))
    table = sorted(map(tuple, field(stored, "confound.contingency", "")))
    mine = sorted(tuple(float(x) for x in row) for row in result["contingency"])
    same = close(chi2, result["chi2"], 1e-6) and table == mine
    a.invariant(CHI_SQUARE, AGGREGATE, "stored_chi_square_recomputes", result["chi2"], chi2, same,
                a.source(path, "confound"), "stored chi-square and contingency must recompute from the data")


def audit(a: Audit) -> None:
    probes: dict[str, dict] = {}
    for data in a.each(PROBE, PIPELINE_B, audit_probe):
        probes.setdefault(str(data["model_name"]), data)
    a.each(SUMMARY, ["elb-p2-pipeline-b-cosines-negative"],
           lambda a, path, data: audit_summary(a, path, data, probes), model=lambda path: path.parents[2].name)
    a.each(CONVERGENCE, PIPELINE_A, lambda a, path, data: audit_convergence(a, path, data, probes),
           model=lambda path: path.parents[1].name)
    a.each(VALIDATION, VALIDATION_CLAIMS, audit_validation)
    a.each(NULL, NULL_CLAIMS, audit_null)
    a.each(LENGTH, LENGTH_CLAIMS, audit_length)
    a.each(TRIPLETS, [CHI_SQUARE], audit_length_chi_square, model=AGGREGATE, required=True)
    a.missing(PIPELINE_B, PROBE)
    a.missing(PIPELINE_A, CONVERGENCE)
    a.missing(VALIDATION_CLAIMS, VALIDATION)
    a.missing(NULL_CLAIMS, NULL)
    a.missing(LENGTH_CLAIMS, LENGTH)
