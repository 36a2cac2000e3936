"""Fine-tuning a pretrained backbone: a smaller learning rate than the new head, and early stages kept
frozen (the epochs with the whole backbone frozen are `leaves.callbacks.FreezeBackbone`)."""

from __future__ import annotations

from typing import Any

import torch.nn as nn
from timm.models import group_modules
from timm.optim import param_groups_weight_decay

from leaves.errors import ConfigError


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


def early_stages(net: nn.Module, stages: int) -> list[nn.Module]:
    """The stem and the first `stages` stages of a timm network, as its coarse layer groups name them
    (EfficientNet: conv_stem/bn1, blocks.0, blocks.1...; ResNet: conv1/bn1, layer1...)."""
    if not hasattr(net, "group_matcher"):
        raise ConfigError(f"model.frozen_stages needs a timm network with stages; {type(net).__name__} has none")
    modules = dict(net.named_modules())
    groups = group_modules(net, net.group_matcher(coarse=True))
    return [modules[name] for group, names in groups.items() if group <= stages for name in names]


def freeze(modules: list[nn.Module]) -> None:
    """No gradient for the modules' parameters, and their BatchNorm layers in eval mode."""
    for module in modules:
        for p in module.parameters(recurse=False):
            p.requires_grad_(False)
        if hasattr(module, "running_mean"):
            module.eval()
