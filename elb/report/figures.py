"""Static figures of the report (PNG, embedded as data URIs): each with a caption naming its claim and data."""
from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)

from elb.claims.judging import Judgement  # noqa: E402
from elb.claims.model import Claim  # noqa: E402
from elb.claims.verdict import Verdict  # noqa: E402
from elb.measures.measurement import Measurement  # noqa: E402
from elb.measures.phase1 import CALIBRATION  # noqa: E402

COLOURS = {"HOLDS": "#1a7f37", "FAILS": "#cf222e", "INCONCLUSIVE": "#9a6700", "SKIPPED": "#6e7781",
           "ERROR": "#8250df"}
SWEEP = re.compile(r"^(?P<base>.+)@L(?P<layer>\d+)$")
EIP_AUROC = "eip.probe.auroc"  # drawn with its random-direction band by eip_probe_layers


@dataclass(frozen=True)
class Figure:
    """One figure: a file name, a caption, alt text, and the PNG bytes."""

    name: str
    caption: str
    alt: str
    png: bytes

    @property
    def filename(self) -> str:
        return re.sub(r"[^A-Za-z0-9_.-]", "_", self.name) + ".png"

    @property
    def uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def _png(fig: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def _spans(values: list[float], lows: list[float], highs: list[float]) -> list[list[float]]:
    """Error-bar lengths below and above each value (zero where a percentile interval excludes its value)."""
    return [[max(v - lo, 0.0) for v, lo in zip(values, lows)], [max(hi - v, 0.0) for v, hi in zip(values, highs)]]


def _measured(judgement: Judgement) -> list[tuple[Claim, Verdict]]:
    by_id = {c.id: c for c in judgement.claims}
    return [(by_id[v.claim_id], v) for v in judgement.verdicts if v.measured and v.verdict != "ERROR"
            and None not in (v.measured["value"], v.measured["ci_low"], v.measured["ci_high"])]


def forest(judgement: Judgement) -> Figure | None:
    """Measured value with its interval against each claim's boundary (and the band of a derived tolerance)."""
    rows = [(c, v) for c, v in _measured(judgement) if c.threshold is not None and c.decide_by != "permutation"]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1))
    for y, (claim, verdict) in enumerate(rows):
        m = verdict.measured
        width = verdict.tolerance["half_width"] if verdict.tolerance else 0.0
        shift = -width if claim.comparator in (">", ">=") else width
        ax.plot([claim.threshold, claim.threshold], [y - 0.35, y + 0.35], color="#59636e", lw=1)
        if width:
            ax.fill_betweenx([y - 0.35, y + 0.35], claim.threshold, claim.threshold + shift, color="#d1d9e0")
        ax.errorbar(m["value"], y, xerr=_spans([m["value"]], [m["ci_low"]], [m["ci_high"]]), fmt="o",
                    color=COLOURS[verdict.verdict], capsize=3)
    ax.set_yticks(range(len(rows)), [c.id for c, _ in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("measured value with its interval; grey line: claim boundary; grey band: derived tolerance")
    caption = (f"Forest plot of the {len(rows)} measured claims with a boundary, {judgement.model} on "
               f"{judgement.dataset}. Colour = verdict.")
    return Figure("forest", caption, caption, _png(fig))


def layer_curves(judgement: Judgement) -> list[Figure]:
    """Each swept quantity (`name@L<layer>`) against the published layer, with its shuffled-label null band."""
    curves: dict[str, list[tuple[int, Measurement]]] = {}
    for quantity, m in judgement.measurements.items():
        if (match := SWEEP.match(quantity)) and match["base"] != EIP_AUROC:
            curves.setdefault(match["base"], []).append((int(match["layer"]), m))
    figures = []
    for base, points in curves.items():
        points.sort()
        layers, rows = [layer for layer, _ in points], [m for _, m in points]
        fig, ax = plt.subplots(figsize=(6, 3.2))
        ax.errorbar(layers, [m.value for m in rows], yerr=_spans([m.value for m in rows], [m.ci_low for m in rows],
                                                                 [m.ci_high for m in rows]),
                    fmt="o-", color="#0969da", capsize=3, label="measured (interval)")
        if all(m.has_null for m in rows):
            ax.fill_between(layers, [m.null_mean - 2 * m.null_sd for m in rows],
                            [m.null_mean + 2 * m.null_sd for m in rows], color="#d1d9e0",
                            label="shuffled-label null, mean +/- 2 SD")
        ax.set_xlabel("published layer (of the reference depth), mapped by relative depth")
        ax.set_ylabel(base.rsplit(".", 1)[-1], fontsize=8)
        ax.legend(fontsize=8)
        caption = f"{base} by layer, {judgement.model} on {judgement.dataset}."
        figures.append(Figure(f"layers-{base}", caption, caption, _png(fig)))
    return figures


def null_histograms(judgement: Judgement) -> list[Figure]:
    """For every permutation claim: the null distribution and the observed statistic."""
    figures = []
    for claim, verdict in _measured(judgement):
        details = verdict.measured["details"]
        null = details.get("null_z_values") or details.get("null_values")
        if claim.decide_by != "permutation" or not null:
            continue
        fig, ax = plt.subplots(figsize=(5, 2.8))
        ax.hist(null, bins=20, color="#8c959f", label=f"null ({len(null)} draws)")
        ax.axvline(verdict.measured["value"], color=COLOURS[verdict.verdict], lw=2, label="observed")
        ax.set_xlabel(claim.quantity + (" (z units)" if "null_z_values" in details else ""))
        ax.legend(fontsize=8)
        null_from = details.get("null_from", "shuffled labels")
        caption = (f"{claim.id}: observed statistic against its own null ({null_from}), {judgement.model} on "
                   f"{judgement.dataset}. Verdict {verdict.verdict}.")
        figures.append(Figure(f"null-{claim.id}", caption, caption, _png(fig)))
    return figures


def eip_probe_layers(judgement: Judgement) -> Figure | None:
    """EIP probe test AUROC by layer against the AUROC band of random unit directions at each layer."""
    random = judgement.measurements.get("eip.random.z")
    points = sorted((int(m["layer"]), judgement.measurements[q]) for q in judgement.measurements
                    if (m := SWEEP.match(q)) and m["base"] == EIP_AUROC)
    if random is None or not points:
        return None
    band = {int(layer): values for layer, values in random.details["band_by_layer"].items()}
    layers, rows = [layer for layer, _ in points], [m for _, m in points]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.fill_between(layers, [band[x]["mean"] - 2 * band[x]["sd"] for x in layers],
                    [band[x]["mean"] + 2 * band[x]["sd"] for x in layers], color="#d1d9e0",
                    label="random unit directions, mean +/- 2 SD")
    ax.plot(layers, [band[x]["p95"] for x in layers], "--", color="#8c959f", lw=1, label="random, 95th percentile")
    values = [m.value for m in rows]
    ax.errorbar(layers, values, yerr=_spans(values, [m.ci_low for m in rows], [m.ci_high for m in rows]), fmt="o-",
                color="#0969da", capsize=3, label="mean-difference probe (Hanley-McNeil interval)")
    best = next((c for c in judgement.claims if c.quantity == "eip.probe.best_layer"), None)
    for (model, layer), style in zip(best.published.items() if best else [], ("--", "-.", ":")):
        ax.axvline(layer, color="#cf222e", lw=1, ls=style, label=f"published best layer: {layer:g} ({model.split('/')[-1]})")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("EIP layer (of 32; mapped to this model)")
    ax.set_ylabel("test AUROC")
    ax.legend(fontsize=7, loc="lower right")
    caption = (f"EIP probe test AUROC by layer against {random.n} random unit directions per layer, "
               f"{judgement.model} on the EIP data.")
    return Figure("eip-probe-auroc-by-layer", caption, caption, _png(fig))


def eip_steering_curve(judgement: Judgement) -> Figure | None:
    """Empathic and coherent share of the samples by alpha, beside random directions, with the mean KL."""
    success = judgement.measurements.get("eip.steering.success_published_rule")
    if success is None or "by_alpha" not in success.details:
        return None
    curve = {float(a): v for a, v in success.details["by_alpha"].items()}
    alphas = sorted(curve)
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    ax.plot(alphas, [curve[a]["empathic_rate"] for a in alphas], "o-", color="#1a7f37", label="empathic (keyword rule)")
    ax.plot(alphas, [curve[a]["random_empathic_rate"] for a in alphas], "o--", color="#8c959f",
            label="empathic, random directions")
    ax.plot(alphas, [curve[a]["coherent_rate"] for a in alphas], "s-", color="#0969da", label="coherent")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("alpha (multiple of the unit direction added to block L's output)")
    ax.set_ylabel("share of samples")
    kl = ax.twinx()
    kl.plot(alphas, [curve[a]["mean_kl"] for a in alphas], ":", color="#cf222e", label="mean KL vs alpha = 0")
    kl.set_ylabel("KL (nats)", color="#cf222e", fontsize=8)
    handles = [h for axis in (ax, kl) for h in axis.get_legend_handles_labels()[0]]
    ax.legend(handles, [h.get_label() for h in handles], fontsize=7, loc="upper center")
    caption = (f"EIP steering by alpha: share of empathic and coherent samples, random directions, and the "
               f"effect size (mean KL), {judgement.model}. Success {success.value:.2f} under the published rule.")
    return Figure("eip-steering-by-alpha", caption, caption, _png(fig))


def emergence_curves(judgement: Judgement) -> Figure | None:
    """Council round 2: AUROC by hidden state of empathy, formality and shuffled labels, the 0.9 threshold, and the
    published emergence layer placed on this model by relative depth."""
    empathy = judgement.measurements.get("council.emergence.empathy_layer")
    formality = judgement.measurements.get("council.emergence.formality_layer")
    claim = next((c for c in judgement.claims if c.quantity == "council.emergence.empathy_layer"), None)
    if empathy is None or formality is None or claim is None:
        return None
    curve = empathy.details["auroc_by_state"]
    states = list(range(len(curve)))
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    ax.plot(states, curve, "o-", ms=3, color="#0969da", label="empathy: cognitive vs affective")
    ax.plot(states, formality.details["auroc_by_state"], "s-", ms=3, color="#8250df", label="formality: formal vs casual")
    ax.plot(states, empathy.details["random_label_auroc_by_state"], ":", color="#8c959f", label="shuffled labels")
    ax.axhline(empathy.details["threshold"], color="#6e7781", lw=0.8, ls="--")
    for model, layer in claim.published.items():
        placed = round(layer * (len(curve) - 1) / 32)
        ax.axvline(placed, color="#cf222e", lw=1, ls="--", label=f"published emergence: layer {layer:g} of 32 "
                                                                  f"({model.split('/')[-1]}), placed at {placed}")
    ax.set_ylim(0.3, 1.02)
    ax.set_xlabel("hidden state (0 = embeddings, i = output of block i - 1)")
    ax.set_ylabel("CV AUROC (last token)")
    ax.legend(fontsize=7, loc="lower right")
    caption = (f"Council round 2 layer emergence (elb-r2-empathy-emergence, elb-r2-formality-emergence), "
               f"{judgement.model}: empathy emerges at state {empathy.value:g}, formality at {formality.value:g}; "
               f"bundled triplets and formality pairs.")
    return Figure("council-layer-emergence", caption, caption, _png(fig))


def sae_composition(judgement: Judgement) -> Figure | None:
    """Pipeline A: how many texts of each dataset fall in each k-means cluster of the SAE codes, for every k."""
    best = judgement.measurements.get("pipeline_a.best_k")
    if best is None or "datasets_by_cluster" not in best.details:
        return None
    by_k = best.details["datasets_by_cluster"]
    datasets = sorted({name for clusters in by_k.values() for counts in clusters.values() for name in counts})
    bars = [(k, cluster, counts) for k, clusters in by_k.items() for cluster, counts in clusters.items()]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    bottom = [0] * len(bars)
    for name, colour in zip(datasets, ("#0969da", "#bf8700", "#8c959f", "#8250df")):
        heights = [counts.get(name, 0) for _, _, counts in bars]
        ax.bar(range(len(bars)), heights, bottom=bottom, color=colour, label=name)
        bottom = [b + h for b, h in zip(bottom, heights)]
    ax.set_xticks(range(len(bars)), [f"k={k}\n#{cluster}" for k, cluster, _ in bars], fontsize=6)
    ax.set_ylabel("texts")
    ax.legend(fontsize=7)
    caption = (f"Pipeline A: dataset composition of each k-means cluster of the SAE codes for k = "
               f"{', '.join(by_k)} (best k by silhouette: {best.value:g}), {judgement.model}, all texts.")
    return Figure("sae-cluster-composition", caption, caption, _png(fig))


def phase1_bandwidth(judgement: Judgement) -> Figure | None:
    """ELB Phase 1: mean coherence by alpha of the empathy and the control vector, the threshold, and each
    bandwidth as rank x range."""
    m = judgement.measurements
    parts = {name: (m.get(f"{prefix}.steering_range"), m.get(f"{prefix}.dimensionality"))
             for name, prefix in (("empathy", "phase1"), ("formal - casual control", "phase1.control"))}
    if any(reach is None or rank is None for reach, rank in parts.values()):
        return None
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    for (name, (reach, rank)), style in zip(parts.items(), ("o-", "s--")):
        curve = {float(a): c for a, c in reach.details["coherence_by_alpha"].items()}
        ax.plot(sorted(curve), [curve[a] for a in sorted(curve)], style, ms=4,
                label=f"{name}: rank {rank.value:g} x range {reach.value:g} = {rank.value * reach.value:g}")
    threshold = parts["empathy"][0].details["threshold"]
    ax.axhline(threshold, color="#cf222e", lw=0.8, ls="--", label=f"coherence threshold {threshold:g}")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("alpha (multiple of the steering vector added at the Phase 1 layer)")
    ax.set_ylabel("mean coherence")
    ax.legend(fontsize=7, loc="upper left")
    caption = (f"ELB Phase 1 (elb-p1-bandwidth, elb-p1-steering-range, elb-p1-empathy-control-ratio): coherence of "
               f"steered generations by alpha, {judgement.model}, bundled Phase 1 and formality pairs; bandwidth = "
               f"effective PCA rank x the largest |alpha| whose coherence exceeds the threshold. Coherence "
               f"calibration: " + ", ".join(f"{kind.replace('_', ' ')} {m[q].value:.2f}" for kind in CALIBRATION
                                            if (q := f"phase1.coherence.{kind}") in m) + ".")
    return Figure("phase1-coherence-by-alpha", caption, caption, _png(fig))


def all_figures(judgement: Judgement) -> list[Figure]:
    found = [f for f in (forest(judgement), eip_probe_layers(judgement), eip_steering_curve(judgement),
                         emergence_curves(judgement), sae_composition(judgement), phase1_bandwidth(judgement))
             if f]
    return [*found, *layer_curves(judgement), *null_histograms(judgement)]
