"""ELB Phase 2: pipeline B probe files, pipeline A convergence reports, validation suite, null and length tests,
the round 1 length confound from the published triplets, and the Pythia steering generations."""
from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np
from pydantic import TypeAdapter

from elb.audit import recompute as rc
from elb.audit.base import AGGREGATE, Audit, Check, Compare, Files, Invariant, Parsed, Record, Where
from elb.audit.compare import COSINE, UNIT
from elb.measures.length import tercile_chi_square

RESULTS = "experiments/tripartite/results"
DATA = "experiments/tripartite/data"
TRIPLETS = f"{DATA}/triplets_filtered.json"
CHI_SQUARE = "elb-r1-length-chi-square"
TYPES = ("cognitive", "affective", "instrumental")
SPLIT = (172, 44, 54)
PIPELINE_B = ("elb-p2-pipeline-b-accuracy", "elb-p2-pipeline-b-macro-auroc", "elb-p2-pipeline-b-cosines-negative",
              "elb-p2-pipeline-b-cog-aff-success", "elb-p2-pipeline-b-cos-cog-aff-value",
              "elb-p2-pipeline-b-cos-cog-instr-value", "elb-p2-pipeline-b-cos-aff-instr-value")
PIPELINE_A = ("elb-p2-pipeline-a-best-k", "elb-p2-pipeline-a-silhouette", "elb-p2-pipeline-a-purity",
              "elb-p2-convergence-verdict")
VALIDATION = ("elb-p2-validation-pairwise-auroc", "elb-p2-validation-ovr-cosines-negative",
              "elb-p2-validation-control-cosines-negative", "elb-p2-validation-layer-sweep-negative",
              "elb-p2-methodology-classifier-geometry")
NULL = ("elb-p2-null-empathy-above-null", "elb-p2-null-control-above-null", "elb-p2-null-empathy-z-value",
        "elb-p2-validation-ovr-mean-cosine-value", "elb-p2-methodology-classifier-geometry")
LENGTH = ("elb-p2-length-control-above-null", "elb-p2-length-control-empathy-z-value")
PYTHIA = "elb-p2-pythia-steering"
MEAN_COSINES = "elb-p2-pipeline-b-mean-cosines"
METHODOLOGY = "elb-p2-methodology-classifier-geometry"
COSINE_CLAIMS = {"cosine_cognitive_affective": "elb-p2-pipeline-b-cos-cog-aff-value",
                 "cosine_cognitive_instrumental": "elb-p2-pipeline-b-cos-cog-instr-value",
                 "cosine_affective_instrumental": "elb-p2-pipeline-b-cos-aff-instr-value"}
SWEEP_LAYERS = [4, 8, 12, 16, 20, 24]
NULL_SIZES = {"mistralai/Mistral-7B-v0.1": 100, "EleutherAI/pythia-1.4b": 20}   # documented permutations
DATASET_TYPE_COUNTS = {"cognitive": 90, "affective": 90, "instrumental": 90, "response_1": 60, "response_2": 60,
                       "response_3": 60, "factual": 90, "informational": 90, "procedural": 90}


class ClassReport(Parsed):
    recall: float
    support: float


class Performance(Parsed):
    accuracy: float
    macro_auroc: float
    auroc_per_class: dict[str, float]
    classification_report: dict[str, ClassReport | float]

    def per_class(self) -> list[ClassReport]:
        reports = [self.classification_report[t] for t in TYPES]
        if not all(isinstance(r, ClassReport) for r in reports):
            raise ValueError("classification_report: a class entry is not a report")
        return reports  # type: ignore[return-value]


class ProbeFile(Parsed):
    model_name: str
    layer: int
    d_model: int
    probe_vectors: dict[str, list[float]]
    separation_metrics: dict[str, float]
    performance: Performance


class Cluster(Parsed):
    distribution: dict[str, float]


class Composition(Parsed):
    cluster_purity: dict[str, Cluster]
    mean_purity: float


class Clustering(Parsed):
    optimal_k: int
    theoretical_k: int
    k_match: bool
    silhouette_score: float
    cluster_composition: Composition
    probe_separation: dict[str, float]


class ConvergenceSummary(Parsed):
    convergence_conclusion: str


class Convergence(Parsed):
    per_model: dict[str, Clustering]
    summary: ConvergenceSummary


class OvrCosines(Parsed):
    empathy: dict[str, float]
    control: dict[str, float]


