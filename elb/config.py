"""Typed view of params.yaml: the single source of truth for every knob, validated on load."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator
from pydantic_core import ErrorDetails


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelConfig(Strict):
    name: str = Field(
        "smollm2-135m-instruct",
        description="A shipped model key (`elb models`), a local Hugging Face directory, or a hub id.",
    )
    revision: str | None = Field(None, description="Hub revision (commit or tag) to pin; ignored for local files.")
    device: str = Field("auto", description="auto (CUDA when present), cpu, or cuda[:N].")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="auto = fp16 on GPU (as the published runs), fp32 on CPU."
    )
    trust_remote_code: bool = Field(False, description="Allow model repositories to run their own code. Off by default.")


class ActivationConfig(Strict):
    batch_size: int = Field(8, ge=1, description="Texts per forward pass (published pipeline A/B: 8).")
    cuda_batch_size: int = Field(
        32, ge=1, description="Texts per forward pass on CUDA where no pooling depends on the batch (the published "
                              "padded means keep batch_size; on the CPU every pass uses batch_size)."
    )
    max_tokens: int = Field(512, ge=8, description="Truncate each text to this many tokens.")
    reference_n_layers: int = Field(
        32, ge=1, description="Depth of the published model whose layer numbers the claims cite (Mistral-7B: 32)."
    )

    def batch_for(self, device: str, batch_dependent: bool = False) -> int:
        """Texts per forward pass on `device` ("cpu", "cuda:0"), for poolings that do or do not depend on the batch."""
        return self.cuda_batch_size if device.startswith("cuda") and not batch_dependent else self.batch_size


class PipelineBConfig(Strict):
    layer: int = Field(16, description="Published layer (resid_post, of reference_n_layers): a published model's own "
                                   "absolute layer, any other model's by relative depth.")
    epochs: int = Field(50, ge=1, description="Full-batch Adam epochs of the 3-class linear probe.")
    lr: float = Field(1e-3, gt=0, description="Adam learning rate.")
    test_fraction: float = Field(0.2, gt=0, lt=1, description="Stratified held-out test share (270 -> 54).")
    val_fraction: float = Field(0.2, gt=0, lt=1, description="Stratified validation share of the rest (216 -> 44).")


class ValidationConfig(Strict):
    layer: int = Field(16, description="Published layer (resid_post) of the one-vs-rest probes.")
    layers: list[int] = Field([4, 8, 12, 16, 20, 24], description="Published layers of the layer sweep.")
    n_triplets: int = Field(30, ge=3, description="First N triplets (3N texts) for the one-vs-rest probes.")
    n_controls: int = Field(30, ge=3, description="First N non-empathy controls (3N texts) for the control probes.")
    auroc_triplets: int = Field(60, ge=10, description="First N triplets for pairwise subtype AUROC.")
    cv_folds: int = Field(5, ge=2, description="Stratified folds of the pairwise AUROC.")
    auroc_folds: Literal["published", "pooled_shuffled"] = Field(
        "published", description="Pairwise AUROC folds. published: sklearn cross_val_score(..., cv=cv_folds, "
                                 "scoring='roc_auc'), unshuffled folds, mean of the per-fold AUROCs. pooled_shuffled: "
                                 "folds shuffled with the seed, one AUROC of the pooled out-of-fold scores.")
    C: float = Field(1.0, gt=0, description="Inverse L2 strength of the logistic probes.")
    max_iter: int = Field(1000, ge=1, description="lbfgs iterations of the logistic probes.")


class NullConfig(Strict):
    permutations: int = Field(100, ge=1, description="Shuffled-label refits for the empathy/control null (Mistral: 100).")
    length_permutations: int = Field(50, ge=1, description="Shuffled-label refits for the length control (published: 50).")


class PipelineAConfig(Strict):
    """ELB Phase 2 pipeline A (published values): an SAE on pipeline B's activations of all texts, k-means on it."""

    features: int = Field(512, ge=1, description="SAE dictionary size (ReLU encoder, linear decoder).")
    l1: float = Field(0.01, ge=0, description="Sparsity weight: SAE loss = MSE + l1 x mean |code|.")
    lr: float = Field(1e-3, gt=0, description="Adam learning rate of the SAE.")
    batch_size: int = Field(64, ge=1, description="SAE minibatch size (texts shuffled each epoch with the seed).")
    epochs: int = Field(100, ge=1, description="SAE training epochs.")
    k_min: int = Field(2, ge=2, description="Smallest k of the k-means sweep on the SAE codes.")
    k_max: int = Field(6, ge=2, description="Largest k of the sweep; the best k has the highest silhouette.")
    n_init: int = Field(10, ge=1, description="k-means initialisations per k (seeded with the run's seed).")
    theoretical_k: int = Field(3, ge=2, description="k of the theory (cognitive, affective, instrumental): k-match "
                                                    "and the centroid-to-probe test.")

    @model_validator(mode="after")
    def _k_range(self) -> PipelineAConfig:
        if not self.k_min <= self.theoretical_k <= self.k_max:
            raise ValueError(f"need k_min <= theoretical_k <= k_max, got {self.k_min}, {self.theoretical_k}, "
                             f"{self.k_max}")
        return self


