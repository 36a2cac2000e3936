"""Downloading the competition: download, unzip and verify, skipping what is already done."""

from __future__ import annotations

import zipfile
from pathlib import Path

from leaves.data.check import FolderContents, verify_data
from leaves.errors import DataError, KaggleError
from leaves.kaggle.client import call_api, connect
from leaves.kaggle.competition import COMPETITION, EXPECTED_ROWS
from leaves.layout import COMPETITION_DIR, TEST_CSV, TRAIN_CSV


def verify_competition(root: str | Path) -> FolderContents:
    """`verify_data`, and a notice where the row counts are not the real competition's: another data
    set in the same layout is fine, but a user who meant the competition should see it is not."""
    contents = verify_data(root)
    for name, rows in ((TRAIN_CSV, contents.train_rows), (TEST_CSV, contents.test_rows)):
        if rows != EXPECTED_ROWS[name]:
            print(
                f"Note: {contents.root / name} has {rows:,} rows; Kaggle's {COMPETITION} has "
                f"{EXPECTED_ROWS[name]:,}. Using it as it is."
            )
    return contents


def extract(archive: Path, dest: Path) -> None:
    """Unpack `archive` into `dest`; a truncated download is a KaggleError that says to fetch it again."""
    try:
        with zipfile.ZipFile(archive) as zf:
            print(f"Unpacking {archive} ({len(zf.infolist()):,} files)")
            zf.extractall(dest)  # strips absolute paths and '..', so nothing lands outside dest
    except zipfile.BadZipFile as err:
        raise KaggleError(f"{archive} is not a complete zip file ({err}): delete it and download again") from err


def download_competition(dest: str | Path = COMPETITION_DIR, competition: str = COMPETITION) -> FolderContents:
    """Download and unpack the competition into `dest`, then verify it.

    Work already done is skipped: a folder that verifies is left alone (no
    credentials or network needed), and an archive already downloaded is only
    unpacked. The archive is removed once its contents verify.

    Args:
        dest: folder for train.csv, test.csv and images/ (what --data.data_dir points to).
        competition: the competition's name in its Kaggle address.
    """
    dest = Path(dest)
    if (dest / TRAIN_CSV).is_file() and (dest / TEST_CSV).is_file():
        try:
            contents = verify_competition(dest)
        except DataError as err:
            print(f"{dest} is incomplete ({err}); fetching the archive again")
        else:
            print(f"Already downloaded: {contents}")
            return contents
    archive = dest / f"{competition}.zip"
    if archive.is_file():
        print(f"Using the archive downloaded earlier: {archive}")
    else:
        api = connect()
        dest.mkdir(parents=True, exist_ok=True)
        print(f"Downloading {competition} into {dest}")
        call_api(
            f"downloading {competition}",
            competition,
            lambda: api.competition_download_files(competition, path=str(dest), quiet=False),
        )
        if not archive.is_file():
            raise KaggleError(f"the download ended without error but {archive} is not there")
    extract(archive, dest)
    contents = verify_competition(dest)
    archive.unlink()
    print(f"Downloaded: {contents}")
    return contents