class ValidationFile(Parsed):
    model: str
    default_layer: int
    control: OvrCosines
    multilayer: dict[str, float]
    auroc: dict[str, float]


class Null(Parsed):
    values: list[float]
    mean: float | None = None
    std: float | None = None


class NullStatistics(Parsed):
    z_empathy: float
    z_control: float | None = None
    z_length: float | None = None
    empathy_percentile: float | None = None


class NullFile(Parsed):
    model: str
    empathy_cosines: dict[str, float]
    empathy_mean: float
    control_cosines: dict[str, float]
    null_distribution: Null
    statistics: NullStatistics


class LengthFile(Parsed):
    model: str
    empathy_cosines: dict[str, float]
    length_cosines: dict[str, float]
    null_distribution: Null
    statistics: NullStatistics


class Triplet(Parsed):
    cognitive: str
    affective: str
    instrumental: str


class Triplets(Parsed):
    triplets: list[Triplet]


class Confound(Parsed):
    chi2: float
    contingency: list[list[float]]


class StoredConfound(Parsed):
    confound: Confound


class Generation(Parsed):
    scenario: str
    outputs: dict[str, str]


class SteeringTest(Parsed):
    model: str
    layer: int
    direction: str
    alphas: list[float]
    generations: list[Generation]


def close(a: float, b: float, tol: float = 1e-6) -> bool:
    return abs(a - b) <= tol


def check_probe(a: Audit, at: Where, f: ProbeFile) -> Iterator[Check]:
    """Pipeline B `<model>_layer<L>_probe.json`: cosines, accuracy and macro AUROC recomputed; shape invariants."""
    model = f.model_name
    mine = rc.row_cosines({t: np.asarray(f.probe_vectors[t]) for t in TYPES})
    for key, claim in COSINE_CLAIMS.items():
        stored = f.separation_metrics[key]
        yield Compare(claim, model, key, mine[key], at(f"probe_vectors -> {key}"), f"stored {stored:.6f}", span=COSINE)
        yield Invariant(claim, model, f"stored_{key}", stored, at(f"separation_metrics.{key}"),
                        "stored cosine must equal the cosine of the stored weight rows", expected=mine[key],
                        holds=close(mine[key], stored, 1e-5))
    yield Compare("elb-p2-pipeline-b-cosines-negative", model, "max_row_cosine", max(mine.values()),
                  at("probe_vectors"), "largest of the three recomputed cosines", span=COSINE)
    yield Compare("elb-p2-pipeline-b-cog-aff-success", model, "cosine_cognitive_affective",
                  mine["cosine_cognitive_affective"], at("probe_vectors"), span=COSINE)
    lengths = sorted({len(f.probe_vectors[t]) for t in TYPES})
    known = a.model(model)
    expected_d = known.d_model if known and known.d_model else f.d_model
    yield Invariant("elb-p2-pipeline-b-cosines-negative", model, "probe_vector_length", max(lengths),
                    at("probe_vectors / d_model"), f"weight rows must have the model's hidden size ({expected_d}); "
                    f"lengths {lengths}, d_model {f.d_model}", expected=expected_d,
                    holds=lengths == [f.d_model] and f.d_model == expected_d)
    use = known.use(a.part) if known else None
    if use and use.layer is not None:
        yield Invariant("elb-p2-pipeline-b-cosines-negative", model, "probe_layer", f.layer, at("layer"),
                        f"documented layer {use.convention}[{use.layer}]", expected=use.layer,
                        holds=f.layer == use.layer)
    perf = f.performance
    accuracy, n_test = rc.accuracy_from_report([(r.recall, r.support) for r in perf.per_class()])
    yield Compare("elb-p2-pipeline-b-accuracy", model, "test_accuracy", accuracy,
                  at("classification_report (recall x support)"), f"stored accuracy {perf.accuracy:.4f}", n=n_test)
    yield Invariant("elb-p2-pipeline-b-accuracy", model, "test_set_size", n_test, at("classification_report.support"),
                    f"stratified split {SPLIT}: {SPLIT[2]} test texts", expected=SPLIT[2], holds=n_test == SPLIT[2])
    yield Invariant("elb-p2-pipeline-b-accuracy", model, "accuracy_granularity", perf.accuracy,
                    at("performance.accuracy"),
                    f"accuracy on {n_test} texts is a multiple of 1/{n_test} and equals the report's", expected=None,
                    holds=rc.is_multiple_of(perf.accuracy, [n_test]) is not None and close(perf.accuracy, accuracy))
    macro = float(np.mean([perf.auroc_per_class[t] for t in TYPES]))
    yield Compare("elb-p2-pipeline-b-macro-auroc", model, "macro_auroc", macro,
                  at("performance.auroc_per_class (mean)"), f"stored macro {perf.macro_auroc:.4f}", span=UNIT)
    yield Invariant("elb-p2-pipeline-b-macro-auroc", model, "macro_is_mean_of_classes", perf.macro_auroc,
                    at("performance.macro_auroc"), "macro AUROC must be the mean of the per-class AUROCs",
                    expected=macro, holds=close(perf.macro_auroc, macro))