class CouncilConfig(Strict):
    """ELB council rounds 1-4: the study never published these methods; ours are declared here."""

    cv_folds: int = Field(5, ge=2, description="Stratified folds (shuffled with the seed) of the out-of-fold probe "
                                               "scores behind d' and AUROC, and of the fold probes behind probe "
                                               "agreement.")
    n_init: int = Field(10, ge=1, description="k-means initialisations of the clustering purity (k = number of "
                                              "labels), as in pipeline A.")
    readout_layer: int = Field(24, description="Published layer (resid_post) where round 4's forward-pass "
                                               "intervention at validation.layer is read by probes fit there.")
    intervention_texts: int = Field(8, ge=4, description="Valence-stripped (neutral) texts run through the model "
                                                          "with each intervention vector added (published: 8).")
    intervention_random: int = Field(19, ge=19, description="Random directions (each at the mean norm of the three "
                                                            "type vectors) behind the intervention's null; 19 is the "
                                                            "fewest that can reach p <= 0.05.")
    random_directions: int = Field(1000, ge=19, description="Random unit directions behind the null of "
                                                            "cos(empathy, formality).")


class AnalysisConfig(Strict):
    standardize: bool = Field(
        False, description="Z-score activations before probes. Published pipelines did not; off to reproduce them."
    )
    confidence: float = Field(0.95, gt=0, lt=1, description="Level of every reported interval.")
    bootstrap: int = Field(200, ge=10, description="Bootstrap resamples (refits) for intervals.")
    pipeline_b: PipelineBConfig = PipelineBConfig()
    validation: ValidationConfig = ValidationConfig()
    null_test: NullConfig = NullConfig()
    pipeline_a: PipelineAConfig = PipelineAConfig()
    council: CouncilConfig = CouncilConfig()


class SamplingConfig(Strict):
    """Sampled generation under a steering vector, and the effect-size guard (shared by EIP and ELB Phase 1)."""

    alphas: list[float] = Field(description="Multiples of the steering vector added to the block's output; must "
                                            "include 0 (the baseline every comparison uses).")
    samples: int = Field(1, ge=1, description="Samples per (prompt, alpha).")
    temperature: float = Field(0.7, gt=0, description="Sampling temperature (published: 0.7).")
    new_tokens: int = Field(16, ge=8, description="New tokens per sample.")
    kl_steps: int = Field(8, ge=1, description="Positions of the alpha = 0 samples over which the effect-size "
                                               "guard averages KL(steered || unsteered) of the next-token "
                                               "distribution.")
    min_kl: float = Field(0.01, ge=0, description="Effect-size guard (ours): an alpha whose mean KL stays below "
                                                  "this (nats) counts as no effect, so never as a success.")

    @model_validator(mode="after")
    def _baseline(self) -> SamplingConfig:
        if 0.0 not in self.alphas or len(set(self.alphas)) != len(self.alphas):
            raise ValueError("alphas must hold 0.0 (the baseline) and no repeats")
        return self


