"""`leaves clean`: the data-cleaning report of a folder, and a cleaned train.csv from a person's decisions.

The report lists near-duplicate images (within train.csv, between train.csv
and test.csv, within test.csv; `leaves.data.duplicates`), the duplicates whose
labels disagree, and, given `leaves kfold`'s out-of-fold probabilities, the
training images most likely mislabelled (`leaves.inference.suspects`): two
CSVs and one HTML page of thumbnails, in a new folder each time (a person may
have edited the last one's CSVs into decisions). Nothing is changed: the
decisions become a new CSV (`leaves.data.decisions`) that `--data.train_csv`
trains on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pandas as pd
from lightning.pytorch.utilities import rank_zero_info

from leaves.data.decisions import CleanedTrain, write_clean_train
from leaves.data.duplicates import MAX_DIFFERENCE, MAX_DISTANCE, MAX_LOCAL_DIFFERENCE, find_duplicates
from leaves.data.table import read_table
from leaves.errors import DataError
from leaves.inference.oof import read_oof
from leaves.inference.suspects import mislabel_suspects
from leaves.layout import (
    CLEAN_DIR,
    CLEANING_HTML,
    DEMO_DIR,
    DUPLICATES_CSV,
    RUNS_DIR,
    SUSPECTS_CSV,
    TEST_CSV,
    TRAIN_CSV,
)
from leaves.report.cleaning import render_cleaning
from leaves.utils.atomic import atomic_file, atomic_write_csv
from leaves.utils.hardware import usable_cores
from leaves.utils.runs import new_run_dir


@dataclass(frozen=True)
class Cleaning:
    """What `leaves clean` found and wrote."""

    folder: Path
    duplicates_csv: Path
    page: Path
    pairs: pd.DataFrame
    suspects_csv: Optional[Path] = None
    suspects: Optional[pd.DataFrame] = None

    @property
    def conflicts(self) -> pd.DataFrame:
        return self.pairs[self.pairs["conflict"]]


def _checked_oof(path: str, train: pd.DataFrame) -> pd.DataFrame:
    oof = read_oof(path)
    foreign = ~oof["image"].isin(train["image"])
    if foreign.any():
        raise DataError(
            f"{path}: {int(foreign.sum())} images are not in the training CSV (e.g. "
            f"{oof.loc[foreign.idxmax(), 'image']!r}): the out-of-fold probabilities of another data folder?"
        )
    return oof


def run_clean(
    data_dir: Optional[str] = None,
    demo_dir: Optional[str] = None,
    oof: Optional[str] = None,
    output_dir: str = f"{RUNS_DIR}/{CLEAN_DIR}",
    train_csv: str = TRAIN_CSV,
    max_distance: int = MAX_DISTANCE,
    max_difference: float = MAX_DIFFERENCE,
    max_local_difference: float = MAX_LOCAL_DIFFERENCE,
    suspects: Optional[int] = 200,
    shown: int = 100,
    workers: Optional[int] = None,
) -> Cleaning:
    """Find near-duplicates (and, with `oof`, likely mislabels) in a data folder; write duplicates.csv,
    suspects.csv and cleaning.html into a new `output_dir/version_N`. Options as `leaves clean` documents them."""
    start = time.perf_counter()
    root = Path(data_dir or demo_dir or DEMO_DIR)
    if not root.is_dir():
        raise DataError(f"data folder {root} does not exist (set --data.data_dir)")
    train = read_table(root / train_csv, ("image", "label"))
    test = read_table(root / TEST_CSV, ("image",)) if (root / TEST_CSV).is_file() else None
    oof_table = _checked_oof(oof, train) if oof else None  # a wrong file fails before the hashing
    pairs = find_duplicates(
        root, train, test, max_distance, max_difference, max_local_difference, workers or usable_cores()
    )
    ranked = mislabel_suspects(oof_table, suspects) if oof_table is not None else None

    folder = new_run_dir(output_dir)
    atomic_write_csv(pairs, folder / DUPLICATES_CSV)
    suspects_csv = None
    if ranked is not None:
        suspects_csv = folder / SUSPECTS_CSV
        atomic_write_csv(ranked, suspects_csv)
    counts = pairs["kind"].value_counts()
    summary = [
        ("data folder", str(root)),
        ("images", f"{len(train):,} in {train_csv}, " + (f"{len(test):,} in {TEST_CSV}" if test is not None else "")),
        (
            "near-duplicate",
            f"64-bit DCT hash within {max_distance} bits; standardised gray thumbnails within {max_difference} "
            f"(32 px, mean) and {max_local_difference} (64 px, 99th percentile)",
        ),
        ("pairs", ", ".join(f"{counts.get(k, 0)} {k}" for k in ("train-train", "train-test", "test-test"))),
        ("conflicting labels", str(int(pairs["conflict"].sum()))),
        ("mislabel suspects", f"from {oof}" if oof else "no out-of-fold probabilities given"),
        ("took", f"{time.perf_counter() - start:.1f} s"),
    ]
    page = folder / CLEANING_HTML
    with atomic_file(page, "w", encoding="utf-8") as f:
        f.write(render_cleaning(root, pairs, ranked, summary, shown))
    rank_zero_info(
        "\n".join(f"{k}: {v}" for k, v in summary)
        + f"\nWrote {folder / DUPLICATES_CSV}"
        + (f", {suspects_csv}" if suspects_csv else "")
        + f" and {page}"
    )
    return Cleaning(folder, folder / DUPLICATES_CSV, page, pairs, suspects_csv, ranked)


def clean_train(
    data_dir: Optional[str] = None,
    demo_dir: Optional[str] = None,
    write_train: str = "",
    drop: Optional[str] = None,
    relabel: Optional[str] = None,
    train_csv: str = TRAIN_CSV,
) -> CleanedTrain:
    """Write the folder's training CSV with the decisions applied to the new file `write_train`."""
    root = Path(data_dir or demo_dir or DEMO_DIR)
    cleaned = write_clean_train(root / train_csv, write_train, drop, relabel)
    rank_zero_info(
        f"Wrote {cleaned.path}: {cleaned.rows} rows ({cleaned.dropped} dropped, {cleaned.relabelled} relabelled). "
        f"Train on it: leaves fit --data.data_dir {root} --data.train_csv {cleaned.path.resolve()}"
    )
    return cleaned
