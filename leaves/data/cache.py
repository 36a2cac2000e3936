"""Decode the dataset once: a uint8 memory-mapped array at the training size.

Decoding a JPEG costs more than augmenting it, and the same files are decoded
again every epoch. The cache stores every image a CSV names, in row order, as
one `N x size x size x 3` uint8 `.npy` file beside the data. Loader workers
memory-map it, so the OS page cache holds one copy for all of them (and for
the next run), and augmentation still runs per sample on the arrays.

The file name carries a hash of everything the pixels depend on: the CSV's
bytes, each image's name, byte size and modification time, the size and the
decoder version. A changed input therefore gets a new file and a stale cache is
never read; the superseded file is deleted once the new one is complete.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from leaves.data.images import ImageFiles
from leaves.errors import DataError

#: Bump when `leaves.data.load_image` changes its output, so old caches are rebuilt.
CACHE_VERSION = "1"
_CHUNK = 256  # images per task when building in parallel


def cache_key(csv_path: Path, images: ImageFiles) -> str:
    """Hash of the CSV's bytes, the images' names, byte sizes and mtimes, and the size."""
    digest = hashlib.sha256(f"leaves-cache {CACHE_VERSION} {images.size}\n".encode())
    digest.update(Path(csv_path).read_bytes())
    for name in images.names:
        stat = (images.root / name).stat()
        digest.update(f"\n{name}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:20]


class CachedImages(Sequence):
    """The cache file as a sequence of HWC arrays, mapped lazily in each process:
    pickling it (spawned loader workers, DDP) sends the path, not gigabytes."""

    def __init__(self, path: Path, length: int) -> None:
        self.path = Path(path)
        self.length = length
        self._array: np.ndarray | None = None

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> np.ndarray:
        if self._array is None:
            self._array = np.load(self.path, mmap_mode="r")
        # A private, writable copy: augmentations may work in place, the map is read-only.
        return np.array(self._array[i])

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_array": None}


def _is_complete(path: Path, shape: tuple[int, ...]) -> bool:
    try:
        array = np.load(path, mmap_mode="r")
    except (OSError, ValueError):
        return False
    return array.shape == shape and array.dtype == np.uint8


def _fill(path: Path, images: ImageFiles, start: int, stop: int) -> int:
    """Decode images[start:stop] into the (temporary) cache file; runs in a pool process."""
    cv2.setNumThreads(0)  # one process per core already
    out = np.load(path, mmap_mode="r+")
    for i in range(start, stop):
        out[i] = images[i]
    out.flush()
    return stop - start


def _build(path: Path, images: ImageFiles, shape: tuple[int, ...], workers: int, desc: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")  # unique even across nodes sharing the folder
    try:
        np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape).flush()
        chunks = [(a, min(a + _CHUNK, len(images))) for a in range(0, len(images), _CHUNK)]
        with tqdm(total=len(images), desc=desc, unit="img") as bar:
            if workers <= 0:
                for a, b in chunks:
                    bar.update(_fill(tmp, images, a, b))
            else:
                with ProcessPoolExecutor(max_workers=workers) as pool:
                    pending = {pool.submit(_fill, tmp, images, a, b) for a, b in chunks}
                    while pending:
                        done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                        for future in done:
                            bar.update(future.result())  # re-raises a worker's DataError
        os.replace(tmp, path)  # readers only ever see a complete file
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def image_cache(images: ImageFiles, csv_path: Path, cache_dir: Path, workers: int) -> CachedImages:
    """The cache of `images` (named by `csv_path`), built first if missing or stale.

    Building decodes in `workers` processes (0: in this one) with a progress bar,
    writes a temporary file and renames it into place, then deletes caches of the
    same CSV and size that the new key superseded.
    """
    if images.size is None:
        raise ValueError("the image cache needs a fixed image size")
    csv_path, cache_dir = Path(csv_path), Path(cache_dir)
    stem = f"{csv_path.stem}-{images.size}px"
    path = cache_dir / f"{stem}-{cache_key(csv_path, images)}.npy"
    shape = (len(images), images.size, images.size, 3)
    if not _is_complete(path, shape):
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise DataError(
                f"cannot create the image cache folder {cache_dir} ({err}); set --data.cache_dir to a writable folder"
            ) from err
        _build(path, images, shape, workers, desc=f"Caching {csv_path.name} images at {images.size}px")
        superseded = re.compile(re.escape(stem) + r"-[0-9a-f]{20}\.npy")
        for old in cache_dir.iterdir():
            if old != path and superseded.fullmatch(old.name):
                old.unlink(missing_ok=True)
    return CachedImages(path, len(images))
