"""Albumentations pipelines that work on uint8 and stop at a uint8 CHW tensor.

Converting to float and normalising happens on the accelerator after transfer
(`LeavesModule.normalize`, first thing in every step), so workers move four times fewer
bytes and never spend time on arithmetic the GPU does for free.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import cv2
import numpy as np

from leaves.data.albu import A
from leaves.errors import ConfigError


class Transpose(A.Transpose):
    """albumentations' Transpose, but with OpenCV's transpose: albumentations returns a
    strided numpy view, and copying that to a contiguous image later costs about ten
    times more than OpenCV's transpose (measured on 224 px images; albumentations'
    RandomRotate90 has the same cost)."""

    def apply(self, img: np.ndarray, **params) -> np.ndarray:
        return cv2.transpose(img)


def eval_transform(image_size: int) -> A.Compose:
    """Resize only: validation and test images must look like nothing was done."""
    return A.Compose([A.Resize(image_size, image_size), A.ToTensorV2()])


def _symmetries() -> list[A.BasicTransform]:
    # Random horizontal and vertical flips and a random transpose pick each of the
    # square's 8 symmetries with equal probability.
    return [A.HorizontalFlip(), A.VerticalFlip(), Transpose()]


def _flips(image_size: int) -> list[A.BasicTransform]:
    # The whole image, no crop or aspect jitter: a small leaf stays in the frame, a silhouette keeps its shape.
    return [A.Resize(image_size, image_size), *_symmetries()]


def _light(image_size: int) -> list[A.BasicTransform]:
    return [A.RandomResizedCrop((image_size, image_size), scale=(0.5, 1.0)), *_symmetries()]


def _strong(image_size: int) -> list[A.BasicTransform]:
    return [
        *_light(image_size),
        A.Affine(rotate=(-30, 30), scale=(0.85, 1.15), border_mode=0, p=0.5),
        A.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.03, p=0.8),
        A.CoarseDropout(num_holes_range=(1, 4), hole_height_range=(0.05, 0.2), hole_width_range=(0.05, 0.2), p=0.5),
    ]


#: Augmentation presets: name -> the steps before the tensor conversion, given the image size.
#: Adding a preset is one entry here; `--data.augment` offers every name.
AUGMENTS: dict[str, Callable[[int], list[A.BasicTransform]]] = {
    "none": lambda image_size: [A.Resize(image_size, image_size)],
    "flips": _flips,
    "light": _light,
    "strong": _strong,
}

Augment = Literal[tuple(AUGMENTS)]  # type: ignore[valid-type]  # the CLI's choices, from the registry


def train_transform(image_size: int, augment: str = "light") -> A.Compose:
    """Training augmentation; leaves have no natural orientation, so all flips and
    quarter turns keep the label."""
    if augment not in AUGMENTS:
        raise ConfigError(f"data.augment must be one of {', '.join(AUGMENTS)}; got {augment!r}")
    return A.Compose([*AUGMENTS[augment](image_size), A.ToTensorV2()])
