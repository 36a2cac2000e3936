"""Predicting with several checkpoints at once: folds or different backbones.

The ensemble is itself a LightningModule, so it predicts through the same
Trainer, DataModule and SubmissionWriter as `leaves predict`: the same
checks, the same submission history, and one checkpoint gives exactly the
plain prediction.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Optional

import lightning as L
import torch
import torch.nn as nn
from lightning.pytorch.utilities import rank_zero_info

from leaves.data.as_trained import input_settings, read_data_settings
from leaves.data.datamodule import datamodule_from_checkpoint
from leaves.errors import ClassListMismatch, ConfigError
from leaves.inference.predictor import predict_trainer
from leaves.inference.probs import check_probs_path
from leaves.inference.selfcheck import report_self_check
from leaves.inference.selfcheck import self_check as run_self_check
from leaves.inference.submission import SubmissionWriter
from leaves.models.module import LeavesModule
from leaves.models.tta import View


def check_same_classes(named: dict[str, Sequence[str]]) -> list[str]:
    """The shared class list of the named members, or an error saying which member differs and how."""
    (first, reference), *rest = named.items()
    for name, classes in rest:
        if list(classes) != list(reference):
            missing = sorted(set(reference) - set(classes))[:5]
            extra = sorted(set(classes) - set(reference))[:5]
            detail = f"lacks {missing}, has {extra}" if missing or extra else "lists them in another order"
            raise ClassListMismatch(
                f"{name} has {len(classes)} classes, {first} has {len(reference)}: it {detail}. "
                "An ensemble averages probabilities class by class, so every checkpoint must be "
                "trained on the same train.csv class list"
            )
    return list(reference)


class Ensemble(L.LightningModule):
    """The weighted mean of its members' (test-time augmented) probabilities.

    Each member normalises the uint8 batch itself, so backbones with different
    input statistics can be mixed.
    """

    def __init__(
        self,
        members: Sequence[LeavesModule],
        weights: Optional[Sequence[float]] = None,
        names: Optional[Sequence[str]] = None,
    ) -> None:
        super().__init__()
        names = list(names) if names is not None else [f"member {i}" for i in range(len(members))]
        if not members:
            raise ConfigError("an ensemble needs at least one checkpoint")
        self.names = names
        self._class_names = check_same_classes({n: m.class_names for n, m in zip(names, members)})
        weights = [1.0] * len(members) if weights is None else list(weights)
        if len(weights) != len(members) or any(w < 0 for w in weights) or sum(weights) <= 0:
            raise ConfigError(f"weights must be {len(members)} non-negative numbers, not all zero; got {weights}")
        self.members = nn.ModuleList(members)
        self.weights = [w / sum(weights) for w in weights]

    @property
    def class_names(self) -> list[str]:
        return list(self._class_names)

    def on_predict_start(self) -> None:
        for member in self.members:  # each member predicts as it would alone (BN folded when its fuse_bn is on)
            member.on_predict_start()

    def on_predict_end(self) -> None:
        for member in self.members:
            member.on_predict_end()

    def predict_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> dict[str, torch.Tensor]:
        images, rows = batch
        probs = sum(w * m.predict_probs(m.normalize(images)) for w, m in zip(self.weights, self.members))
        return {"probs": probs, "rows": rows}


def _member_sizes(checkpoints: Sequence[Path], image_size: Optional[int]) -> list[int]:
    """Each member's input size: its training size, or `image_size` when given (warned about where it differs)."""
    sizes = []
    for ckpt in checkpoints:
        chosen = input_settings(read_data_settings(ckpt), {"image_size": image_size}, ckpt)
        sizes.append(int(chosen["image_size"]))
    return sizes


def predict_ensemble(
    checkpoints: list[Path],
    weights: Optional[list[float]] = None,
    tta: Optional[list[View]] = None,
    data_dir: Optional[str] = None,
    demo_dir: Optional[str] = None,
    image_size: Optional[int] = None,
    batch_size: Optional[int] = None,
    num_workers: Optional[int] = None,
    output_dir: str = "submissions",
    save_probs: Optional[str] = None,
    accelerator: str = "auto",
    precision: Optional[str] = None,
    self_check: bool = True,
    strict: bool = False,
) -> Path:
    """Average the checkpoints' probabilities on test.csv and write submissions/submission.csv.

    Every member sees the input it was trained with: members trained at different image sizes each
    get their own pass over test.csv at their size (one pass per distinct size).

    Args:
        checkpoints: .ckpt files (all folds of leaves kfold, or different backbones).
        weights: one per checkpoint (normalised); default: equal.
        tta: test-time views for every member (see model.tta); default: none.
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
    missing = [str(c) for c in checkpoints if not Path(c).is_file()]
    if missing:
        raise FileNotFoundError(f"checkpoint(s) not found: {', '.join(missing)}")
    if save_probs:
        check_probs_path(save_probs)
    members = [LeavesModule.load_from_checkpoint(c, map_location="cpu", tta=tta) for c in checkpoints]
    ensemble = Ensemble(members, weights, names=[str(c) for c in checkpoints])
    sizes = _member_sizes(checkpoints, image_size)
    folder = data_dir if data_dir is not None else read_data_settings(checkpoints[0]).get("data_dir")
    loading = {"data_dir": folder, "demo_dir": demo_dir, "batch_size": batch_size, "num_workers": num_workers}

    if self_check:
        for ckpt, member, size in zip(checkpoints, members, sizes):
            checked = run_self_check(
                ckpt, member, size, data_dir, demo_dir, batch_size, num_workers, accelerator, precision
            )
            report_self_check(checked, strict)

    shown = ", ".join(f"{c} ({s} px, weight {w:.3g})" for c, s, w in zip(checkpoints, sizes, ensemble.weights))
    rank_zero_info(f"Ensemble of {len(members)}: {shown}; TTA views: {', '.join(members[0].tta)}")
    total: Optional[torch.Tensor] = None
    for size in dict.fromkeys(sizes):  # one pass per distinct size, in order of first appearance
        group = [i for i, s in enumerate(sizes) if s == size]
        first = checkpoints[group[0]]
        datamodule = datamodule_from_checkpoint(first, **loading, image_size=size)
        part = Ensemble([members[i] for i in group], [ensemble.weights[i] for i in group])
        trainer = predict_trainer(accelerator, 1, precision, progress_bar=True)
        outputs = trainer.predict(part, datamodule=datamodule, return_predictions=True)
        rows = torch.cat([o["rows"] for o in outputs])
        probs = torch.cat([o["probs"] for o in outputs])[torch.argsort(rows)]
        share = sum(ensemble.weights[i] for i in group)
        total = probs * share if total is None else total + probs * share
    train_csv = datamodule.root / "train.csv"
    writer = SubmissionWriter(output_dir=output_dir, probs_path=save_probs)
    return writer.write(
        total,
        torch.arange(len(total)),
        datamodule.test_table["image"].tolist(),
        ensemble.class_names,
        ", ".join(map(str, checkpoints)),
        datamodule.train_table["label"].tolist() if train_csv.is_file() else None,
    )
