"""Fine-tuning a pretrained backbone: a smaller learning rate than the new head (its frozen epochs are
`leaves.callbacks.FreezeBackbone`)."""

from __future__ import annotations

from typing import Any

import torch.nn as nn
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
