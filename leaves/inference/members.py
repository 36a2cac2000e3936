"""Ensemble members: a checkpoint, or a `leaves kfold` run folder (its fold checkpoints and its oof.csv).

A k-fold run is one member of an ensemble: its folds are averaged equally
(each saw the same recipe on other rows), and its out-of-fold probabilities
say how good that member is on every training image, which is what fitted
weights are fitted on (`leaves.inference.hill_climb`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from leaves.errors import CheckpointError, ConfigError, DataError
from leaves.inference.oof import oof_classes, read_oof
from leaves.inference.predictor import check_same_classes
from leaves.layout import BEST, FOLD_PREFIX, KFOLD_DIR, OOF_CSV, checkpoint_path


@dataclass(frozen=True)
class KFoldMember:
    """A finished `leaves kfold` run: its folder, its out-of-fold probabilities, its fold checkpoints."""

    folder: Path
    oof: Path
    checkpoints: list[Path]


def kfold_member(path: str | Path) -> KFoldMember:
    """The k-fold run in `path` (the kfold folder, or the runs folder that holds it)."""
    folder = Path(path)
    if not (folder / OOF_CSV).is_file() and (folder / KFOLD_DIR / OOF_CSV).is_file():
        folder = folder / KFOLD_DIR
    if not (folder / OOF_CSV).is_file():
        raise CheckpointError(
            f"{path} is not a finished leaves kfold run: no {OOF_CSV} (written once every fold is trained)"
        )
    pattern = re.compile(rf"{re.escape(FOLD_PREFIX)}(\d+)")
    folds = sorted((int(m.group(1)), p) for p in folder.iterdir() if (m := pattern.fullmatch(p.name)))
    checkpoints = [checkpoint_path(p, BEST) for _, p in folds]
    missing = [str(c) for c in checkpoints if not c.is_file()]
    if not checkpoints or missing:
        raise CheckpointError(f"{folder}: fold checkpoints missing: {', '.join(missing) or 'no fold folders'}")
    return KFoldMember(folder, folder / OOF_CSV, checkpoints)


def expand_members(
    entries: Sequence[str | Path], weights: Optional[Sequence[float]] = None
) -> tuple[list[Path], list[float]]:
    """The checkpoints of `entries` (checkpoint files, or k-fold run folders) and the weight of each: an
    entry's weight (default 1) is shared equally by its fold checkpoints."""
    if weights is not None and (len(weights) != len(entries) or any(w < 0 for w in weights) or not sum(weights)):
        raise ConfigError(
            f"weights must be {len(entries)} non-negative numbers, one per ensemble member, not all zero; got {weights}"
        )
    checkpoints: list[Path] = []
    shares: list[float] = []
    for entry, weight in zip(entries, weights if weights is not None else [1.0] * len(entries)):
        files = kfold_member(entry).checkpoints if Path(entry).is_dir() else [Path(entry)]
        checkpoints += files
        shares += [float(weight) / len(files)] * len(files)
    return checkpoints, shares


@dataclass(frozen=True)
class AlignedOOF:
    """The members' out-of-fold probabilities on the same images in the same order."""

    images: list[str]
    labels: np.ndarray  # class indices
    folds: np.ndarray
    class_names: list[str]
    probs: list[np.ndarray]  # one images x classes array per member


def align_oof(members: Sequence[KFoldMember]) -> AlignedOOF:
    """The members' oof.csv tables row-aligned by image; they must cover the same images with the same
    labels and classes (the same train.csv), or fitted weights would compare different things."""
    tables = [read_oof(m.oof) for m in members]
    classes = check_same_classes({str(m.oof): oof_classes(t) for m, t in zip(members, tables)})
    first = tables[0].set_index("image")
    aligned = []
    for member, table in zip(members, tables):
        table = table.set_index("image")
        if set(table.index) != set(first.index):
            raise DataError(
                f"{member.oof} and {members[0].oof} predict different images ({len(table)} and {len(first)}): "
                "members must be k-fold runs on the same training CSV"
            )
        table = table.loc[first.index]
        if (table["label"].astype(str) != first["label"].astype(str)).any():
            raise DataError(f"{member.oof} gives some images other labels than {members[0].oof}")
        aligned.append(table[classes].to_numpy(dtype=np.float64))
    labels = pd.Index(classes).get_indexer(first["label"].astype(str))
    folds = first["fold"].to_numpy() if "fold" in first else np.arange(len(first)) % 2
    return AlignedOOF(first.index.tolist(), labels, folds, classes, aligned)
