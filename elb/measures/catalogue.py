"""The measurement catalogue: each measure declared once, with the activations it reads and what it produces.

The activation plan (`elb.plan`), the measures stage, the seed-spread stage, the claim registry's quantity check
and the method pins shown in the report all derive from `CATALOGUE`. Adding a measured quantity takes one
entry here, one pure function under `elb/measures/`, and a claim in `claims/registry/`.
"""
from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import pandas as pd
import torch
from threadpoolctl import threadpool_limits

from elb.activations.pooling import POOLINGS
from elb.config import AnalysisConfig, EipConfig, Params
from elb.datasets.formatting import TEMPLATES
from elb.datasets.spec import EMPATHY_TYPES, NON_EMPATHY, SPECS, TRIPLETS
from elb.measures import council, eip, phase1, phase2, rounds, sae, steering
from elb.measures.measurement import Measurement

TextSet = Literal["pipeline", "validation"]
LAYER_TAG = "{layer}"  # in a quantity name: expands to L<published layer> for each layer of a sweep


@contextmanager
def single_threaded() -> Iterator[None]:
    """Torch and BLAS on one thread: the measures' small fits run many times faster than with oversubscribed
    threads."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        torch.set_num_threads(threads)


@dataclass(frozen=True)
class Subset:
    """A named slice of the texts table: its datasets (file order), labels, and an optional params cap on the items."""

    datasets: tuple[str, ...]
    classes: tuple[str, ...]
    limit: str | None  # field of analysis.validation capping the items of each dataset, taken in file order
    description: str

    def size(self, params: Params) -> int | None:
        return getattr(params.analysis.validation, self.limit) if self.limit else None

    def select(self, texts: pd.DataFrame, params: Params) -> pd.DataFrame:
        """The subset's rows; an error naming the param when a dataset has fewer items than it asks for."""
        rows = texts[texts["dataset"].isin(self.datasets)]
        wanted = self.size(params)
        if wanted is None:
            return rows
        for dataset, items in rows.groupby("dataset")["position"].nunique().items():
            if items < wanted:
                raise ValueError(f"analysis.validation.{self.limit} = {wanted} needs {wanted} {dataset} items; "
                                 f"the data has {items}")
        return rows[rows["position"] < wanted]


SUBSETS: dict[str, Subset] = {
    "triplets": Subset((TRIPLETS.name,), EMPATHY_TYPES, None, "every triplet"),
    "first_triplets": Subset((TRIPLETS.name,), EMPATHY_TYPES, "n_triplets", "the first n_triplets triplets"),
    "auroc_triplets": Subset((TRIPLETS.name,), EMPATHY_TYPES, "auroc_triplets", "the first auroc_triplets triplets"),
    "controls": Subset((NON_EMPATHY.name,), NON_EMPATHY.text_fields, "n_controls",
                       "the first n_controls non-empathy controls"),
    "all_texts": Subset(tuple(spec.name for spec in SPECS), tuple(f for spec in SPECS for f in spec.text_fields), None,
                        "every text of the three datasets (triplets, non-empathy, valence-stripped); nine types"),
}


@dataclass(frozen=True)
class Inputs:
    """The activations a measure reads: text set (= text format), pooling, published layer(s), text subset."""

    text_set: TextSet
    pooling: str
    layers: str  # field path under `analysis` holding a published layer or a list of them
    subset: str

    def published_layers(self, params: Params) -> list[int]:
        value: Any = params.analysis
        for part in self.layers.split("."):
            value = getattr(value, part)
        return list(value) if isinstance(value, list) else [value]

    @property
    def is_sweep(self) -> bool:
        return self.layers.endswith("layers")


@dataclass(frozen=True)
class Measure:
    """One analysis: its inputs, the quantities it produces, and the pure function that computes them.

    `compute(data, cfg, seed)` receives a `Probed` (or, for a sweep, `{published layer: Probed}`).
    """

    name: str
    method: str
    inputs: Inputs
    quantities: tuple[str, ...]
    compute: Callable[[Any, AnalysisConfig, int], list[Measurement]]
    settings: tuple[str, ...] = ()  # fields under `analysis` that pin the method
    spread: bool = False  # rerun with other seeds (seed_spread stage): its quantities reproduce published numbers

    def run(self, data: Any, cfg: AnalysisConfig, seed: int) -> list[Measurement]:
        with single_threaded():
            return self.compute(data, cfg, seed)

    def expanded(self, params: Params) -> list[str]:
        """Quantity names with every sweep tag expanded to the configured published layers."""
        layers = self.inputs.published_layers(params)
        return [q.replace(LAYER_TAG, f"L{layer}") for q in self.quantities
                for layer in (layers if LAYER_TAG in q else [None])]


