"""Test-time augmentation: average the class probabilities over symmetric views.

Leaves have no natural orientation, so every flip and quarter turn of a test
image (the 8 symmetries of the square) is as valid as the original.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, Optional

import torch

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


def tta_probs(
    forward: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, views: Sequence[str]
) -> torch.Tensor:
    """Mean softmax of `forward` over the views of `images` (N, C, H, W), in float32."""
    probs = None
    for view in views:
        p = forward(VIEWS[view](images)).float().softmax(dim=1)
        probs = p if probs is None else probs + p
    return probs / len(views)
