"""A model's predictions over its run's validation split: what every part of the report is computed from."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from leaves.data.datamodule import LeavesDataModule
from leaves.inference.predictor import Predictor
from leaves.inference.trainer import predict_trainer


@dataclass
class Evaluation:
    """Predictions of a model over the validation split."""

    probs: torch.Tensor  # (images, classes)
    targets: torch.Tensor  # (images,)
    images: list[str]  # paths relative to root
    root: Path
    class_names: list[str]
    seconds: float

    @property
    def preds(self) -> torch.Tensor:
        return self.probs.argmax(dim=1)


def evaluate(
    predictor: Predictor,
    datamodule: LeavesDataModule,
    accelerator: str = "auto",
    devices: Any = 1,
    precision: str = "32-true",
) -> Evaluation:
    """Run `predictor` over the validation split with a single-device Trainer (device
    placement, precision and normalisation as a submission's)."""
    trainer = predict_trainer(accelerator, devices, precision)
    start = time.perf_counter()
    outputs = trainer.predict(predictor, dataloaders=datamodule.val_dataloader())
    seconds = time.perf_counter() - start
    return Evaluation(
        probs=torch.cat([o["probs"] for o in outputs]).float().cpu(),
        # A labelled set yields the label where the test set yields its row.
        targets=torch.cat([o["rows"] for o in outputs]).cpu(),
        images=list(datamodule.val_images),
        root=datamodule.root,
        class_names=predictor.class_names,
        seconds=seconds,
    )