_VALIDATION = ("validation.C", "validation.max_iter", "standardize")
CATALOGUE: tuple[Measure, ...] = (
    Measure("pipeline_b", "Linear(d_model, 3) softmax probe, cross-entropy, full-batch Adam; stratified "
            "train/val/test split; cosines of its weight rows; max cosine against the probe refit on shuffled labels",
            Inputs("pipeline", "mean_with_padding", "pipeline_b.layer", "triplets"),
            ("pipeline_b.test_accuracy", "pipeline_b.val_accuracy", "pipeline_b.macro_auroc",
             "pipeline_b.cos_cognitive_affective", "pipeline_b.cos_cognitive_instrumental",
             "pipeline_b.cos_affective_instrumental", "pipeline_b.max_cosine"),
            phase2.pipeline_b, ("pipeline_b.epochs", "pipeline_b.lr", "pipeline_b.test_fraction",
                                "pipeline_b.val_fraction", "standardize", "null_test.permutations"), spread=True),
    Measure("ovr_empathy", "one LogisticRegression per empathy type vs the rest, fit on every text of the subset; "
            "pairwise cosines of the coefficients; mean and max against shuffled labels on the same activations",
            Inputs("validation", "last_token", "validation.layer", "first_triplets"),
            ("validation.ovr.cos_cognitive_affective", "validation.ovr.cos_cognitive_instrumental",
             "validation.ovr.cos_affective_instrumental", "validation.ovr.mean_cosine", "validation.ovr.max_cosine",
             "null.empathy_z"),
            partial(phase2.ovr_with_null, "validation.ovr", "null.empathy_z"),
            (*_VALIDATION, "null_test.permutations"), spread=True),
    Measure("ovr_control", "one LogisticRegression per non-empathy response group vs the rest; coefficient "
            "cosines; mean and max against shuffled group labels on the control activations (their own null)",
            Inputs("validation", "last_token", "validation.layer", "controls"),
            ("validation.control.cos_response_1_response_2", "validation.control.cos_response_1_response_3",
             "validation.control.cos_response_2_response_3", "validation.control.mean_cosine",
             "validation.control.max_cosine", "null.control_z"),
            partial(phase2.ovr_with_null, "validation.control", "null.control_z"),
            (*_VALIDATION, "null_test.permutations")),
    Measure("pairwise_auroc", "binary LogisticRegression per subtype pair, stratified K-fold CV: as published "
            "(auroc_folds=published) unshuffled folds and the mean of the per-fold AUROCs, or our declared variant "
            "(pooled_shuffled) the AUROC of pooled out-of-fold scores of shuffled folds",
            Inputs("validation", "last_token", "validation.layer", "auroc_triplets"),
            ("validation.auroc_cognitive_vs_affective", "validation.auroc_cognitive_vs_instrumental",
             "validation.auroc_affective_vs_instrumental", "validation.min_pairwise_auroc"),
            phase2.pairwise_auroc, (*_VALIDATION, "validation.cv_folds", "validation.auroc_folds"), spread=True),
    Measure("layer_sweep", "cognitive-vs-affective one-vs-rest coefficient cosine at each swept layer; its maximum "
            "over layers against shuffled labels (one shuffle for every layer)",
            Inputs("validation", "last_token", "validation.layers", "first_triplets"),
            (f"validation.layer_sweep.cos_cognitive_affective@{LAYER_TAG}",
             "validation.layer_sweep.max_cos_cognitive_affective"),
            phase2.layer_sweep, (*_VALIDATION, "null_test.length_permutations")),
    Measure("length_control", "one-vs-rest probes on response-length terciles (33rd/66th percentiles of the "
            "character count); mean coefficient cosine against shuffled tercile labels",
            Inputs("validation", "last_token", "validation.layer", "first_triplets"),
            ("null.length_z", "null.empathy_z_vs_length_null"),
            phase2.length_control, (*_VALIDATION, "null_test.length_permutations"), spread=True),
    Measure("pipeline_a", "SAE (ReLU encoder, linear decoder, loss MSE + l1 x mean|code|, minibatch Adam) on every "
            "text; k-means on its codes for k = k_min..k_max, best k by silhouette, purity over the nine response "
            "types, published convergence rule (level 0 WEAK, 1 MODERATE, 2 STRONG); the theoretical_k centroids "
            "decoded (minus the decoded mean code) and matched one-to-one (Hungarian) to pipeline B's probe weight "
            "rows (its split and settings, raw activations), mean matched cosine against shuffled cluster labels",
            Inputs("pipeline", "mean_with_padding", "pipeline_b.layer", "all_texts"),
            ("pipeline_a.best_k", "pipeline_a.silhouette", "pipeline_a.purity", "pipeline_a.convergence_level",
             "pipeline_a.centroid_probe_cosine"),
            sae.pipeline_a, ("pipeline_a.features", "pipeline_a.l1", "pipeline_a.lr", "pipeline_a.batch_size",
                             "pipeline_a.epochs", "pipeline_a.k_min", "pipeline_a.k_max", "pipeline_a.n_init",
                             "pipeline_a.theoretical_k", "pipeline_b.epochs", "pipeline_b.lr",
                             "null_test.permutations"), spread=True),
    Measure("council", "declared reimplementation of council rounds 1, 3 and round 4's 3-way accuracy: multinomial "
            "logistic probes by stratified K-fold CV; d' (out-of-fold scores, class vs rest over the pooled SD, mean "
            "over classes), probe agreement (mean cosine between fold probes), k-means purity, one-vs-rest AUROC, "
            "accuracy of the out-of-fold predictions; each against shuffled labels; the "
            "same on length terciles and on activations with length regressed out of every dimension (retention = "
            "mean residualized / original ratio; length R^2 over dimensions)",
            Inputs("validation", "last_token", "validation.layer", "first_triplets"),
            (*(f"council.{labels}.{metric}" for labels in ("empathy", "length", "residualized")
               for metric in council.REPORTED),
             "council.residualized.retention", "council.length_r2_mean", "council.length_r2_max"),
            council.rounds_one_and_three, ("council.cv_folds", "council.n_init", "validation.C",
                                           "validation.max_iter", "null_test.permutations",
                                           "null_test.length_permutations")),
)


