"""`leaves clean`: near-duplicates, conflicting labels and likely mislabels, as CSVs and a page of thumbnails;
or, with --write_train, a cleaned training CSV from a person's decisions (a new file, never train.csv)."""

from __future__ import annotations

from typing import Optional, Union

from leaves.commands.options import DataFolder
from leaves.data.decisions import CleanedTrain
from leaves.data.duplicates import MAX_DIFFERENCE, MAX_DISTANCE, MAX_LOCAL_DIFFERENCE
from leaves.layout import CLEAN_DIR, RUNS_DIR, TRAIN_CSV
from leaves.workflows.clean import Cleaning, clean_train, run_clean


def clean(
    data: DataFolder = DataFolder(),
    oof: Optional[str] = None,
    output_dir: str = f"{RUNS_DIR}/{CLEAN_DIR}",
    train_csv: str = TRAIN_CSV,
    max_distance: int = MAX_DISTANCE,
    max_difference: float = MAX_DIFFERENCE,
    max_local_difference: float = MAX_LOCAL_DIFFERENCE,
    suspects: Optional[int] = 200,
    shown: int = 100,
    workers: Optional[int] = None,
    write_train: Optional[str] = None,
    drop: Optional[str] = None,
    relabel: Optional[str] = None,
) -> Union[Cleaning, CleanedTrain]:
    """Report near-duplicate images and likely mislabels; or write a cleaned training CSV.

    Args:
        data: the folder (--data.data_dir); unset: the demo data.
        oof: leaves kfold's out-of-fold probabilities (runs/kfold/oof.csv): list the training images whose
            own label they give the least probability, with the label they prefer.
        output_dir: the report goes into a new output_dir/version_N (duplicates.csv, suspects.csv, cleaning.html).
        train_csv: the training CSV in the data folder (or a path).
        max_distance: near-duplicate candidates: perceptual hashes at most this many bits apart (of 64).
        max_difference: and standardised 32 px gray thumbnails at most this far apart (mean absolute difference)...
        max_local_difference: ... and, decoded again at 64 px, nowhere much further (the 99th percentile of
            the absolute difference): a small leaf that differs on an identical scene is another picture.
        suspects: how many likely mislabels to list (null: every training image, ranked).
        shown: how many pairs and suspects of each list the page shows (the CSVs hold all).
        workers: decoding threads; unset: one per usable core.
        write_train: instead of the report, write the training CSV with the decisions applied to this new file
            (refused if it exists); train on it with --data.train_csv.
        drop: with write_train: a CSV whose image column lists the rows to drop (an edited suspects.csv works).
        relabel: with write_train: a CSV of image,label giving an image its new (existing) class.
    """
    if write_train:
        return clean_train(data.data_dir, data.demo_dir, write_train, drop, relabel, train_csv)
    return run_clean(
        data.data_dir,
        data.demo_dir,
        oof,
        output_dir,
        train_csv,
        max_distance,
        max_difference,
        max_local_difference,
        suspects,
        shown,
        workers,
    )
