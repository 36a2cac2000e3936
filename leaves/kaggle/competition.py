"""The competition on Kaggle: its name, its size, and the pages a user is sent to."""

from __future__ import annotations

from leaves.layout import TEST_CSV, TRAIN_CSV

#: The competition's name in its Kaggle address.
COMPETITION = "classify-leaves"
#: Rows of the real competition's CSVs; another folder in the same layout is accepted with a notice.
EXPECTED_ROWS = {TRAIN_CSV: 18353, TEST_CSV: 8800}


def competition_page(competition: str, page: str) -> str:
    """The address of one of the competition's pages (rules, submissions): an error or a result says
    where to go next, and a user who passed another competition is sent to that one."""
    return f"https://www.kaggle.com/competitions/{competition}/{page}"