@dataclass(frozen=True)
class StageMeasure:
    """An analysis with its own stages (EIP; council rounds 2 and 4; ELB Phase 1): `compute(data, cfg, seed)` with
    cfg the params section `config` names (phase1: the whole Params). EIP: `{published layer: EipLayer}` (stage
    eip_measures) or a `SteeringRun` (eip_steering, which generates with the model); council: `CouncilTexts`
    (council_measures); Phase 1: `Phase1Data` (phase1_measures). `settings` are fields under that section."""

    name: str
    method: str
    quantities: tuple[str, ...]
    compute: Callable[[Any, Any, int], list[Measurement]]
    settings: tuple[str, ...] = ()
    spread: bool = False  # rerun with other seeds (cheap: no model) behind derived tolerances
    stage: str = "eip_measures"
    config: Literal["eip", "analysis", "phase1"] = "eip"

    def run(self, data: Any, cfg: Any, seed: int) -> list[Measurement]:
        if self.config == "eip":
            return self.compute(data, cfg, seed)
        with single_threaded():
            return self.compute(data, cfg, seed)

    def expanded(self, params: Params) -> list[str]:
        return [q.replace(LAYER_TAG, f"L{layer}") for q in self.quantities
                for layer in (params.eip.layers if LAYER_TAG in q else [None])]

    def section(self, params: Params) -> Any:
        """The cfg `compute` receives."""
        return {"eip": params.eip, "analysis": params.analysis, "phase1": params}[self.config]


