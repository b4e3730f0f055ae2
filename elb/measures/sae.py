"""ELB Phase 2 pipeline A: a sparse autoencoder on the activations, k-means on its codes, convergence with pipeline B.

Intervals hold each k-means partition fixed and resample the texts (stratified by response type): per-text
silhouette values and cluster labels are resampled, nothing is refit. Rerunning the whole pipeline with other seeds
(the seed_spread stage) is what varies the SAE and k-means fits.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_samples
from sklearn.model_selection import train_test_split

from elb.config import AnalysisConfig, PipelineAConfig
from elb.datasets.spec import EMPATHY_TYPES, SPECS
from elb.measures.measurement import Measurement
from elb.measures.phase2 import Probed, _interval_measure, _records_convergence, _with_null
from elb.measures.probes import cosine, train_softmax_probe
from elb.measures.stats import stratified_resample

LEVELS = ("WEAK", "MODERATE", "STRONG")  # convergence level 0, 1, 2
RULE = {2: (0.6, 0.7), 1: (0.4, 0.5)}  # published (k-match rate, purity) minima of STRONG and MODERATE
DATASET_OF = {label: spec.name for spec in SPECS for label in spec.text_fields}


@dataclass(frozen=True)
class Partition:
    """One k-means partition of the codes."""

    clusters: np.ndarray  # cluster index of each text
    silhouettes: np.ndarray  # silhouette value of each text (their mean is the silhouette score)


def train_sae(x: np.ndarray, cfg: PipelineAConfig, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Published pipeline A SAE (loss MSE + l1 x mean|code|, minibatch Adam): codes of `x`, decoder weight
    [d, features] and the final loss on all texts. Initialisation and batch order come from `seed`."""
    data = torch.as_tensor(x, dtype=torch.float32)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        encoder, decoder = torch.nn.Linear(x.shape[1], cfg.features), torch.nn.Linear(cfg.features, x.shape[1])

        def loss(batch: torch.Tensor) -> torch.Tensor:
            code = torch.relu(encoder(batch))
            return torch.nn.functional.mse_loss(decoder(code), batch) + cfg.l1 * code.abs().mean()

        optimizer = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=cfg.lr,
                                     fused=True)  # one kernel per step: the same update, 3x faster on the CPU
        for _ in range(cfg.epochs):
            for rows in torch.randperm(len(data)).split(cfg.batch_size):
                optimizer.zero_grad()
                loss(data[rows]).backward()
                optimizer.step()
    with torch.no_grad():
        return (torch.relu(encoder(data)).double().numpy(), decoder.weight.double().numpy(), float(loss(data)))


def partitions(codes: np.ndarray, ks: range, n_init: int, seed: int) -> dict[int, Partition]:
    """k-means (`n_init` seeded initialisations) for each k, with each text's silhouette."""
    out = {}
    for k in ks:
        clusters = KMeans(k, n_init=n_init, random_state=seed).fit(codes).labels_
        out[k] = Partition(clusters, silhouette_samples(codes, clusters))
    return out


def purity(clusters: np.ndarray, labels: np.ndarray) -> float:
    """Mean over clusters of the dominant label's share (published pipeline A purity)."""
    return float(np.mean([np.unique(labels[clusters == c], return_counts=True)[1].max() / np.sum(clusters == c)
                          for c in np.unique(clusters)]))


def convergence_level(k_match: float, purity_value: float) -> int:
    """Published rule: 2 (STRONG) if k-match >= 0.6 and purity >= 0.7, 1 (MODERATE) if >= 0.4 and >= 0.5, else 0."""
    return next((level for level, (k_min, p_min) in RULE.items() if k_match >= k_min and purity_value >= p_min), 0)


def composition(clusters: np.ndarray, keys: np.ndarray) -> dict[str, dict[str, int]]:
    """Count of each key (dataset or response type) in each cluster."""
    return {str(c): dict(zip(*(v.tolist() for v in np.unique(keys[clusters == c], return_counts=True))))
            for c in np.unique(clusters)}


def cluster_probe_cosines(codes: np.ndarray, decoder: np.ndarray, clusters: np.ndarray,
                          rows: np.ndarray) -> np.ndarray:
    """Cosine of each cluster direction [clusters] with each probe weight row [rows].

    A cluster's direction is its decoded centroid minus the decoded mean code: (centroid - mean code) @ decoder.T,
    so the decoder bias cancels.
    """
    centre = codes.mean(axis=0)
    directions = [(codes[clusters == c].mean(axis=0) - centre) @ decoder.T for c in np.unique(clusters)]
    return np.array([[cosine(d, w) for w in rows] for d in directions])


def matched_cosine(similarity: np.ndarray) -> float:
    """Mean cosine of the best one-to-one matching of clusters to probe rows (Hungarian, scipy)."""
    return float(similarity[linear_sum_assignment(similarity, maximize=True)].mean())


