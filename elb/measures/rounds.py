"""ELB council rounds 2 and 4 (declared reimplementations: the study published results, never the methods).

Every probe is a logistic probe (validation.C, validation.max_iter) on last-token activations of the validation
format; CV folds are stratified (council.cv_folds). Text groups: empathy = the first n_triplets triplets (three
types), emotion = the first n_controls non-empathy controls (emotional responses to non-distress news; the study's
emotion data was never published), neutral = the first n_controls valence-stripped items.

- Round 2: AUROC of cognitive vs affective at every hidden state (0 = embeddings, i = output of block i - 1; mean of
  the per-fold AUROCs of unshuffled folds, the granularity of the published curve), the same for formal vs casual
  (our bundled pairs) and for one shuffled labelling; emergence = first hidden state with AUROC >= 0.9. At
  validation.layer: empathy AUROC after projecting out the formality direction (unit coefficient of the
  formal-vs-casual probe), and |cos(empathy, formality)| of the two probes' coefficients against random directions.
- Round 4 (its 3-way accuracy is round 1's, `elb.measures.council`): empathy vs emotion AUROC; 3-way accuracy
  after projecting out the emotion direction (emotion vs neutral probe); AUROC per quartile of the response
  tokens; the intervention, re-scored as published and run through the model.
- Retention is the share of the above-chance signal kept, (after - chance) / (before - chance) (the published ratio
  after / before where both are 1); its tests carry a positive control in place of a null: projecting out the
  probe's own coefficient subspace instead. When that also keeps the signal, the test cannot fail.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from elb.config import AnalysisConfig
from elb.datasets.spec import EMPATHY_TYPES
from elb.measures.council import accuracy, in_own_span, macro_ovr_auroc, out_of_fold_scores
from elb.measures.measurement import Measurement
from elb.measures.phase2 import _auroc_measure, _interval_measure, _records_convergence, _with_null
from elb.measures.probes import cosine, cross_validated_auroc, logistic_probe
from elb.measures.stats import binary_auroc, label_shuffles, stratified_resample

EMERGENCE_THRESHOLD = 0.9  # "emerges": the first hidden state whose AUROC reaches it (the audit reads it too)
TYPES = EMPATHY_TYPES
PUBLISHED_HYPOTHESES = {"cognitive_peaks_early": True, "affective_is_distributed": True,
                        "instrumental_peaks_late": False}  # round 4's table, as the claim states it


@dataclass(frozen=True)
class Intervened:
    """The forward-pass intervention: last-token states at the readout layer of the neutral texts, unsteered (row 0)
    and with each vector added at the intervention layer (rows 1..), and the KL of each steered next-token
    distribution from the unsteered one [vectors, texts]."""

    names: tuple[str, ...]  # the three types, then random_<i>
    vectors: np.ndarray  # [vectors, d]
    readout: np.ndarray  # [1 + vectors, texts, d]
    kl: np.ndarray  # [vectors, texts]


@dataclass(frozen=True)
class CouncilTexts:
    """Everything rounds 2 and 4 read: last-token states of the validation texts and the formality texts at every
    hidden state, response-quartile means at validation.layer, and the forward-pass intervention."""

    depth: np.ndarray  # [texts, hidden states, d]
    labels: np.ndarray  # response type (cognitive ... response_1 ... factual ...)
    groups: np.ndarray  # empathy / emotion / neutral
    formality: np.ndarray  # [formality texts, hidden states, d]
    formality_labels: np.ndarray  # formal / casual
    quartiles: np.ndarray  # [texts, 4, d] at probe_state
    probe_state: int  # hidden-state index of validation.layer
    readout_state: int  # hidden-state index of council.readout_layer
    intervened: Intervened
    intervention_rows: np.ndarray  # positions (in the validation texts) of the neutral texts run through the model
    vector_half: np.ndarray  # the texts the vectors came from; the intervention's probes are fit on the others
    inputs: str


def first_layer_reaching(values: Sequence[float], threshold: float, layers: Sequence[int] | None = None) -> int | None:
    """The first layer whose value reaches `threshold` (NaN never does); None when none does."""
    layers = list(range(len(values))) if layers is None else list(layers)
    for layer, value in zip(layers, values):
        if value == value and value >= threshold:
            return int(layer)
    return None


def unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def project_out(features: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """Features with the span of `directions` [k, d] removed."""
    basis = np.linalg.qr(np.atleast_2d(directions).T)[0]
    return features - (features @ basis) @ basis.T


def probe_direction(features: np.ndarray, target: np.ndarray, cfg: AnalysisConfig, seed: int) -> np.ndarray:
    """Coefficient rows [classes or 1, d] of a logistic probe fit on every text (fit in the rows' own span, where
    the L2 optimum lies, and mapped back)."""
    basis = np.linalg.svd(features, full_matrices=False)[2]
    probe = logistic_probe(features @ basis.T, target, cfg.validation.C, cfg.validation.max_iter, seed)
    return probe.coef_ @ basis


def auroc_curve(depth: np.ndarray, positive: np.ndarray, cfg: AnalysisConfig, seed: int) -> list[float]:
    """Binary CV AUROC at every hidden state; an embedding state identical for every text scores 0.5."""
    curve = []
    for state in range(depth.shape[1]):
        x = depth[:, state]
        if np.allclose(x, x[0]):
            curve.append(0.5)
            continue
        curve.append(cross_validated_auroc(in_own_span(x), positive, cfg.council.cv_folds, cfg.validation.C,
                                           cfg.validation.max_iter, seed)[0])
    return curve


def _layer_measure(quantity: str, curve: list[float], random_curve: list[float], inputs: str, n: int) -> Measurement:
    layer = first_layer_reaching(curve, EMERGENCE_THRESHOLD)
    value = float(len(curve) if layer is None else layer)
    after = curve[layer:] if layer is not None else []
    return Measurement(quantity, value, value, value, "exact: deterministic folds (no sampling interval)", n, inputs,
                       details={"auroc_by_state": curve, "random_label_auroc_by_state": random_curve,
                                "threshold": EMERGENCE_THRESHOLD, "reached": layer is not None,
                                "min_after_emergence": min(after) if after else None,
                                "relative_depth": value / (len(curve) - 1),
                                "numbering": "hidden state i: 0 = embeddings, i = output of block i - 1; "
                                             f"{len(curve)} = never reached"})


def kept(before: float, after: float, chance: float) -> float:
    """Share of the above-chance signal left after a removal: (after - chance) / (before - chance); 0 when there
    was none before (nothing to keep: a claim of retention fails)."""
    return (after - chance) / (before - chance) if before > chance else 0.0


def _retention(quantity: str, x: np.ndarray, labels: np.ndarray, removed: np.ndarray, own: np.ndarray,
               statistic: Callable[[np.ndarray, np.ndarray, np.ndarray], float], chance: float, cfg: AnalysisConfig,
               seed: int, inputs: str, what: str) -> Measurement:
    """`kept` of the statistic after removing `removed`, with a stratified bootstrap of the texts over fixed
    out-of-fold predictions, and the positive control (removing the probe's own subspace `own`) as its null."""
    before = out_of_fold_scores(in_own_span(x), labels, cfg, seed)
    after = out_of_fold_scores(in_own_span(project_out(x, removed)), labels, cfg, seed)
    control = out_of_fold_scores(in_own_span(project_out(x, own)), labels, cfg, seed)
    everything, rng = np.arange(len(labels)), np.random.default_rng(seed)

    def retained(scores: np.ndarray, rows: np.ndarray) -> float:
        return kept(statistic(before, labels, rows), statistic(scores, labels, rows), chance)

    samples = [retained(after, rows) for rows in (stratified_resample(labels, rng) for _ in range(cfg.bootstrap))]
    measured = _interval_measure(quantity, retained(after, everything), np.array(samples), cfg, len(labels), inputs,
                                 "stratified bootstrap of the texts over fixed out-of-fold scores",
                                 before=statistic(before, labels, everything),
                                 after=statistic(after, labels, everything), chance=chance, removed=what,
                                 null="projecting out the probe's own coefficient subspace instead (positive "
                                      "control: can removing its directions lower the signal at all?)")
    return Measurement(**{**measured.row(), "null_mean": retained(control, everything), "null_n": 1})


def _pooled_auroc(scores: np.ndarray, labels: np.ndarray, rows: np.ndarray) -> float:
    """AUROC of the positive class (label 1) from pooled out-of-fold binary scores [texts, 1]."""
    return binary_auroc(scores[rows, 0], labels[rows] == 1)


def _accuracy(scores: np.ndarray, labels: np.ndarray, rows: np.ndarray) -> float:
    return accuracy(scores[rows], labels[rows])


def _empathy(data: CouncilTexts) -> np.ndarray:
    return data.groups == "empathy"


@_records_convergence
def round_two(data: CouncilTexts, cfg: AnalysisConfig, seed: int) -> list[Measurement]:
    """Emergence of empathy (cognitive vs affective) and formality by hidden state; formality removal and the
    cosine of the two directions at validation.layer."""
    pair = np.isin(data.labels, ("cognitive", "affective"))
    depth, positive = data.depth[pair], data.labels[pair] == "cognitive"
    shuffled = next(label_shuffles(positive, 1, seed))
    formal = data.formality_labels == "formal"
    empathy_curve = auroc_curve(depth, positive, cfg, seed)
    random_curve = auroc_curve(depth, shuffled, cfg, seed)
    formality_curve = auroc_curve(data.formality, formal, cfg, seed)
    where = f"{data.inputs}; hidden states 0..{depth.shape[1] - 1}"
    state = data.probe_state
    x, f = depth[:, state].astype(np.float64), data.formality[:, state].astype(np.float64)
    empathy_direction = probe_direction(x, positive, cfg, seed)[0]
    formality_direction = probe_direction(f, formal, cfg, seed)[0]
    return [_layer_measure("council.emergence.empathy_layer", empathy_curve, random_curve, where, len(positive)),
            _layer_measure("council.emergence.formality_layer", formality_curve, random_curve, where, len(formal)),
            _retention("council.formality.retention", x, positive.astype(int), formality_direction[None],
                       empathy_direction[None], _pooled_auroc, 0.5, cfg, seed, data.inputs,
                       "the formality probe's unit coefficient (formal vs casual, every pair)"),
            _orthogonality(x, positive, f, formal, empathy_direction, formality_direction, cfg, seed, data.inputs)]


def _orthogonality(x: np.ndarray, positive: np.ndarray, f: np.ndarray, formal: np.ndarray, empathy: np.ndarray,
                   formality: np.ndarray, cfg: AnalysisConfig, seed: int, inputs: str) -> Measurement:
    """|cos| of the empathy and formality probe coefficients; bootstrap refits of both; random unit directions."""
    value, rng = abs(cosine(empathy, formality)), np.random.default_rng(seed)
    samples = []
    for _ in range(cfg.bootstrap):
        rows, frows = stratified_resample(positive, rng), stratified_resample(formal, rng)
        samples.append(abs(cosine(probe_direction(x[rows], positive[rows], cfg, seed)[0],
                                  probe_direction(f[frows], formal[frows], cfg, seed)[0])))
    randoms = rng.standard_normal((cfg.council.random_directions, len(empathy)))
    null = np.abs(randoms @ unit(empathy)) / np.linalg.norm(randoms, axis=1)
    measured = _interval_measure("council.formality.cosine", value, np.array(samples), cfg, len(positive), inputs,
                                 "stratified bootstrap refits of both probes",
                                 null="|cos| of random unit directions with the empathy direction")
    return _with_null(measured, null, f"{len(null)} random unit directions in {len(empathy)} dimensions")


@_records_convergence
def round_four(data: CouncilTexts, cfg: AnalysisConfig, seed: int) -> list[Measurement]:
    """Empathy vs emotion, emotion removal and token-position quartiles at validation.layer (the 3-way accuracy is
    round 1's `council.empathy.accuracy`: the same probes on the same texts)."""
    x = data.depth[:, data.probe_state].astype(np.float64)
    empathy, emotion, neutral = _empathy(data), data.groups == "emotion", data.groups == "neutral"
    types = data.labels[empathy]
    return [_emotion_auroc(x[empathy | emotion], empathy[empathy | emotion], cfg, seed, data.inputs),
            _retention("council.emotion.retention", x[empathy], types,
                       probe_direction(x[emotion | neutral], emotion[emotion | neutral], cfg, seed),
                       probe_direction(x[empathy], types, cfg, seed), _accuracy, 1 / len(TYPES), cfg, seed,
                       data.inputs,
                       "the emotion probe's unit coefficient (emotional controls vs neutral texts)"),
            *_positions(data.quartiles[empathy], types, cfg, seed, data.inputs)]


def _emotion_auroc(x: np.ndarray, empathy: np.ndarray, cfg: AnalysisConfig, seed: int, inputs: str) -> Measurement:
    span, labels, everything = in_own_span(x), empathy.astype(int), np.arange(len(empathy))
    value = _pooled_auroc(out_of_fold_scores(span, labels, cfg, seed), labels, everything)
    null = np.array([_pooled_auroc(out_of_fold_scores(span, shuffled, cfg, seed), shuffled, everything)
                     for shuffled in label_shuffles(labels, cfg.null_test.permutations, seed)])
    measured = _auroc_measure("council.emotion.auroc", value, int(empathy.sum()), int((~empathy).sum()), cfg, inputs)
    return _with_null(measured, null, "shuffled empathy/emotion labels on the same activations")


def position_hypotheses(by_position: dict[str, dict[str, float]]) -> dict[str, bool]:
    """Round 4's hypothesis table from per-type quartile AUROCs: a peak is a quartile strictly above the others,
    'distributed' is every quartile equal."""
    def peaks(quartiles: dict[str, float], at: str) -> bool:
        return all(quartiles[at] > v for q, v in quartiles.items() if q != at)
    return {"cognitive_peaks_early": peaks(by_position["cognitive"], "Q1"),
            "affective_is_distributed": len(set(by_position["affective"].values())) == 1,
            "instrumental_peaks_late": peaks(by_position["instrumental"], "Q4")}


def _positions(quartiles: np.ndarray, types: np.ndarray, cfg: AnalysisConfig, seed: int,
               inputs: str) -> list[Measurement]:
    """Macro and per-type one-vs-rest AUROC of out-of-fold 3-way scores at each response quartile."""
    classes, by_type, macro = np.unique(types), {name: {} for name in TYPES}, {}
    for q in range(quartiles.shape[1]):
        scores = out_of_fold_scores(in_own_span(quartiles[:, q].astype(np.float64)), types, cfg, seed)
        macro[f"Q{q + 1}"] = macro_ovr_auroc(scores, types)
        for column, name in enumerate(classes):
            by_type[name][f"Q{q + 1}"] = binary_auroc(scores[:, column], types == name)
    smallest = int(np.unique(types, return_counts=True)[1].min())
    weakest = min(macro, key=macro.get)
    flags = position_hypotheses(by_type)
    matching = float(sum(flags[name] == wanted for name, wanted in PUBLISHED_HYPOTHESES.items()))
    where = f"{inputs}; response quartiles"
    return [_auroc_measure("council.position.min_auroc", macro[weakest], smallest, len(types) - smallest, cfg, where,
                           note="conservative: the smallest class vs the rest", weakest=weakest, macro_by_quartile=macro,
                           by_type=by_type),
            Measurement("council.position.hypotheses_matching", matching, matching, matching,
                        "exact: a function of the quartile AUROCs", len(types), where,
                        details={"ours": flags, "published": PUBLISHED_HYPOTHESES, "by_type": by_type})]


def intervention_criteria(base_prob: float, base_predictions: np.ndarray, prob: float, predictions: np.ndarray,
                          target: int) -> tuple[int, int]:
    """Round 4's two criteria of one added vector, met (0-2) in the published reading (the empathy probability
    rises; the majority prediction is the target) and ours (... becomes the target where it was not already)."""
    rises = prob > base_prob
    after = np.sum(predictions == target) > len(predictions) / 2
    before = np.sum(base_predictions == target) > len(base_predictions) / 2
    return int(rises) + int(after), int(rises) + int(after and not before)


@dataclass(frozen=True)
class Scored:
    """Neutral texts scored by the probes: empathy probability (empathy vs neutral) and 3-way predictions."""

    empathy_prob: np.ndarray
    predictions: np.ndarray  # index into TYPES
    target_prob: np.ndarray  # [texts, 3] type probabilities


def _probes(x: np.ndarray, data: CouncilTexts, cfg: AnalysisConfig, seed: int) -> Callable[[np.ndarray], Scored]:
    """Empathy-vs-neutral and 3-way probes fit on the texts the vectors did not come from; a scorer."""
    empathy, neutral, held = _empathy(data), data.groups == "neutral", ~data.vector_half
    rows = (empathy | neutral) & held
    binary = logistic_probe(x[rows], empathy[rows].astype(int), cfg.validation.C, cfg.validation.max_iter, seed)
    types = empathy & held
    three = logistic_probe(x[types], data.labels[types], cfg.validation.C, cfg.validation.max_iter, seed)
    order = [list(three.classes_).index(name) for name in TYPES]

    def score(features: np.ndarray) -> Scored:
        probabilities = three.predict_proba(features)[:, order]
        return Scored(binary.predict_proba(features)[:, 1], probabilities.argmax(axis=1), probabilities)
    return score


def _criteria(base: Scored, steered: list[Scored]) -> dict[str, object]:
    """Both readings' criteria counts over the three types, with the numbers behind them."""
    published = ours = 0
    rows = {}
    for index, (name, after) in enumerate(zip(TYPES, steered)):
        theirs, mine = intervention_criteria(base.empathy_prob.mean(), base.predictions, after.empathy_prob.mean(),
                                             after.predictions, index)
        published, ours = published + theirs, ours + mine
        rows[name] = {"empathy_prob": float(after.empathy_prob.mean()),
                      "target_class_prob": float(after.target_prob[:, index].mean()),
                      "predictions": after.predictions.tolist()}
    return {"published_reading": published, "ours": ours, "baseline_empathy_prob": float(base.empathy_prob.mean()),
            "baseline_predictions": base.predictions.tolist(), "by_type": rows}


def _count(quantity: str, value: int, n: int, inputs: str, **details) -> Measurement:
    return Measurement(quantity, float(value), float(value), float(value), "exact: a count of criteria", n, inputs,
                       details=details)


def _rise_measure(quantity: str, per_text: np.ndarray, null: np.ndarray, cfg: AnalysisConfig, seed: int,
                  inputs: str, how: str, **details) -> Measurement:
    """Mean over the three types of a per-text effect [3, texts], bootstrap over texts, against random vectors."""
    rng, value = np.random.default_rng(seed), float(per_text.mean())
    samples = np.array([per_text[:, rng.integers(0, per_text.shape[1], per_text.shape[1])].mean()
                        for _ in range(cfg.bootstrap)])
    measured = _interval_measure(quantity, value, samples, cfg, per_text.shape[1], inputs,
                                 "bootstrap of the neutral texts", null=how, **details)
    return _with_null(measured, null, how)


@_records_convergence
def intervention(data: CouncilTexts, cfg: AnalysisConfig, seed: int) -> list[Measurement]:
    """Round 4's intervention: (a) as published, (type mean - neutral mean) added to the neutral activations at
    validation.layer and re-scored there; (b) for real, the same vectors added to the residual stream at that layer
    during the forward pass, read by probes fit at council.readout_layer, with the next-token KL; both against
    random directions of the same norm."""
    state, readout, run = data.probe_state, data.readout_state, data.intervened
    x = data.depth[:, state].astype(np.float64)
    neutral = x[data.intervention_rows]
    score = _probes(x, data, cfg, seed)
    base = score(neutral)
    steered = [score(neutral + vector) for vector in run.vectors]
    n_types = len(TYPES)
    rescored = _criteria(base, steered[:n_types])
    random_rise = [float(s.empathy_prob.mean() - base.empathy_prob.mean()) for s in steered[n_types:]]
    read = _probes(data.depth[:, readout].astype(np.float64), data, cfg, seed)
    forward_base = read(run.readout[0])
    forward = [read(rows) for rows in run.readout[1:]]
    forward_criteria = _criteria(forward_base, forward[:n_types])
    rise = np.stack([f.empathy_prob - forward_base.empathy_prob for f in forward])
    inputs = (f"{data.inputs}; {len(data.intervention_rows)} neutral texts; {len(run.names) - n_types} random "
              f"directions at the mean type-vector norm {np.linalg.norm(run.vectors[:n_types], axis=1).mean():.4g}")
    random_note = "random directions of the mean type-vector norm"
    return [_count("council.intervention.rescored_criteria", rescored["published_reading"], len(neutral), inputs,
                   **rescored, random_empathy_prob_rise=random_rise),
            _count("council.intervention.forward_criteria", forward_criteria["published_reading"], len(neutral),
                   inputs, **forward_criteria),
            _rise_measure("council.intervention.forward_empathy_rise", rise[:n_types], rise[n_types:].mean(axis=1),
                          cfg, seed, inputs, f"{random_note}: their mean rise of the readout's empathy probability"),
            _rise_measure("council.intervention.forward_kl", run.kl[:n_types], run.kl[n_types:].mean(axis=1), cfg,
                          seed, inputs, f"{random_note}: their mean next-token KL from the unsteered model",
                          kl_by_type={name: float(k.mean()) for name, k in zip(TYPES, run.kl)})]

