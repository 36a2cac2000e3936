"""`leaves report`: the run report for any checkpoint, written into its run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from leaves.commands.options import DataOverrides, TrainerOptions
from leaves.layout import BEST, RUNS_DIR
from leaves.report.write import write_report
from leaves.utils.runs import resolve_checkpoint


def report(
    ckpt_path: str = BEST,
    data: DataOverrides = DataOverrides(),
    trainer: TrainerOptions = TrainerOptions(),
    runs_dir: Optional[str] = None,
) -> Path:
    """Write the run report for a checkpoint into its run folder.

    Args:
        ckpt_path: a .ckpt file, or best/last: that checkpoint of the latest run under runs_dir.
        data: data settings to change from the checkpoint's (--data.data_dir when the folder moved).
        trainer: accelerator and precision of the evaluation pass.
        runs_dir: where fits write their runs; unset: runs.
    """
    path = resolve_checkpoint(ckpt_path, runs_dir or RUNS_DIR)
    out = write_report(
        path, data_overrides=data.given(), accelerator=trainer.accelerator, precision=trainer.precision or "32-true"
    )
    print(f"Run report: {out}")
    return out
