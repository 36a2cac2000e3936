"""A self-check before every submission: does the prediction path still score the model's own validation split?

A submission can be valid in form and wrong in substance (another image size,
another normalisation, a data folder that changed, a TTA view that hurts, a
precision that breaks the model). Nothing says so until the leaderboard does.
So before predict or ensemble reports success, the checkpoint's own
validation split (rebuilt from its data settings) goes through exactly the
prediction path (the same module, `predict_step`, TTA, BN folding, precision
and input size) and its accuracy is compared with the one recorded when the
checkpoint was saved.

Noise: the rescored accuracy is a binomial proportion over n images, so a drop
counts only when it is both more than `MIN_DROP` (2 points) and more than
`SIGMAS` (3) standard errors, sqrt(p (1 - p) / n) at the recorded p. Only
drops are flagged: a rise (TTA that helps, precise BN) is reported, not feared.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pandas as pd
import torch
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

from leaves.data.as_trained import saved_data_settings
from leaves.data.datamodule import datamodule_from_checkpoint
from leaves.errors import DataError, SelfCheckError
from leaves.inference.predictor import predict_trainer
from leaves.models.module import LeavesModule

MIN_DROP = 0.02
SIGMAS = 3.0
#: A degenerate submission: a class predicted more than CROWD_FACTOR x its training share and on more than
#: CROWD_FLOOR of the rows; or fewer than half the classes when there are MIN_ROWS_PER_CLASS rows per class.
CROWD_FACTOR = 3.0
CROWD_FLOOR = 0.05
MIN_ROWS_PER_CLASS = 5
MIN_ROWS = 30

LIKELY_CAUSES = (
    "another image size than the training one (data.image_size)",
    "another normalisation (model mean/std) than the training one",
    "a data folder whose train.csv or images changed since training",
    "a TTA view that hurts this model (model.tta)",
    "a precision the model does not tolerate (trainer.precision), or BN folding (model.fuse_bn)",
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


def recorded_val_acc(checkpoint: dict[str, Any], ckpt_path: str | Path) -> Optional[float]:
    """The val_acc of exactly these weights, as recorded when the checkpoint was saved: the module's own
    record (`LeavesModule.on_save_checkpoint`), else ModelCheckpoint's best score when this file is its best."""
    record = checkpoint.get("validation")
    if record and record.get("global_step") == checkpoint.get("global_step"):
        return float(record["val_acc"])
    for key, state in checkpoint.get("callbacks", {}).items():
        if key.startswith("ModelCheckpoint") and "'monitor': 'val_acc'" in key:
            best, score = state.get("best_model_path"), state.get("best_model_score")
            if best and score is not None and Path(best).name == Path(ckpt_path).name:
                return float(score)
    return None


def _data_source(saved: dict[str, Any], data_dir: Optional[str], demo_dir: Optional[str]) -> dict[str, Any]:
    """Where the validation split is read: the folder predict was given when it holds a train.csv (the
    data moved), else the one the checkpoint trained on."""
    if data_dir is not None and (Path(data_dir) / "train.csv").is_file():
        return {"data_dir": data_dir}
    if saved.get("data_dir") is None and demo_dir is not None:
        return {"demo_dir": demo_dir}
    return {}


def self_check(
    ckpt_path: str | Path,
    module: LeavesModule,
    image_size: Optional[int] = None,
    data_dir: Optional[str] = None,
    demo_dir: Optional[str] = None,
    batch_size: Optional[int] = None,
    num_workers: Optional[int] = None,
    accelerator: Any = "auto",
    precision: Optional[str] = None,
) -> SelfCheck:
    """Rescore `ckpt_path`'s validation split with `module` (loaded with the checkpoint's weights and
    set up to predict exactly as the submission does), at `image_size` (the size the submission uses)."""
    name = str(ckpt_path)
    checkpoint = torch.load(ckpt_path, map_location="cpu", weights_only=False, mmap=True)
    saved = saved_data_settings(ckpt_path)
    recorded = recorded_val_acc(checkpoint, ckpt_path)
    if saved is None:
        return SelfCheck(name, skipped="the checkpoint holds no data settings (not written by leaves fit)")
    if recorded is None:
        return SelfCheck(name, skipped="the checkpoint records no validation accuracy for its weights")
    source = _data_source(saved, data_dir, demo_dir)
    root = Path(source.get("data_dir") or saved.get("data_dir") or source.get("demo_dir") or saved.get("demo_dir"))
    if not (root / "train.csv").is_file():
        return SelfCheck(name, recorded, skipped=f"the training data is not there ({root / 'train.csv'} not found)")
    # Not cached: building the whole train.csv cache for a tenth of it costs more than decoding that tenth.
    datamodule = datamodule_from_checkpoint(
        ckpt_path, cache=False, batch_size=batch_size, num_workers=num_workers, **source
    )
    if image_size is not None:
        datamodule.image_size = image_size  # the submission's size, warned about by the caller if not as trained
    try:
        datamodule.setup("validate")
    except DataError as err:  # the training folder changed: say so, but it must not block predicting test.csv
        return SelfCheck(name, recorded, skipped=f"the training data cannot be read as it was: {err}")
    if datamodule.class_names != module.class_names:
        return SelfCheck(name, recorded, skipped=f"{root / 'train.csv'} no longer has the checkpoint's classes")
    trainer = predict_trainer(accelerator, 1, precision)
    outputs = trainer.predict(module, dataloaders=datamodule.val_dataloader(), return_predictions=True)
    probs = torch.cat([o["probs"] for o in outputs])
    labels = torch.cat([o["rows"] for o in outputs])  # validation batches carry labels where test ones carry rows
    rescored = float((probs.argmax(dim=1) == labels).float().mean())
    return SelfCheck(name, recorded, rescored, len(labels))


