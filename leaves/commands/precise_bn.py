"""`leaves precise-bn`: precise BN on a finished checkpoint, written to a new checkpoint file."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from lightning.pytorch.utilities import rank_zero_info

from leaves.callbacks.precise_bn import precise_bn_file
from leaves.commands.options import DataOverrides
from leaves.layout import BEST, RUNS_DIR
from leaves.utils.runs import resolve_checkpoint


def precise_bn_checkpoint(
    ckpt_path: str = BEST,
    out_path: Optional[str] = None,
    num_batches: int = 100,
    data: DataOverrides = DataOverrides(),
    runs_dir: Optional[str] = None,
) -> Path:
    """Recompute the BatchNorm statistics of a checkpoint over training batches; save as a new file.

    The data settings come from the checkpoint (the fit's own data module);
    `data` overrides them. Only the BN running statistics change. The input is
    never overwritten: `out_path` defaults to `<name>-precise-bn.ckpt` beside
    it, and an existing output is refused.

    Args:
        ckpt_path: a checkpoint file, or best/last of the latest run under runs_dir.
        out_path: where the recalibrated checkpoint goes.
        num_batches: training batches to average the statistics over.
        data: data settings to change from the checkpoint's.
        runs_dir: where fits write their runs; unset: runs.
    """
    src = resolve_checkpoint(ckpt_path, runs_dir or RUNS_DIR)
    dst = precise_bn_file(src, out_path, num_batches, **data.given())
    rank_zero_info(f"Precise BN over {num_batches} training batches: wrote {dst}")
    return dst