def run_stage_measures(measures: Iterable[StageMeasure], data: Any, params: Params, seed: int) -> list[Measurement]:
    """Every measure on the data, each checked to produce exactly the quantities its entry declares."""
    out = []
    for measure in measures:
        produced = measure.run(data, measure.section(params), seed)
        if sorted(m.quantity for m in produced) != sorted(measure.expanded(params)):
            raise RuntimeError(f"measure {measure.name!r} produced other quantities than its catalogue entry declares")
        out.extend(produced)
    return out


EIP_CATALOGUE: tuple[StageMeasure, ...] = (
    StageMeasure("eip_probes", "unit mean-difference direction of the train pairs' mean-pooled activations; dot-product "
               "scores of the test texts; AUROC, accuracy at the median threshold; best layer = highest test AUROC "
               "(published, selected on the test set) with its AUROC against random unit directions; the honest "
               "variant (ours) picks the layer by pair-grouped CV on the train pairs and scores it once on test",
               (f"eip.probe.auroc@{LAYER_TAG}", "eip.probe.best_auroc", "eip.probe.best_layer",
                "eip.probe.accuracy_median", "eip.probe.cv_layer", "eip.probe.cv_test_auroc", "eip.random.z",
                "eip.random.mean", "eip.random.sd", "eip.random.p95"),
               eip.probes, ("random_directions", "cv_folds"), spread=True),
    StageMeasure("eip_ablation", "the train direction scores the test set before and after empathy keywords in the "
               "empathic test texts were replaced by synonyms (the non-empathic texts unchanged), at the best layer",
               ("eip.ablation.auroc_after", "eip.ablation.auroc_drop"), eip.ablation, spread=True),
    StageMeasure("eip_correlation", "probe scores of the rated texts at the best layer against their 0/1/2 rubric "
               "ratings: Pearson r (Fisher interval; one-sided permutation p of shuffled ratings), Spearman r, "
               "accuracy on the 0 vs 2 texts at their median score",
               ("eip.correlation.pearson_r", "eip.correlation.spearman_r", "eip.correlation.binary_accuracy"),
               eip.correlation, ("permutations",), spread=True),
    StageMeasure("eip_steering", "sampling with alpha x unit direction added to the output of block L at every position "
               "on every step (all samples and alphas of a cell in one batch), at the steering.layers probe layers of "
               "highest test AUROC; a sample is empathetic when it holds more distinct empathy keywords (11) than "
               "task keywords (10); success of an alpha != 0: the empathic rate moved its way vs alpha = 0 (published "
               "rule: no rise counts for negative alpha; variants positive-only, negative-only, ties as failure); "
               "ours: guarded success needs mean KL >= steering.min_kl, and random unit directions steered the same "
               "way at the first steering layer; the superseded v0 run (objective alone as prompt, layers 8 and 12, "
               "alpha 0 and 20) as its own cells",
               ("eip.steering.success_published_rule", "eip.steering.success_positive_alpha",
                "eip.steering.success_negative_alpha", "eip.steering.success_ties_as_failure",
                "eip.steering.success_guarded", "eip.steering.listener_success",
                "eip.steering.success_at_best_probe_layer", "eip.steering.random_success",
                "eip.steering.success_minus_random", "eip.steering.coherence", "eip.steering.baseline_empathic_rate",
                "eip.steering.mean_kl", "eip.v0.empathic_rate_l8", "eip.v0.empathic_rate_l12",
                "eip.v0.keyword_ratio_l12"),
               steering.steering, ("steering.layers", "steering.alphas", "steering.samples", "steering.temperature",
                                   "steering.new_tokens", "steering.prompt", "steering.random_directions",
                                   "steering.kl_steps", "steering.min_kl", "listener_scenario"), stage="eip_steering"),
)


