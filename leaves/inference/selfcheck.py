"""A self-check before every submission: does the prediction path still score the model's own validation split?

A submission can be valid in form and wrong in substance (another image size,
another normalisation, a data folder that changed, a TTA view that hurts, a
precision that breaks the model). Nothing says so until the leaderboard does.
So before predict or ensemble reports success, the checkpoint's own
validation split (rebuilt from its data settings) goes through exactly the
prediction path (the same `Predictor`: TTA, BN folding, precision and input
size) and its accuracy is compared with the one recorded when the checkpoint
was saved.

Noise: the rescored accuracy is a binomial proportion over n images, so a drop
counts only when it is both more than `MIN_DROP` (2 points) and more than
`SIGMAS` (3) standard errors, sqrt(p (1 - p) / n) at the recorded p. Only
drops are flagged: a rise (TTA that helps, precise BN) is reported, not feared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import torch
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

from leaves.data.datamodule import datamodule_from_checkpoint
from leaves.errors import DataError, SelfCheckError
from leaves.inference.predictor import Predictor
from leaves.inference.trainer import predict_trainer
from leaves.layout import TRAIN_CSV
from leaves.utils.checkpoint import Checkpoint

MIN_DROP = 0.02
SIGMAS = 3.0

LIKELY_CAUSES = (
    "another image size than the training one (data.image_size)",
    "another normalisation (model mean/std) than the training one",
    f"a data folder whose {TRAIN_CSV} or images changed since training",
    "a TTA view that hurts this model (--tta)",
    "a precision the model does not tolerate (trainer.precision), or BN folding (--fuse_bn)",
)


class SelfCheckWarning(UserWarning):
    """The prediction path scores the validation split far below the training record."""


@dataclass(frozen=True)
class SelfCheck:
    """The outcome: `skipped` says why there was nothing to compare; otherwise both accuracies."""

    checkpoint: str
    recorded: Optional[float] = None
    rescored: Optional[float] = None
    images: int = 0
    skipped: Optional[str] = None

    @property
    def tolerance(self) -> float:
        """The largest drop still counted as noise."""
        p = self.recorded if self.recorded is not None else 0.0
        return max(MIN_DROP, SIGMAS * math.sqrt(p * (1 - p) / max(self.images, 1)))

    @property
    def failed(self) -> bool:
        if self.skipped is not None or self.recorded is None or self.rescored is None:
            return False
        return self.recorded - self.rescored > self.tolerance

    def message(self) -> str:
        if self.skipped is not None:
            return f"Self-check of {self.checkpoint} skipped: {self.skipped}"
        line = (
            f"validation accuracy {self.rescored:.4f} through the prediction path vs {self.recorded:.4f} recorded "
            f"at training ({self.images} validation images; noise allowance {self.tolerance:.4f})"
        )
        if not self.failed:
            return f"Self-check of {self.checkpoint} passed: {line}"
        causes = "\n  - ".join(LIKELY_CAUSES)
        return (
            f"SELF-CHECK FAILED for {self.checkpoint}: {line}. This submission is likely much worse than the "
            f"model. Likely causes:\n  - {causes}"
        )


def _data_source(saved: dict[str, Any], data_dir: Optional[str], demo_dir: Optional[str]) -> dict[str, Any]:
    """Where the validation split is read: the folder predict was given when it holds a train.csv (the
    data moved), else the one the checkpoint trained on."""
    if data_dir is not None and (Path(data_dir) / saved.get("train_csv", TRAIN_CSV)).is_file():
        return {"data_dir": data_dir}
    if saved.get("data_dir") is None and demo_dir is not None:
        return {"demo_dir": demo_dir}
    return {}


def self_check(
    checkpoint: Checkpoint,
    predictor: Predictor,
    image_size: Optional[int] = None,
    data_dir: Optional[str] = None,
    demo_dir: Optional[str] = None,
    batch_size: Optional[int] = None,
    num_workers: Optional[int] = None,
    accelerator: Any = "auto",
    precision: Optional[str] = None,
) -> SelfCheck:
    """Rescore `checkpoint`'s validation split with `predictor` (its one member holds the checkpoint's
    weights and predicts exactly as the submission does), at `image_size` (the size the submission uses)."""
    name = str(checkpoint.path)
    saved, recorded = checkpoint.data_settings, checkpoint.recorded_val_acc
    if saved is None:
        return SelfCheck(name, skipped="the checkpoint holds no data settings (not written by leaves fit)")
    if recorded is None:
        return SelfCheck(name, skipped="the checkpoint records no validation accuracy for its weights")
    source = _data_source(saved, data_dir, demo_dir)
    root = Path(source.get("data_dir") or saved.get("data_dir") or source.get("demo_dir") or saved.get("demo_dir"))
    train_csv = root / saved.get("train_csv", TRAIN_CSV)
    if not train_csv.is_file():
        return SelfCheck(name, recorded, skipped=f"the training data is not there ({train_csv} not found)")
    # Not cached: building the whole train.csv cache for a tenth of it costs more than decoding that tenth.
    datamodule = datamodule_from_checkpoint(
        checkpoint, cache=False, batch_size=batch_size, num_workers=num_workers, **source
    )
    if image_size is not None:
        datamodule.image_size = image_size  # the submission's size, warned about by the caller if not as trained
    try:
        if datamodule.class_names != predictor.class_names:
            return SelfCheck(name, recorded, skipped=f"{train_csv} no longer has the checkpoint's classes")
        datamodule.setup("validate")
    except DataError as err:  # the training folder changed: say so, but it must not block predicting test.csv
        return SelfCheck(name, recorded, skipped=f"the training data cannot be read as it was: {err}")
    trainer = predict_trainer(accelerator, 1, precision)
    outputs = trainer.predict(predictor, dataloaders=datamodule.val_dataloader(), return_predictions=True)
    probs = torch.cat([o["probs"] for o in outputs])
    labels = torch.cat([o["rows"] for o in outputs])  # validation batches carry labels where test ones carry rows
    rescored = float((probs.argmax(dim=1) == labels).float().mean())
    return SelfCheck(name, recorded, rescored, len(labels))


def report_self_check(result: SelfCheck, strict: bool) -> None:
    """Say the outcome; a failure is a loud warning, or with `strict` an error (nothing is written)."""
    if not result.failed:
        rank_zero_info(result.message())
        return
    if strict:
        raise SelfCheckError(result.message() + "\n--strict: no submission was written.")
    rank_zero_warn(result.message() + "\n(--strict true makes this an error.)", category=SelfCheckWarning)
