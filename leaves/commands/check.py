"""`leaves check`: every problem of a data folder, listed before any training."""

from __future__ import annotations

from pathlib import Path

from leaves.commands.options import DataFolder
from leaves.data.check import check_data
from leaves.errors import DataError
from leaves.layout import DEMO_DIR


def check(data: DataFolder = DataFolder(), workers: int = 8, notes: int = 20) -> int:
    """Decode every image train.csv and test.csv name; list every unusable image and every conversion.

    Args:
        data: the folder to check (--data.data_dir); unset: the demo data.
        workers: decoding threads.
        notes: how many converted-image notes to list (all errors are always listed).

    Returns:
        The number of unusable images or CSV problems; the command fails when it is not 0.
    """
    data_dir = Path(data.data_dir or data.demo_dir or DEMO_DIR)
    report = check_data(data_dir, workers)
    listing = report.listing(notes)
    if listing:
        print(listing)
    print(f"{data_dir}: {report.summary()}")
    if report.errors:
        raise DataError(
            f"{data_dir}: {len(report.errors)} problem(s) listed above; training and prediction "
            "cannot use the folder as it is"
        )
    return 0
