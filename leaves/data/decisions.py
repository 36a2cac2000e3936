"""A cleaned train.csv from a person's decisions: rows to drop, images to relabel; written to a new file.

The user's train.csv is the record of what the competition gave; a cleaning
decision is a judgement that may be revisited. So decisions are CSVs a person
writes (or copies from `leaves clean`'s duplicates.csv and suspects.csv), and
the result is a new file that `--data.train_csv` trains on, beside the old one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pandas as pd

from leaves.data.table import class_names_of, csv_lines, read_table
from leaves.errors import DataError
from leaves.utils.atomic import atomic_write_csv


@dataclass(frozen=True)
class CleanedTrain:
    """The new train.csv and what changed."""

    path: Path
    rows: int
    dropped: int
    relabelled: int


def _listed(decisions: pd.DataFrame, train: pd.DataFrame, path: Path) -> None:
    """Every image a decision names must be a train.csv row: a typo must not pass as 'nothing to drop'."""
    unknown = decisions.index[~decisions["image"].isin(train["image"])]
    if len(unknown):
        raise DataError(
            f"{path}: line(s) {csv_lines(unknown)} name images that are not in the training CSV "
            f"(e.g. {decisions.loc[unknown[0], 'image']!r})"
        )


def apply_decisions(
    train: pd.DataFrame,
    drop: Optional[pd.DataFrame] = None,
    relabel: Optional[pd.DataFrame] = None,
    drop_path: Path = Path("drop"),
    relabel_path: Path = Path("relabel"),
) -> pd.DataFrame:
    """`train` (image, label) without the rows whose image `drop` lists, with `relabel`'s label for each
    image it lists (an existing class: a typo would otherwise make a new one). An image both dropped and
    relabelled is refused: only the person who wrote the decisions knows which they meant."""
    out = train.copy()
    if relabel is not None:
        _listed(relabel, train, relabel_path)
        classes = set(class_names_of(train["label"]))
        unknown = relabel.index[~relabel["label"].isin(classes)]
        if len(unknown):
            raise DataError(
                f"{relabel_path}: line(s) {csv_lines(unknown)} give labels that are no class of the training CSV "
                f"(e.g. {relabel.loc[unknown[0], 'label']!r})"
            )
        repeated = relabel.index[relabel["image"].duplicated(keep=False)]
        if len(repeated):
            raise DataError(f"{relabel_path}: line(s) {csv_lines(repeated)} relabel the same image more than once")
        out["label"] = out["image"].map(dict(zip(relabel["image"], relabel["label"]))).fillna(out["label"])
    if drop is not None:
        _listed(drop, train, drop_path)
        if relabel is not None:
            both = drop.index[drop["image"].isin(relabel["image"])]
            if len(both):
                raise DataError(
                    f"{drop_path}: line(s) {csv_lines(both)} drop images that {relabel_path} relabels "
                    f"(e.g. {drop.loc[both[0], 'image']!r}); keep one decision per image"
                )
        out = out[~out["image"].isin(drop["image"])]
    emptied = sorted(set(train["label"]) - set(out["label"]))
    if emptied:
        raise DataError(
            f"the decisions leave no training image of {len(emptied)} class(es) ({', '.join(emptied[:5])}): a model "
            "trained on it would speak another class list than the training CSV's; keep at least one image of each"
        )
    return out.reset_index(drop=True)


def write_clean_train(
    train_csv: str | Path,
    out: str | Path,
    drop: Optional[str | Path] = None,
    relabel: Optional[str | Path] = None,
) -> CleanedTrain:
    """Write `train_csv` with the decisions applied (`drop`: a CSV with an image column, e.g. an edited
    suspects.csv; `relabel`: a CSV with image and label columns) to the new file `out`, which must not exist."""
    out = Path(out)
    if out.exists():
        raise FileExistsError(f"{out} already exists: the cleaned CSV is always a new file; choose another name")
    if drop is None and relabel is None:
        raise DataError("nothing to apply: give a CSV of images to drop, of images to relabel, or both")
    train = read_table(train_csv, ("image", "label"))
    drops = read_table(drop, ("image",)) if drop is not None else None
    relabels = read_table(relabel, ("image", "label")) if relabel is not None else None
    cleaned = apply_decisions(train, drops, relabels, Path(drop or "drop"), Path(relabel or "relabel"))
    atomic_write_csv(cleaned, out)
    before = cleaned["image"].map(dict(zip(train["image"], train["label"])))
    changed = int((cleaned["label"] != before).sum())
    return CleanedTrain(out, len(cleaned), len(train) - len(cleaned), changed)
