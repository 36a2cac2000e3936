"""Writing a file so that its name only ever holds a complete version.

Checkpoints, submissions, probabilities, plots and reports are all written the
same way: into a temporary file beside the target (the same file system, so
the final rename is atomic), flushed to disk, then renamed over the target. A
crash or kill at any moment leaves either the old file or the new one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "wb", **open_kwargs: Any) -> Iterator[IO]:
    """An open temporary file that replaces `path` when the block ends without error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **open_kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; give it a normal file's mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_csv(table: Any, path: str | os.PathLike) -> None:
    """Write a pandas table as CSV through a temporary file and rename, so a crash never leaves half a CSV."""
    with atomic_file(path, "w", newline="") as f:
        table.to_csv(f, index=False)