def check_before_predict(ckpt_path: str | Path, model: LeavesModule, datamodule: Any, trainer: Any) -> SelfCheck:
    """The self-check of `model` (not yet loaded) about to predict `ckpt_path` with `trainer` on `datamodule`:
    a copy loaded with the checkpoint's weights goes through the same path at the same input size."""
    module = copy.deepcopy(model)
    checkpoint = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    module.on_load_checkpoint(checkpoint)
    module.load_state_dict(checkpoint["state_dict"])
    hp = datamodule.hparams
    return self_check(
        ckpt_path,
        module,
        image_size=datamodule.image_size,
        data_dir=hp.get("data_dir"),
        demo_dir=hp.get("demo_dir"),
        batch_size=datamodule.batch_size,
        num_workers=datamodule.num_workers,
        accelerator=trainer.accelerator,
        precision=trainer.precision,
    )


def report_self_check(result: SelfCheck, strict: bool) -> None:
    """Say the outcome; a failure is a loud warning, or with `strict` an error (nothing is written)."""
    if not result.failed:
        rank_zero_info(result.message())
        return
    if strict:
        raise SelfCheckError(result.message() + "\n--strict: no submission was written.")
    rank_zero_warn(result.message() + "\n(--strict true makes this an error.)", category=SelfCheckWarning)


class DegenerateSubmissionWarning(UserWarning):
    """A submission that a sane model would not produce: one class everywhere, or too few classes."""


def degenerate_submission(
    labels: Sequence[str], class_names: Sequence[str], train_labels: Optional[Sequence[str]] = None
) -> list[str]:
    """What looks degenerate about predicted `labels` (empty: nothing): a class taking more than
    `CROWD_FACTOR` times its training share and over `CROWD_FLOOR` of the rows, or, on a test set of at
    least `MIN_ROWS_PER_CLASS` rows per class, fewer than half the classes predicted at all.
    Small test sets (under `MIN_ROWS` rows) are too noisy to judge."""
    n, k = len(labels), len(class_names)
    if n < MIN_ROWS or k < 2:
        return []
    predicted = pd.Series(list(labels)).value_counts(normalize=True)
    if train_labels is not None and len(train_labels):
        share = pd.Series(list(train_labels)).value_counts(normalize=True)
    else:
        share = pd.Series(1.0 / k, index=list(class_names))
    problems = []
    for label, fraction in predicted.items():
        expected = float(share.get(label, 1.0 / k))
        if fraction > CROWD_FACTOR * expected and fraction > CROWD_FLOOR:
            problems.append(f"{label!r} is {fraction:.1%} of the predictions but {expected:.1%} of the training images")
    if n >= MIN_ROWS_PER_CLASS * k and len(predicted) < k / 2:
        problems.append(f"only {len(predicted)} of {k} classes are predicted on {n} images")
    return problems


def warn_if_degenerate(
    labels: Sequence[str], class_names: Sequence[str], train_labels: Optional[Sequence[str]] = None
) -> list[str]:
    """Warn (once, listing every sign) when the submission looks degenerate; returns the signs."""
    problems = degenerate_submission(labels, class_names, train_labels)
    if problems:
        shown = "\n  - ".join(problems[:10])
        rank_zero_warn(
            f"DEGENERATE SUBMISSION? {len(problems)} sign(s):\n  - {shown}\nA sane model spreads its predictions "
            "roughly like the training classes: check the self-check above, the image size and the checkpoint.",
            category=DegenerateSubmissionWarning,
        )
    return problems
