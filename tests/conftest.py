"""Tiny Kaggle-layout datasets built in a temporary folder, so tests need no real data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

CLASSES = ("acer_rubrum", "betula_nigra", "quercus_alba")


def make_leaves(
    root: Path,
    classes: tuple[str, ...] = CLASSES,
    per_class: int = 8,
    test_images: int = 6,
    size: int = 32,
    seed: int = 0,
) -> Path:
    """A learnable toy dataset: each class has its own colour, with noise."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    palette = rng.integers(0, 256, (len(classes), 3))
    rows, n = [], 0
    for c, name in enumerate(classes):
        for _ in range(per_class):
            pixels = np.clip(palette[c] + rng.normal(0, 20, (size, size, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / f"images/{n}.jpg")
            rows.append((f"images/{n}.jpg", name))
            n += 1
    pd.DataFrame(rows, columns=["image", "label"]).to_csv(root / "train.csv", index=False)
    test = []
    for i in range(test_images):
        pixels = np.clip(palette[i % len(classes)] + rng.normal(0, 20, (size, size, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(root / f"images/{n}.jpg")
        test.append(f"images/{n}.jpg")
        n += 1
    pd.DataFrame({"image": test}).to_csv(root / "test.csv", index=False)
    return root


@pytest.fixture
def leaves_dir(tmp_path: Path) -> Path:
    return make_leaves(tmp_path / "leaves")
