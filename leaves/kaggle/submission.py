"""Submitting to the competition: a file checked against test.csv and train.csv, then sent.

Kaggle limits submissions per day, so a broken file must not cost one: the
check (`leaves.inference.submission.validate_submission`, the one the
submission writer uses) runs first, and nothing is imported or sent unless it passes.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Optional

import pandas as pd

from leaves.data.table import class_names_of, read_table
from leaves.errors import DataError, KaggleError
from leaves.inference.submission import validate_submission
from leaves.kaggle.client import call_api, connect
from leaves.kaggle.competition import COMPETITION, competition_page
from leaves.layout import COMPETITION_DIR, SUBMISSION_CSV, SUBMISSIONS_DIR, TEST_CSV, TRAIN_CSV

#: The file `leaves predict` writes last, and so the one submitted unless told otherwise.
SUBMISSION_FILE = f"{SUBMISSIONS_DIR}/{SUBMISSION_CSV}"


def check_submission(file: str | Path = SUBMISSION_FILE, data_dir: str | Path = COMPETITION_DIR) -> pd.DataFrame:
    """The submission in `file`, once it is exactly what Kaggle scores against `data_dir`: every
    test.csv row once, in order, with a label from train.csv. No credentials or network needed.

    Raises:
        DataError: the file is missing or unreadable, the folder's CSVs are, or the file does not
            match them (the message says the file was not submitted, and why).
    """
    path = Path(file)
    if not path.is_file():
        raise DataError(f"{path} not found: write one with leaves predict --config classify-leaves")
    try:
        submission = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as err:
        raise DataError(f"{path} is not a readable CSV: {err}") from err
    root = Path(data_dir)
    test_images = read_table(root / TEST_CSV, ("image",))["image"].tolist()
    class_names = class_names_of(read_table(root / TRAIN_CSV, ("image", "label"))["label"])
    try:
        validate_submission(submission, test_images, class_names)
    except DataError as err:
        raise DataError(f"{path} was not submitted: {err}") from err
    return submission


def submit(
    file: str | Path = SUBMISSION_FILE,
    message: Optional[str] = None,
    data_dir: str | Path = COMPETITION_DIR,
    competition: str = COMPETITION,
) -> Any:
    """Check a submission against the competition's test.csv and labels, then submit it.

    Nothing is sent unless every test.csv row appears once, in order, with a
    label from train.csv: Kaggle limits submissions per day, so a broken file
    must not cost one.

    Args:
        file: the submission CSV (image,label).
        message: the description shown on Kaggle; defaults to the file name and its time.
        data_dir: the competition folder whose test.csv and train.csv the file must match.
        competition: the competition's name in its Kaggle address.

    Returns:
        Kaggle's answer, as the kaggle package returns it.
    """
    path = Path(file)
    submission = check_submission(path, data_dir)
    print(f"{path}: {len(submission):,} rows match {Path(data_dir) / TEST_CSV}, all labels known")
    api = connect()
    if message is None:
        stamp = datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
        message = f"{path.name} of {stamp}"
    result = call_api(
        f"submitting {path} to {competition}",
        competition,
        lambda: api.competition_submit(str(path), message, competition),
    )
    answer = getattr(result, "message", None) or str(result)
    # kaggle reports a failed upload as an answer, not an exception.
    if answer == getattr(api, "COMPETITION_SUBMIT_UPLOAD_FAILED_MESSAGE", "Could not submit to competition"):
        raise KaggleError(f"Kaggle: {answer} (the upload of {path} failed; the reason is printed above)")
    print(f"Kaggle: {answer}")
    print(f"Scores: {competition_page(competition, 'submissions')}")
    return result
