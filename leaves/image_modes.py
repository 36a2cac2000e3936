"""Turning any image PIL can decode into the upright 8-bit RGB the model expects.

Competition folders mix grayscale, palette, RGBA, CMYK, 16-bit and
EXIF-rotated files; a plain `convert("RGB")` gets two of them wrong: 16-bit
grayscale is clipped to almost pure white, and transparent pixels turn into
whatever colour happens to be stored under them (often black).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageOps

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
