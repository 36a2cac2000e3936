"""Fine-tuning a pretrained backbone: a smaller learning rate than the new head, and frozen epochs."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch.nn as nn
from lightning.pytorch.callbacks import Callback
from timm.optim import param_groups_weight_decay


def head_of(net: nn.Module) -> nn.Module:
    """The new classifier layer(s) of a timm model."""
    return net.get_classifier()


def finetune_param_groups(
    net: nn.Module, lr: float, weight_decay: float, backbone_lr_scale: float
) -> list[dict[str, Any]]:
    """timm's weight-decay groups (none on biases and norms), each split into backbone
    (at `lr * backbone_lr_scale`) and head (at `lr`). The schedulers scale every group's
    own learning rate, so the ratio holds through warmup and decay."""
    head = {id(p) for p in head_of(net).parameters()}
    no_decay = set(getattr(net, "no_weight_decay", lambda: ())())
    groups = []
    for group in param_groups_weight_decay(net, weight_decay, no_weight_decay_list=no_decay):
        backbone = [p for p in group["params"] if id(p) not in head]
        new = [p for p in group["params"] if id(p) in head]
        if backbone:
            groups.append({**group, "params": backbone, "lr": lr * backbone_lr_scale})
        if new:
            groups.append({**group, "params": new, "lr": lr})
    return groups


class FreezeBackbone(Callback):
    """Train only the head for the first `epochs` epochs.

    The frozen parameters get no gradient, so the optimizer leaves them alone
    (they stay in it, so the learning-rate schedule is that of the whole run),
    and the backbone's BatchNorm layers stay in eval mode: their running
    statistics, learnt on ImageNet, are neither updated nor replaced by batch
    statistics while the head learns.
    """

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs

    def _backbone(self, pl_module: L.LightningModule) -> list[nn.Module]:
        head = set(head_of(pl_module.net).modules())
        return [m for m in pl_module.net.modules() if m not in head]

    def _set(self, pl_module: L.LightningModule, frozen: bool) -> None:
        for module in self._backbone(pl_module):
            for p in module.parameters(recurse=False):
                p.requires_grad_(not frozen)
            if hasattr(module, "running_mean"):
                # Lightning restores each module's mode after validation, so unfreezing must say train.
                module.train(not frozen)

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._set(pl_module, frozen=trainer.current_epoch < self.epochs)

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        # Lightning puts the whole model back in train mode after each validation.
        if trainer.current_epoch < self.epochs:
            for module in self._backbone(pl_module):
                if hasattr(module, "running_mean") and module.training:
                    module.eval()
