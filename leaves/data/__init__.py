"""The data layer: the competition's CSVs, their checks, image decoding, the cache, augmentation,
splits, the DataModule and the synthetic demo data."""

from leaves.data.as_trained import INPUT_KEYS, input_settings, read_data_settings
from leaves.data.cache import image_cache
from leaves.data.check import (
    FolderContents,
    Problem,
    Report,
    check_data,
    check_images,
    inspect_image,
    usable_rows,
    verify_data,
)
from leaves.data.datamodule import LeavesDataModule, LeavesDataset, datamodule_from_checkpoint
from leaves.data.demo import generate_demo
from leaves.data.images import ImageFiles, load_image, upright_rgb
from leaves.data.splits import fold_split, sequential_split, stratified_folds, stratified_split
from leaves.data.table import class_names_of, drop_duplicates, encode, read_table
from leaves.data.transforms import AUGMENTS, eval_transform, train_transform

__all__ = [
    "AUGMENTS",
    "FolderContents",
    "INPUT_KEYS",
    "ImageFiles",
    "LeavesDataModule",
    "LeavesDataset",
    "Problem",
    "Report",
    "check_data",
    "check_images",
    "class_names_of",
    "datamodule_from_checkpoint",
    "drop_duplicates",
    "encode",
    "eval_transform",
    "fold_split",
    "generate_demo",
    "image_cache",
    "input_settings",
    "inspect_image",
    "load_image",
    "read_data_settings",
    "read_table",
    "stratified_folds",
    "sequential_split",
    "stratified_split",
    "train_transform",
    "upright_rgb",
    "usable_rows",
    "verify_data",
]
