"""Exponential moving average of the weights, validated and checkpointed.

Lightning's EMAWeightAveraging swaps the averaged weights in for validation and
writes them as the checkpoint's `state_dict` (the raw weights go to
`current_model_state`, for resuming), so `val_acc`, the best checkpoint and
predict all use the weights that will be submitted.
"""

from __future__ import annotations

from typing import Optional

import lightning as L
from lightning.pytorch.callbacks import Callback, EMAWeightAveraging


class EMA(EMAWeightAveraging):
    """EMAWeightAveraging whose average follows the model to its device.

    Args:
        decay: the weight of the average at every step (0.99-0.9999).
    """

    def __init__(self, decay: float = 0.999) -> None:
        super().__init__(decay=decay)

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # The average was copied before the strategy moved the model to its device: follow it there.
        if self._device is None and self._average_model is not None:
            self._average_model.to(pl_module.device)


def ema(decay: Optional[float] = None) -> Callback:
    """`--ema.decay D`: average the weights with decay D (validation, checkpoints and predict use the
    average); unset: no averaging."""
    return Callback() if decay is None else EMA(decay)
