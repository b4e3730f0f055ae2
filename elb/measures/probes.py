"""Linear probes on activations and the geometry of their weights."""
from __future__ import annotations

from itertools import combinations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def pairwise_cosines(vectors: dict[str, np.ndarray]) -> dict[str, float]:
    """Cosine of every unordered pair, keyed "a_b" in the dict's order."""
    return {f"{a}_{b}": cosine(vectors[a], vectors[b]) for a, b in combinations(vectors, 2)}


def standardizer(train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = train.mean(axis=0)
    scale = train.std(axis=0)
    return mean, np.where(scale > 0, scale, 1.0)


def train_softmax_probe(features: np.ndarray, labels: np.ndarray, n_classes: int, epochs: int, lr: float,
                        seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One linear layer d -> k trained with cross-entropy and full-batch Adam (published pipeline B)."""
    generator = torch.Generator().manual_seed(seed)
    layer = torch.nn.Linear(features.shape[1], n_classes)
    with torch.no_grad():
        bound = 1 / np.sqrt(features.shape[1])
        layer.weight.uniform_(-bound, bound, generator=generator)
        layer.bias.uniform_(-bound, bound, generator=generator)
    optimizer = torch.optim.Adam(layer.parameters(), lr=lr)
    x = torch.as_tensor(features, dtype=torch.float32)
    y = torch.as_tensor(labels, dtype=torch.long)
    for _ in range(epochs):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(layer(x), y).backward()
        optimizer.step()
    return layer.weight.detach().numpy().astype(np.float64), layer.bias.detach().numpy().astype(np.float64)


def softmax_probabilities(features: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    logits = features @ weight.T + bias
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def one_vs_rest_coefficients(features: np.ndarray, labels: np.ndarray, classes: list[str], C: float,
                             max_iter: int, seed: int) -> dict[str, np.ndarray]:
    """A separate binary logistic probe per class (class vs the rest); their coefficient vectors."""
    coefficients = {}
    for name in classes:
        probe = LogisticRegression(C=C, max_iter=max_iter, random_state=seed)
        probe.fit(features, (labels == name).astype(int))
        coefficients[name] = probe.coef_[0].copy()
    return coefficients


def cross_validated_scores(features: np.ndarray, positive: np.ndarray, folds: int, C: float, max_iter: int,
                           seed: int) -> np.ndarray:
    """Out-of-fold decision scores of a binary logistic probe (stratified K-fold)."""
    scores = np.empty(len(positive))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(features, positive):
        probe = LogisticRegression(C=C, max_iter=max_iter, random_state=seed).fit(features[train], positive[train])
        scores[test] = probe.decision_function(features[test])
    return scores