_PROBE_SETTINGS = ("validation.C", "validation.max_iter", "council.cv_folds")
COUNCIL_CATALOGUE: tuple[StageMeasure, ...] = (
    StageMeasure("council_round_two", "cognitive-vs-affective CV AUROC (mean of unshuffled per-fold AUROCs) at every "
                 "hidden state, formal-vs-casual the same on our formality pairs, and one shuffled labelling; "
                 "emergence = first hidden state with AUROC >= 0.9 (n_layers + 1 when none); at validation.layer: "
                 "empathy AUROC (pooled out-of-fold scores) after projecting out the formality probe's unit "
                 "coefficient over before (retention; positive control: projecting out the empathy probe's own), and "
                 "|cos| of the two probes' coefficients (bootstrap refits) against random unit directions",
                 ("council.emergence.empathy_layer", "council.emergence.formality_layer",
                  "council.formality.retention", "council.formality.cosine"),
                 rounds.round_two, (*_PROBE_SETTINGS, "bootstrap", "council.random_directions"),
                 stage="council_measures", config="analysis"),
    StageMeasure("council_round_four", "at validation.layer (3-way accuracy: measure council): empathy (triplets) vs "
                 "emotion (non-empathy controls) AUROC of pooled out-of-fold scores (shuffled stratified folds) "
                 "against shuffled labels; 3-way accuracy after projecting out the emotion direction (emotional "
                 "controls vs valence-stripped neutral texts) over before (positive control: projecting out the 3-way "
                 "probe's own coefficient rows); one-vs-rest AUROC of out-of-fold 3-way scores on the mean of each "
                 "quarter of the response tokens, and round 4's hypothesis table recomputed from them",
                 ("council.emotion.auroc", "council.emotion.retention",
                  "council.position.min_auroc", "council.position.hypotheses_matching"),
                 rounds.round_four, (*_PROBE_SETTINGS, "bootstrap", "null_test.permutations"),
                 stage="council_measures", config="analysis"),
    StageMeasure("council_intervention", "vectors (type mean - neutral mean) of last-token activations at "
                 "validation.layer from every other text of each type; probes: empathy (triplets) vs neutral "
                 "(valence-stripped) and 3-way types, fit on the other half (cross-fitting); (a) as published: each vector added to the neutral activations and re-scored at that "
                 "layer; (b) ours: each vector added to resid_post of that block at every position while the model "
                 "reads council.intervention_texts neutral texts, read by the same probes fit at "
                 "council.readout_layer, and the next-token KL at the last token; criteria per type: the empathy "
                 "probability rises, the majority prediction is the type; council.intervention_random random "
                 "directions at the mean type-vector norm are the null",
                 ("council.intervention.rescored_criteria", "council.intervention.forward_criteria",
                  "council.intervention.forward_empathy_rise", "council.intervention.forward_kl"),
                 rounds.intervention, ("validation.C", "validation.max_iter", "council.readout_layer",
                                       "council.intervention_texts", "council.intervention_random", "bootstrap"),
                 stage="council_measures", config="analysis"),
)


_PHASE1_PROBE = ("layer", "pairs_per_category", "test_fraction", "cv_folds", "C", "max_iter")
PHASE1_CATALOGUE: tuple[StageMeasure, ...] = (
    StageMeasure("phase1_probe", "last-token states at hidden_states[phase1.layer] of the first pairs_per_category "
                 "pairs of each category (empathetic and neutral texts alone); LogisticRegression on an unstratified "
                 "train_test_split (random_state = seed), held-out AUROC (published), and the AUROC of pooled "
                 "out-of-fold scores of shuffled stratified folds (ours)",
                 ("phase1.probe.auroc", "phase1.probe.cv_auroc"), phase1.probe_measure, _PHASE1_PROBE, spread=True,
                 stage="phase1_measures", config="phase1"),
    StageMeasure("phase1_bandwidth", "rank: smallest k whose cumulative PCA explained variance of the empathetic "
                 "states reaches phase1.variance; vector: mean empathetic - mean neutral state of the first "
                 "steering.vector_pairs vector_category pairs, added x alpha to the output of the block before that "
                 "hidden state at every position on every step, sampling from each held-out situation; coherence "
                 "(ours): min(1, mean NLL of every unsteered sample / NLL of the sample under the unsteered model) "
                 "x distinct-bigram share; range: the largest |alpha| whose mean coherence exceeds "
                 "steering.coherence_threshold (published rule); bandwidth = rank x range; the same for the "
                 "formal/casual control; SAE (2 x d_model features, full-batch Adam) on the empathetic states: "
                 "features active above sae.active_threshold on any text vs the rank; transfer: the probe's score of "
                 "transfer_category generations moved in alpha's direction from alpha = 0 with mean KL >= "
                 "steering.min_kl",
                 ("phase1.dimensionality", "phase1.steering_range", "phase1.bandwidth", "phase1.control.dimensionality",
                  "phase1.control.steering_range", "phase1.control.bandwidth", "phase1.bandwidth_ratio",
                  "phase1.sae.active_features", "phase1.sae.relative_gap", "phase1.transfer.success",
                  *(f"phase1.coherence.{kind}" for kind in phase1.CALIBRATION)),
                 phase1.bandwidth_measure, (*_PHASE1_PROBE, "control_pairs", "variance", "vector_category",
                                            "transfer_category", "transfer_pairs", "steering.alphas",
                                            "steering.samples", "steering.temperature", "steering.new_tokens",
                                            "steering.vector_pairs", "steering.vector_scale",
                                            "steering.generation_pairs", "steering.coherence_threshold",
                                            "steering.kl_steps", "steering.min_kl", "sae.features_per_dim", "sae.l1",
                                            "sae.lr", "sae.steps", "sae.active_threshold", "sae.agreement"),
                 stage="phase1_measures", config="phase1"),
)


