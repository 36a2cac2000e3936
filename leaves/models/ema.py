"""Exponential moving average of the weights, validated and checkpointed.

Lightning's EMAWeightAveraging swaps the averaged weights in for validation and
writes them as the checkpoint's `state_dict` (the raw weights go to
`current_model_state`, for resuming), so `val_acc`, the best checkpoint and
predict all use the weights that will be submitted.
"""

from __future__ import annotations

import lightning as L
from lightning.pytorch.callbacks import EMAWeightAveraging


class EMA(EMAWeightAveraging):
    """EMAWeightAveraging for a module that builds its network in `setup`.

    Callbacks are set up before the LightningModule, so the network (its size
    comes from the data's class list) and any pretrained weights are made first;
    LeavesModule.setup does that once and is a no-op the second time.
    """

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage == "fit":
            pl_module.setup(stage)
        super().setup(trainer, pl_module, stage)

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # The average was copied before the strategy moved the model to its device: follow it there.
        if self._device is None and self._average_model is not None:
            self._average_model.to(pl_module.device)