class EipSteeringConfig(SamplingConfig):
    """EIP steering with real generation (published: Qwen/Dolphin top-3 AUROC layers, 200 new tokens)."""

    layers: int = Field(1, ge=1, description="Steer at the N probe layers of highest test AUROC (published: 3).")
    alphas: list[float] = Field([-20.0, -10.0, -5.0, -3.0, -1.0, 0.0, 1.0, 3.0, 5.0, 10.0, 20.0],
                                description="Multiples of the unit direction added to block L's output; must "
                                            "include 0 (the baseline every success compares with).")
    samples: int = Field(5, ge=1, description="Samples per (scenario, layer, alpha) (published: 5).")
    new_tokens: int = Field(32, ge=8, description="New tokens per sample (published 150-200; 32 keeps the CPU run "
                                                  "inside its budget).")
    prompt: Literal["raw", "chat"] = Field("raw", description="raw: objective, empathy pressure and 'What do you "
                                                              "do?' as plain text (published); chat: the same as "
                                                              "one user turn of the model's chat template (ours).")
    random_directions: int = Field(1, ge=0, description="Random unit directions steered the same way at the first "
                                                        "steering layer (a control the study never ran).")


class EipConfig(Strict):
    """EIP (empathy-in-action probes): data, layers and settings; a method the study never ran is marked ours."""

    data_dir: Path = Field(Path("data/bundled/eip"), description="Folder in the published EIP layout: "
                                                                  "eia_scenarios/scenarios.json and "
                                                                  "contrastive_pairs/{train,test}_pairs.jsonl, "
                                                                  "test_pairs_ablated.jsonl.")
    rated_texts: Path = Field(Path("data/bundled/eip/rated_texts.json"),
                              description="Texts rated 0/1/2: a JSON list, or the original src/eia_evaluator.py "
                                          "(read as data with ast, never executed).")
    layers: list[int] = Field([8, 12, 16, 20, 24], description="Published probe layers (of reference_n_layers).")
    reference_n_layers: int = Field(32, ge=1, description="Depth of the models the EIP layers cite (32).")
    max_tokens: int = Field(512, ge=8, description="Truncation of every probe text (published: 512).")
    random_directions: int = Field(100, ge=10, description="Random unit directions of the baseline (published 100).")
    permutations: int = Field(1000, ge=10, description="Label permutations of the behavioural correlation's p.")
    cv_folds: int = Field(5, ge=2, description="Pair-grouped folds of the honest layer choice on the train pairs "
                                               "(ours).")
    listener_scenario: str = Field("the_listener", description="Scenario id of the 'resists steering' claim.")
    steering: EipSteeringConfig = EipSteeringConfig()

    @model_validator(mode="after")
    def _layers_in_reference_model(self) -> EipConfig:
        bad = [layer for layer in self.layers if not 0 <= layer < self.reference_n_layers]
        if bad or not self.layers:
            raise ValueError(f"eip.layers {self.layers} must be non-empty and inside 0..{self.reference_n_layers - 1}")
        return self


class Phase1SteeringConfig(SamplingConfig):
    """ELB Phase 1 steering range: the published script built its vector but never steered (coherence was a
    placeholder); generation, prompts and the coherence metric are ours, declared."""

    alphas: list[float] = Field([float(a) for a in range(-20, 21, 2)],
                                description="Multiples of the steering vector (published: np.linspace(-20, 20, 21)).")
    vector_pairs: int = Field(5, ge=1, description="The vector is mean(positive) - mean(negative) over the first N "
                                                   "pairs of the vector category (published: the first 5 crisis "
                                                   "support pairs).")
    vector_scale: Literal["raw", "unit"] = Field("raw", description="raw: alpha multiplies that mean difference, as "
                                                                    "the published script built it; unit: alpha "
                                                                    "multiplies its unit direction (ours).")
    generation_pairs: int = Field(1, ge=1, description="Held-out pairs per category (after pairs_per_category) whose "
                                                       "situation prompts the generation (ours: the prompts were "
                                                       "never published).")
    coherence_threshold: float = Field(0.7, gt=0, lt=1, description="Range = the largest |alpha| whose mean "
                                                                    "coherence exceeds this (published: 0.7).")


