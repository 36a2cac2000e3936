"""Reading the competition's CSVs, label encoding and the stratified split.

Every check here fails with the file and row at fault, because the first thing
a competitor does wrong is point the pipeline at a slightly different folder.
"""

from __future__ import annotations

import posixpath
import warnings
from difflib import get_close_matches
from pathlib import Path, PureWindowsPath

import numpy as np
import pandas as pd

from leaves.errors import DataError


def csv_lines(index: pd.Index, limit: int = 10) -> str:
    """CSV line numbers of data rows (index 0 is line 2, after the header)."""
    shown = ", ".join(str(i + 2) for i in index[:limit])
    return shown + (f" (and {len(index) - limit} more)" if len(index) > limit else "")


def _outside(path: str) -> bool:
    """True for paths that do not stay inside the data folder (absolute, drive letters, `..`)."""
    posix = path.replace("\\", "/")
    return posix.startswith("/") or PureWindowsPath(path).drive != "" or posixpath.normpath(posix).split("/")[0] == ".."


def read_table(csv_path: str | Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """Read a Kaggle CSV and keep `columns`, failing clearly on any layout problem.

    Values are stripped (a label padded with spaces is the same class); extra
    columns are ignored. Every row-level problem (blank values, image paths
    outside the data folder) is reported at once, by CSV line number. The
    returned index is the data row number, so later checks can name the line.
    """
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise DataError(f"{csv_path} not found: expected the Kaggle layout with {csv_path.name} in the data folder")
    try:
        # utf-8-sig drops a byte-order mark that spreadsheet tools like to add; pandas reads CRLF as LF.
        table = pd.read_csv(csv_path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise DataError(f"{csv_path} is empty: expected a header with columns {', '.join(columns)}") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise DataError(f"{csv_path} is not a readable CSV: {err}") from None
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in columns if c not in table.columns]
    if missing:
        hints = [
            f"{c!r} (did you mean {m[0]!r}?)" if (m := get_close_matches(c, table.columns, n=1)) else repr(c)
            for c in missing
        ]
        raise DataError(
            f"{csv_path} has no column {', '.join(hints)} (found {', '.join(repr(c) for c in table.columns)})"
        )
    if table.empty:
        raise DataError(f"{csv_path} has a header but no rows")
    table = table[list(columns)].apply(lambda col: col.str.strip())
    problems = [
        f"blank {column!r} in line(s) {csv_lines(blank)}"
        for column in columns
        if len(blank := table.index[table[column] == ""])
    ]
    if "image" in columns:
        outside = table.index[table["image"].map(_outside)]
        if len(outside):
            problems.append(
                f"image paths must be relative to the data folder and stay inside it; line(s) {csv_lines(outside)} "
                f"do not (e.g. {table.loc[outside[0], 'image']!r})"
            )
    if problems:
        raise DataError(f"{csv_path}: " + "; ".join(problems))
    return table


def drop_duplicates(table: pd.DataFrame, csv_path: str | Path) -> pd.DataFrame:
    """Drop repeated rows (with a warning), refuse an image listed with two labels.

    A repeated training image could land in both the training and the
    validation split and inflate the validation accuracy; two labels for one
    image cannot both be right, and only the user knows which is.
    """
    dup = table.duplicated("image", keep=False)
    if not dup.any():
        return table
    conflicts = [
        f"{image!r} in lines {csv_lines(rows.index)} as {', '.join(repr(v) for v in rows['label'].unique())}"
        for image, rows in table[dup].groupby("image", sort=False)
        if "label" in rows and rows["label"].nunique() > 1
    ]
    if conflicts:
        more = f" (and {len(conflicts) - 10} more)" if len(conflicts) > 10 else ""
        raise DataError(f"{csv_path}: images listed with different labels: {'; '.join(conflicts[:10])}{more}")
    repeated = table.index[table.duplicated(keep="first")]
    warnings.warn(f"{csv_path}: {len(repeated)} repeated row(s) ignored, line(s) {csv_lines(repeated)}", stacklevel=2)
    return table.drop(index=repeated)


def class_names_of(labels: pd.Series) -> list[str]:
    """Sorted class names: the encoding is then reproducible from the names alone."""
    return sorted(labels.unique().tolist())


def encode(labels: pd.Series, class_names: list[str]) -> np.ndarray:
    """Map label strings to indices into `class_names`."""
    index = {name: i for i, name in enumerate(class_names)}
    unknown = sorted(set(labels) - index.keys())
    if unknown:
        raise DataError(f"labels not in the class list: {', '.join(unknown[:10])}")
    return labels.map(index).to_numpy(dtype=np.int64)
