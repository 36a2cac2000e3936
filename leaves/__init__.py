"""leaves: a PyTorch Lightning pipeline for Kaggle's Classify Leaves, from data to a checked submission.

The public API is small: the DataModule, the LightningModule, the scratch
BatchNorm, the Predictor and the workflows a notebook calls (`leaves.fit`,
`leaves.predict`, `leaves.kfold`, `leaves.recipes`, `leaves.clean`, `leaves.ensemble`, `leaves.predict_ensemble`,
`leaves.download_competition`, `leaves.submit`).
Everything else lives in the sub-packages, one per layer (see the README's
"Architecture"):

    leaves.errors, leaves.layout   every error a user can fix; every file, folder and metric name
    leaves.utils       atomic writes, the runs folder, checkpoints' content, hardware, the resumable CSV logger
    leaves.data        CSVs, checks, decoding, cache, augmentation, splits, the DataModule, demo data
    leaves.models      norm layers, networks and their pretrained weights, the LightningModule, BN tools, mixing
    leaves.inference   the Predictor (TTA, BN folding, ensembles), self-check, submission, probabilities, out-of-fold
    leaves.report      the HTML run report, the recipe table
    leaves.callbacks   checkpoints, NaN stop, curves, throughput, the report, budget, EMA, freezing, precise BN
    leaves.kaggle      the Kaggle round trip: credentials, download and verify, check and submit
    leaves.workflows   fit/validate/predict (LightningCLI), k-fold, recipes, the Python API
    leaves.commands    the `leaves` command: each subcommand parses and calls

Names are imported on first use, so `import leaves` and `leaves --help` stay fast.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from leaves.lazy import lazy_exports

try:
    __version__ = version("leaves")
except PackageNotFoundError:  # a source checkout that was not installed
    __version__ = "0+unknown"

__getattr__, _names = lazy_exports(
    __name__,
    {
        "LeavesDataModule": "leaves.data.datamodule",
        "LeavesModule": "leaves.models.module",
        "BatchNorm": "leaves.models.batchnorm",
        "Predictor": "leaves.inference.predictor",
        "predict_ensemble": "leaves.inference.ensemble",
        "score_submission": "leaves.inference.scoring",
        "download_competition": "leaves.kaggle",
        "submit": "leaves.kaggle",
        "fit": "leaves.workflows.api",
        "predict": "leaves.workflows.api",
        "kfold": "leaves.workflows.api",
        "recipes": "leaves.workflows.api",
        "clean": "leaves.workflows.api",
        "clean_train": "leaves.workflows.clean",
        "ensemble": "leaves.workflows.api",
        "fit_member_weights": "leaves.workflows.ensemble",
        "main": "leaves.commands",
        "run": "leaves.commands",
        "LeavesError": "leaves.errors",
        "DataError": "leaves.errors",
        "ConfigError": "leaves.errors",
        "CheckpointError": "leaves.errors",
    },
)
__all__ = ["__version__", *_names]
