"""Test-time augmentation: average the class probabilities over symmetric views.

Leaves have no natural orientation, so every flip and quarter turn of a test
image (the 8 symmetries of the square) is as valid as the original. Unless
`--tta` says otherwise, a checkpoint predicts with the views it trained on
(`trained_views`): all 8 for the augmentations that train on the symmetries
(the default `flips`), the image alone for `augment: none` (the d2l recipe).
Measured on the development folders, 3 seeds, the 8 views gained 0.02 on
Leafsnap lab photos and 0.06 on the silhouettes (docs/recipes.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Optional

import torch

from leaves.data.transforms import SYMMETRIC_AUGMENTS
from leaves.errors import ConfigError

VIEWS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "identity": lambda x: x,
    "hflip": lambda x: x.flip(-1),
    "vflip": lambda x: x.flip(-2),
    "rot90": lambda x: x.rot90(1, (-2, -1)),
    "rot180": lambda x: x.rot90(2, (-2, -1)),
    "rot270": lambda x: x.rot90(3, (-2, -1)),
    "transpose": lambda x: x.transpose(-2, -1),
    "antitranspose": lambda x: x.rot90(2, (-2, -1)).transpose(-2, -1),
}

View = Literal[tuple(VIEWS)]  # type: ignore[valid-type]  # the CLI's choices, from the registry


def check_views(views: Optional[Sequence[str]]) -> list[str]:
    """The views to use (just the image itself when none are given); unknown names fail here, not mid-predict."""
    views = list(views) if views else ["identity"]
    unknown = [v for v in views if v not in VIEWS]
    if unknown:
        raise ConfigError(f"--tta: unknown view(s) {', '.join(unknown)}; choose from {', '.join(VIEWS)}")
    return views


def trained_views(data_settings: Optional[Mapping[str, Any]]) -> list[str]:
    """The views a checkpoint's training covered, from its data settings: all 8 symmetries when its
    augmentation drew them, else the image alone (and for a checkpoint that records no settings)."""
    augment = (data_settings or {}).get("augment")
    return list(VIEWS) if augment in SYMMETRIC_AUGMENTS else ["identity"]


def tta_probs(
    forward: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, views: Sequence[str]
) -> torch.Tensor:
    """Mean softmax of `forward` over the views of `images` (N, C, H, W), in float32."""
    probs = None
    for view in views:
        p = forward(VIEWS[view](images)).float().softmax(dim=1)
        probs = p if probs is None else probs + p
    return probs / len(views)
