"""leaves: a PyTorch Lightning pipeline for Kaggle's Classify Leaves, from data to a checked submission.

The public API is small: the DataModule, the LightningModule, the scratch
BatchNorm and the entry points (`leaves.fit`, `leaves.predict`, `leaves.download_competition`
and `leaves.submit` for notebooks).
Everything else lives in the sub-packages,
one per layer (see the README's "Architecture"):

    leaves.data        CSVs, checks, decoding, cache, augmentation, splits, the DataModule, demo data
    leaves.models      norm layers, the network, the LightningModule, BN tools, fine-tuning, mixing, EMA, TTA
    leaves.inference   submission, probabilities, ensembles, the prediction Trainer
    leaves.report      the HTML run report
    leaves.callbacks   safe checkpoints, NaN stop, learning curves, throughput, the report at fit end
    leaves.kaggle      the Kaggle round trip: credentials, download and verify, check and submit
    leaves.commands    the `leaves` command and its subcommands
    leaves.utils       atomic writes, the runs folder, hardware, the resumable CSV logger
    leaves.errors      every error a user can fix

Names are imported on first use, so `import leaves` and `leaves --help` stay fast.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("leaves")
except PackageNotFoundError:  # a source checkout that was not installed
    __version__ = "0+unknown"

_PUBLIC = {
    "LeavesDataModule": "leaves.data.datamodule",
    "LeavesModule": "leaves.models.module",
    "BatchNorm": "leaves.models.batchnorm",
    "fit": "leaves.commands.api",
    "predict": "leaves.commands.api",
    "download_competition": "leaves.kaggle",
    "submit": "leaves.kaggle",
    "main": "leaves.commands",
    "run": "leaves.commands",
    "LeavesError": "leaves.errors",
    "DataError": "leaves.errors",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'leaves' has no attribute {name!r}")
