"""Out-of-fold predictions and the cross-validation accuracy they give.

Every train.csv row is predicted once, by the fold model that never trained
on it: their accuracy is the CV score, and the probabilities are what fitted
ensemble weights, the mislabel finder and distillation learn from.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd
import torch

from leaves.data.as_trained import input_settings
from leaves.data.datamodule import LeavesDataModule, datamodule_from_checkpoint
from leaves.data.probs_csv import NOT_CLASS_COLUMNS
from leaves.errors import DataError
from leaves.inference.predictor import Predictor
from leaves.inference.probs import probs_table
from leaves.inference.trainer import predict_trainer
from leaves.inference.tta import View
from leaves.layout import OOF_CSV
from leaves.utils.checkpoint import Checkpoint

#: The columns of an out-of-fold table that are not class probabilities.
OOF_COLUMNS = NOT_CLASS_COLUMNS


def out_of_fold(
    checkpoint: str,
    datamodule: LeavesDataModule,
    accelerator: Any = "auto",
    precision: Optional[str] = None,
    tta: Optional[Sequence[View]] = None,
) -> pd.DataFrame:
    """Probabilities of a fold's checkpoint on the rows it never trained on (`datamodule`'s validation
    fold), at the input it trained with (a datamodule set up otherwise is rebuilt from the checkpoint)."""
    saved = Checkpoint.read(checkpoint)
    trained = input_settings(saved.require_data_settings(), {}, checkpoint)
    if any(getattr(datamodule, key) != value for key, value in trained.items()):
        datamodule = datamodule_from_checkpoint(
            saved, batch_size=datamodule.batch_size, num_workers=datamodule.num_workers
        )
        datamodule.setup("validate")
    predictor = Predictor.from_checkpoints([checkpoint], tta=tta)
    outputs = predict_trainer(accelerator, 1, precision).predict(predictor, dataloaders=datamodule.val_dataloader())
    probs = torch.cat([o["probs"] for o in outputs]).numpy()
    table = datamodule.train_table.loc[datamodule.val_rows]
    return probs_table(
        probs,
        table["image"].tolist(),
        predictor.class_names,
        {"label": table["label"].tolist(), "fold": [datamodule.fold] * len(table)},
    )


def oof_classes(oof: pd.DataFrame) -> list[str]:
    """The class columns of an out-of-fold table, in order."""
    return [c for c in oof.columns if c not in OOF_COLUMNS]


def cv_accuracy(oof: pd.DataFrame, class_names: Optional[list[str]] = None) -> float:
    """Accuracy of the out-of-fold argmax over all its rows."""
    class_names = class_names or oof_classes(oof)
    predicted = np.asarray(class_names)[oof[class_names].to_numpy().argmax(axis=1)]
    return float((predicted == oof["label"].to_numpy()).mean())


def read_oof(path: str | Path) -> pd.DataFrame:
    """An out-of-fold table (`leaves kfold`'s oof.csv: image, label, fold, one column per class), checked."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: leaves kfold writes the out-of-fold probabilities it names")
    table = pd.read_csv(path)
    missing = [c for c in ("image", "label") if c not in table.columns]
    if missing:
        raise DataError(f"{path} has no column {', '.join(missing)}: expected leaves kfold's {OOF_CSV}")
    classes = oof_classes(table)
    unknown = table.index[~table["label"].astype(str).isin(classes)]
    if len(unknown):
        raise DataError(
            f"{path}: line {int(unknown[0]) + 2} has label {table.loc[unknown[0], 'label']!r}, which has no "
            f"probability column ({len(unknown)} such rows)"
        )
    return table