def check_mean_cosines(probes: dict[str, ProbeFile]) -> Iterator[Check]:
    """Pipeline B cosines averaged over the models whose probe files are published."""
    cosines = [rc.row_cosines({t: np.asarray(p.probe_vectors[t]) for t in TYPES}) for p in probes.values()]
    for key in COSINE_CLAIMS:
        yield Compare(MEAN_COSINES, AGGREGATE, f"mean_{key}", float(np.mean([c[key] for c in cosines])),
                      f"{RESULTS}/**/*_probe.json: probe_vectors", f"mean over {', '.join(probes)} "
                      f"({len(probes)} of the 4 published models have a probe file)")


def check_summary(at: Where, summary: dict[str, ProbeFile], probes: dict[str, ProbeFile]) -> Iterator[Check]:
    """probe_summary.json must repeat each model's probe file."""
    for model, entry in summary.items():
        if model in probes:
            same = entry.separation_metrics == probes[model].separation_metrics and \
                entry.performance == probes[model].performance
            yield Invariant("elb-p2-pipeline-b-cosines-negative", model, "summary_matches_probe_file", same, at(model),
                            "probe_summary.json must repeat the per-model probe file", expected=True, holds=same)


def check_convergence(at: Where, f: Convergence, probes: dict[str, ProbeFile]) -> Iterator[Check]:
    purities, matches = [], []
    for model, entry in f.per_model.items():
        k = entry.optimal_k
        yield Compare("elb-p2-pipeline-a-best-k", model, "best_k", k, at(f"per_model.{model}.optimal_k"), span=(2, 6))
        yield Compare("elb-p2-pipeline-a-silhouette", model, "silhouette", entry.silhouette_score,
                      at(f"per_model.{model}.silhouette_score"), span=COSINE)
        distributions = [c.distribution for c in entry.cluster_composition.cluster_purity.values()]
        mine, stored = rc.purity(distributions), entry.cluster_composition.mean_purity
        yield Compare("elb-p2-pipeline-a-purity", model, "mean_purity", mine, at("cluster_purity.*.distribution"),
                      f"stored {stored:.4f}; seed 000 gives 0.211", span=UNIT)
        yield Invariant("elb-p2-pipeline-a-purity", model, "stored_purity_recomputes", stored,
                        at(f"per_model.{model}.cluster_composition.mean_purity"),
                        "mean purity must be the mean of the clusters' dominant shares", expected=mine,
                        holds=close(mine, stored))
        sizes = rc.cluster_sizes(distributions, DATASET_TYPE_COUNTS)
        yield Invariant("elb-p2-pipeline-a-purity", model, "cluster_counts_match_dataset",
                        sum(sizes) if sizes else None, at("cluster_purity.*.distribution"),
                        f"cluster sizes {sizes} turn every share into whole counts that add up to the dataset's "
                        f"{DATASET_TYPE_COUNTS}" if sizes else
                        f"no cluster sizes turn the shares into the dataset's counts per type {DATASET_TYPE_COUNTS}",
                        expected=sum(DATASET_TYPE_COUNTS.values()), holds=sizes is not None)
        theoretical = entry.theoretical_k
        yield Invariant("elb-p2-pipeline-a-best-k", model, "k_match_flag", entry.k_match,
                        at(f"per_model.{model}.k_match"),
                        f"k_match must say whether optimal k {k} equals theoretical {theoretical}",
                        expected=k == theoretical, holds=entry.k_match == (k == theoretical))
        matches.append(k == theoretical)
        purities.append(mine)
        if model in probes:
            same = entry.probe_separation == probes[model].separation_metrics
            yield Invariant("elb-p2-convergence-verdict", model, "probe_separation_matches_probe_file", same,
                            at(f"per_model.{model}.probe_separation"), "must repeat the pipeline B file's cosines",
                            expected=True, holds=same)
    verdict = rc.convergence_verdict(float(np.mean(matches)), float(np.mean(purities)))
    stored = f.summary.convergence_conclusion
    label = "+".join(f.per_model)
    yield Compare("elb-p2-convergence-verdict", label, "convergence_verdict", verdict, at("per_model"),
                  f"rule on k-match rate {np.mean(matches):.2f} and purity {np.mean(purities):.3f}",
                  published="WEAK_CONVERGENCE")
    yield Invariant("elb-p2-convergence-verdict", label, "stored_verdict_follows_rule", stored,
                    at("summary.convergence_conclusion"), "stored conclusion must follow the published rule",
                    expected=verdict, holds=stored == verdict)


