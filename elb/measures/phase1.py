"""ELB Phase 1, "empathetic bandwidth" = effective PCA rank x steering range, measured on a model for the first time.

The published script (`src/empathy_experiment_main.py`) fixes the probe (last token of hidden_states[24], an
unstratified 80/20 `train_test_split` with seed 42, `LogisticRegression(max_iter=1000)`, held-out AUROC), the rank
(smallest k whose cumulative PCA explained variance reaches 0.90 on the empathetic texts) and the steering vector
(mean empathetic - mean neutral state of the first 5 crisis-support pairs), but its coherence, control, SAE and
transfer were placeholders. Ours, declared: coherence = min(1, reference NLL / NLL) x distinct-bigram share, where
NLL is the unsteered model's mean per-token negative log-likelihood of a generation given its prompt and the
reference is the mean over the unsteered (alpha = 0) samples of every prompt; transfer = the vector moves the probe's
score of technical-assistance generations in alpha's direction, with a visible effect (mean KL >= min_kl).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from elb.config import Params, Phase1Config, PipelineAConfig
from elb.measures.measurement import Measurement
from elb.measures.probes import cross_validated_auroc, logistic_probe
from elb.measures.sae import train_sae
from elb.measures.stats import auroc_interval, clopper_pearson, percentile_interval

VECTORS = ("empathy", "control")  # generation sweeps: the empathy vector and the formal - casual control vector
CALIBRATION = ("unsteered", "shuffled_words", "repeated_token")


@dataclass(frozen=True)
class Pairs:
    """Last-token states of one paired dataset: [texts, d], 1 = positive side (empathetic / formal)."""

    states: np.ndarray
    positive: np.ndarray


@dataclass(frozen=True)
class Phase1Data:
    """What the phase1_measures stage reads: both datasets' states, and one row per generated sample (columns
    vector, sweep, prompt, category, alpha, sample, tokens, nll, kl) with its probe-layer state (`readouts`), and
    the coherence calibration rows (kind, prompt, sample, tokens, nll); tokens = the ids separated by spaces."""

    empathy: Pairs
    control: Pairs
    generations: pd.DataFrame
    readouts: np.ndarray
    calibration: pd.DataFrame
    scale: dict[str, float]  # norm added per unit alpha (each vector), over the mean residual norm at the layer
    inputs: str


# --- pure pieces -----------------------------------------------------------------------------------------------------

def effective_rank(x: np.ndarray, variance: float) -> int:
    """Smallest k whose cumulative explained variance ratio (sklearn PCA, centred) reaches `variance`; at most
    min(n - 1, d)."""
    cumulative = np.cumsum(PCA().fit(x).explained_variance_ratio_)
    return int(np.searchsorted(cumulative, variance - 1e-12) + 1)


def standardized(x: np.ndarray) -> np.ndarray:
    """Each dimension z-scored (constant dimensions dropped)."""
    sd = x.std(axis=0)
    keep = sd > 0
    return (x[:, keep] - x[:, keep].mean(axis=0)) / sd[keep]


def distinct_share(tokens: list[int]) -> float:
    """Distinct token bigrams / bigrams (0 for fewer than two tokens): 1 for text that never repeats itself."""
    bigrams = list(zip(tokens, tokens[1:]))
    return len(set(bigrams)) / len(bigrams) if bigrams else 0.0


def distinct_shares(tokens: pd.Series) -> np.ndarray:
    """distinct_share of each row's space-separated token ids (NaN or empty: nothing generated)."""
    return np.array([distinct_share([int(t) for t in ids.split()]) if isinstance(ids, str) else 0.0
                     for ids in tokens])


def coherence(nll: np.ndarray, distinct: np.ndarray, reference_nll: np.ndarray) -> np.ndarray:
    """min(1, reference NLL / NLL) x distinct-bigram share (0 where the text is empty)."""
    nll = np.asarray(nll, dtype=float)
    ratio = np.where(nll > 0, reference_nll / np.where(nll > 0, nll, 1.0), 1.0)
    return np.where(np.isfinite(nll), np.minimum(1.0, ratio) * distinct, 0.0)


