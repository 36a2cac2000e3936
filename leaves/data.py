"""The Kaggle Classify Leaves folder as a LightningDataModule."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import lightning as L
import numpy as np
import pandas as pd
import torch
from lightning.pytorch.utilities import rank_zero_info
from PIL import Image, ImageOps, UnidentifiedImageError
from torch.utils.data import DataLoader, Dataset

from leaves.demo import generate_demo
from leaves.folds import fold_split
from leaves.table import DataError, check_images_exist, class_names_of, encode, read_table, stratified_split
from leaves.transforms import Augment, eval_transform, train_transform


def load_image(path: Path) -> np.ndarray:
    """RGB uint8 HWC array, with EXIF orientation applied, whatever the file's mode."""
    try:
        with Image.open(path) as img:
            return np.asarray(ImageOps.exif_transpose(img).convert("RGB"))
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise DataError(f"cannot read image {path}: {err}") from err


class LeavesDataset(Dataset):
    """Images named by a CSV; yields (uint8 CHW tensor, label) or (tensor, row index)."""

    def __init__(self, root: Path, images: list[str], targets: Optional[np.ndarray], transform) -> None:
        self.root = root
        self.images = images
        self.targets = targets
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        image = self.transform(image=load_image(self.root / self.images[i]))["image"]
        # Prediction yields the row so the writer can restore test.csv order under any sampler.
        return image, int(self.targets[i]) if self.targets is not None else i


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
        self.num_folds = num_folds
        self.fold = fold
        self._train_table: Optional[pd.DataFrame] = None

    def prepare_data(self) -> None:
        if self.is_demo:
            rank_zero_info(
                f"No --data.data_dir given: using the synthetic DEMO dataset in {self.root} (generated once).\n"
                "For the real competition: python scripts/fit.py --config configs/classify-leaves.yaml "
                "--data.data_dir <folder with train.csv, test.csv and images/>"
            )
            generate_demo(self.root)

    def _check_root(self) -> None:
        if not self.root.is_dir():
            raise DataError(f"data_dir {self.root} does not exist (set --data.data_dir to the Kaggle folder)")

    @property
    def train_table(self) -> pd.DataFrame:
        if self._train_table is None:
            self._check_root()
            self._train_table = read_table(self.root / "train.csv", ("image", "label"))
        return self._train_table

    @property
    def class_names(self) -> list[str]:
        """Sorted labels of train.csv; the model stores them so predict needs no train.csv."""
        return class_names_of(self.train_table["label"])

    def setup(self, stage: str) -> None:
        if stage in ("fit", "validate"):
            table = self.train_table
            check_images_exist(table, self.root, "train.csv")
            targets = encode(table["label"], self.class_names)
            if self.num_folds:
                train_idx, val_idx = fold_split(table["label"], self.num_folds, self.fold, self.seed)
            else:
                train_idx, val_idx = stratified_split(table["label"], self.val_fraction, self.seed)
            self.val_rows = val_idx  # rows of train.csv, for out-of-fold predictions
            images = table["image"].tolist()
            self.train_set = LeavesDataset(
                self.root, [images[i] for i in train_idx], targets[train_idx],
                train_transform(self.image_size, self.augment),
            )
            self.val_set = LeavesDataset(
                self.root, [images[i] for i in val_idx], targets[val_idx], eval_transform(self.image_size)
            )
        if stage == "predict":
            self._check_root()
            self.test_table = read_table(self.root / "test.csv", ("image",))
            check_images_exist(self.test_table, self.root, "test.csv")
            self.predict_set = LeavesDataset(
                self.root, self.test_table["image"].tolist(), None, eval_transform(self.image_size)
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
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, train=False)

    def predict_dataloader(self) -> DataLoader:
        return self._loader(self.predict_set, train=False)
