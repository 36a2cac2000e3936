"""The decoded-image cache: same tensors as decoding the files, rebuilt whenever
what it was made from changes, and cheap to hand to loader workers."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from leaves.data.datamodule import LeavesDataModule


def _make_kaggle_folder(root: Path, per_class: int = 4, classes: int = 3, tests: int = 5) -> Path:
    """A tiny Classify Leaves layout: 40x40 JPEGs, train.csv and test.csv."""
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    rows, names = [], []
    for i in range(per_class * classes + tests):
        name = f"images/{i}.jpg"
        pixels = rng.integers(0, 256, (5, 5, 3), dtype=np.uint8)
        Image.fromarray(pixels).resize((40, 40), Image.BILINEAR).save(root / name, quality=90)
        names.append(name)
        if i < per_class * classes:
            rows.append((name, f"species_{i % classes}"))
    pd.DataFrame(rows, columns=["image", "label"]).to_csv(root / "train.csv", index=False)
    pd.DataFrame({"image": names[per_class * classes :]}).to_csv(root / "test.csv", index=False)
    return root


def _datamodule(root: Path, cache: bool, **kwargs) -> LeavesDataModule:
    dm = LeavesDataModule(
        data_dir=str(root), image_size=32, batch_size=4, num_workers=0, augment="none", cache=cache, **kwargs
    )
    dm.prepare_data()
    dm.setup("fit")
    dm.setup("predict")
    return dm


def _all(dataset) -> list[tuple[torch.Tensor, int]]:
    return [dataset[i] for i in range(len(dataset))]


def _assert_same(a, b) -> None:
    assert len(a) == len(b)
    for (image_a, target_a), (image_b, target_b) in zip(_all(a), _all(b)):
        assert image_a.dtype == torch.uint8 and image_a.shape == (3, 32, 32)
        assert torch.equal(image_a, image_b) and target_a == target_b


def _cache_files(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "cache").glob("*.npy"))


def test_cached_and_uncached_datasets_yield_identical_tensors(tmp_path: Path) -> None:
    root = _make_kaggle_folder(tmp_path / "data")
    plain, cached = _datamodule(root, cache=False), _datamodule(root, cache=True)
    for split in ("train_set", "val_set", "predict_set"):
        _assert_same(getattr(plain, split), getattr(cached, split))
    files = _cache_files(root)
    assert [f.split("-")[0] for f in files] == ["test", "train"] and all("-32px-" in f for f in files)


def test_cache_is_built_once_and_reused(tmp_path: Path) -> None:
    root = _make_kaggle_folder(tmp_path / "data")
    _datamodule(root, cache=True)
    (train_cache,) = (root / "cache").glob("train-*.npy")
    built = train_cache.stat().st_mtime_ns
    _datamodule(root, cache=True)
    assert train_cache.stat().st_mtime_ns == built


def test_changed_csv_invalidates_the_cache(tmp_path: Path) -> None:
    root = _make_kaggle_folder(tmp_path / "data")
    _datamodule(root, cache=True)
    before = _cache_files(root)
    table = pd.read_csv(root / "train.csv")
    table.iloc[::-1].to_csv(root / "train.csv", index=False)  # same images, new order
    cached = _datamodule(root, cache=True)
    after = _cache_files(root)
    assert [f for f in after if f.startswith("train")] != [f for f in before if f.startswith("train")]
    assert len(after) == 2  # the superseded train cache was removed, the test cache kept
    _assert_same(_datamodule(root, cache=False).train_set, cached.train_set)


def test_changed_image_invalidates_the_cache(tmp_path: Path) -> None:
    root = _make_kaggle_folder(tmp_path / "data")
    cached = _datamodule(root, cache=True)
    stale = cached.train_set[0][0]
    first_row = int(cached.train_set.indices[0])
    Image.new("RGB", (40, 40), (250, 10, 10)).save(root / f"images/{first_row}.jpg", quality=90)
    fresh = _datamodule(root, cache=True)
    assert not torch.equal(fresh.train_set[0][0], stale)
    _assert_same(_datamodule(root, cache=False).train_set, fresh.train_set)


def test_changed_size_uses_another_cache(tmp_path: Path) -> None:
    root = _make_kaggle_folder(tmp_path / "data")
    _datamodule(root, cache=True)
    dm = LeavesDataModule(data_dir=str(root), image_size=16, num_workers=0, cache=True)
    dm.setup("fit")
    assert dm.train_set[0][0].shape == (3, 16, 16)
    assert sorted(f.split("-")[1] for f in _cache_files(root)) == ["16px", "32px", "32px"]


def test_parallel_build_and_loader_workers_see_the_same_images(tmp_path: Path) -> None:
    root = _make_kaggle_folder(tmp_path / "data")
    serial = _datamodule(root, cache=False)
    dm = LeavesDataModule(
        data_dir=str(root),
        image_size=32,
        batch_size=4,
        num_workers=2,
        augment="none",
        cache=True,
        cache_dir=str(tmp_path / "elsewhere"),
    )
    dm.setup("predict")  # builds the test.csv cache in 2 processes
    assert len(list((tmp_path / "elsewhere").glob("test-32px-*.npy"))) == 1
    # Workers get the cache by pickling: a path, not the pixels.
    assert len(pickle.dumps(dm.predict_set.images)) < 1000
    loaded = torch.cat([images for images, _ in dm.predict_dataloader()])
    expected = torch.stack([image for image, _ in _all(serial.predict_set)])
    assert torch.equal(loaded, expected)
