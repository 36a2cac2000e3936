"""Fine-tuning a pretrained backbone: epochs that train the new classifier alone."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch.nn as nn
from lightning.pytorch.callbacks import Callback

from leaves.models.finetune import head_of


class FreezeBackbone(Callback):
    """Train only the head for the first `epochs` epochs.

    The frozen parameters get no gradient, so the optimizer leaves them alone
    (they stay in it, so the learning-rate schedule is that of the whole run),
    and the backbone's BatchNorm layers stay in eval mode: their running
    statistics, learnt on ImageNet, are neither updated nor replaced by batch
    statistics while the head learns. Stages the model keeps frozen for the
    whole fit (`model.frozen_stages`) stay frozen after.

    Args:
        epochs: epochs with the backbone frozen; 0: none.
    """

    def __init__(self, epochs: int = 0) -> None:
        self.epochs = epochs

    def _backbone(self, pl_module: L.LightningModule) -> list[nn.Module]:
        head = set(head_of(pl_module.net).modules())
        frozen = set(getattr(pl_module, "frozen_modules", ()))
        return [m for m in pl_module.net.modules() if m not in head and m not in frozen]

    def _set(self, pl_module: L.LightningModule, frozen: bool) -> None:
        for module in self._backbone(pl_module):
            for p in module.parameters(recurse=False):
                p.requires_grad_(not frozen)
            if hasattr(module, "running_mean"):
                # Lightning restores each module's mode after validation, so unfreezing must say train.
                module.train(not frozen)

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.epochs:
            self._set(pl_module, frozen=trainer.current_epoch < self.epochs)

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        # Lightning puts the whole model back in train mode after each validation.
        if trainer.current_epoch < self.epochs:
            for module in self._backbone(pl_module):
                if hasattr(module, "running_mean") and module.training:
                    module.eval()