def probe_rows(data: Probed, cfg: AnalysisConfig, seed: int) -> np.ndarray:
    """Pipeline B's probe weight rows: its split, epochs, lr and seed, on the raw triplet activations of `data`."""
    pb, triplets = cfg.pipeline_b, np.flatnonzero(np.isin(data.labels, EMPATHY_TYPES))
    y = np.array([EMPATHY_TYPES.index(label) for label in data.labels[triplets]])
    rest, _ = train_test_split(np.arange(len(y)), test_size=pb.test_fraction, stratify=y, random_state=seed)
    train, _ = train_test_split(rest, test_size=pb.val_fraction, stratify=y[rest], random_state=seed)
    x = data.features[triplets[train]]
    return train_softmax_probe(x, y[train], len(EMPATHY_TYPES), pb.epochs, pb.lr, seed)[0]


@_records_convergence
def pipeline_a(data: Probed, cfg: AnalysisConfig, seed: int) -> list[Measurement]:
    """SAE codes, k-means for k_min..k_max, best k by silhouette, purity over the response types, the convergence
    level, and the theoretical-k centroids against pipeline B's probe rows (null: shuffled cluster labels)."""
    pa, labels, n = cfg.pipeline_a, data.labels, len(data.labels)
    codes, decoder, final_loss = train_sae(data.features, pa, seed)
    by_k = partitions(codes, range(pa.k_min, pa.k_max + 1), pa.n_init, seed)

    def select(rows: np.ndarray) -> tuple[int, float, float, int]:
        """Best k, its silhouette and purity, and the convergence level, on the texts `rows`."""
        scores = {k: float(p.silhouettes[rows].mean()) for k, p in by_k.items()}
        best = max(scores, key=scores.__getitem__)
        best_purity = purity(by_k[best].clusters[rows], labels[rows])
        return best, scores[best], best_purity, convergence_level(float(best == pa.theoretical_k), best_purity)

    everything, rng = np.arange(n), np.random.default_rng(seed)
    resamples = [stratified_resample(labels, rng) for _ in range(cfg.bootstrap)]
    best, silhouette, best_purity, level = select(everything)
    samples = np.array([select(rows) for rows in resamples])
    shuffle = np.random.default_rng(seed)
    purity_null = np.array([purity(by_k[best].clusters, shuffle.permutation(labels))
                            for _ in range(cfg.null_test.permutations)])
    theory, weights = by_k[pa.theoretical_k].clusters, probe_rows(data, cfg, seed)

    def centroid_probe(rows: np.ndarray, clusters: np.ndarray) -> float:
        return matched_cosine(cluster_probe_cosines(codes[rows], decoder, clusters, weights))

    cosine_samples = np.array([centroid_probe(r, theory[r])
                               for r in (stratified_resample(theory, rng) for _ in range(cfg.bootstrap))])
    cosine_null = np.array([centroid_probe(everything, shuffle.permutation(theory))
                            for _ in range(cfg.null_test.permutations)])
    similarity = cluster_probe_cosines(codes, decoder, theory, weights)
    datasets = np.array([DATASET_OF.get(label, label) for label in labels])
    how = "stratified bootstrap of the texts over fixed k-means partitions (no refit)"
    shared = {"sae_final_loss": final_loss,
              "silhouette_by_k": {k: float(p.silhouettes.mean()) for k, p in by_k.items()}}
    return [
        _interval_measure("pipeline_a.best_k", best, samples[:, 0], cfg, n, data.inputs, how, **shared,
                          datasets_by_cluster={k: composition(p.clusters, datasets) for k, p in by_k.items()}),
        _interval_measure("pipeline_a.silhouette", silhouette, samples[:, 1], cfg, n, data.inputs, how, **shared),
        _with_null(_interval_measure("pipeline_a.purity", best_purity, samples[:, 2], cfg, n, data.inputs, how,
                                     types_by_cluster=composition(by_k[best].clusters, labels)),
                   purity_null, "shuffled response-type labels on the best-k partition"),
        _interval_measure("pipeline_a.convergence_level", level, samples[:, 3], cfg, n, data.inputs, how,
                          verdict=f"{LEVELS[level]}_CONVERGENCE", k_match=best == pa.theoretical_k,
                          levels=dict(enumerate(LEVELS)), rule={LEVELS[k]: v for k, v in RULE.items()}),
        _with_null(_interval_measure("pipeline_a.centroid_probe_cosine", matched_cosine(similarity), cosine_samples,
                                     cfg, n, data.inputs, f"bootstrap of the texts within each k = {pa.theoretical_k} "
                                                          "cluster (probe fixed)",
                                     cosines={f"cluster_{c}": dict(zip(EMPATHY_TYPES, row.round(4).tolist()))
                                              for c, row in enumerate(similarity)},
                                     datasets_by_cluster=composition(theory, datasets)),
                   cosine_null, f"shuffled k = {pa.theoretical_k} cluster labels (sizes kept), same probe rows"),
    ]
