"""Splits of train.csv: seeded stratified (a validation fraction, or k folds for cross-validation), or
sequential (the last rows validate, as the d2l course's notes split it)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from leaves.data.table import class_names_of
from leaves.errors import DataError
from leaves.layout import TRAIN_CSV


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
        raise DataError(f"data.num_folds {num_folds} is more than the {len(labels)} rows of {TRAIN_CSV}")
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


def stratified_split(labels: pd.Series, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, val) with every class in the same proportion in both.

    Each class with at least two images gives at least one to validation and
    keeps at least one for training; a class with a single image cannot be
    split, so it trains only and a warning names it.
    """
    if not 0.0 < val_fraction < 1.0:
        raise DataError(f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction}")
    rng = np.random.default_rng(seed)
    val: list[int] = []
    singletons: list[str] = []
    for name in class_names_of(labels):
        rows = np.flatnonzero(labels.to_numpy() == name)
        if len(rows) < 2:
            singletons.append(name)
            continue
        k = min(max(int(round(len(rows) * val_fraction)), 1), len(rows) - 1)
        val.extend(rng.choice(rows, size=k, replace=False).tolist())
    if singletons:
        warnings.warn(
            f"{len(singletons)} class(es) have a single training image and cannot be validated: "
            f"{', '.join(singletons[:10])}; they are used for training only",
            stacklevel=2,
        )
    val_idx = np.sort(np.asarray(val, dtype=np.int64))
    train_idx = np.setdiff1d(np.arange(len(labels)), val_idx)
    return train_idx, val_idx


def sequential_split(num_rows: int, val_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, val): the first rows train, the last `val_fraction` of them validate.

    It is the d2l course's split (`train.csv` cut at 80%), kept so `--config seed` is that recipe;
    it stratifies nothing, so a rare class may have no validation image or no training image.
    """
    if not 0.0 < val_fraction < 1.0:
        raise DataError(f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction}")
    cut = min(max(int(num_rows * (1 - val_fraction)), 1), num_rows - 1)
    return np.arange(cut), np.arange(cut, num_rows)
