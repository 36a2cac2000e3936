"""The Kaggle Classify Leaves folder as a LightningDataModule."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

import cv2
import lightning as L
import numpy as np
import pandas as pd
import torch
from lightning.pytorch.utilities import rank_zero_info
from lightning.fabric.utilities.seed import pl_worker_init_function
from lightning.pytorch.utilities.rank_zero import rank_zero_only
from PIL import Image, UnidentifiedImageError
from torch.utils.data import DataLoader, Dataset, Subset

from leaves.cache import image_cache
from leaves.check import BadImages, usable_rows
from leaves.demo import generate_demo
from leaves.image_modes import upright_rgb
from leaves.seeding import ProcessSeeded
from leaves.table import DataError, class_names_of, drop_duplicates, encode, read_table, stratified_split
from leaves.folds import fold_split
from leaves.transforms import Augment, eval_transform, train_transform

_ORIENTATION = 0x0112  # the EXIF tag


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
    measured fastest (`scripts/bench.py`); when `size` allows, both decoders
    use libjpeg-turbo's DCT scaling, so a 224 px file is decoded straight to
    112 px for 96 px training. Anything else (EXIF rotation, grayscale, CMYK,
    PNG...) goes through PIL, whose conversions define the expected pixels;
    both paths give identical pixels on plain JPEGs (tests/test_fast_path.py).
    """
    try:
        data = Path(path).read_bytes()
        with Image.open(io.BytesIO(data)) as img:
            plain = img.format == "JPEG" and img.mode == "RGB" and img.getexif().get(_ORIENTATION, 1) == 1
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


class LeavesDataset(Dataset):
    """Images named by a CSV; yields (uint8 CHW tensor, label) or (tensor, row index).

    `images` is where decoded HWC arrays come from: `ImageFiles` (decode per
    access) or the memory-mapped `leaves.cache` array (decoded once); the
    augmentation runs per sample either way.
    """

    def __init__(self, images: Sequence[np.ndarray], targets: Optional[np.ndarray], transform) -> None:
        self.images = images
        self.targets = targets
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        image = self.transform(image=self.images[i])["image"]
        # Prediction yields the row so the writer can restore test.csv order under any sampler.
        return image, int(self.targets[i]) if self.targets is not None else i


def worker_init(worker_id: int) -> None:
    """No OpenCV threads inside workers (the workers already take the cores), then
    Lightning's per-worker, per-rank seeding when the run is seeded (the loader
    gets this function instead of Lightning's, so it is called here); the
    augmentation reseeds itself from that seed (`leaves.seeding`)."""
    cv2.setNumThreads(0)
    if int(os.environ.get("PL_SEED_WORKERS", 0)):
        pl_worker_init_function(worker_id, rank=rank_zero_only.rank)


