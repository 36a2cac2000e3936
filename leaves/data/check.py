"""The data check: every image problem of a data folder, found before training.

Each image a CSV names is fully decoded once (a header check misses
truncated JPEGs), in a thread pool because Pillow releases the GIL while it
decodes. Files that cannot be used are errors; files that decode but are
odd (another format behind the name, grayscale, palette, RGBA, CMYK, 16-bit,
EXIF-rotated, another size) are notes: training converts them to upright RGB
and resizes them, the note only says it happens.
"""

from __future__ import annotations

import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

import pandas as pd
from PIL import Image, UnidentifiedImageError

from leaves.data.images import EXIF_ORIENTATION, upright_rgb
from leaves.data.table import class_names_of, drop_duplicates, read_table
from leaves.errors import DataError
from leaves.layout import TEST_CSV, TRAIN_CSV

BadImages = Literal["error", "skip"]

# Formats a file extension promises; anything else behind that name is a note.
EXTENSION_FORMATS = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
    ".bmp": "BMP",
    ".gif": "GIF",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
}


@dataclass(frozen=True)
class Problem:
    """One finding about one CSV row."""

    csv: Path
    line: int  # line number in the CSV (the header is line 1)
    image: str
    reason: str

    def __str__(self) -> str:
        if not self.image:  # a problem of the CSV itself; the reason names the file
            return self.reason
        return f"{self.csv}:{self.line}: {self.image}: {self.reason}"


@dataclass
class Report:
    """Errors (images that cannot be used) and notes (images converted on the fly)."""

    errors: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)
    sizes: Counter = field(default_factory=Counter)
    checked: int = 0

    def extend(self, other: Report) -> None:
        self.errors += other.errors
        self.notes += other.notes
        self.sizes.update(other.sizes)
        self.checked += other.checked

    def listing(self, notes: int = 20) -> str:
        """Every error, the first `notes` notes (and how many more), one a line."""
        lines = [f"ERROR {problem}" for problem in self.errors] + [f"note  {p}" for p in self.notes[:notes]]
        if len(self.notes) > notes:
            lines.append(f"note  ... and {len(self.notes) - notes} more notes")
        return "\n".join(lines)

    def summary(self) -> str:
        sizes = ", ".join(f"{w}x{h} ({n})" for (w, h), n in self.sizes.most_common(5))
        more = f" and {len(self.sizes) - 5} other sizes" if len(self.sizes) > 5 else ""
        kinds = Counter(p.reason.split(" (")[0] for p in self.notes)
        notes = "; ".join(f"{n} {kind}" for kind, n in kinds.most_common())
        return (
            f"checked {self.checked} image(s): {len(self.errors)} unusable, "
            f"{len({(p.csv, p.line) for p in self.notes if p.image})} converted"
            + (f" ({notes})" if notes else "")
            + (f"; sizes: {sizes}{more}" if sizes else "")
        )


def inspect_image(path: Path) -> tuple[Optional[str], list[str], Optional[tuple[int, int]]]:
    """(error or None, notes, size) for one file, decoding it exactly as training does."""
    if not path.is_file():
        return "missing: no such file", [], None
    if path.stat().st_size == 0:
        return "empty file (0 bytes)", [], None
    notes: list[str] = []
    try:
        with Image.open(path) as img:
            expected = EXTENSION_FORMATS.get(path.suffix.lower())
            if expected and img.format != expected:
                notes.append(f"{img.format} data behind a {path.suffix} name (read as {img.format})")
            if img.mode != "RGB":
                notes.append(f"mode {img.mode} (converted to RGB)")
            orientation = img.getexif().get(EXIF_ORIENTATION, 1)
            if orientation not in (0, 1):
                notes.append(f"EXIF orientation {orientation} (turned upright)")
            size = upright_rgb(img).size  # a full decode: catches truncated files
    except UnidentifiedImageError:
        return "not an image (Pillow cannot identify the file)", [], None
    except Exception as err:  # noqa: BLE001 - any decoder failure makes the file unusable
        return f"cannot decode: {err}", [], None
    return None, notes, size


