"""Reading a probabilities CSV (`leaves predict --save_probs`, `leaves ensemble --save_probs`, leaves kfold's
oof.csv): one row per image, one column per class; checked against the class list a model speaks.

Pseudo-labels and distillation both learn from such a file, and a file from
another class list, a mangled column or a row of NaN would otherwise train
quietly on nonsense; every problem names the file and the line.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from leaves.data.table import csv_lines
from leaves.errors import DataError
from leaves.layout import OOF_CSV

#: Columns of a probabilities table that are not classes: the image, and oof.csv's label and fold.
NOT_CLASS_COLUMNS = ("image", "label", "fold")


def read_probs(path: str | Path, class_names: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """The images of a probabilities CSV and their probabilities (rows x `class_names`, in that order,
    each row normalised to sum 1); every other column than image, label and fold must be a class."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"probabilities file {path} not found (leaves predict/ensemble --save_probs, or leaves kfold's {OOF_CSV})"
        )
    table = pd.read_csv(path)
    if "image" not in table.columns:
        raise DataError(f"{path} has no image column: expected image and one column per class")
    columns = [c for c in table.columns if c not in NOT_CLASS_COLUMNS]
    missing = sorted(set(class_names) - set(columns))
    extra = sorted(set(columns) - set(class_names))
    if missing or extra:
        raise DataError(
            f"{path} does not have the model's {len(class_names)} classes as columns: "
            + "; ".join(
                part
                for part in (f"missing {missing[:5]}" if missing else "", f"not classes {extra[:5]}" if extra else "")
                if part
            )
        )
    repeated = table.index[table["image"].duplicated(keep=False)]
    if len(repeated):
        raise DataError(f"{path}: line(s) {csv_lines(repeated)} list the same image more than once")
    probs = table[list(class_names)].to_numpy(dtype=np.float64)
    bad = table.index[~(np.isfinite(probs).all(axis=1) & (probs >= 0).all(axis=1) & (probs.sum(axis=1) > 0))]
    if len(bad):
        raise DataError(f"{path}: line(s) {csv_lines(bad)} are not probabilities (negative, blank or all zero)")
    return table["image"].astype(str).tolist(), (probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)