def check_validation(at: Where, f: ValidationFile) -> Iterator[Check]:
    model = f.model
    yield Compare("elb-p2-validation-pairwise-auroc", model, "min_pairwise_auroc", min(f.auroc.values()), at("auroc"),
                  f"pairs {f.auroc}", span=UNIT)
    yield Compare(METHODOLOGY, model, "min_pairwise_auroc", min(f.auroc.values()), at("auroc"),
                  "the probes separate the types perfectly", published="1.0", span=UNIT)
    for name, value in f.auroc.items():
        yield Invariant("elb-p2-validation-pairwise-auroc", model, "auroc_granularity", value, at(f"auroc.{name}"),
                        "a mean of five fold AUROCs on 12 x 12 held-out texts is a multiple of 1/720", expected=None,
                        holds=rc.is_multiple_of(value, [720]) is not None)
    empathy, control = f.control.empathy, f.control.control
    yield Compare("elb-p2-validation-ovr-cosines-negative", model, "max_ovr_cosine", max(empathy.values()),
                  at("control.empathy"), f"cosines {empathy}", span=COSINE)
    yield Compare("elb-p2-validation-control-cosines-negative", model, "max_control_cosine", max(control.values()),
                  at("control.control"), f"cosines {control}", span=COSINE)
    sweep = {int(k): v for k, v in f.multilayer.items()}
    yield Compare("elb-p2-validation-layer-sweep-negative", model, "max_cos_cognitive_affective", max(sweep.values()),
                  at("multilayer"), f"per layer {sweep}", span=COSINE)
    yield Invariant("elb-p2-validation-layer-sweep-negative", model, "swept_layers", str(sorted(sweep)),
                    at("multilayer"),
                    "documented layers 4, 8, 12, 16, 20, 24", expected=str(SWEEP_LAYERS),
                    holds=sorted(sweep) == SWEEP_LAYERS)
    if f.default_layer in sweep and "cog_aff" in empathy:
        yield Invariant("elb-p2-validation-layer-sweep-negative", model, "sweep_matches_default_layer",
                        sweep[f.default_layer], at(f"multilayer.{f.default_layer}"),
                        "the sweep's default layer must repeat control.empathy.cog_aff", expected=empathy["cog_aff"],
                        holds=close(sweep[f.default_layer], empathy["cog_aff"]))


def check_z(at: Where, model: str, observed: float, null: list[float], stored_z: float, key: str, label: str,
            claims: tuple[str, ...]) -> Iterator[Check]:
    """z recomputed from the stored null values (population SD unless the stored z used the sample SD)."""
    by_ddof = rc.null_z(observed, null)
    ddof = rc.matching_ddof(by_ddof, stored_z, 1e-3)
    z = by_ddof[0 if ddof is None else ddof]
    share = float(np.mean(np.asarray(null) >= observed))
    detail = (f"{label} {observed:.6f} vs null mean {np.mean(null):.6f}, population SD {np.std(null):.6f} "
              f"(n={len(null)}); the stored z {stored_z:.3f} " + (f"uses SD ddof={ddof}" if ddof is not None else
                                                                   "matches neither SD convention")
              + f"; share of null >= observed {share:.3f}, permutation p = "
                f"{(1 + share * len(null)) / (len(null) + 1):.4f}")
    for claim in claims:
        yield Compare(claim, model, key, z, at("null_distribution.values"), detail)
    yield Invariant(claims[0], model, f"stored_{key}", stored_z, at(f"statistics.{key}"),
                    "stored z must recompute from the stored null values", expected=z, holds=ddof is not None)


