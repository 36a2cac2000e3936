"""`leaves precise-bn`: precise BN on a finished checkpoint, written to a new checkpoint file."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch
from lightning.pytorch.utilities import rank_zero_info

from leaves.commands.options import DataOverrides
from leaves.configs import default_setting
from leaves.data.datamodule import datamodule_from_checkpoint
from leaves.models.module import LeavesModule
from leaves.utils.atomic import atomic_file
from leaves.utils.runs import resolve_checkpoint


def precise_bn_checkpoint(
    ckpt_path: str = "best",
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
        runs_dir: where fits write their runs; unset: the default config's.
    """
    src = resolve_checkpoint(ckpt_path, runs_dir or default_setting("runs_dir"))
    dst = Path(out_path) if out_path else src.with_name(f"{src.stem}-precise-bn.ckpt")
    if dst.exists():
        raise FileExistsError(f"{dst} exists; choose another --out_path (nothing was overwritten)")
    datamodule = datamodule_from_checkpoint(src, **data.given())
    datamodule.setup("fit")
    checkpoint = torch.load(src, map_location="cpu", weights_only=False)
    model = LeavesModule.load_from_checkpoint(src, map_location="cpu")
    model.to("cuda" if torch.cuda.is_available() else "cpu")
    model.precise_bn(datamodule.train_dataloader(), num_batches)
    checkpoint["state_dict"] = {k: v.cpu() for k, v in model.state_dict().items()}
    with atomic_file(dst) as f:
        torch.save(checkpoint, f)
    rank_zero_info(f"Precise BN over {num_batches} batches of {datamodule.root / 'train.csv'}: wrote {dst}")
    return dst
