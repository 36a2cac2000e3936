"""Stopping a fit at the first NaN or infinite loss, before it reaches the weights."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback

from leaves.errors import NonFiniteLossError
from leaves.layout import LAST, checkpoint_file


class StopOnNonFiniteLoss(Callback):
    """Raise before the backward pass of a NaN/inf loss, so no checkpoint holds broken weights.

    Lightning's `detect_anomaly` checks every autograd op (slow) and
    `EarlyStopping(check_finite=True)` only looks at epoch end, after the bad
    step has updated the weights and `last.ckpt` may have saved them. Checking
    the loss itself costs one comparison per step; under DDP the decision is
    shared, so every process stops together instead of hanging in a collective.
    """

    def on_before_backward(self, trainer: L.Trainer, pl_module: L.LightningModule, loss: torch.Tensor) -> None:
        finite = bool(torch.isfinite(loss.detach()).all())
        if trainer.strategy.reduce_boolean_decision(finite, all=True):
            return
        ckpt = trainer.checkpoint_callback
        last = Path(ckpt.dirpath) / checkpoint_file(LAST) if ckpt is not None and ckpt.dirpath else None
        kept = f"; the last good checkpoint is {last}" if last is not None and last.is_file() else ""
        value = "non-finite on another process" if finite else loss.item()
        raise NonFiniteLossError(
            f"training loss is {value} at epoch "
            f"{trainer.current_epoch}, step {trainer.global_step}: stopped before it could change the weights{kept}. "
            "Try a lower --model.lr, more --model.warmup_epochs, or --trainer.precision 32-true / bf16-mixed."
        )
