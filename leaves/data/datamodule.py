"""The Kaggle Classify Leaves folder as a LightningDataModule."""

from __future__ import annotations

import inspect
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Optional

import cv2
import lightning as L
import numpy as np
import pandas as pd
import torch
from lightning.fabric.utilities.seed import pl_worker_init_function
from lightning.pytorch.utilities import rank_zero_info
from lightning.pytorch.utilities.rank_zero import rank_zero_only
from torch.utils.data import ConcatDataset, DataLoader, Dataset, Subset

from leaves.data.as_trained import input_settings
from leaves.data.cache import image_cache
from leaves.data.check import BadImages, usable_rows
from leaves.data.demo import generate_demo
from leaves.data.images import ImageFiles
from leaves.data.places import cache_folder
from leaves.data.seeding import ProcessSeeded
from leaves.data.splits import fold_split, sequential_split, stratified_split
from leaves.data.table import class_names_of, drop_duplicates, encode, read_table
from leaves.data.teacher import teacher_rows
from leaves.data.transforms import Augment, eval_transform, train_transform
from leaves.errors import CheckpointError, DataError
from leaves.layout import ADDED_IMAGES_CSV, DEMO_DIR, TEST_CSV, TRAIN_CSV
from leaves.utils.atomic import atomic_write_csv
from leaves.utils.checkpoint import Checkpoint
from leaves.utils.hardware import usable_cores


class LeavesDataset(Dataset):
    """Images named by a CSV; yields (uint8 CHW tensor, label) or (tensor, row index), and with `soft`
    (a teacher's probabilities, one row per image) (tensor, label, soft target).

    `images` is where decoded HWC arrays come from: `ImageFiles` (decode per
    access) or the memory-mapped `leaves.data.cache` array (decoded once); the
    augmentation runs per sample either way.
    """

    def __init__(
        self,
        images: Sequence[np.ndarray],
        targets: Optional[np.ndarray],
        transform,
        soft: Optional[np.ndarray] = None,
    ) -> None:
        self.images = images
        self.targets = targets
        self.transform = transform
        self.soft = soft

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple:
        image = self.transform(image=self.images[i])["image"]
        # Prediction yields the row so the writer can restore test.csv order under any sampler.
        target = int(self.targets[i]) if self.targets is not None else i
        return (image, target) if self.soft is None else (image, target, torch.from_numpy(self.soft[i]))


def _few(names: Sequence[str], n: int = 5) -> str:
    return ", ".join(list(names)[:n]) + (", ..." if len(names) > n else "")


def worker_init(worker_id: int) -> None:
    """No OpenCV threads inside workers (the workers already take the cores), then
    Lightning's per-worker, per-rank seeding when the run is seeded (the loader
    gets this function instead of Lightning's, so it is called here); the
    augmentation reseeds itself from that seed (`leaves.data.seeding`)."""
    cv2.setNumThreads(0)
    if int(os.environ.get("PL_SEED_WORKERS", 0)):
        pl_worker_init_function(worker_id, rank=rank_zero_only.rank)


