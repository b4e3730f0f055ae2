"""EIP steering files (the published format, which the harness also writes) and the steering quantities scored from
them: the audit of the published files and the measurement of our own generations read them through one reader."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict
from scipy.stats import norm

from elb.config import EipConfig
from elb.measures.eip import (EMPATHY_KEYWORDS, SUCCESS_RULES, alpha_successes, is_coherent, is_empathetic,
                              steering_success)
from elb.measures.measurement import Measurement
from elb.measures.stats import clopper_pearson


class _Parsed(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class Condition(_Parsed):
    alpha: float
    samples: list[str]


class Experiment(_Parsed):
    scenario: str
    conditions: list[Condition]
    layer: int | None = None


class LayerResult(_Parsed):
    layer: int
    experiments: list[Experiment]


class SteeringFile(_Parsed):
    """Either published steering format: `layer_results[].experiments[]` or `experiments[]` with a layer each."""

    model: str
    alphas_tested: list[float]
    layer_results: list[LayerResult] | None = None
    experiments: list[Experiment] | None = None
    num_samples: int | None = None
    num_samples_per_condition: int | None = None

    def cells(self) -> list[tuple[int, str, float, list[str]]]:
        """(layer, scenario, alpha, samples) of every condition."""
        if self.layer_results is not None:
            blocks = [(lr.layer, e) for lr in self.layer_results for e in lr.experiments]
        elif self.experiments is not None and all(e.layer is not None for e in self.experiments):
            blocks = [(int(e.layer), e) for e in self.experiments]  # type: ignore[arg-type]
        else:
            raise ValueError("neither 'layer_results' nor 'experiments' with a layer each")
        return [(layer, e.scenario, c.alpha, c.samples) for layer, e in blocks for c in e.conditions]

    def rates(self) -> dict[tuple[int, str], dict[float, tuple[float, float]]]:
        """(layer, scenario) -> alpha -> (empathic share, coherent share) under the published rules."""
        table: dict[tuple[int, str], dict[float, tuple[float, float]]] = defaultdict(dict)
        for layer, scenario, alpha, samples in self.cells():
            n = max(len(samples), 1)
            table[(layer, scenario)][alpha] = (sum(map(is_empathetic, samples)) / n,
                                               sum(map(is_coherent, samples)) / n)
        return table


@dataclass(frozen=True)
class SteeringRun:
    """One model's steering run: the empathy direction's file, the random directions' files, the effect-size guard
    (mean KL per layer and alpha) and which probe layer detected best."""

    empathy: SteeringFile
    randoms: list[SteeringFile]
    v0: SteeringFile  # the v0 run's cells (V0_LAYERS that are probe layers, V0_ALPHAS)
    kl: dict[int, dict[float, float]]
    best_probe_layer: int
    inputs: str


V0_LAYERS = (8, 12)  # the superseded v0 Phi-3 run (steering_comprehensive.py): these layers, the objective as prompt
V0_ALPHA = 20.0  # its largest alpha, which the v0 claims compare with alpha = 0
V0_ALPHAS = [0.0, V0_ALPHA]  # of its grid (-10 ... 20), the alphas the v0 claims read
V0_SCENARIOS = 3  # it ran three scenarios x 5 samples (15 per condition): ours runs the first three of the file

Decision = tuple[int, str, float, dict[str, bool]]  # layer, scenario, alpha, success under each rule


def decisions(f: SteeringFile) -> list[Decision]:
    """Every (layer, scenario, alpha != 0) with its success under each rule (published keyword scoring)."""
    return [(layer, scenario, alpha, flags) for (layer, scenario), rates in f.rates().items() if 0.0 in rates
            for alpha, flags in alpha_successes({a: v[0] for a, v in rates.items()}).items()]


def share(flags: list[bool], what: str, inputs: str, confidence: float, **details) -> Measurement:
    """A proportion with its Clopper-Pearson interval (NaN when there is nothing to count)."""
    if not flags:
        nan = float("nan")
        return Measurement(what, nan, nan, nan, "nothing to count", 1, inputs, details=details)
    k, n = int(np.sum(flags)), len(flags)
    return Measurement(what, k / n, *clopper_pearson(k, n, confidence), f"Clopper-Pearson ({k}/{n})", n, inputs,
                       details=details)


def keyword_occurrences(texts: list[str]) -> int:
    return sum(t.lower().count(k) for t in texts for k in EMPATHY_KEYWORDS)


def texts_at(f: SteeringFile) -> dict[tuple[int, float], list[str]]:
    """(layer, alpha) -> its samples over every scenario."""
    pooled: dict[tuple[int, float], list[str]] = defaultdict(list)
    for layer, _, alpha, texts in f.cells():
        pooled[(layer, alpha)] += texts
    return pooled


def by_alpha(f: SteeringFile) -> dict[float, dict[str, float]]:
    """Empathic and coherent share of the samples at each alpha (pooled over layers and scenarios)."""
    pooled: dict[float, list[tuple[float, float]]] = defaultdict(list)
    for rates in f.rates().values():
        for alpha, pair in rates.items():
            pooled[alpha].append(pair)
    return {a: {"empathic_rate": float(np.mean([p[0] for p in v])), "coherent_rate": float(np.mean([p[1] for p in v]))}
            for a, v in sorted(pooled.items())}


def steering(run: SteeringRun, cfg: EipConfig, seed: int, confidence: float = 0.95) -> list[Measurement]:
    """Success under each rule, guarded by effect size, against random directions; coherence; baseline rate."""
    made, inputs = decisions(run.empathy), run.inputs
    rule = "success_published_rule"
    guarded = [flags[rule] and run.kl[layer][alpha] >= cfg.steering.min_kl for layer, _, alpha, flags in made]
    random_flags = [flags[rule] for f in run.randoms for *_, flags in decisions(f)]
    curve, random_curves = by_alpha(run.empathy), [by_alpha(f) for f in run.randoms]
    for alpha, values in curve.items():
        values["mean_kl"] = float(np.mean([kl[alpha] for kl in run.kl.values()])) if alpha else 0.0
        values["random_empathic_rate"] = (float(np.mean([c[alpha]["empathic_rate"] for c in random_curves]))
                                          if random_curves else float("nan"))
    by_cell = {f"L{layer} {scenario}": values for (layer, scenario), values in
               ((cell, steering_success({a: v[0] for a, v in rates.items()}))
                for cell, rates in run.empathy.rates().items())}
    out = [share([flags[r] for *_, flags in made if r in flags], f"eip.steering.{r}", inputs, confidence,
                 **({"by_alpha": curve, "by_cell": by_cell} if r == rule else {})) for r in SUCCESS_RULES]
    mean_kl = float(np.mean([v for kl in run.kl.values() for v in kl.values()]))
    return out + [
        share(guarded, "eip.steering.success_guarded", inputs, confidence, min_kl=cfg.steering.min_kl),
        share([flags[rule] for _, scenario, _, flags in made if scenario == cfg.listener_scenario],
              "eip.steering.listener_success", inputs, confidence, scenario=cfg.listener_scenario),
        share([flags[rule] for layer, _, _, flags in made if layer == run.best_probe_layer],
              "eip.steering.success_at_best_probe_layer", inputs, confidence, layer=run.best_probe_layer),
        share(random_flags, "eip.steering.random_success", inputs, confidence, directions=len(run.randoms)),
        difference(made, random_flags, inputs, confidence),
        *samples_measures(run.empathy, inputs, confidence),
        *v0_measures(run.v0, confidence),
        Measurement("eip.steering.mean_kl", mean_kl, mean_kl, mean_kl, "exact: mean over layers and alphas != 0",
                    len(made), inputs, details={"by_layer": run.kl}),
    ]


def difference(made: list[Decision], random_flags: list[bool], inputs: str, confidence: float) -> Measurement:
    """Success of the empathy direction minus that of random directions, Wald interval of two proportions."""
    ours = [flags["success_published_rule"] for *_, flags in made]
    if not ours or not random_flags:
        nan = float("nan")
        return Measurement("eip.steering.success_minus_random", nan, nan, nan, "no random directions", 1, inputs)
    p1, p2, n1, n2 = np.mean(ours), np.mean(random_flags), len(ours), len(random_flags)
    half = float(norm.ppf(1 - (1 - confidence) / 2)) * float(np.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2))
    value = float(p1 - p2)
    return Measurement("eip.steering.success_minus_random", value, value - half, value + half,
                       "Wald interval of a difference of two proportions", n1 + n2, inputs,
                       details={"empathy": float(p1), "random": float(p2), "n_empathy": n1, "n_random": n2})


def samples_measures(f: SteeringFile, inputs: str, confidence: float) -> list[Measurement]:
    """Coherence of the steered samples and the empathic share at alpha = 0."""
    cells = f.cells()
    steered = [t for *_, alpha, texts in cells if alpha != 0.0 for t in texts]
    baseline = [t for *_, alpha, texts in cells if alpha == 0.0 for t in texts]
    return [share([is_coherent(t) for t in steered], "eip.steering.coherence", inputs, confidence),
            share([is_empathetic(t) for t in baseline], "eip.steering.baseline_empathic_rate", inputs, confidence)]


def v0_measures(f: SteeringFile, confidence: float) -> list[Measurement]:
    """The v0 run's readings: the empathic share at alpha = 20 at each v0 layer, and the ratio of empathy-keyword
    occurrences at alpha = 20 over alpha = 0 at layer 12 (the v0 report's "52x")."""
    texts, inputs = texts_at(f), f"EIP v0 steering: the objective alone as prompt, layers {list(V0_LAYERS)}"
    out = [share([is_empathetic(t) for t in texts.get((layer, V0_ALPHA), [])], f"eip.v0.empathic_rate_l{layer}",
                 inputs, confidence, alpha=V0_ALPHA) for layer in V0_LAYERS]
    top, base = (keyword_occurrences(texts.get((12, alpha), [])) for alpha in (V0_ALPHA, 0.0))
    ratio = top / base if base else float("nan")
    return out + [Measurement("eip.v0.keyword_ratio_l12", ratio, ratio, ratio, "exact: a count ratio",
                              len(texts.get((12, V0_ALPHA), [])), inputs,
                              details={"alpha": V0_ALPHA, "occurrences_max_alpha": top, "occurrences_alpha_0": base})]
