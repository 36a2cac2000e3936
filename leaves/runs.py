"""Finding checkpoints of earlier fits, so predict and resume need no path typed."""

from __future__ import annotations

from pathlib import Path


def find_checkpoint(runs_root: str | Path, name: str) -> Path:
    """The `<name>.ckpt` of the most recently trained run under `runs_root`.

    "Most recent" is by the checkpoint's modification time, so a run that was
    resumed counts as the latest one again.
    """
    runs_root = Path(runs_root)
    found = sorted(runs_root.glob(f"**/checkpoints/{name}.ckpt"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise FileNotFoundError(
            f"no {name}.ckpt under {runs_root}/: run python scripts/fit.py first, or pass --ckpt_path <file.ckpt>"
        )
    return found[-1]


def run_dir_of(checkpoint: str | Path) -> Path:
    """The run folder (logger version folder) a checkpoint was written into."""
    return Path(checkpoint).resolve().parent.parent
