"""Ensemble weights fitted on out-of-fold probabilities: Caruana's hill climbing with replacement.

Start from the best single member; then, round after round, add (again, if
it helps) the member whose addition raises the blend's accuracy most, ties
broken by the lower log loss, and stop when no addition helps. A member's
weight is its share of the picks. Chosen over a constrained least-squares (or
softmax-weight) fit because:

- the weights are non-negative, sum to 1 and come in steps of one pick: a few
  members get weight and a useless one stays at 0, which regularises (Caruana
  et al., 2004: "Ensemble selection from libraries of models");
- it climbs the competition's own metric, accuracy, as Caruana climbs the
  target metric; a smooth fit of log loss can settle where accuracy is lower
  (planted in tests/test_fitted_weights.py: the log-loss optimum 0.67/0.33 of
  two members scores 0.89, equal weights 0.97). Log loss only breaks ties, so
  the climb still moves on accuracy's plateaus;
- it needs nothing beyond numpy (no optimiser, no new dependency): seconds for
  a few members at 18,353 images and 176 classes.

What the climb reports on the images it was fitted on is optimistic;
`cross_fitted` scores each fold with weights fitted on the other folds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from leaves.errors import ConfigError

EPS = 1e-7


def true_class_probs(probs: Sequence[np.ndarray], labels: np.ndarray) -> np.ndarray:
    """Members x images: each member's probability of each image's label."""
    rows = np.arange(len(labels))
    return np.stack([np.asarray(p)[rows, labels] for p in probs])


def _log_loss(true_probs: np.ndarray) -> float:
    return float(-np.log(np.clip(true_probs, EPS, 1.0)).mean())


def _score(total: np.ndarray, truth: np.ndarray, picks: int, labels: np.ndarray) -> tuple[float, float]:
    """(accuracy, -log loss) of the blend whose probabilities sum to `total` over `picks` picks: higher is better."""
    return float((total.argmax(axis=1) == labels).mean()), -_log_loss(truth / picks)


def hill_climb(probs: Sequence[np.ndarray], labels: np.ndarray, rounds: int = 100) -> np.ndarray:
    """Weights (non-negative, summing to 1) of the members' probabilities (each images x classes) that
    raise the blend's accuracy on `labels` (ties: lower log loss), by at most `rounds` picks with replacement."""
    if rounds < 1:
        raise ConfigError(f"rounds must be at least 1, got {rounds}")
    probs = [np.asarray(p, dtype=np.float64) for p in probs]
    truth = true_class_probs(probs, labels)
    scores = [_score(p, t, 1, labels) for p, t in zip(probs, truth)]
    best = max(range(len(probs)), key=lambda k: scores[k])
    counts = np.zeros(len(probs), dtype=np.int64)
    counts[best] = 1
    total, total_truth, score = probs[best].copy(), truth[best].copy(), scores[best]
    for picks in range(2, rounds + 1):
        candidates = [_score(total + p, total_truth + t, picks, labels) for p, t in zip(probs, truth)]
        k = max(range(len(probs)), key=lambda i: candidates[i])
        if candidates[k] <= score:
            break
        counts[k] += 1
        total += probs[k]
        total_truth += truth[k]
        score = candidates[k]
    return counts / counts.sum()


def blend(probs: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """The weighted mean of the members' probabilities."""
    return sum(w * np.asarray(p, dtype=np.float64) for w, p in zip(weights, probs))


def cross_fitted(
    probs: Sequence[np.ndarray], labels: np.ndarray, groups: np.ndarray, rounds: int = 100
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Every image's blended probabilities with weights fitted on the other groups (folds) only, and those
    weights per group: what fitted weights score on images they were not fitted on."""
    out = np.zeros_like(np.asarray(probs[0]), dtype=np.float64)
    fitted = []
    for group in np.unique(groups):
        held = groups == group
        if held.all():
            raise ConfigError("cross-fitting the weights needs at least two folds in the out-of-fold table")
        weights = hill_climb([np.asarray(p)[~held] for p in probs], labels[~held], rounds)
        out[held] = blend([np.asarray(p)[held] for p in probs], weights)
        fitted.append(weights)
    return out, fitted
