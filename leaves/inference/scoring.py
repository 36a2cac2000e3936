"""Scoring a submission the way Kaggle does: accuracy against the true labels, matched by image."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from leaves.errors import DataError


def score_submission(submission: str | Path, answers: str | Path) -> float:
    """Accuracy of `submission` (image,label) against `answers` (image,label), matched by image; a
    submission that misses an image, or has other rows, is an error rather than a lower score."""
    truth = pd.read_csv(answers)
    got = pd.read_csv(submission)
    merged = truth.merge(got, on="image", how="left", suffixes=("", "_predicted"))
    if len(got) != len(truth) or merged["label_predicted"].isna().any():
        missing = merged.loc[merged["label_predicted"].isna(), "image"].tolist()[:5]
        raise DataError(
            f"{submission} ({len(got)} rows) does not predict the {len(truth)} images of {answers}"
            + (f": none for {', '.join(missing)}" if missing else "")
        )
    return float((merged["label"] == merged["label_predicted"]).mean())