class LeavesDataModule(L.LightningDataModule):
    """Train/val split of `train.csv` and predictions over `test.csv`.

    Args:
        data_dir: the Kaggle folder (train.csv, test.csv, images/). Leave unset to
            use the synthetic demo dataset, generated once into `demo_dir`.
        demo_dir: where the demo dataset lives when `data_dir` is unset.
        class_names: the labels the model speaks, in output order; unset: train.csv's, sorted. A model
            trained before (predict, resume) gives its own, and a train.csv with other labels is refused.
        image_size: side of the square images the model sees.
        batch_size: images per batch on each device.
        num_workers: loader processes; unset means one per usable core.
        val_fraction: share of train.csv held out for validation.
        split: stratified (each class in the same proportion in both parts, drawn with `seed`) or
            sequential (the last `val_fraction` of the rows, as the d2l course's notes split).
        seed: fixes the split, independent of the training seed.
        augment: training augmentation strength (validation never gets any).
        drop_last: drop each epoch's last, partial training batch, as timm's loaders do: every step then
            has the same batch size. False keeps it, as the d2l course's plain DataLoader does (`--config
            seed`): with few images that is many more steps (240 images in batches of 64: 4 steps an
            epoch, not 3). A last batch of a single image is dropped either way (BatchNorm needs two).
        bad_images: what to do with training images that cannot be read (missing,
            empty, truncated, not an image): "error" stops before training with
            the list of them, "skip" trains without them and warns with the list.
            Unreadable test images are always an error.
        cache: decode each CSV's images once into a uint8 memory-mapped array
            at `image_size` (`leaves.data.cache`) and read that instead of the JPEGs;
            rebuilt automatically whenever the CSV, an image or the size changes.
        cache_dir: where the cache lives; unset means `cache/` in the data folder, or, when that folder
            is read-only, `cache/` in the working folder (the run says where).
        num_folds: split train.csv into this many seeded stratified folds and
            validate on fold `fold` (instead of `val_fraction`); see `leaves kfold`.
        fold: the validation fold, 0..num_folds-1.
        train_csv: the training CSV: train.csv, or another in the data folder (or a path), such as the
            cleaned one `leaves clean --write_train` writes.
        pseudo_labels: a test probabilities CSV (`leaves predict`/`leaves ensemble --save_probs`): the test
            images whose top probability reaches `pseudo_threshold` join the training split (never
            validation) with that class as a hard label (`leaves.data.teacher` says why hard).
        pseudo_threshold: the top probability a test image needs to be pseudo-labelled.
        soft_targets: a teacher's probability CSVs for distillation: out-of-fold ones for train.csv
            images (leaves kfold's oof.csv) and, optionally, test ones, whose images then join training
            with no hard label; `model.distill_weight` weighs the soft loss.
    """

    def __init__(
        self,
        data_dir: Optional[str] = None,
        demo_dir: str = DEMO_DIR,
        class_names: Optional[list[str]] = None,
        image_size: int = 160,
        batch_size: int = 16,
        num_workers: Optional[int] = None,
        val_fraction: float = 0.1,
        split: Literal["stratified", "sequential"] = "stratified",
        seed: int = 42,
        augment: Augment = "flips",
        drop_last: bool = True,
        cache: bool = False,
        cache_dir: Optional[str] = None,
        bad_images: BadImages = "error",
        num_folds: Optional[int] = None,
        fold: int = 0,
        train_csv: str = TRAIN_CSV,
        pseudo_labels: Optional[str] = None,
        pseudo_threshold: float = 0.9,
        soft_targets: Optional[list[str]] = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["class_names"])  # the model saves them (Lightning refuses two values)
        self.root = Path(data_dir if data_dir is not None else demo_dir)
        self.is_demo = data_dir is None
        self._class_names = list(class_names) if class_names is not None else None
        self.image_size = image_size
        self.batch_size = batch_size
        self.num_workers = usable_cores() if num_workers is None else num_workers
        self.val_fraction = val_fraction
        self.split = split
        self.seed = seed
        self.augment = augment
        self.drop_last = drop_last
        self.cache = cache
        self._cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.bad_images = bad_images
        self.num_folds = num_folds
        self.fold = fold
        self.train_csv = train_csv
        self.pseudo_labels = pseudo_labels
        self.pseudo_threshold = pseudo_threshold
        self.soft_targets = list(soft_targets) if soft_targets else None
        #: The test images a fit added to training (pseudo-labels, soft targets), after setup("fit").
        self.added_images: Optional[pd.DataFrame] = None
        self._demo_ready = False
        self._train_table: Optional[pd.DataFrame] = None
        self._usable: dict[str, pd.DataFrame] = {}  # checked once, though prepare_data and setup both ask

    def _ensure_demo(self) -> None:
        """Generate the demo data the first time anything needs it (it is written once, atomically)."""
        if self.is_demo and not self._demo_ready:
            rank_zero_info(
                f"No --data.data_dir given: using the synthetic DEMO dataset in {self.root} (generated once).\n"
                "For the real competition: leaves fit --config classify-leaves "
                f"--data.data_dir <folder with {TRAIN_CSV}, {TEST_CSV} and images/>"
            )
            generate_demo(self.root)
            self._demo_ready = True

    def prepare_data(self) -> None:
        self._ensure_demo()
        if self.cache:
            # Built here, once per node before any setup; setup then only opens it.
            predicting = self.trainer is not None and self.trainer.state.fn == "predict"
            csv_name = TEST_CSV if predicting else self.train_csv
            self._images(csv_name, self._usable_table(csv_name)["image"].tolist())

    def _check_root(self) -> None:
        self._ensure_demo()
        if not self.root.is_dir():
            raise DataError(f"data_dir {self.root} does not exist (set --data.data_dir to the Kaggle folder)")

    @property
    def train_table(self) -> pd.DataFrame:
        if self._train_table is None:
            self._check_root()
            path = self.root / self.train_csv
            self._train_table = drop_duplicates(read_table(path, ("image", "label")), path)
        return self._train_table

    @property
    def has_train_csv(self) -> bool:
        return (self.root / self.train_csv).is_file()

    @property
    def class_names(self) -> list[str]:
        """The labels the model speaks: the ones given (a trained model's), else train.csv's, sorted.
        The model stores them, so predict needs no train.csv; where there is one, it must have them."""
        if self._class_names is None:
            return class_names_of(self.train_table["label"])
        if self.has_train_csv:
            found = class_names_of(self.train_table["label"])
            if found != self._class_names:
                raise CheckpointError(
                    f"the model (its checkpoint) has {len(self._class_names)} classes ({_few(self._class_names)}) "
                    f"but {self.root / self.train_csv} has {len(found)} ({_few(found)}): predict with a checkpoint "
                    "trained on this data, or point --data.data_dir at the data it was trained on"
                )
        return list(self._class_names)

    @property
    def train_labels(self) -> Optional[list[str]]:
        """Every train.csv label (for the shares a submission is held against), or None without a train.csv."""
        return self.train_table["label"].tolist() if self.has_train_csv else None

    @property
    def test_images(self) -> list[str]:
        """test.csv's images, in its order: the rows a submission must have (after `setup("predict")`)."""
        return self.test_table["image"].tolist()

    def _usable_table(self, csv_name: str) -> pd.DataFrame:
        """The CSV's rows whose images decode; every bad file is reported at once, before training starts."""
        if csv_name not in self._usable:
            if csv_name == self.train_csv:
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

    @property
    def cache_dir(self) -> Path:
        """The cache folder, decided on first use (a read-only data folder moves it: `leaves.data.places`)."""
        if self._cache_dir is None:
            self._cache_dir = cache_folder(self.root, None)
        return self._cache_dir

    @property
    def uses_teacher(self) -> bool:
        """Whether a fit adds a teacher's rows (pseudo-labels, soft targets) to the training split."""
        return bool(self.pseudo_labels or self.soft_targets)

    def _teacher_set(self, table: pd.DataFrame, train_idx: np.ndarray, images, targets) -> Dataset:
        """The training split with what the teacher's files add (`leaves.data.teacher`); recorded in the run."""
        test = self._usable_table(TEST_CSV)
        rows = teacher_rows(
            table["image"].tolist(),
            test["image"].tolist(),
            self.class_names,
            self.pseudo_labels,
            self.pseudo_threshold,
            self.soft_targets,
        )
        transform = ProcessSeeded(train_transform(self.image_size, self.augment))
        train = Subset(LeavesDataset(images, targets, transform, rows.train_soft), train_idx)
        self.added_images = rows.added
        self._record_added(rows.added)
        if not len(rows.test_rows):
            return train
        test_images = Subset(self._images(TEST_CSV, test["image"].tolist()), rows.test_rows.tolist())
        added = LeavesDataset(test_images, rows.test_labels, transform, rows.test_soft)
        rank_zero_info(f"Training on {len(train)} {self.train_csv} rows and {len(added)} test images: {rows.summary}")
        return ConcatDataset([train, added])

    def _record_added(self, added: pd.DataFrame) -> None:
        """The added test images, in the run folder (the fit's own record; rewritten the same on resume)."""
        trainer = self.trainer
        if trainer is None or trainer.global_rank != 0 or not trainer.default_root_dir:
            return
        atomic_write_csv(added, Path(trainer.default_root_dir) / ADDED_IMAGES_CSV)

    def setup(self, stage: str) -> None:
        if stage in ("fit", "validate"):
            table = self._usable_table(self.train_csv)
            targets = encode(table["label"], self.class_names)
            if self.num_folds:
                train_idx, val_idx = fold_split(table["label"], self.num_folds, self.fold, self.seed)
            elif self.split == "sequential":
                train_idx, val_idx = sequential_split(len(table), self.val_fraction)
            else:
                train_idx, val_idx = stratified_split(table["label"], self.val_fraction, self.seed)
            # train.csv rows (labels of train_table, valid after skipped images), for out-of-fold predictions
            self.val_rows = table.index[val_idx]
            names = table["image"].tolist()
            # CSV paths of each split, in dataset order (reports show them beside predictions).
            self.train_images = [names[i] for i in train_idx]
            self.val_images = [names[i] for i in val_idx]
            images = self._images(self.train_csv, names)
            # Both splits index the same decoded images (one cache file for train.csv).
            if stage == "fit" and self.uses_teacher:
                self.train_set = self._teacher_set(table, train_idx, images, targets)
            else:
                transform = ProcessSeeded(train_transform(self.image_size, self.augment))
                self.train_set = Subset(LeavesDataset(images, targets, transform), train_idx)
            self.val_set = Subset(LeavesDataset(images, targets, eval_transform(self.image_size)), val_idx)
        if stage == "predict":
            self.test_table = self._usable_table(TEST_CSV)
            self.predict_set = LeavesDataset(
                self._images(TEST_CSV, self.test_table["image"].tolist()), None, eval_transform(self.image_size)
            )

    def _loader(self, dataset: Dataset, train: bool) -> DataLoader:
        on_gpu = self.trainer is not None and self.trainer.accelerator.__class__.__name__ == "CUDAAccelerator"
        # BatchNorm never sees a training batch of one, whatever drop_last says.
        stray_one = len(dataset) % self.batch_size == 1
        drop_last = train and len(dataset) > self.batch_size and (self.drop_last or stray_one)
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=train,
            drop_last=drop_last,
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


def datamodule_from_checkpoint(checkpoint: Checkpoint | str | Path, **overrides: Any) -> LeavesDataModule:
    """The data a run trained with, rebuilt from its checkpoint (folder, split, size, class list...), so a
    later pass sees the same validation split and the same input. `overrides` that are not None
    replace the saved settings (the data moved, another batch size); an input-defining one
    (`leaves.data.as_trained.INPUT_KEYS`) that differs from the checkpoint's is honoured with a warning."""
    if not isinstance(checkpoint, Checkpoint):
        checkpoint = Checkpoint.read(checkpoint)
    known = inspect.signature(LeavesDataModule.__init__).parameters
    saved = checkpoint.require_data_settings()
    settings = {k: v for k, v in saved.items() if k in known}
    settings["class_names"] = checkpoint.class_names
    settings.update({k: v for k, v in overrides.items() if v is not None})
    settings.update(input_settings(saved, overrides, checkpoint.path))
    return LeavesDataModule(**settings)