def check_images(table: pd.DataFrame, root: Path, csv_path: Path, workers: int = 8) -> Report:
    """Inspect every image `table` names; rows are reported by their CSV line."""
    report = Report()
    with ThreadPoolExecutor(max_workers=max(workers, 1)) as pool:
        results = pool.map(inspect_image, [root / p for p in table["image"]])
        for i, image, (error, notes, size) in zip(table.index, table["image"], results):
            line = int(i) + 2
            report.checked += 1
            if error:
                report.errors.append(Problem(csv_path, line, image, error))
            report.notes += [Problem(csv_path, line, image, note) for note in notes]
            if size:
                report.sizes[size] += 1
    return report


def usable_rows(
    table: pd.DataFrame, root: Path, csv_name: str, bad_images: Optional[BadImages], workers: int = 8
) -> pd.DataFrame:
    """The rows whose images can be used, or a DataError listing every one that cannot.

    `bad_images="skip"` drops unusable images with a warning that counts and
    lists them; "error" refuses to start; None (test.csv, where every row
    needs a prediction) refuses with no offer to skip.
    """
    csv_path = root / csv_name
    report = check_images(table, root, csv_path, workers)
    if not report.errors:
        return table
    listing = "\n  ".join(map(str, report.errors))
    if bad_images in ("error", None):
        remedy = (
            "Fix or remove them, or pass --data.bad_images skip to train without them."
            if bad_images
            else f"Every {TEST_CSV} row needs a prediction: restore these files."
        )
        raise DataError(f"{len(report.errors)} image(s) named in {csv_path} cannot be used:\n  {listing}\n{remedy}")
    if bad_images != "skip":
        raise DataError(f"data.bad_images must be 'error' or 'skip', got {bad_images!r}")
    warnings.warn(f"skipping {len(report.errors)} unusable image(s) of {csv_path}:\n  {listing}", stacklevel=2)
    return table.drop(index=[p.line - 2 for p in report.errors])


def check_data(data_dir: Path, workers: int = 8) -> Report:
    """Check train.csv, test.csv and every image they name; collects everything it can.

    Args:
        data_dir: the Kaggle folder (train.csv, test.csv, images/).
        workers: decoding threads.

    Returns:
        The report; CSV-level problems (missing file, columns, blank values,
        paths outside the folder, conflicting labels) are errors with line 0
        or the offending lines.
    """
    data_dir = Path(data_dir)
    report = Report()
    for name, columns in ((TRAIN_CSV, ("image", "label")), (TEST_CSV, ("image",))):
        csv_path = data_dir / name
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                table = read_table(csv_path, columns)
                if "label" in columns:
                    table = drop_duplicates(table, csv_path)
            report.notes += [Problem(csv_path, 0, "", str(w.message)) for w in caught]
        except DataError as err:
            report.errors.append(Problem(csv_path, 0, "", str(err)))
            continue
        report.extend(check_images(table, data_dir, csv_path, workers))
    return report


@dataclass(frozen=True)
class FolderContents:
    """What a data folder holds once `verify_data` accepts it: the numbers to recognise a download by."""

    root: Path
    train_rows: int
    test_rows: int
    classes: int

    def __str__(self) -> str:
        return (
            f"{self.root}: {TRAIN_CSV} {self.train_rows:,} labelled images of {self.classes} classes, "
            f"{TEST_CSV} {self.test_rows:,} images; every image present"
        )


def verify_data(data_dir: str | Path, workers: int = 8) -> FolderContents:
    """`check_data` as a gate: a folder that fit and predict could not read is refused with every
    problem listed at once, so a broken download or copy is found before anything trains on it.

    Raises:
        DataError: listing each unusable CSV or image, by file and line.
    """
    root = Path(data_dir)
    report = check_data(root, workers)
    if report.errors:
        raise DataError(f"{root} cannot be used as it is:\n  " + "\n  ".join(map(str, report.errors)))
    train = read_table(root / TRAIN_CSV, ("image", "label"))
    test = read_table(root / TEST_CSV, ("image",))
    return FolderContents(root, len(train), len(test), len(class_names_of(train["label"])))
