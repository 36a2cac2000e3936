"""What a teacher's probabilities add to a fit: pseudo-labelled test images and soft targets.

Pseudo-labels (`--data.pseudo_labels test_probs.csv --data.pseudo_threshold 0.9`):
the test images whose top probability reaches the threshold join the training
split with that class as a hard label. Hard, not soft: the threshold keeps
only images the teacher is sure of, where the soft target is nearly one-hot
anyway; a hard label works with the fit's loss, label smoothing and
MixUp/CutMix unchanged; and learning from the teacher's full distribution is
distillation's job (below), which these pseudo-labels combine with.

Soft targets (`--data.soft_targets "[oof.csv, test_probs.csv]"`): the teacher's
probabilities for training images (out-of-fold, so the teacher never saw them)
and, optionally, for test images, which then join the training split with no
hard label (`NO_LABEL`: their hard loss weight is 0). The model's distillation
loss (`leaves.models.distill`) learns from them.

Neither ever touches the validation split: it stays the plain train.csv rows
the split chose, so validation accuracy means what it always meant.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd

from leaves.data.probs_csv import read_probs
from leaves.errors import ConfigError, DataError
from leaves.layout import TEST_CSV, TRAIN_CSV

#: The hard label of a row that has none (a test image with only a soft target): the loss ignores it
#: (torch's default `ignore_index`).
NO_LABEL = -100
ADDED_COLUMNS = ["image", "pseudo_label", "confidence", "soft_target"]


@dataclass(frozen=True)
class TeacherRows:
    """What the teacher's files add: soft targets for train.csv rows (None without soft targets; zero rows
    where the teacher gave none), and the test.csv rows that join training, each with its hard label
    (a class index or NO_LABEL) and soft target; `added` records them (image, pseudo_label, confidence,
    soft_target) for the run folder."""

    train_soft: Optional[np.ndarray]
    test_rows: np.ndarray
    test_labels: np.ndarray
    test_soft: Optional[np.ndarray]
    added: pd.DataFrame

    @property
    def summary(self) -> str:
        pseudo = int((self.added["pseudo_label"] != "").sum())
        return f"{pseudo} pseudo-labelled, {len(self.added) - pseudo} with a soft target only"


def _pseudo(path: str, class_names: Sequence[str], threshold: float, test_index: dict[str, int]) -> pd.DataFrame:
    if not 0.0 < threshold <= 1.0:
        raise ConfigError(f"data.pseudo_threshold must be in (0, 1], got {threshold}")
    images, probs = read_probs(path, class_names)
    outside = [name for name in images if name not in test_index]
    if outside:
        raise DataError(
            f"{path}: {len(outside)} images are not in {TEST_CSV} (e.g. {outside[0]!r}): pseudo-labels are for "
            f"the unlabelled test images; the probabilities of leaves predict/ensemble --save_probs are"
        )
    top = probs.max(axis=1)
    chosen = np.flatnonzero(top >= threshold)
    if not len(chosen):
        warnings.warn(
            f"{path}: no test image has a top probability of at least data.pseudo_threshold {threshold} "
            f"(the highest is {top.max():.3f}): no pseudo-labels are added",
            stacklevel=3,
        )
    return pd.DataFrame(
        {
            "row": [test_index[images[i]] for i in chosen],
            "label": probs[chosen].argmax(axis=1),
            "confidence": top[chosen],
        }
    )


def _soft(
    paths: Sequence[str], class_names: Sequence[str], train_index: dict[str, int], test_index: dict[str, int]
) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    train_soft = np.zeros((len(train_index), len(class_names)), dtype=np.float32)
    test_soft: dict[int, np.ndarray] = {}
    seen: set[str] = set()
    for path in paths:
        images, probs = read_probs(path, class_names)
        twice = seen.intersection(images)
        if twice:
            raise DataError(
                f"{path}: {len(twice)} images already have a soft target in an earlier file (e.g. {sorted(twice)[0]!r})"
            )
        seen.update(images)
        for name, p in zip(images, probs):
            if name in train_index:
                train_soft[train_index[name]] = p
            elif name in test_index:
                test_soft[test_index[name]] = p
            else:
                raise DataError(f"{path}: image {name!r} is in neither {TRAIN_CSV} nor {TEST_CSV}")
    missing = int((train_soft.sum(axis=1) == 0).sum())
    if missing:
        warnings.warn(
            f"data.soft_targets give no soft target for {missing} of {len(train_index)} training rows: "
            "those learn from their label alone",
            stacklevel=3,
        )
    return train_soft, test_soft


def teacher_rows(
    train_images: Sequence[str],
    test_images: Sequence[str],
    class_names: Sequence[str],
    pseudo_labels: Optional[str] = None,
    pseudo_threshold: float = 0.9,
    soft_targets: Optional[Sequence[str]] = None,
) -> TeacherRows:
    """The rows `pseudo_labels` (a test probabilities CSV) and `soft_targets` (probability CSVs for train
    and test images) add to a fit over `train_images` (train.csv's usable rows, in order) and `test_images`."""
    train_index = {name: i for i, name in enumerate(train_images)}
    test_index = {name: i for i, name in enumerate(test_images)}
    pseudo = (
        _pseudo(pseudo_labels, class_names, pseudo_threshold, test_index)
        if pseudo_labels
        else pd.DataFrame({"row": [], "label": [], "confidence": []})
    )
    train_soft, soft_by_row = _soft(soft_targets, class_names, train_index, test_index) if soft_targets else (None, {})
    labels = dict(zip(pseudo["row"].astype(int), pseudo["label"].astype(int)))
    rows = np.asarray(sorted(set(labels) | set(soft_by_row)), dtype=np.int64)
    test_soft = None
    if soft_targets:
        zero = np.zeros(len(class_names), np.float32)
        test_soft = np.asarray([soft_by_row.get(int(r), zero) for r in rows], np.float32)
        test_soft = test_soft.reshape(len(rows), len(class_names))
    confidence = dict(zip(pseudo["row"].astype(int), pseudo["confidence"]))
    added = pd.DataFrame(
        {
            "image": [test_images[r] for r in rows],
            "pseudo_label": [class_names[labels[r]] if r in labels else "" for r in rows],
            "confidence": [round(float(confidence[r] if r in confidence else soft_by_row[r].max()), 4) for r in rows],
            "soft_target": [int(r) in soft_by_row for r in rows],
        },
        columns=ADDED_COLUMNS,
    )
    test_labels = np.asarray([labels.get(int(r), NO_LABEL) for r in rows], dtype=np.int64)
    return TeacherRows(train_soft, rows, test_labels, test_soft, added)