@dataclass(frozen=True)
class DatasetQuantity:
    """A property of the dataset itself, no model: the validate_data stage computes it, judging reads it."""

    quantity: str
    method: str

    def read(self, report: dict[str, Any], params: Params) -> Measurement:
        """The chi-square test of type x length tercile on the first n_triplets triplets, from dataset_report.json."""
        n = params.analysis.validation.n_triplets
        test = report["length_confound"][f"first {n} triplets"]
        return Measurement(self.quantity, test["p_value"], test["p_value"], test["p_value"],
                           "exact: a property of the data, no sampling interval", 3 * n,
                           f"{report['data_dir']}: first {n} triplets",
                           details={"chi2": test["chi2"], "dof": test["dof"], "contingency": test["contingency"]})


DATASET_QUANTITIES = {q.quantity: q for q in (
    DatasetQuantity("dataset.length_tercile_p", "chi-square test of independence (no continuity correction) of "
                    "empathy type x response-length tercile (33rd/66th percentiles of the character counts)"),
)}


AnyMeasure = Measure | StageMeasure | DatasetQuantity


def known_quantities(params: Params) -> dict[str, AnyMeasure]:
    """Every quantity the catalogue produces under these params, with what produces it."""
    return {**{quantity: measure for measure in (*CATALOGUE, *EIP_CATALOGUE, *COUNCIL_CATALOGUE, *PHASE1_CATALOGUE)
               for quantity in measure.expanded(params)},
            **DATASET_QUANTITIES}


def unknown_quantity_message(name: str, known: Iterable[str]) -> str:
    """An error for a quantity the catalogue does not produce, with the nearest names."""
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else " (`elb quantities` lists them)"
    return f"unknown quantity {name!r}{hint}"


def _setting(cfg: Any, path: str) -> Any:
    value: Any = cfg
    for part in path.split("."):
        value = getattr(value, part)
    return value


def method_pins(measure: AnyMeasure, params: Params) -> dict[str, str]:
    """The method as the code and params implement it, for the report (never hand-written)."""
    if isinstance(measure, DatasetQuantity):
        return {"data": f"the first n_triplets triplets (= {params.analysis.validation.n_triplets})",
                "method": measure.method, "stage": "validate_data (no model)"}
    if isinstance(measure, StageMeasure):
        pins = {"eip": eip_pins, "analysis": council_pins, "phase1": phase1_pins}[measure.config]
        return pins(measure, params)
    inputs, subset = measure.inputs, SUBSETS[measure.inputs.subset]
    layers = ", ".join(str(layer) for layer in inputs.published_layers(params))
    size = subset.size(params)
    return {
        "layer": f"resid_post[{layers}] of {params.activations.reference_n_layers} layers: on a published ELB Phase 2 "
                 "model its own absolute layer, on any other model mapped by relative depth",
        "pooling": f"{inputs.pooling}: {(POOLINGS[inputs.pooling].__doc__ or '').strip()}",
        "text_format": TEMPLATES[inputs.text_set],
        "data": subset.description + (f" (= {size})" if size else ""),
        "method": measure.method,
        "settings": ", ".join(f"{path}={_setting(params.analysis, path)}" for path in measure.settings),
        "seed": str(params.seed),
    }


