"""Reading the competition's CSVs, label encoding and the stratified split.

Every check here fails with the file and row at fault, because the first thing
a competitor does wrong is point the pipeline at a slightly different folder.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd


class DataError(ValueError):
    """The data folder does not look like the Kaggle layout; the message says where."""


def read_table(csv_path: str | Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """Read a Kaggle CSV and keep `columns`, failing clearly on any layout problem."""
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise DataError(f"{csv_path} not found: expected the Kaggle layout with {csv_path.name} in the data folder")
    try:
        # utf-8-sig drops a byte-order mark that spreadsheet tools like to add.
        table = pd.read_csv(csv_path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise DataError(f"{csv_path} is empty: expected a header with columns {', '.join(columns)}") from None
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DataError(
            f"{csv_path} has no column {', '.join(repr(c) for c in missing)} "
            f"(found {', '.join(repr(c) for c in table.columns)})"
        )
    if table.empty:
        raise DataError(f"{csv_path} has a header but no rows")
    table = table[list(columns)].apply(lambda col: col.str.strip())
    for column in columns:
        blank = table.index[table[column] == ""]
        if len(blank):
            rows = ", ".join(str(i + 2) for i in blank[:10])  # +2: 1-based and the header line
            raise DataError(f"{csv_path}: blank {column!r} in row(s) {rows}")
    return table.reset_index(drop=True)


def check_images_exist(table: pd.DataFrame, data_dir: Path, csv_name: str) -> None:
    """Fail before training, listing every image the CSV names that is not on disk."""
    missing = [(i, p) for i, p in enumerate(table["image"]) if not (data_dir / p).is_file()]
    if missing:
        shown = "; ".join(f"row {i + 2}: {data_dir / p}" for i, p in missing[:10])
        more = f" (and {len(missing) - 10} more)" if len(missing) > 10 else ""
        raise DataError(f"{data_dir / csv_name} names {len(missing)} image(s) that do not exist: {shown}{more}")


def class_names_of(labels: pd.Series) -> list[str]:
    """Sorted class names: the encoding is then reproducible from the names alone."""
    return sorted(labels.unique().tolist())


def encode(labels: pd.Series, class_names: list[str]) -> np.ndarray:
    """Map label strings to indices into `class_names`."""
    index = {name: i for i, name in enumerate(class_names)}
    unknown = sorted(set(labels) - index.keys())
    if unknown:
        raise DataError(f"labels not in the class list: {', '.join(unknown[:10])}")
    return labels.map(index).to_numpy(dtype=np.int64)


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
