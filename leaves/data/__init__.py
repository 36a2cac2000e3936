"""The data layer: the competition's CSVs, their checks, image decoding, the cache, augmentation,
splits, the DataModule and the synthetic demo data."""

from leaves.lazy import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "INPUT_KEYS": "leaves.data.as_trained",
        "NotAsTrainedWarning": "leaves.data.as_trained",
        "input_settings": "leaves.data.as_trained",
        "image_cache": "leaves.data.cache",
        "Problem": "leaves.data.check",
        "Report": "leaves.data.check",
        "check_data": "leaves.data.check",
        "check_images": "leaves.data.check",
        "inspect_image": "leaves.data.check",
        "usable_rows": "leaves.data.check",
        "LeavesDataModule": "leaves.data.datamodule",
        "LeavesDataset": "leaves.data.datamodule",
        "datamodule_from_checkpoint": "leaves.data.datamodule",
        "generate_demo": "leaves.data.demo",
        "ImageFiles": "leaves.data.images",
        "load_image": "leaves.data.images",
        "upright_rgb": "leaves.data.images",
        "fold_split": "leaves.data.splits",
        "sequential_split": "leaves.data.splits",
        "stratified_folds": "leaves.data.splits",
        "stratified_split": "leaves.data.splits",
        "class_names_of": "leaves.data.table",
        "drop_duplicates": "leaves.data.table",
        "encode": "leaves.data.table",
        "read_table": "leaves.data.table",
        "AUGMENTS": "leaves.data.transforms",
        "eval_transform": "leaves.data.transforms",
        "train_transform": "leaves.data.transforms",
    },
)
