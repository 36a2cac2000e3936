"""`leaves download` and `leaves submit`: the Kaggle round trip of `leaves.kaggle` on the command line.

Each command only turns its options into a call; what it does, a notebook
calls as `leaves.download_competition` and `leaves.submit`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from leaves.data.check import FolderContents
from leaves.kaggle import COMPETITION, SUBMISSION_FILE, download_competition, submit
from leaves.layout import COMPETITION_DIR


@dataclass(frozen=True)
class CompetitionFolder:
    """The competition's data folder.

    Args:
        data_dir: where train.csv, test.csv and images/ are (or go).
    """

    data_dir: str = COMPETITION_DIR


def download(data: CompetitionFolder = CompetitionFolder(), competition: str = COMPETITION) -> FolderContents:
    """Download, unpack and verify the competition into --data.data_dir; work already done is skipped.

    Args:
        data: the folder for train.csv, test.csv and images/.
        competition: the competition's name in its Kaggle address.
    """
    return download_competition(data.data_dir, competition)


def submit_file(
    file: str = SUBMISSION_FILE,
    message: Optional[str] = None,
    data: CompetitionFolder = CompetitionFolder(),
    competition: str = COMPETITION,
) -> Any:
    """Check a submission against the competition's test.csv and labels, then submit it.

    Args:
        file: the submission CSV (image,label).
        message: the description shown on Kaggle; defaults to the file name and its time.
        data: the competition folder whose test.csv and train.csv the file must match.
        competition: the competition's name in its Kaggle address.
    """
    return submit(file, message, data.data_dir, competition)