class Phase1SaeConfig(Strict):
    """The SAE cross-check as the proposal describes it: 2 x d_model features, L1 0.01, Adam."""

    features_per_dim: int = Field(2, ge=1, description="Dictionary size as a multiple of d_model (published: 2).")
    l1: float = Field(0.01, ge=0, description="Sparsity weight: loss = MSE + l1 x mean |code| (published: 0.01).")
    lr: float = Field(1e-3, gt=0, description="Adam learning rate.")
    steps: int = Field(1000, ge=1, description="Full-batch Adam steps (proposal: 10,000; 1,000 keeps the CPU run in "
                                               "budget).")
    active_threshold: float = Field(0.01, ge=0, description="A feature is active when its code exceeds this on at "
                                                            "least one empathetic text (published: 0.01).")
    agreement: float = Field(0.2, gt=0, description="Agreement: |active - PCA rank| / PCA rank below this "
                                                    "(published: about 20%).")


class Phase1Config(Strict):
    """ELB Phase 1 (empathetic bandwidth = PCA rank x steering range): never measured by the study (its result
    files are synthetic); every method choice the documents leave open is declared here."""

    layer: int = Field(24, ge=0, description="hidden_states index (of activations.reference_n_layers) read at the "
                                             "last token: a Phase 1 model's own 24, any other model by relative depth.")
    pairs_per_category: int = Field(10, ge=2, description="First N pairs of each category behind the probe and PCA "
                                                          "(published: 10, 50 pairs in all).")
    control_pairs: int = Field(50, ge=4, description="First N formal/casual pairs of the syntactic control.")
    variance: float = Field(0.9, gt=0, lt=1, description="Effective rank = smallest k whose cumulative explained "
                                                         "variance reaches this (published: 0.90).")
    test_fraction: float = Field(0.2, gt=0, lt=1, description="Held-out share of the probe's non-stratified split "
                                                              "(sklearn train_test_split, random_state = seed).")
    cv_folds: int = Field(5, ge=2, description="Stratified shuffled folds of the cross-validated probe AUROC (ours).")
    C: float = Field(1.0, gt=0, description="Inverse L2 strength of the logistic probe (published: 1.0).")
    max_iter: int = Field(1000, ge=1, description="lbfgs iterations of the probe (published: 1000).")
    vector_category: str = Field("crisis_support", description="Category whose pairs build the steering vector.")
    transfer_category: str = Field("technical_assistance", description="Category whose held-out prompts the "
                                                                       "transfer test reads.")
    transfer_pairs: int = Field(2, ge=1, description="Held-out transfer_category pairs whose situations prompt the "
                                                     "transfer test (empathy vector only); 2 x 20 alphas is the "
                                                     "fewest that lets an 87% claim hold (Clopper-Pearson).")
    steering: Phase1SteeringConfig = Phase1SteeringConfig()
    sae: Phase1SaeConfig = Phase1SaeConfig()


class ClaimsConfig(Strict):
    seed_runs: int = Field(5, ge=2, description="Reruns of the catalogue's spread measures with seeds seed+1..seed+N; "
                                                "their spread gives each derived tolerance (seed_spread stage).")
    seed_bootstrap: int = Field(10, ge=10, description="Bootstrap resamples in those reruns (only values are used).")
    prediction_confidence: float = Field(0.95, gt=0, lt=1, description="Level of the prediction interval of one "
                                                                       "rerun (judging only: no stage reruns).")


MODEL_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]*$")  # a folder name and a DVC stage suffix: no dots, no slashes


