"""Decoding images: any file PIL can read becomes the upright 8-bit RGB the model expects, fast.

Competition folders mix grayscale, palette, RGBA, CMYK, 16-bit and
EXIF-rotated files; a plain `convert("RGB")` gets two of them wrong: 16-bit
grayscale is clipped to almost pure white, and transparent pixels turn into
whatever colour happens to be stored under them (often black).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from leaves.errors import DataError

#: The EXIF tag that says how a photo must be turned to stand upright.
EXIF_ORIENTATION = 0x0112

# Integer modes whose values span 0..65535 (16-bit PNG/TIFF grayscale).
WIDE_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")


def upright_rgb(img: Image.Image) -> Image.Image:
    """RGB, EXIF orientation applied, 16-bit scaled to 8-bit, transparency over white."""
    img = ImageOps.exif_transpose(img)
    if img.mode in WIDE_MODES:
        wide = np.asarray(img, dtype=np.float32)
        img = Image.fromarray((wide / 257.0).clip(0, 255).round().astype(np.uint8), mode="L")
    if "A" in img.getbands() or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return img.convert("RGB")


#: JPEG DCT scaling factors libjpeg-turbo can decode at directly (PIL `draft`, OpenCV IMREAD_REDUCED_*).
_REDUCED_FLAGS = {8: cv2.IMREAD_REDUCED_COLOR_8, 4: cv2.IMREAD_REDUCED_COLOR_4, 2: cv2.IMREAD_REDUCED_COLOR_2}


def _dct_scale(width: int, height: int, size: Optional[int]) -> int:
    """The reduction PIL's `draft` picks: the largest that keeps both sides >= `size`."""
    if size is None:
        return 1
    return next((s for s in (8, 4, 2) if s <= min(width // size, height // size)), 1)


def load_image(path: Path, size: Optional[int] = None) -> np.ndarray:
    """RGB uint8 HWC array, with EXIF orientation applied, whatever the file's mode;
    `size` squashes it to size x size (as the eval transform does).

    Plain RGB JPEGs (the usual photo, and all of swedish15) are decoded by OpenCV, which
    measured fastest (`benchmarks/bench.py`); when `size` allows, both decoders
    use libjpeg-turbo's DCT scaling, so a 224 px file is decoded straight to
    112 px for 96 px training. Anything else (EXIF rotation, grayscale, CMYK,
    PNG...) goes through PIL, whose conversions define the expected pixels;
    both paths give identical pixels on plain JPEGs (tests/test_fast_path.py).
    """
    try:
        data = Path(path).read_bytes()
        with Image.open(io.BytesIO(data)) as img:
            plain = img.format == "JPEG" and img.mode == "RGB" and img.getexif().get(EXIF_ORIENTATION, 1) == 1
            scale = _dct_scale(*img.size, size)
            if not plain:
                if scale > 1:
                    img.draft("RGB", (size, size))
                array = np.asarray(upright_rgb(img))
        if plain:
            flag = _REDUCED_FLAGS.get(scale, cv2.IMREAD_COLOR) | cv2.IMREAD_IGNORE_ORIENTATION
            bgr = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
            if bgr is None:
                raise OSError("OpenCV could not decode it")
            array = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise DataError(f"cannot read image {path}: {err}") from err
    if size is not None and array.shape[:2] != (size, size):
        array = cv2.resize(array, (size, size), interpolation=cv2.INTER_AREA)
    return array


class ImageFiles(Sequence):
    """Images decoded from their files on every access, at the training size."""

    def __init__(self, root: Path, names: Sequence[str], size: Optional[int]) -> None:
        self.root = root
        # One numpy array, not a list of str: forked workers then share it
        # instead of copying every string's page when they touch its refcount.
        self.names = np.asarray(names, dtype=str)
        self.size = size

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, i: int) -> np.ndarray:
        return load_image(self.root / self.names[i], self.size)
