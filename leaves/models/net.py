"""Building the classifier: timm's ResNet family with a choice of normalisation."""

from __future__ import annotations

from pathlib import Path
from typing import Union

import timm
import torch.nn as nn
from timm.models import load_pretrained

from leaves.errors import ConfigError
from leaves.models.norms import Norm, norm_layer


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
        raise ConfigError(f"model.arch {arch!r} is not a timm model (e.g. resnet18, resnet50d, seresnext50_32x4d)")
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
