"""Workflows: whole runs built from the layers below. LightningCLI's fit, validate and predict with the
project's run folders and predict-as-trained, k-fold cross-validation, the recipe benchmark, and the
Python API a notebook calls (`leaves.fit`, `leaves.predict`, ...); the `leaves` commands call these."""

from leaves.lazy import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "Fitted": "leaves.workflows.api",
        "LeavesCLI": "leaves.workflows.cli",
        "Predicted": "leaves.workflows.api",
        "build_cli": "leaves.workflows.cli",
        "Cleaning": "leaves.workflows.clean",
        "clean_train": "leaves.workflows.clean",
        "run_clean": "leaves.workflows.clean",
        "Ensembled": "leaves.workflows.ensemble",
        "WeightFit": "leaves.workflows.ensemble",
        "fit_member_weights": "leaves.workflows.ensemble",
        "run_ensemble": "leaves.workflows.ensemble",
        "fit": "leaves.workflows.api",
        "kfold": "leaves.workflows.api",
        "predict": "leaves.workflows.api",
        "recipes": "leaves.workflows.api",
        "run_kfold": "leaves.workflows.kfold",
        "run_lightning": "leaves.workflows.cli",
        "run_recipes": "leaves.workflows.recipes",
    },
)
