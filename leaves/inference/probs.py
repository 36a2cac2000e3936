"""Saving class probabilities for later blending: `.npy` (rows x classes) or CSV with class columns."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from leaves.errors import ConfigError
from leaves.utils.atomic import atomic_file, atomic_write_csv

SUFFIXES = (".npy", ".csv")


def check_probs_path(path: str | Path) -> Path:
    """Fail before any work if `path` cannot be written: wrong suffix, or it would replace earlier results."""
    path = Path(path)
    if path.suffix not in SUFFIXES:
        raise ConfigError(f"probabilities file {path} must end in .npy or .csv")
    if path.exists():
        raise FileExistsError(f"{path} already exists: choose another file name, or move it away first")
    return path


def probs_table(
    probs: np.ndarray, images: Sequence[str], class_names: Sequence[str], extra: Optional[dict[str, Sequence]] = None
) -> pd.DataFrame:
    """One row per image, one column per class (named by the class), plus `extra` columns after `image`."""
    table = pd.DataFrame({"image": list(images), **(extra or {})})
    return pd.concat([table, pd.DataFrame(np.asarray(probs), columns=list(class_names))], axis=1)


def save_probs(probs: np.ndarray, images: Sequence[str], class_names: Sequence[str], path: str | Path) -> Path:
    """Write probabilities in test.csv row order: `.npy` holds the bare array (columns in
    class-name order, as in the CSV's header), `.csv` names its rows and columns."""
    path = Path(path)
    if path.suffix == ".npy":
        with atomic_file(path) as f:
            np.save(f, np.asarray(probs, dtype=np.float32))
    else:
        atomic_write_csv(probs_table(probs, images, class_names), path)
    return path
