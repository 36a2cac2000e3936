"""The fast data path: OpenCV decoding must give PIL's pixels, odd files must still
load correctly, and normalising on the device must equal the usual CPU transform."""

from __future__ import annotations

import random
from pathlib import Path

import albumentations as A
import cv2
import numpy as np
import pytest
import torch
from PIL import Image, ImageOps
from torch.utils.data import DataLoader
from torchvision.transforms import v2

from leaves.data import LeavesDataset, load_image
from leaves.data.datamodule import worker_init
from leaves.data.seeding import ProcessSeeded
from leaves.data.transforms import Transpose, train_transform
from leaves.errors import DataError
from leaves.models.module import LeavesModule


def _photo(width: int = 64, height: int = 48, seed: int = 0) -> Image.Image:
    """A smooth colour image with edges, so JPEG chroma and DCT details matter."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 / width, y * 255 / height, (x + y) * 127 / (width + height)], axis=-1)
    base[height // 4 : height // 2, width // 3 : width // 2] = rng.integers(0, 256, 3)
    return Image.fromarray(base.astype(np.uint8), "RGB")


def _pil_reference(path: Path, size: int | None = None) -> np.ndarray:
    """The image as plain PIL shows it (full decode, EXIF orientation applied, RGB), then squashed to
    size x size with an area filter: what any decoder must give, however it gets there."""
    with Image.open(path) as img:
        array = np.asarray(ImageOps.exif_transpose(img).convert("RGB"))
    return array if size is None else cv2.resize(array, (size, size), interpolation=cv2.INTER_AREA)


def _drawn(size: int | None = None, turns: int = 0) -> np.ndarray:
    """What `_photo` drew, turned `turns` quarter turns anticlockwise and squashed to `size`: no file at all."""
    array = np.ascontiguousarray(np.rot90(np.asarray(_photo()), turns))
    return array if size is None else cv2.resize(array, (size, size), interpolation=cv2.INTER_AREA)


def _assert_close(image: np.ndarray, reference: np.ndarray, mean: float) -> None:
    """Same shape and type, and on average within `mean` grey levels: a swapped channel, a shifted or
    cropped image, another orientation or a coarser decode is tens of levels off."""
    assert image.dtype == np.uint8 and image.shape == reference.shape
    diff = np.abs(image.astype(np.int16) - reference.astype(np.int16))
    assert diff.mean() <= mean, f"mean absolute difference {diff.mean():.2f} > {mean} (max {diff.max()})"


@pytest.mark.parametrize("size", [None, 48, 30, 20])
def test_plain_jpeg_decodes_to_the_pixels_pil_gives(tmp_path: Path, size: int | None) -> None:
    path = tmp_path / "leaf.jpg"
    _photo().save(path, quality=90)
    image = load_image(path, size)
    assert image.shape == ((48, 64, 3) if size is None else (size, size, 3))
    if size is None:
        # Both decoders wrap libjpeg-turbo, whose integer IDCT is deterministic: identical pixels.
        np.testing.assert_array_equal(image, _pil_reference(path))
    # A smaller size may be decoded smaller straight away (DCT scaling): close to the full decode squashed.
    _assert_close(image, _pil_reference(path, size), mean=1.0)
    _assert_close(image, _drawn(size), mean=2.0)  # and to what was drawn, JPEG's loss aside


@pytest.mark.parametrize(("orientation", "turns"), [(3, 2), (6, -1), (8, 1)])
def test_exif_rotated_jpeg_is_turned_upright(tmp_path: Path, orientation: int, turns: int) -> None:
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = orientation
    _photo().save(path, quality=90, exif=exif)
    image = load_image(path)
    assert image.shape == ((48, 64, 3) if orientation == 3 else (64, 48, 3))
    np.testing.assert_array_equal(image, _pil_reference(path))
    _assert_close(image, _drawn(turns=turns), mean=2.0)  # upright: as drawn, turned as the tag says
    _assert_close(load_image(path, 24), _pil_reference(path, 24), mean=1.0)
    _assert_close(load_image(path, 24), _drawn(24, turns), mean=2.0)


@pytest.mark.parametrize(
    "name, convert",
    [("gray.jpg", "L"), ("cmyk.jpg", "CMYK"), ("alpha.png", "RGBA"), ("palette.png", "P"), ("gray.png", "L")],
)
def test_other_modes_and_formats_load_as_rgb_like_pil(tmp_path: Path, name: str, convert: str) -> None:
    path = tmp_path / name
    _photo().convert(convert).save(path)
    np.testing.assert_array_equal(load_image(path), _pil_reference(path))
    _assert_close(load_image(path, 32), _pil_reference(path, 32), mean=1.0)


def test_unreadable_image_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(DataError, match="broken.jpg"):
        load_image(path, 32)


def test_device_side_normalisation_equals_the_cpu_reference() -> None:
    module = LeavesModule(arch="resnet18", class_names=["a", "b"], pretrained=False, frozen_stages=0)
    cfg = module.net.pretrained_cfg
    images = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8)
    reference = v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.Normalize(cfg["mean"], cfg["std"])])
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        module.to(device)
        normalised = module.normalize(images.to(device))
        assert normalised.dtype == torch.float32 and normalised.device.type == device
        torch.testing.assert_close(normalised.cpu(), reference(images), rtol=0, atol=1e-5)


def test_training_poses_are_exactly_the_eight_symmetries_of_the_square() -> None:
    image = np.arange(4 * 4 * 3, dtype=np.uint8).reshape(4, 4, 3)
    np.testing.assert_array_equal(Transpose(p=1)(image=image)["image"], image.transpose(1, 0, 2))
    pipeline = train_transform(4, "light")
    poses = A.Compose([t for t in pipeline.transforms if not isinstance(t, A.RandomResizedCrop)])
    poses.set_random_state(np.random.default_rng(0), random.Random(0))
    seen = {poses(image=image)["image"].numpy().tobytes() for _ in range(300)}
    symmetries = {
        np.ascontiguousarray(np.rot90(flipped, k).transpose(2, 0, 1)).tobytes()
        for flipped in (image, image[:, ::-1])
        for k in range(4)
    }
    assert seen == symmetries


@pytest.mark.parametrize("lightning_worker_seeds", [False, True], ids=["torch", "seed_everything(workers=True)"])
def test_loader_workers_augment_independently_and_reproducibly(lightning_worker_seeds, monkeypatch) -> None:
    # Lightning's worker seeds share their low 32 bits across runs for worker 0: the whole seed must be used.
    monkeypatch.setenv("PL_SEED_WORKERS", "1" if lightning_worker_seeds else "0")
    image = np.asarray(_photo(32, 32))
    dataset = LeavesDataset([image] * 8, np.zeros(8, dtype=np.int64), ProcessSeeded(train_transform(16, "light")))

    def epoch(seed: int) -> list[torch.Tensor]:
        torch.manual_seed(seed)  # what seed_everything does; workers derive their seeds from it
        loader = DataLoader(dataset, batch_size=1, num_workers=2, worker_init_fn=worker_init)
        return [images[0] for images, _ in loader]

    first, again, other = epoch(0), epoch(0), epoch(1)
    # Items 0 and 1 come from different workers: same image, so only the augmentation differs.
    assert not torch.equal(first[0], first[1])
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not all(torch.equal(a, b) for a, b in zip(first, other))
