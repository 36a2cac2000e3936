"""From checkpoints to a checked submission: the self-check of every member, then the prediction of test.csv.

`leaves predict` is this with one checkpoint and the Trainer and DataModule
of its config (any devices, DDP included); `leaves ensemble` is the same
members' path on one device for several checkpoints (`leaves.inference.ensemble`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Optional

import lightning as L

from leaves.data.datamodule import LeavesDataModule
from leaves.inference.predictor import Predictor
from leaves.inference.selfcheck import report_self_check, self_check
from leaves.inference.tta import View
from leaves.utils.checkpoint import Checkpoint


def check_members(
    predictor: Predictor,
    checkpoints: Sequence[str | Path],
    sizes: Sequence[Optional[int]],
    data_dir: Optional[str],
    demo_dir: Optional[str],
    batch_size: Optional[int],
    num_workers: Optional[int],
    accelerator: object,
    precision: Optional[str],
    strict: bool,
) -> None:
    """The self-check of each member, through exactly its part of `predictor`, at the size it predicts at;
    a failure warns (or, `strict`, raises before anything is written)."""
    for i, (ckpt, size) in enumerate(zip(checkpoints, sizes)):
        result = self_check(
            Checkpoint.read(ckpt),
            predictor.subset([i]),
            size,
            data_dir,
            demo_dir,
            batch_size,
            num_workers,
            accelerator,
            precision,
        )
        report_self_check(result, strict)


def predict_submission(
    checkpoints: Sequence[str | Path],
    datamodule: LeavesDataModule,
    trainer: L.Trainer,
    weights: Optional[Sequence[float]] = None,
    tta: Optional[Sequence[View]] = None,
    fuse_bn: bool = True,
    self_check: bool = True,
    strict: bool = False,
) -> Predictor:
    """Predict `datamodule`'s test.csv with the checkpoints' models (their weighted mean), through
    `trainer`, whose `SubmissionWriter` writes the checked submission; first the self-check of each
    (`strict`: a failure is an error and nothing is written). Every member predicts at `datamodule`'s size."""
    predictor = Predictor.from_checkpoints(checkpoints, weights, tta, fuse_bn)
    if self_check:
        hp = datamodule.hparams
        check_members(
            predictor,
            checkpoints,
            [datamodule.image_size] * len(checkpoints),
            hp.get("data_dir"),
            hp.get("demo_dir"),
            datamodule.batch_size,
            datamodule.num_workers,
            trainer.accelerator,
            trainer.precision,
            strict,
        )
    trainer.predict(predictor, datamodule=datamodule)
    return predictor