def check_null(a: Audit, at: Where, f: NullFile) -> Iterator[Check]:
    model, null = f.model, f.null_distribution.values
    e_mean = float(np.mean(list(f.empathy_cosines.values())))
    c_mean = float(np.mean(list(f.control_cosines.values())))
    yield Compare("elb-p2-validation-ovr-mean-cosine-value", model, "empathy_mean_cosine", e_mean,
                  at("empathy_cosines"), f"stored empathy_mean {f.empathy_mean:.6f}", span=COSINE)
    yield Invariant("elb-p2-validation-ovr-mean-cosine-value", model, "stored_empathy_mean", f.empathy_mean,
                    at("empathy_mean"), "empathy_mean must be the mean of the three stored cosines", expected=e_mean,
                    holds=close(e_mean, f.empathy_mean))
    claims = ("elb-p2-null-empathy-above-null", "elb-p2-null-empathy-z-value")
    yield from check_z(at, model, e_mean, null, f.statistics.z_empathy, "z_empathy", "empathy mean cosine",
                       (*claims, METHODOLOGY))
    if f.statistics.z_control is not None:
        yield from check_z(at, model, c_mean, null, f.statistics.z_control, "z_control", "control mean cosine",
                           ("elb-p2-null-control-above-null",))
    yield from check_null_summary(at, model, f.null_distribution)
    named = re.search(r"_(\d+)\.json$", at.path.name)
    expected = int(named.group(1)) if named else NULL_SIZES.get(a.hub_id(model))
    if expected:
        yield Invariant("elb-p2-null-empathy-above-null", model, "null_permutation_count", len(null),
                        at("null_distribution.values"), "number of permutations as documented (or named)",
                        expected=expected, holds=len(null) == expected)
    stored = f.statistics.empathy_percentile
    if stored is not None:
        share = 100 * float(np.mean(np.asarray(null) >= e_mean))
        rank = 100 * float(np.mean(np.asarray(null) < e_mean))
        yield Invariant("elb-p2-null-empathy-above-null", model, "stored_percentile_is_share_of_null_at_or_above",
                        stored, at("statistics.empathy_percentile"),
                        f"the stored 'percentile' must be the % of null values >= the observed value ({share:g}); "
                        f"the observed value's percentile rank would be {rank:g}", expected=share,
                        holds=close(stored, share) or close(stored, share / 100))


def check_null_summary(at: Where, model: str, null: Null) -> Iterator[Check]:
    """The stored null mean and SD must recompute from the stored values (SD: whichever convention matches)."""
    if null.mean is not None:
        mean = float(np.mean(null.values))
        yield Invariant("elb-p2-null-empathy-above-null", model, "null_mean_recomputes", null.mean,
                        at("null_distribution.mean"), "stored null mean must recompute from the stored values",
                        expected=mean, holds=close(null.mean, mean, 1e-9))
    if null.std is not None:
        sds = rc.sd_by_ddof(null.values)
        ddof = rc.matching_ddof(sds, null.std, 1e-9)
        yield Invariant("elb-p2-null-empathy-above-null", model, "null_std_recomputes", null.std,
                        at("null_distribution.std"), "stored null SD must recompute from the stored values"
                        + (f" (ddof {ddof})" if ddof is not None else ""), expected=sds[0 if ddof is None else ddof],
                        holds=ddof is not None)


def check_length(at: Where, f: LengthFile) -> Iterator[Check]:
    null = f.null_distribution.values
    stats = f.statistics
    if stats.z_length is not None:
        yield from check_z(at, f.model, float(np.mean(list(f.length_cosines.values()))), null, stats.z_length,
                           "z_length", "length-tercile mean cosine", ("elb-p2-length-control-above-null",))
    yield from check_z(at, f.model, float(np.mean(list(f.empathy_cosines.values()))), null, stats.z_empathy,
                       "z_empathy", "empathy mean cosine", ("elb-p2-length-control-empathy-z-value",))
    yield Invariant("elb-p2-length-control-above-null", f.model, "null_permutation_count", len(null),
                    at("null_distribution.values"), "documented 50 permutations", expected=50, holds=len(null) == 50)


def chi_square(f: Triplets) -> dict:
    """Round 1's type x length-tercile chi-square on the first 30 published triplets (character counts)."""
    first = f.triplets[:30]
    groups = np.array([t for _ in first for t in TYPES])
    return tercile_chi_square(groups, np.array([len(getattr(item, t)) for item in first for t in TYPES]))


def check_chi_square(at: Where, f: Triplets) -> Iterator[Check]:
    result = chi_square(f)
    yield Compare(CHI_SQUARE, AGGREGATE, "length_chi_square", result["chi2"], at.rel,
                  f"first 30 triplets, character counts; contingency (rows {[str(g) for g in result['groups']]}) "
                  f"{result['contingency']}")


