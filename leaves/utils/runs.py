"""The runs folder: where each fit writes, and where predict and resume find checkpoints.

One function decides every run's folder (`runs_dir/version_N`, or the folder
of the checkpoint a fit resumes, or one given explicitly as k-fold does), and
the command line points the checkpoints, the loggers and the callbacks at it.
Nothing here depends on which loggers are configured.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Optional

from leaves.errors import CheckpointError
from leaves.layout import BEST, CHECKPOINTS, CKPT, LAST, RUN_PREFIX, checkpoint_file

#: Set by the process that chose the run folder, so processes it starts (DDP ranks) write to the same one.
RUN_DIR_ENV = "LEAVES_RUN_DIR"


def find_checkpoint(runs_dir: str | Path, name: str) -> Path:
    """The `<name>.ckpt` of the most recently trained run under `runs_dir`.

    "Most recent" is by the checkpoint's modification time, so a run that was
    resumed counts as the latest one again.
    """
    runs_dir = Path(runs_dir)
    found = sorted(runs_dir.glob(f"**/{CHECKPOINTS}/{checkpoint_file(name)}"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise CheckpointError(
            f"no {checkpoint_file(name)} under {runs_dir}/: run leaves fit (python scripts/fit.py) first, "
            f"or pass --ckpt_path <file{CKPT}>"
        )
    return found[-1]


def resolve_checkpoint(ckpt_path: Optional[str], runs_dir: str | Path, default: str = BEST) -> Path:
    """A checkpoint given as a file, or as best/last (or nothing: `default`) of the latest run."""
    name = ckpt_path or default
    if name in (BEST, LAST):
        return find_checkpoint(runs_dir, name)
    path = Path(name)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} not found")
    return path


def run_dir(trainer: Any) -> Path:
    """The folder of the trainer's run (its `default_root_dir`, which the command line sets to it).

    Under DDP it is rank 0's choice, broadcast, so every rank must ask.
    """
    return Path(trainer.strategy.broadcast(str(trainer.default_root_dir)))


def new_run_dir(runs_dir: str | Path) -> Path:
    """The folder of a new fit: `runs_dir/version_N` with the next free N.

    A process started by the one that chose (a DDP rank) inherits its choice
    through the environment instead of picking the next number again.
    """
    owner, _, inherited = os.environ.get(RUN_DIR_ENV, "").partition(":")
    # Only a DDP rank started by the choosing process inherits: any other process chooses anew.
    if inherited and owner == str(os.getppid()) and int(os.environ.get("LOCAL_RANK", "0")) > 0:
        return Path(inherited)
    runs_dir = Path(runs_dir)
    taken = [
        int(m.group(1))
        for p in (runs_dir.iterdir() if runs_dir.is_dir() else ())
        if (m := re.fullmatch(rf"{re.escape(RUN_PREFIX)}(\d+)", p.name))
    ]
    return runs_dir / f"{RUN_PREFIX}{max(taken, default=-1) + 1}"


def claim_run_dir(run_dir: str | Path) -> Path:
    """Make `run_dir` this fit's folder for every process it starts."""
    os.environ[RUN_DIR_ENV] = f"{os.getpid()}:{run_dir}"
    return Path(run_dir)


def shown(path: str | Path) -> str:
    """`path` as a user would type it: relative to the working folder when it is inside it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
