"""Predicting with several checkpoints at once: folds or different backbones, each at its own input size.

The members form one `Predictor`, so they predict through the same path,
checks and submission history as `leaves predict`, and one checkpoint gives
exactly the plain prediction.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Optional

import torch
from lightning.pytorch.utilities import rank_zero_info

from leaves.data.as_trained import input_settings
from leaves.data.datamodule import datamodule_from_checkpoint
from leaves.errors import ConfigError
from leaves.inference.predictor import Predictor
from leaves.inference.probs import check_probs_path
from leaves.inference.submission import SubmissionWriter
from leaves.inference.submit import check_members
from leaves.inference.trainer import predict_trainer
from leaves.inference.tta import View
from leaves.layout import SUBMISSIONS_DIR
from leaves.utils.checkpoint import Checkpoint


def member_sizes(checkpoints: Sequence[Checkpoint], image_size: Optional[int]) -> list[int]:
    """Each member's input size: its training size, or `image_size` when given (warned about where it differs)."""
    sizes = []
    for ckpt in checkpoints:
        chosen = input_settings(ckpt.require_data_settings(), {"image_size": image_size}, ckpt.path)
        sizes.append(int(chosen["image_size"]))
    return sizes


def predict_ensemble(
    checkpoints: list[Path],
    weights: Optional[list[float]] = None,
    tta: Optional[list[View]] = None,
    fuse_bn: bool = True,
    data_dir: Optional[str] = None,
    demo_dir: Optional[str] = None,
    image_size: Optional[int] = None,
    batch_size: Optional[int] = None,
    num_workers: Optional[int] = None,
    output_dir: str = SUBMISSIONS_DIR,
    save_probs: Optional[str] = None,
    accelerator: str = "auto",
    precision: Optional[str] = None,
    self_check: bool = True,
    strict: bool = False,
) -> Path:
    """Average the checkpoints' probabilities on test.csv and write the checked submission.csv.

    Every member sees the input it was trained with: members trained at different image sizes each
    get their own pass over test.csv at their size (one pass per distinct size).

    Args:
        checkpoints: .ckpt files (all folds of leaves kfold, or different backbones).
        weights: one per checkpoint (normalised); default: equal.
        tta: test-time views for every member; default: none.
        fuse_bn: predict with BatchNorm folded into the convolutions.
        data_dir: the Kaggle folder; default: the one the first checkpoint was trained on.
        demo_dir: the demo data folder, for checkpoints trained on the demo data.
        image_size: every member's input size; default: each member's own training size.
        batch_size: default: the first checkpoint's.
        num_workers: loader processes; default: one per usable core.
        output_dir: where submission.csv and its timestamped copies go.
        save_probs: also save the averaged probabilities (.npy or .csv with class columns).
        accelerator: as for the Trainer.
        precision: as for the Trainer (e.g. bf16-mixed); default: 32-true.
        self_check: before predicting, rescore each member's validation split through this path
            (`leaves.inference.selfcheck`) and compare with its training record.
        strict: a failed self-check is an error: nothing is written.
    """
    if not checkpoints:
        raise ConfigError('give at least one checkpoint: leaves ensemble "[a.ckpt, b.ckpt]"')
    if save_probs:
        check_probs_path(save_probs)
    predictor = Predictor.from_checkpoints(checkpoints, weights, tta, fuse_bn)
    saved = [Checkpoint.read(c) for c in checkpoints]
    sizes = member_sizes(saved, image_size)
    folder = data_dir if data_dir is not None else saved[0].require_data_settings().get("data_dir")
    loading = {"data_dir": folder, "demo_dir": demo_dir, "batch_size": batch_size, "num_workers": num_workers}
    if self_check:
        check_members(
            predictor, checkpoints, sizes, data_dir, demo_dir, batch_size, num_workers, accelerator, precision, strict
        )

    shown = ", ".join(f"{c} ({s} px, weight {w:.3g})" for c, s, w in zip(checkpoints, sizes, predictor.weights))
    rank_zero_info(f"Ensemble of {len(checkpoints)}: {shown}; TTA views: {', '.join(predictor.tta)}")
    total: Optional[torch.Tensor] = None
    for size in dict.fromkeys(sizes):  # one pass per distinct size, in order of first appearance
        group = [i for i, s in enumerate(sizes) if s == size]
        datamodule = datamodule_from_checkpoint(saved[group[0]], **loading, image_size=size)
        trainer = predict_trainer(accelerator, 1, precision, progress_bar=True)
        outputs = trainer.predict(predictor.subset(group), datamodule=datamodule, return_predictions=True)
        rows = torch.cat([o["rows"] for o in outputs])
        probs = torch.cat([o["probs"] for o in outputs])[torch.argsort(rows)]
        share = sum(predictor.weights[i] for i in group)
        total = probs * share if total is None else total + probs * share
    writer = SubmissionWriter(output_dir=output_dir, probs_path=save_probs)
    return writer.write(
        total,
        torch.arange(len(total)),
        datamodule.test_images,
        predictor.class_names,
        predictor.source,
        datamodule.train_labels,
    )
