"""The normalisation layers a ResNet can be built with: a registry from name to layer constructor.

Adding a norm layer is one entry in `NORM_LAYERS`: the `--model.norm` choices,
its validation and the normalisation study all read this table.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Literal

import torch.nn as nn
from timm.layers import GroupNorm

from leaves.errors import ConfigError
from leaves.models.batchnorm import BatchNorm

#: `f(num_channels)` builders, given the number of groups for the group-wise ones.
NormBuilder = Callable[[int], Callable[..., nn.Module]]


def _identity_norm(num_features: int, **_: object) -> nn.Module:
    return nn.Identity()


# The cousins follow d2l and the GroupNorm paper: `layer` normalises each image
# over all of (C, H, W) (one group), `instance` each channel of each image over
# (H, W) (so it needs feature maps larger than 1x1: images of at least 64 px for
# ResNets), `group` each image over groups of channels.
NORM_LAYERS: dict[str, NormBuilder] = {
    "batch": lambda groups: nn.BatchNorm2d,
    "scratch": lambda groups: BatchNorm,
    "group": lambda groups: partial(GroupNorm, num_groups=groups),
    "layer": lambda groups: partial(GroupNorm, num_groups=1),
    "instance": lambda groups: partial(nn.InstanceNorm2d, affine=True),
    "none": lambda groups: _identity_norm,
}

Norm = Literal[tuple(NORM_LAYERS)]  # type: ignore[valid-type]  # the CLI's choices, from the registry


def norm_layer(norm: str, groups: int = 32) -> Callable[..., nn.Module]:
    """A constructor `f(num_channels)` that timm's ResNet calls for every norm site."""
    if norm not in NORM_LAYERS:
        raise ConfigError(f"model.norm must be one of {', '.join(NORM_LAYERS)}; got {norm!r}")
    return NORM_LAYERS[norm](groups)
