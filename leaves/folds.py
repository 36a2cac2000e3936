"""Seeded stratified k-fold assignment, for cross-validation and fold ensembles."""

from __future__ import annotations

import numpy as np
import pandas as pd

from leaves.table import DataError, class_names_of


def stratified_folds(labels: pd.Series, num_folds: int, seed: int) -> np.ndarray:
    """The fold (0..num_folds-1) of every row: each class is dealt out evenly over the folds.

    Rows of a class are shuffled with `seed` and dealt round-robin, the dealing
    continuing from class to class, so fold sizes differ by at most one and every
    fold holds each class in (almost) the same proportion. The same labels and
    seed always give the same folds, which is what makes out-of-fold
    predictions of separately trained folds line up.
    """
    if num_folds < 2:
        raise DataError(f"data.num_folds must be at least 2, got {num_folds}")
    if num_folds > len(labels):
        raise DataError(f"data.num_folds {num_folds} is more than the {len(labels)} rows of train.csv")
    rng = np.random.default_rng(seed)
    fold = np.empty(len(labels), dtype=np.int64)
    values = labels.to_numpy()
    start = 0
    for name in class_names_of(labels):
        rows = rng.permutation(np.flatnonzero(values == name))
        fold[rows] = (start + np.arange(len(rows))) % num_folds
        start = (start + len(rows)) % num_folds
    return fold


def fold_split(labels: pd.Series, num_folds: int, fold: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, val) where validation is fold `fold` of `stratified_folds`."""
    if not 0 <= fold < num_folds:
        raise DataError(f"data.fold must be in 0..{num_folds - 1} for data.num_folds {num_folds}, got {fold}")
    folds = stratified_folds(labels, num_folds, seed)
    return np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)