class Params(Strict):
    seed: int = Field(42, description="Seed of every split, permutation, bootstrap and initialisation.")
    data_dir: Path = Field(Path("data/bundled"), description="Folder with the three dataset files.")
    artifacts_dir: Path = Field(Path("artifacts"), description="Where stages write activations and measurements "
                                                               "(each model's under models/<key>).")
    reports_dir: Path = Field(Path("reports"), description="Where the claims report is written.")
    models: dict[str, ModelConfig] = Field(
        {"smollm2": ModelConfig()}, min_length=1,
        description="The models a run audits (the grid), by key: lowercase letters, digits, - and _; the key names "
                    "the model's artifact folder and its DVC stages, so adding a model computes only that model.")
    activations: ActivationConfig = ActivationConfig()
    analysis: AnalysisConfig = AnalysisConfig()
    eip: EipConfig = EipConfig()
    phase1: Phase1Config = Phase1Config()
    claims: ClaimsConfig = ClaimsConfig()
    _audited: str | None = PrivateAttr(None)

    def for_model(self, key: str | None) -> Params:
        """These params narrowed to one model of the grid (None: the only one)."""
        if key is None and len(self.models) > 1:
            raise ValueError(f"params audit {len(self.models)} models ({', '.join(self.models)}): name one")
        key = key or next(iter(self.models))
        if key not in self.models:
            raise ValueError(f"no model {key!r} in params `models` (has: {', '.join(self.models)})")
        narrowed = self.model_copy()
        narrowed._audited = key
        return narrowed

    @property
    def model_key(self) -> str:
        """The key of the model these params are narrowed to (see `for_model`)."""
        if self._audited is None:
            return self.for_model(None).model_key
        return self._audited

    @property
    def model(self) -> ModelConfig:
        return self.models[self.model_key]

    @property
    def model_dir(self) -> Path:
        """Where this model's stages write."""
        return self.artifacts_dir / "models" / self.model_key

    @model_validator(mode="after")
    def _model_keys(self) -> Params:
        bad = [key for key in self.models if not MODEL_KEY.match(key)]
        if bad:
            raise ValueError(f"models: keys {bad} must match {MODEL_KEY.pattern} (they name folders and DVC stages)")
        return self

    @model_validator(mode="after")
    def _layers_in_reference_model(self) -> Params:
        """Every published layer (resid_post) must exist in the reference model the claims cite."""
        depth = self.activations.reference_n_layers
        for key, layer in published_layers(self.analysis, "analysis."):
            if not 0 <= layer < depth:
                raise ValueError(f"{key} = {layer} is outside 0..{depth - 1} "
                                 f"(activations.reference_n_layers = {depth})")
        return self


def fields(model: BaseModel, prefix: str = "") -> Iterator[tuple[str, Any, str]]:
    """(dotted key, value, description) of every leaf field, in declaration order."""
    for name, info in type(model).model_fields.items():
        value, key = getattr(model, name), f"{prefix}{name}"
        if isinstance(value, BaseModel):
            yield from fields(value, f"{key}.")
        else:
            yield key, value, info.description or ""


def published_layers(model: BaseModel, prefix: str = "") -> Iterator[tuple[str, int]]:
    """Every configured published layer: fields named `layer` or `*_layer`, and each entry of fields named `layers`."""
    for key, value, _ in fields(model, prefix):
        if key.endswith("layer"):
            yield key, value
        elif key.endswith(".layers"):
            yield from ((f"{key}[{i}]", layer) for i, layer in enumerate(value))


def load_params(path: Path | str = "params.yaml", model: str | None = None) -> Params:
    """Read and validate the whole params.yaml, narrowed to one model of the grid when `model` names its key (a
    stage's command line); unknown or invalid keys are errors naming the file and key."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"{path}: cannot read parameters: {error}") from error
    try:
        params = Params.model_validate(raw)
    except ValidationError as error:
        problems = "\n".join(_problem(e) for e in error.errors())
        raise ValueError(f"{path}: invalid parameters:\n{problems}") from error
    return params if model is None else params.for_model(model)


def _problem(error: ErrorDetails) -> str:
    """One validation error as `  dotted.key: message`."""
    key = ".".join(map(str, error["loc"]))
    message = "unknown key (`elb params` lists every key)" if error["type"] == "extra_forbidden" else error["msg"]
    return f"  {key}: {message}" if key else f"  {message}"
