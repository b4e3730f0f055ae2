"""Linear probes on activations, the geometry of their weights, and how their solvers ended."""
from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Literal

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_info

AurocFolds = Literal["published", "pooled_shuffled"]


@dataclass(frozen=True)
class Fit:
    """How one probe fit's solver ended."""

    solver: str
    max_iter: int  # iteration limit (epochs for full-batch Adam)
    converged: bool | None  # None: fixed-epoch Adam has no stopping rule to meet
    final_loss: float | None = None


_FITS: ContextVar[list[Fit] | None] = ContextVar("probe_fits", default=None)


@contextmanager
def recording_fits() -> Iterator[list[Fit]]:
    """Collect how every probe fit made inside the block ended (an enclosing block gets them too)."""
    outer, fits = _FITS.get(), []
    token = _FITS.set(fits)
    try:
        yield fits
    finally:
        _FITS.reset(token)
        if outer is not None:
            outer.extend(fits)


def _record(fit: Fit) -> None:
    fits = _FITS.get()
    if fits is not None:
        fits.append(fit)


def convergence_summary(fits: Sequence[Fit]) -> dict[str, Any]:
    """Fits, how many did not converge (None for Adam: no stopping rule) and the iteration limit; for Adam, the
    final training cross-entropy of the first fit (the probe the values come from) and the largest over all fits."""
    judged = [fit.converged for fit in fits if fit.converged is not None]
    summary: dict[str, Any] = {"solver": "/".join(sorted({fit.solver for fit in fits})), "fits": len(fits),
                               "not_converged": judged.count(False) if judged else None,
                               "max_iter": max((fit.max_iter for fit in fits), default=None)}
    losses = [fit.final_loss for fit in fits if fit.final_loss is not None]
    if losses:
        summary |= {"final_loss": losses[0], "max_final_loss": max(losses)}
    return summary


def threads_in_effect() -> int:
    """The most threads any numeric library (torch, BLAS, OpenMP) may use now: fits' float results depend on it."""
    return max([torch.get_num_threads(), *(pool["num_threads"] for pool in threadpool_info())])


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
    with torch.no_grad():
        _record(Fit("adam", epochs, None, float(torch.nn.functional.cross_entropy(layer(x), y))))
    return layer.weight.detach().numpy().astype(np.float64), layer.bias.detach().numpy().astype(np.float64)


def softmax_probabilities(features: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    logits = features @ weight.T + bias
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def logistic_probe(features: np.ndarray, target: np.ndarray, C: float, max_iter: int,
                   seed: int) -> LogisticRegression:
    """A fitted lbfgs logistic probe (binary, or multinomial for more classes). How it ended is recorded, its
    ConvergenceWarning not printed: unconverged when the solver warned or used all `max_iter` iterations."""
    probe = LogisticRegression(C=C, max_iter=max_iter, random_state=seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        probe.fit(features, target)
    warned = False
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning):
            warned = True
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    _record(Fit("lbfgs", max_iter, not warned and int(np.max(probe.n_iter_)) < max_iter))
    return probe


def one_vs_rest_coefficients(features: np.ndarray, labels: np.ndarray, classes: list[str], C: float,
                             max_iter: int, seed: int) -> dict[str, np.ndarray]:
    """A separate binary logistic probe per class (class vs the rest); their coefficient vectors."""
    return {name: logistic_probe(features, (labels == name).astype(int), C, max_iter, seed).coef_[0].copy()
            for name in classes}


def cross_validated_auroc(features: np.ndarray, positive: np.ndarray, folds: int, C: float, max_iter: int,
                          seed: int, how: AurocFolds = "published") -> tuple[float, list[float]]:
    """AUROC of a binary logistic probe by stratified K-fold CV, and the AUROC of each fold.

    published: sklearn's `cross_val_score(LogisticRegression(...), X, y, cv=folds, scoring="roc_auc")`, i.e.
    unshuffled stratified folds and the mean of the per-fold AUROCs. pooled_shuffled: folds shuffled with `seed`,
    one AUROC of the pooled out-of-fold decision scores.
    """
    shuffled = how == "pooled_shuffled"
    splitter = StratifiedKFold(n_splits=folds, shuffle=shuffled, random_state=seed if shuffled else None)
    scores, per_fold = np.empty(len(positive)), []
    for train, test in splitter.split(features, positive):
        probe = logistic_probe(features[train], positive[train], C, max_iter, seed)
        scores[test] = probe.decision_function(features[test])
        per_fold.append(float(roc_auc_score(positive[test], scores[test])))
    return (float(roc_auc_score(positive, scores)) if shuffled else float(np.mean(per_fold))), per_fold