def usable_cores() -> int:
    """Cores this process may run on (respects taskset and container limits)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class LeavesDataModule(L.LightningDataModule):
    """Train/val split of `train.csv` and predictions over `test.csv`.

    Args:
        data_dir: the Kaggle folder (train.csv, test.csv, images/). Leave unset to
            use the synthetic demo dataset, generated once into `demo_dir`.
        demo_dir: where the demo dataset lives when `data_dir` is unset.
        image_size: side of the square images the model sees.
        batch_size: images per batch on each device.
        num_workers: loader processes; unset means one per usable core.
        val_fraction: share of each class held out for validation.
        seed: fixes the split, independent of the training seed.
        augment: training augmentation strength (validation never gets any).
        bad_images: what to do with training images that cannot be read (missing,
            empty, truncated, not an image): "error" stops before training with
            the list of them, "skip" trains without them and warns with the list.
            Unreadable test images are always an error.
        cache: decode each CSV's images once into a uint8 memory-mapped array
            at `image_size` (`leaves.cache`) and read that instead of the JPEGs;
            rebuilt automatically whenever the CSV, an image or the size changes.
        cache_dir: where the cache lives; unset means `cache/` in the data folder.
        num_folds: split train.csv into this many seeded stratified folds and
            validate on fold `fold` (instead of `val_fraction`); see scripts/kfold.py.
        fold: the validation fold, 0..num_folds-1.
    """

    def __init__(
        self,
        data_dir: Optional[str] = None,
        demo_dir: str = "data/demo",
        image_size: int = 224,
        batch_size: int = 64,
        num_workers: Optional[int] = None,
        val_fraction: float = 0.1,
        seed: int = 42,
        augment: Augment = "light",
        cache: bool = False,
        cache_dir: Optional[str] = None,
        bad_images: BadImages = "error",
        num_folds: Optional[int] = None,
        fold: int = 0,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.root = Path(data_dir if data_dir is not None else demo_dir)
        self.is_demo = data_dir is None
        self.image_size = image_size
        self.batch_size = batch_size
        self.num_workers = usable_cores() if num_workers is None else num_workers
        self.val_fraction = val_fraction
        self.seed = seed
        self.augment = augment
        self.cache = cache
        self.cache_dir = Path(cache_dir) if cache_dir is not None else self.root / "cache"
        self.bad_images = bad_images
        self.num_folds = num_folds
        self.fold = fold
        self._train_table: Optional[pd.DataFrame] = None
        self._usable: dict[str, pd.DataFrame] = {}  # checked once, though prepare_data and setup both ask

    def prepare_data(self) -> None:
        if self.is_demo:
            rank_zero_info(
                f"No --data.data_dir given: using the synthetic DEMO dataset in {self.root} (generated once).\n"
                "For the real competition: python scripts/fit.py --config configs/classify-leaves.yaml "
                "--data.data_dir <folder with train.csv, test.csv and images/>"
            )
            generate_demo(self.root)
        if self.cache:
            # Built here, once per node before any setup; setup then only opens it.
            predicting = self.trainer is not None and self.trainer.state.fn == "predict"
            csv_name = "test.csv" if predicting else "train.csv"
            self._images(csv_name, self._usable_table(csv_name)["image"].tolist())

    def _check_root(self) -> None:
        if not self.root.is_dir():
            raise DataError(f"data_dir {self.root} does not exist (set --data.data_dir to the Kaggle folder)")

    @property
    def train_table(self) -> pd.DataFrame:
        if self._train_table is None:
            self._check_root()
            path = self.root / "train.csv"
            self._train_table = drop_duplicates(read_table(path, ("image", "label")), path)
        return self._train_table

    @property
    def class_names(self) -> list[str]:
        """Sorted labels of train.csv; the model stores them so predict needs no train.csv."""
        return class_names_of(self.train_table["label"])

    def _usable_table(self, csv_name: str) -> pd.DataFrame:
        """The CSV's rows whose images decode; every bad file is reported at once, before training starts."""
        if csv_name not in self._usable:
            if csv_name == "train.csv":
                table, bad_images = self.train_table, self.bad_images
            else:
                self._check_root()
                table, bad_images = read_table(self.root / csv_name, ("image",)), None
            self._usable[csv_name] = usable_rows(table, self.root, csv_name, bad_images, usable_cores())
        return self._usable[csv_name]

    def _images(self, csv_name: str, names: list[str]) -> Sequence[np.ndarray]:
        """Every image `csv_name` names, in row order, decoded at the training size."""
        files = ImageFiles(self.root, names, self.image_size)
        if not self.cache:
            return files
        return image_cache(files, self.root / csv_name, self.cache_dir, self.num_workers)

    def setup(self, stage: str) -> None:
        if stage in ("fit", "validate"):
            table = self._usable_table("train.csv")
            targets = encode(table["label"], self.class_names)
            if self.num_folds:
                train_idx, val_idx = fold_split(table["label"], self.num_folds, self.fold, self.seed)
            else:
                train_idx, val_idx = stratified_split(table["label"], self.val_fraction, self.seed)
            # train.csv rows (labels of train_table, valid after skipped images), for out-of-fold predictions
            self.val_rows = table.index[val_idx]
            names = table["image"].tolist()
            # CSV paths of each split, in dataset order (reports show them beside predictions).
            self.train_images = [names[i] for i in train_idx]
            self.val_images = [names[i] for i in val_idx]
            images = self._images("train.csv", names)
            # Both splits index the same decoded images (one cache file for train.csv).
            self.train_set = Subset(
                LeavesDataset(images, targets, ProcessSeeded(train_transform(self.image_size, self.augment))), train_idx
            )
            self.val_set = Subset(LeavesDataset(images, targets, eval_transform(self.image_size)), val_idx)
        if stage == "predict":
            self.test_table = self._usable_table("test.csv")
            self.predict_set = LeavesDataset(
                self._images("test.csv", self.test_table["image"].tolist()), None, eval_transform(self.image_size)
            )

    def _loader(self, dataset: Dataset, train: bool) -> DataLoader:
        on_gpu = self.trainer is not None and self.trainer.accelerator.__class__.__name__ == "CUDAAccelerator"
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=train,
            drop_last=train and len(dataset) > self.batch_size,  # BatchNorm never sees a batch of one
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=on_gpu,
            worker_init_fn=worker_init if self.num_workers > 0 else None,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, train=False)

    def predict_dataloader(self) -> DataLoader:
        return self._loader(self.predict_set, train=False)