def eip_pins(measure: StageMeasure, params: Params) -> dict[str, str]:
    cfg = params.eip
    return {
        "layer": f"{', '.join(map(str, cfg.layers))} of {cfg.reference_n_layers}: on a model EIP ran its own numbers "
                 "and convention (Phi-3 model.layers[L] output; Qwen, Dolphin hidden_states[L]), on any other model "
                 "the output of block L mapped by relative depth",
        "pooling": "mean over every token of each text (one text per forward as published; our batches are masked)",
        "text_format": f"raw text, the tokenizer's own special tokens, truncated at {cfg.max_tokens} tokens",
        "data": f"{cfg.data_dir}: train pairs, test pairs, ablated test pairs; rated texts {cfg.rated_texts}",
        "method": measure.method,
        "settings": ", ".join(f"eip.{path}={_setting(cfg, path)}" for path in measure.settings),
        "seed": str(params.seed),
        "stage": measure.stage,
    }


def council_pins(measure: StageMeasure, params: Params) -> dict[str, str]:
    analysis = params.analysis
    return {
        "layer": f"every hidden state (0 = embeddings); validation.layer = {analysis.validation.layer} and "
                 f"council.readout_layer = {analysis.council.readout_layer} of {params.activations.reference_n_layers} "
                 "(resid_post), placed as every ELB layer",
        "pooling": "last token; response quartiles: mean of each quarter of the response's tokens",
        "text_format": f"{TEMPLATES['validation']}; formality pairs: the text alone",
        "data": f"first n_triplets (= {analysis.validation.n_triplets}) triplets, first n_controls "
                f"(= {analysis.validation.n_controls}) non-empathy and valence-stripped items; formality pairs",
        "method": measure.method,
        "settings": ", ".join(f"{path}={_setting(analysis, path)}" for path in measure.settings),
        "seed": str(params.seed),
        "stage": measure.stage,
    }


def phase1_pins(measure: StageMeasure, params: Params) -> dict[str, str]:
    cfg = params.phase1
    return {
        "layer": f"hidden_states[{cfg.layer}] of {params.activations.reference_n_layers} (HF convention): on a model "
                 "ELB Phase 1 ran that index, on any other model mapped by relative depth",
        "pooling": "last token (the model's own tokenizer defaults; published: one text at a time, 8-bit weights)",
        "text_format": "each response text alone; generation prompt: '{situation}\\n\\nResponse:' (ours)",
        "data": f"{params.data_dir}: first {cfg.pairs_per_category} pairs per category, first {cfg.control_pairs} "
                f"formal/casual pairs; {cfg.steering.generation_pairs} held-out pair(s) per category prompt generation",
        "method": measure.method,
        "settings": ", ".join(f"phase1.{path}={_setting(cfg, path)}" for path in measure.settings),
        "seed": str(params.seed),
        "stage": f"phase1_activations (model) -> {measure.stage}",
    }


def quantities_table(params: Params) -> str:
    """The catalogue as a Markdown table (the README's list of quantities is this, checked by a test)."""
    lines = ["| quantity | measure | text set / pooling / layer / subset |", "|---|---|---|"]
    for quantity, measure in known_quantities(params).items():
        if isinstance(measure, DatasetQuantity):
            lines.append(f"| `{quantity}` | dataset | no model: the data files themselves |")
            continue
        if isinstance(measure, StageMeasure) and measure.config == "eip":
            lines.append(f"| `{quantity}` | {measure.name} | EIP texts / mean / eip.layers / {measure.stage} |")
            continue
        if isinstance(measure, StageMeasure) and measure.config == "phase1":
            lines.append(f"| `{quantity}` | {measure.name} | Phase 1 pairs (+ formality, generations) / last_token / "
                         f"phase1.layer / {measure.stage} |")
            continue
        if isinstance(measure, StageMeasure):
            lines.append(f"| `{quantity}` | {measure.name} | validation (+ formality) / last_token (+ response "
                         f"quartiles) / every hidden state, validation.layer, council.readout_layer / "
                         f"{measure.stage} |")
            continue
        i = measure.inputs
        lines.append(f"| `{quantity}` | {measure.name} | {i.text_set} / {i.pooling} / {i.layers} / {i.subset} |")
    return "\n".join(lines)
