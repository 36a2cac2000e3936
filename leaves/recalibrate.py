"""Precise BN on a finished checkpoint, written to a new checkpoint file."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch
from lightning.pytorch.utilities import rank_zero_info

from leaves.atomic import atomic_file
from leaves.data import LeavesDataModule
from leaves.module import LeavesModule


def precise_bn_checkpoint(
    ckpt_path: str,
    out_path: Optional[str] = None,
    num_batches: int = 100,
    data_dir: Optional[str] = None,
    batch_size: Optional[int] = None,
    num_workers: Optional[int] = None,
) -> Path:
    """Recompute the BatchNorm statistics of `ckpt_path` over training batches; save as a new file.

    The data settings come from the checkpoint (the fit's own data module);
    `data_dir`, `batch_size` and `num_workers` override them. Only the BN
    running statistics change. The input is never overwritten: `out_path`
    defaults to `<name>-precise-bn.ckpt` beside it, and an existing output is refused.

    Args:
        ckpt_path: a checkpoint written by `scripts/fit.py`.
        out_path: where the recalibrated checkpoint goes.
        num_batches: training batches to average the statistics over.
    """
    src = Path(ckpt_path)
    if not src.is_file():
        raise FileNotFoundError(f"checkpoint {src} not found")
    dst = Path(out_path) if out_path else src.with_name(f"{src.stem}-precise-bn.ckpt")
    if dst.exists():
        raise FileExistsError(f"{dst} exists; choose another --out_path (nothing was overwritten)")
    checkpoint = torch.load(src, map_location="cpu", weights_only=False)
    if "datamodule_hyper_parameters" not in checkpoint:
        raise ValueError(f"{src} holds no data settings; is it a checkpoint from scripts/fit.py?")
    overrides = {k: v for k, v in dict(data_dir=data_dir, batch_size=batch_size, num_workers=num_workers).items() if v is not None}
    datamodule = LeavesDataModule.load_from_checkpoint(src, **overrides)
    datamodule.setup("fit")
    model = LeavesModule.load_from_checkpoint(src, map_location="cpu")
    model.to("cuda" if torch.cuda.is_available() else "cpu")
    model.precise_bn(datamodule.train_dataloader(), num_batches)
    checkpoint["state_dict"] = {k: v.cpu() for k, v in model.state_dict().items()}
    with atomic_file(dst) as f:
        torch.save(checkpoint, f)
    rank_zero_info(f"Precise BN over {num_batches} batches of {datamodule.root / 'train.csv'}: wrote {dst}")
    return dst