def check_stored_chi_square(at: Where, f: StoredConfound, result: dict) -> Iterator[Check]:
    table = sorted(map(tuple, f.confound.contingency))
    mine = sorted(tuple(float(x) for x in row) for row in result["contingency"])
    same = close(f.confound.chi2, result["chi2"]) and table == mine
    yield Invariant(CHI_SQUARE, AGGREGATE, "stored_chi_square_recomputes", f.confound.chi2, at("confound"),
                    "stored chi-square and contingency must recompute from the data", expected=result["chi2"],
                    holds=same)


def check_pythia_steering(a: Audit, at: Where, f: SteeringTest) -> Iterator[Check]:
    """Qualitative steering along cognitive - affective: the file must hold what the method describes."""
    known = a.model(f.model)
    use = known.use(a.part) if known else None
    layer = use.layer if use else None
    yield Invariant(PYTHIA, f.model, "steering_layer", f.layer, at("layer"), "the documented Pythia layer",
                    expected=layer, holds=f.layer == layer)
    symmetric = sorted(f.alphas) == sorted(-x for x in f.alphas) and 0.0 in f.alphas
    yield Invariant(PYTHIA, f.model, "alphas_symmetric_with_baseline", str(f.alphas), at("alphas"),
                    "alphas on both sides of 0, with the unsteered alpha 0", expected=None, holds=symmetric)
    wanted = {float(x) for x in f.alphas}
    complete = all({float(k) for k in g.outputs} == wanted for g in f.generations)
    yield Invariant(PYTHIA, f.model, "output_for_every_alpha", len(f.generations), at("generations[].outputs"),
                    "every scenario has one generation per alpha", expected=len(f.generations), holds=complete)
    yield Record(PYTHIA, f.model, "direction", f.direction, at("direction"),
                 "qualitative claim: no metric published; the generations are kept for reading")


def audit(a: Audit) -> None:
    probes: dict[str, ProbeFile] = {}
    for record in a.each(Files((f"{RESULTS}/**/*_probe.json",), PIPELINE_B, ProbeFile.model_validate),
                         lambda at, f: check_probe(a, at, f)):
        probes.setdefault(record.model_name, record)
    if probes:
        with a.reading((MEAN_COSINES,), AGGREGATE, f"{RESULTS}/**/*_probe.json"):
            a.add(check_mean_cosines(probes))
    summaries = TypeAdapter(dict[str, ProbeFile])
    a.each(Files((f"{RESULTS}/**/probe_summary.json",), ("elb-p2-pipeline-b-cosines-negative",),
                 summaries.validate_python, model=lambda path: path.parents[2].name),
           lambda at, f: check_summary(at, f, probes))
    a.each(Files((f"{RESULTS}/**/convergence_report.json",), PIPELINE_A, Convergence.model_validate,
                 model=lambda path: path.parents[1].name), lambda at, f: check_convergence(at, f, probes))
    a.each(Files((f"{RESULTS}/validation_*.json",), VALIDATION, ValidationFile.model_validate), check_validation)
    a.each(Files((f"{RESULTS}/null_distribution_*.json",), NULL, NullFile.model_validate),
           lambda at, f: check_null(a, at, f))
    a.each(Files((f"{RESULTS}/length_control_*.json",), LENGTH, LengthFile.model_validate), check_length)
    for triplets in a.each(Files((TRIPLETS,), (CHI_SQUARE,), Triplets.model_validate, model=AGGREGATE, required=True),
                           check_chi_square):
        result = chi_square(triplets)
        a.each(Files((f"{RESULTS}/length_validation.json",), (CHI_SQUARE,), StoredConfound.model_validate,
                     model=AGGREGATE, required=True), lambda at, f: check_stored_chi_square(at, f, result))
    a.each(Files((f"{RESULTS}/steering_test_*.json",), (PYTHIA,), SteeringTest.model_validate),
           lambda at, f: check_pythia_steering(a, at, f))
    a.missing(PIPELINE_B, f"{RESULTS}/**/*_probe.json")
    a.missing(PIPELINE_A, f"{RESULTS}/**/convergence_report.json")
    a.missing(VALIDATION, f"{RESULTS}/validation_*.json")
    a.missing(NULL, f"{RESULTS}/null_distribution_*.json")
    a.missing(LENGTH, f"{RESULTS}/length_control_*.json")
    a.missing((PYTHIA, MEAN_COSINES), f"{RESULTS}/")