def scored(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows with their coherence, each against the mean NLL of every alpha = 0 sample of its vector (pooled over
    prompts, so an unsteered sample is not scored against itself alone)."""
    reference = rows[rows["alpha"] == 0.0].groupby("vector")["nll"].mean().rename("reference_nll")
    rows = rows.join(reference, on="vector")
    return rows.assign(coherence=coherence(rows["nll"], distinct_shares(rows["tokens"]), rows["reference_nll"]))


def coherence_curve(rows: pd.DataFrame) -> pd.Series:
    """Mean coherence at each alpha (over prompts and samples)."""
    return rows.groupby("alpha")["coherence"].mean().sort_index()


def steering_range(curve: pd.Series, threshold: float) -> float:
    """Published rule: the largest |alpha| whose coherence exceeds the threshold (0 when none does)."""
    passing = [abs(a) for a, c in curve.items() if c > threshold]
    return float(max(passing)) if passing else 0.0


def contiguous_range(curve: pd.Series, threshold: float) -> float:
    """Stricter reading (ours): the largest |alpha| such that every alpha up to it, both signs, exceeds it."""
    best = 0.0
    for a in sorted({abs(x) for x in curve.index}):
        if all(c > threshold for x, c in curve.items() if abs(x) <= a):
            best = a
        else:
            break
    return float(best)


def split_auroc(x: np.ndarray, y: np.ndarray, cfg: Phase1Config, seed: int) -> tuple[float, int, int]:
    """Published probe: unstratified train_test_split(test_size, random_state=seed), held-out AUROC; with the
    held-out class counts (NaN when the held-out part holds one class)."""
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=cfg.test_fraction, random_state=seed)
    probe = logistic_probe(x_train, y_train, cfg.C, cfg.max_iter, seed)
    positives = int(y_test.sum())
    if positives in (0, len(y_test)):
        return float("nan"), positives, len(y_test) - positives
    return float(roc_auc_score(y_test, probe.predict_proba(x_test)[:, 1])), positives, len(y_test) - positives


# --- measures --------------------------------------------------------------------------------------------------------

def probe(data: Pairs, cfg: Phase1Config, seed: int, confidence: float, inputs: str) -> list[Measurement]:
    """Held-out AUROC of the published split (Hanley-McNeil interval) and the cross-validated AUROC (ours)."""
    auroc, n_pos, n_neg = split_auroc(data.states, data.positive, cfg, seed)
    low, high = auroc_interval(auroc, n_pos, n_neg, confidence)
    cv, folds = cross_validated_auroc(data.states, data.positive, cfg.cv_folds, cfg.C, cfg.max_iter, seed,
                                      "pooled_shuffled")
    cv_low, cv_high = auroc_interval(cv, int(data.positive.sum()), int((1 - data.positive).sum()), confidence)
    return [Measurement("phase1.probe.auroc", auroc, low, high, "Hanley-McNeil", n_pos + n_neg, inputs,
                        details={"held_out_positive": n_pos, "held_out_negative": n_neg}),
            Measurement("phase1.probe.cv_auroc", cv, cv_low, cv_high, "Hanley-McNeil of the pooled out-of-fold "
                        "scores", len(data.positive), inputs, details={"per_fold": folds})]


def range_draws(rows: pd.DataFrame, threshold: float, draws: int, rng: np.random.Generator) -> np.ndarray:
    """Steering ranges of bootstrap resamples of the prompts (each keeps all its alphas and samples)."""
    table = rows.pivot_table(index="prompt", columns="alpha", values="coherence", aggfunc=["sum", "count"])
    sums, counts = table["sum"].to_numpy(), table["count"].to_numpy()
    alphas = table["sum"].columns
    picks = rng.integers(0, len(sums), size=(draws, len(sums)))
    curves = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)  # [draws, alphas]: pooled means as coherence_curve
    return np.array([steering_range(pd.Series(curve, index=alphas), threshold) for curve in curves])


def rank_bootstrap(x: np.ndarray, variance: float, draws: int, seed: int, confidence: float) -> list[float]:
    """Percentile interval of the rank over bootstrap resamples of the texts: shown, not used (biased low)."""
    rng = np.random.default_rng([seed, 1])
    return list(percentile_interval(np.array([effective_rank(x[rng.integers(0, len(x), len(x))], variance)
                                              for _ in range(draws)]), confidence))


RANK_INTERVAL = ("none: resampling texts lowers the rank (a duplicated text adds no dimension; bootstrap intervals "
                 "exclude the full-sample rank), so the rank is reported exact for these texts")


def bandwidth(name: str, pairs: Pairs, rows: pd.DataFrame, scale: float, cfg: Phase1Config, draws: int,
              seed: int, confidence: float, inputs: str) -> tuple[list[Measurement], np.ndarray]:
    """Rank, range and their product for one dataset and its vector's sweep; the product's bootstrap draws (the
    range resampled over prompts, the rank held)."""
    x = pairs.states[pairs.positive == 1]
    rank, cap = effective_rank(x, cfg.variance), min(len(x) - 1, x.shape[1])
    curve, threshold = coherence_curve(rows), cfg.steering.coherence_threshold
    reach, reaches = steering_range(curve, threshold), range_draws(rows, threshold, draws, np.random.default_rng(seed))
    prefix = "phase1" if name == "empathy" else "phase1.control"
    by_alpha = {float(a): float(c) for a, c in curve.items()}
    return [
        Measurement(f"{prefix}.dimensionality", rank, rank, rank, RANK_INTERVAL, len(x), inputs,
                    details={"cap": cap, "standardized": effective_rank(standardized(x), cfg.variance),
                             "bootstrap_interval_biased_low": rank_bootstrap(x, cfg.variance, draws, seed, confidence)}),
        Measurement(f"{prefix}.steering_range", reach, *percentile_interval(reaches, confidence),
                    "percentile bootstrap of the prompts", int(rows["prompt"].nunique()), inputs,
                    details={"coherence_by_alpha": by_alpha, "threshold": threshold,
                             "contiguous_range": contiguous_range(curve, threshold),
                             "added_norm_per_alpha_over_residual_norm": scale,
                             "range_over_residual_norm": reach * scale}),
        Measurement(f"{prefix}.bandwidth", rank * reach, *percentile_interval(rank * reaches, confidence),
                    "rank x percentile bootstrap of the range over prompts", len(x), inputs,
                    details={"dimensionality": rank, "steering_range": reach}),
    ], rank * reaches


def sae_agreement(pairs: Pairs, cfg: Phase1Config, rank: int, seed: int, inputs: str) -> list[Measurement]:
    """Active SAE features on the empathetic states (trained on them, full batch) against the PCA rank."""
    x = pairs.states[pairs.positive == 1]
    sae = cfg.sae
    trainer = PipelineAConfig(features=sae.features_per_dim * x.shape[1], l1=sae.l1, lr=sae.lr, batch_size=len(x),
                              epochs=sae.steps)
    codes, _, loss = train_sae(x, trainer, seed)
    active = int(np.sum(codes.max(axis=0) > sae.active_threshold))
    gap = abs(active - rank) / rank
    per_text = float(np.mean(np.sum(codes > sae.active_threshold, axis=1)))
    return [Measurement("phase1.sae.active_features", active, active, active, "exact: one SAE fit", len(x), inputs,
                        details={"features": trainer.features, "final_loss": loss, "mean_active_per_text": per_text}),
            Measurement("phase1.sae.relative_gap", gap, gap, gap, "exact: one SAE fit and the exact rank", len(x),
                        inputs, details={"active_features": active, "pca_rank": rank, "agrees": gap < sae.agreement,
                                         "agreement_below": sae.agreement})]


def transfer(rows: pd.DataFrame, readouts: np.ndarray, pairs: Pairs, cfg: Phase1Config, seed: int,
             confidence: float, inputs: str) -> Measurement:
    """Share of (transfer prompt, alpha != 0, sample) whose probe score moved in alpha's direction from the mean
    score of that prompt's alpha = 0 samples, with mean KL >= min_kl (the empathy probe fit on every text)."""
    fitted = logistic_probe(pairs.states, pairs.positive, cfg.C, cfg.max_iter, seed)
    target = rows[(rows["vector"] == "empathy") & (rows["category"] == cfg.transfer_category)]
    scores = pd.Series(fitted.decision_function(readouts[target.index.to_numpy()]), index=target.index)
    baseline = scores[target["alpha"] == 0.0].groupby(target["prompt"]).mean()
    steered = target[target["alpha"] != 0.0]
    moved = np.sign(steered["alpha"]) * (scores[steered.index] - baseline.loc[steered["prompt"]].to_numpy()) > 0
    guarded = moved & (steered["kl"] >= cfg.steering.min_kl)
    coherent = guarded & (steered["coherence"] > cfg.steering.coherence_threshold)
    k, n = int(guarded.sum()), len(guarded)
    if n == 0:
        nan = float("nan")
        return Measurement("phase1.transfer.success", nan, nan, nan, "undefined", 1, inputs,
                           details={"undefined": f"no {cfg.transfer_category} generations at an alpha other than 0"})
    return Measurement("phase1.transfer.success", k / n, *clopper_pearson(k, n, confidence),
                       f"Clopper-Pearson ({k}/{n})", n, inputs,
                       details={"moved": int(moved.sum()), "coherent_successes": int(coherent.sum()),
                                "prompts": int(target["prompt"].nunique()), "category": cfg.transfer_category})


def calibration(rows: pd.DataFrame, confidence: float, inputs: str) -> list[Measurement]:
    """Mean coherence of the calibration texts of each kind (unsteered samples, the same words shuffled, one token
    repeated), against the mean NLL of every unsteered sample, as `scored`; bootstrap interval over texts."""
    rng, out = np.random.default_rng(0), []
    reference = rows.loc[rows["kind"] == "unsteered", "nll"].mean()
    for kind in CALIBRATION:
        part = rows[rows["kind"] == kind]
        values = coherence(part["nll"], distinct_shares(part["tokens"]), np.full(len(part), reference))
        draws = [values[rng.integers(0, len(values), len(values))].mean() for _ in range(200)]
        out.append(Measurement(f"phase1.coherence.{kind}", float(values.mean()), *percentile_interval(draws, confidence),
                               "percentile bootstrap of the texts", len(values), inputs))
    return out


def bandwidths(data: Phase1Data, cfg: Phase1Config, seed: int, confidence: float = 0.95,
               draws: int = 200) -> list[Measurement]:
    """Every Phase 1 quantity of one model but the probe's."""
    rows, inputs = scored(data.generations), data.inputs
    swept = rows[rows["sweep"]]
    empathy, empathy_products = bandwidth("empathy", data.empathy, swept[swept["vector"] == "empathy"],
                                          data.scale["empathy"], cfg, draws, seed, confidence, inputs)
    control, control_products = bandwidth("control", data.control, swept[swept["vector"] == "control"],
                                          data.scale["control"], cfg, draws, seed + 1, confidence,
                                          inputs + "; formality pairs")
    return [
        *empathy, *control,
        ratio(empathy[2].value, control[2].value, empathy_products, control_products, confidence, inputs),
        *sae_agreement(data.empathy, cfg, int(empathy[0].value), seed, inputs),
        transfer(rows, data.readouts, data.empathy, cfg, seed, confidence, inputs),
        *calibration(data.calibration, confidence, inputs),
    ]


def ratio(empathy: float, control: float, empathy_draws: np.ndarray, control_draws: np.ndarray,
          confidence: float, inputs: str) -> Measurement:
    """Empathy bandwidth / control bandwidth; undefined (NaN, with the reason) when the control bandwidth is 0."""
    nan, details = float("nan"), {"empathy": empathy, "control": control}
    if control <= 0:
        details["undefined"] = "the control bandwidth is 0 (a steering range of 0), so the ratio has no value"
        return Measurement("phase1.bandwidth_ratio", nan, nan, nan, "undefined", 1, inputs, details=details)
    finite = control_draws > 0
    low, high = (percentile_interval(empathy_draws[finite] / control_draws[finite], confidence) if finite.any()
                 else (nan, nan))
    return Measurement("phase1.bandwidth_ratio", empathy / control, low, high,
                       f"percentile bootstrap of both bandwidths ({int(finite.sum())} draws with a control above 0)",
                       len(empathy_draws), inputs, details=details)


def probe_measure(data: Phase1Data, params: Params, seed: int) -> list[Measurement]:
    """Catalogue entry point of the probe (cheap: rerun with other seeds behind its tolerance)."""
    return probe(data.empathy, params.phase1, seed, params.analysis.confidence, data.inputs)


def bandwidth_measure(data: Phase1Data, params: Params, seed: int) -> list[Measurement]:
    """Catalogue entry point of everything else: phase1 settings, the analysis confidence and bootstrap count."""
    return bandwidths(data, params.phase1, seed, params.analysis.confidence, params.analysis.bootstrap)
