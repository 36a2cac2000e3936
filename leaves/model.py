"""Building the classifier: timm's ResNet family with a choice of normalisation."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Callable, Literal, Union

import timm
import torch.nn as nn
from timm.layers import GroupNorm
from timm.models import load_pretrained

Norm = Literal["batch", "scratch", "group", "layer", "instance", "none"]


def _identity_norm(num_features: int, **_: object) -> nn.Module:
    return nn.Identity()


def norm_layer(norm: Norm, groups: int = 32) -> Callable[..., nn.Module]:
    """A constructor `f(num_channels)` that timm's ResNet calls for every norm site.

    The cousins follow d2l and the GroupNorm paper: `layer` normalises each
    image over all of (C, H, W) (one group), `instance` each channel of each
    image over (H, W) (so it needs feature maps larger than 1x1: images of
    at least 64 px for ResNets), `group` each image over groups of channels.
    """
    if norm == "batch":
        return nn.BatchNorm2d
    if norm == "scratch":
        from leaves.norm import BatchNorm

        return BatchNorm
    if norm == "group":
        return partial(GroupNorm, num_groups=groups)
    if norm == "layer":
        return partial(GroupNorm, num_groups=1)
    if norm == "instance":
        return partial(nn.InstanceNorm2d, affine=True)
    if norm == "none":
        return _identity_norm
    raise ValueError(f"model.norm must be one of batch, scratch, group, layer, instance, none; got {norm!r}")


def create_net(
    arch: str,
    num_classes: int,
    norm: Norm = "batch",
    norm_groups: int = 32,
    drop_rate: float = 0.0,
    drop_path_rate: float = 0.0,
) -> nn.Module:
    """A randomly initialised network; weights come later, from a checkpoint or `load_weights`."""
    if arch not in timm.list_models():
        raise ValueError(f"model.arch {arch!r} is not a timm model (e.g. resnet18, resnet50d, seresnext50_32x4d)")
    kwargs = dict(num_classes=num_classes, drop_rate=drop_rate, drop_path_rate=drop_path_rate)
    if norm != "batch":
        kwargs["norm_layer"] = norm_layer(norm, norm_groups)
    return timm.create_model(arch, pretrained=False, **kwargs)


def load_weights(net: nn.Module, pretrained: Union[bool, str], num_classes: int) -> None:
    """Load ImageNet weights into `net`, keeping its new classifier.

    `True` asks timm for the architecture's default weights (Hugging Face hub or
    timm's cache, so it works offline once cached); a path loads a local
    `.pth`/`.safetensors` file, for machines without internet.
    """
    if pretrained is False:
        return
    cfg = dict(net.pretrained_cfg)
    if isinstance(pretrained, str):
        path = Path(pretrained)
        if not path.is_file():
            raise FileNotFoundError(f"model.pretrained: weights file {path} not found")
        cfg.update(file=str(path), source="")
    load_pretrained(net, pretrained_cfg=cfg, num_classes=num_classes)
