"""Where a run may write when the data folder is read-only (Kaggle's /kaggle/input, a shared mount).

The image cache lives in `cache/` inside the data folder by default, beside
the images it was decoded from. When that folder cannot be written, the cache
goes to the working folder instead (`cache/<data folder name>-<hash of its
path>`, so two data folders never share one), else to the user's cache folder,
and the run says where.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Optional

from lightning.pytorch.utilities import rank_zero_info

from leaves.errors import DataError
from leaves.layout import CACHE_DIR


def is_writable(folder: Path) -> bool:
    """Whether this process can create files in `folder`, or create `folder` in its nearest existing parent."""
    probe = Path(folder).absolute()
    while not probe.exists():
        if probe.parent == probe:
            return False
        probe = probe.parent
    if not probe.is_dir():
        return False
    # Try it: os.access misjudges read-only mounts seen through ACLs, and processes with capabilities.
    try:
        with tempfile.TemporaryFile(dir=probe):
            return True
    except OSError:
        return False


def user_cache_home() -> Path:
    """The user's cache folder ($XDG_CACHE_HOME, else ~/.cache)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def cache_folder(data_dir: Path, cache_dir: Optional[Path] = None) -> Path:
    """The folder of the image cache of `data_dir`: `cache_dir` when given, else `data_dir/cache` when
    writable, else a writable fallback (working folder, then user cache), announced."""
    if cache_dir is not None:
        return Path(cache_dir)
    inside = Path(data_dir) / CACHE_DIR
    if is_writable(inside):
        return inside
    key = hashlib.sha256(str(Path(data_dir).resolve()).encode()).hexdigest()[:12]
    name = f"{Path(data_dir).resolve().name}-{key}"
    for candidate in (Path.cwd() / CACHE_DIR / name, user_cache_home() / "leaves" / name):
        if is_writable(candidate):
            rank_zero_info(
                f"Data folder {data_dir} is read-only: caching decoded images in {candidate} "
                "(--data.cache_dir puts them elsewhere)"
            )
            return candidate
    raise DataError(
        f"cannot write the image cache: {inside}, {Path.cwd() / CACHE_DIR} and {user_cache_home()} are all read-only; "
        "set --data.cache_dir to a writable folder or run without --data.cache"
    )
