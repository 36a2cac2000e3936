"""submission.csv: checked against test.csv, and never lost."""

from pathlib import Path

import pandas as pd
import pytest

from leaves.errors import DataError
from leaves.inference.submission import save_submission, validate_submission

TEST = ["images/3.jpg", "images/1.jpg", "images/2.jpg"]
CLASSES = ["ash", "oak"]


def sub(images=TEST, labels=("oak", "ash", "oak")) -> pd.DataFrame:
    return pd.DataFrame({"image": list(images), "label": list(labels)})


def test_a_correct_submission_passes():
    validate_submission(sub(), TEST, CLASSES)


@pytest.mark.parametrize(
    "table, message",
    [
        (sub().rename(columns={"label": "class"}), "columns must be image,label"),
        (sub().iloc[:2], "2 rows; test.csv has 3"),
        (sub(images=[TEST[1], TEST[0], TEST[2]]), "row 2 is 'images/1.jpg' but test.csv row 2 is 'images/3.jpg'"),
        (sub(labels=("oak", "ash", "maple")), "not classes: maple"),
    ],
)
def test_a_wrong_submission_is_refused_saying_why(table, message):
    with pytest.raises(DataError, match=message):
        validate_submission(table, TEST, CLASSES)


def test_each_save_keeps_a_copy_and_updates_the_latest(tmp_path: Path):
    latest, first = save_submission(sub(), tmp_path)
    _, second = save_submission(sub(labels=("ash", "ash", "ash")), tmp_path)
    assert first != second and first.exists() and second.exists()
    assert pd.read_csv(latest)["label"].tolist() == ["ash", "ash", "ash"]
    assert pd.read_csv(first)["label"].tolist() == ["oak", "ash", "oak"]
    assert not list(tmp_path.glob("*.tmp"))


def test_a_hand_made_submission_is_kept_not_overwritten(tmp_path: Path):
    (tmp_path / "submission.csv").write_text("image,label\nmine,mine\n")
    save_submission(sub(), tmp_path)
    kept = list(tmp_path.glob("submission-previous-*.csv"))
    assert len(kept) == 1 and kept[0].read_text() == "image,label\nmine,mine\n"
