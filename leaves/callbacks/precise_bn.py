"""Precise BN during a fit: before every validation, the BatchNorm statistics averaged over training batches."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import nullcontext
from itertools import islice
from pathlib import Path
from typing import Any, Optional

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback

from leaves.data.datamodule import datamodule_from_checkpoint
from leaves.errors import ConfigError
from leaves.models.bn_tools import count_batchnorms, recalibrate_bn
from leaves.models.module import load_module
from leaves.utils.atomic import atomic_file
from leaves.utils.checkpoint import Checkpoint


def precise_bn(module: Any, loader: Iterable, num_batches: int, trainer: Any = None) -> int:
    """Replace `module`'s BatchNorm running statistics by their average over the first `num_batches` of
    `loader` (uint8 images, normalised by the module), under `trainer`'s precision when given; returns
    how many layers changed. Only BN buffers change: the weights stay as trained."""
    batches = (module.normalize(images.to(module.device)) for images, *_ in islice(loader, num_batches))
    with trainer.precision_plugin.forward_context() if trainer is not None else nullcontext():
        return recalibrate_bn(module.net, batches)


class PreciseBN(Callback):
    """Before every validation (not the sanity check), recompute the BatchNorm statistics over
    `batches` training batches, so `val_acc` and the checkpoints use true averages instead of torch's
    moving averages of the last steps.

    Args:
        batches: training batches to average over; 0: off (torch's moving averages).
    """

    def __init__(self, batches: int = 0) -> None:
        self.batches = batches

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if self.batches and stage == "fit" and not count_batchnorms(pl_module.net):
            raise ConfigError(
                f"--precise_bn.batches needs torch BatchNorm layers (model.norm: batch), "
                f"not norm {pl_module.hparams.norm!r}"
            )

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.batches and not trainer.sanity_checking and trainer.state.fn == "fit":
            dm = trainer.datamodule
            loader = dm.train_dataloader() if dm is not None else trainer.train_dataloader
            precise_bn(pl_module, loader, self.batches, trainer)


def precise_bn_file(
    src: str | Path, out_path: Optional[str | Path] = None, num_batches: int = 100, **data_overrides: Any
) -> Path:
    """Precise BN on a finished checkpoint, saved as a new file: `out_path`, default `<name>-precise-bn.ckpt`
    beside it; an existing file is refused (nothing a user made is overwritten). The training batches come
    from the checkpoint's own data settings, `data_overrides` replacing some (the data moved)."""
    src = Path(src)
    dst = Path(out_path) if out_path else src.with_name(f"{src.stem}-precise-bn{src.suffix}")
    if dst.exists():
        raise FileExistsError(f"{dst} exists; choose another --out_path (nothing was overwritten)")
    checkpoint = Checkpoint.read(src)
    datamodule = datamodule_from_checkpoint(checkpoint, **data_overrides)
    datamodule.setup("fit")
    model = load_module(str(src)).to("cuda" if torch.cuda.is_available() else "cpu")
    precise_bn(model, datamodule.train_dataloader(), num_batches)
    content = dict(checkpoint.content)
    content["state_dict"] = {k: v.cpu() for k, v in model.state_dict().items()}
    with atomic_file(dst) as f:
        torch.save(content, f)
    return dst
