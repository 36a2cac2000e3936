"""Writing `submission.csv`: checked before it is reported, never lost or clobbered."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

import lightning as L
import pandas as pd
import torch
import torch.distributed as dist
from lightning.pytorch.callbacks import BasePredictionWriter
from lightning.pytorch.utilities import rank_zero_info

from leaves.errors import DataError
from leaves.inference.degenerate import warn_if_degenerate
from leaves.inference.probs import check_probs_path, save_probs
from leaves.layout import SUBMISSION_CSV, SUBMISSIONS_DIR, TEST_CSV
from leaves.utils.atomic import atomic_write_csv


def validate_submission(submission: pd.DataFrame, test_images: Sequence[str], class_names: Sequence[str]) -> None:
    """Raise DataError unless `submission` is exactly what Kaggle scores: `image,label`,
    one row per test.csv row in test.csv order, every label a known class."""
    if list(submission.columns) != ["image", "label"]:
        raise DataError(f"submission columns must be image,label; got {','.join(map(str, submission.columns))}")
    if len(submission) != len(test_images):
        raise DataError(f"submission has {len(submission)} rows; {TEST_CSV} has {len(test_images)}")
    wrong = [i for i, (a, b) in enumerate(zip(submission["image"], test_images)) if a != b]
    if wrong:
        i = wrong[0]
        raise DataError(
            f"submission row {i + 2} is {submission['image'].iloc[i]!r} but {TEST_CSV} row {i + 2} is "
            f"{test_images[i]!r} ({len(wrong)} rows differ): rows must follow {TEST_CSV} order"
        )
    unknown = sorted(set(submission["label"]) - set(class_names))
    if unknown:
        raise DataError(f"submission has labels that are not classes: {', '.join(map(str, unknown[:10]))}")


def _unique_stamped(directory: Path, stem: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = directory / f"{stem}-{stamp}.csv"
    n = 1
    while path.exists():
        path = directory / f"{stem}-{stamp}-{n}.csv"
        n += 1
    return path


def save_submission(table: pd.DataFrame, directory: str | Path) -> tuple[Path, Path]:
    """Write a timestamped copy and make `submission.csv` the latest.

    A `submission.csv` that is not one of our timestamped copies (say, edited by
    hand) is kept under a new name rather than replaced.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stamped = _unique_stamped(directory, "submission")
    atomic_write_csv(table, stamped)
    latest = directory / SUBMISSION_CSV
    if latest.exists():
        content = latest.read_bytes()
        ours = any(p.read_bytes() == content for p in directory.glob("submission-*.csv") if p != stamped)
        if not ours:
            kept = _unique_stamped(directory, "submission-previous")
            latest.rename(kept)
            rank_zero_info(f"Kept the previous {latest} as {kept}")
    atomic_write_csv(table, latest)
    return latest, stamped


def _gather(obj: Any, trainer: L.Trainer) -> list[Any]:
    if trainer.world_size > 1 and dist.is_available() and dist.is_initialized():
        out: list[Any] = [None] * trainer.world_size
        dist.all_gather_object(out, obj)
        return out
    return [obj]


class SubmissionWriter(BasePredictionWriter):
    """Turns predicted probabilities into a checked `submission.csv`.

    Args:
        output_dir: folder for `submission.csv` and its timestamped copies.
        probs_path: also save the probabilities there (`.npy` or `.csv` with
            class columns, test.csv order) for blending; never overwrites a file.
    """

    def __init__(self, output_dir: str = SUBMISSIONS_DIR, probs_path: Optional[str] = None) -> None:
        super().__init__(write_interval="epoch")
        self.output_dir = Path(output_dir)
        self.probs_path = probs_path
        self.last_written: Optional[Path] = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage == "predict" and self.probs_path and trainer.global_rank == 0:
            check_probs_path(self.probs_path)  # before predicting, not after

    def write_on_epoch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, predictions: Sequence[Any], batch_indices: Any
    ) -> None:
        probs = torch.cat([p["probs"] for p in predictions]).cpu()
        rows = torch.cat([p["rows"] for p in predictions]).cpu()
        parts = _gather((probs, rows), trainer)
        if trainer.global_rank != 0:
            return
        probs = torch.cat([p for p, _ in parts])
        rows = torch.cat([r for _, r in parts])
        # DistributedSampler pads with repeated rows; keep one of each, in test.csv order.
        order = torch.argsort(rows, stable=True)
        rows, probs = rows[order], probs[order]
        keep = torch.ones_like(rows, dtype=torch.bool)
        keep[1:] = rows[1:] != rows[:-1]
        rows, probs = rows[keep], probs[keep]

        datamodule = trainer.datamodule
        source = getattr(pl_module, "source", None) or trainer.ckpt_path
        self.write(probs, rows, datamodule.test_images, pl_module.class_names, source, datamodule.train_labels)

    def write(
        self,
        probs: torch.Tensor,
        rows: torch.Tensor,
        test_images: Sequence[str],
        class_names: Sequence[str],
        source: Optional[str] = None,
        train_labels: Optional[Sequence[str]] = None,
    ) -> Path:
        """Check and save the submission of `probs` (one row per test.csv `rows` entry); warn when it
        looks degenerate against the training labels' shares."""
        labels = [class_names[i] for i in probs.argmax(dim=1).tolist()]
        table = pd.DataFrame({"image": [test_images[i] for i in rows.tolist()], "label": labels})
        validate_submission(table, test_images, class_names)
        warn_if_degenerate(labels, class_names, train_labels)
        latest, stamped = save_submission(table, self.output_dir)
        self.last_written = latest
        used = source or "the model in memory"
        rank_zero_info(f"Wrote {latest} ({len(table)} rows, copy {stamped.name}) using {used}")
        if self.probs_path:
            saved = save_probs(probs.numpy(), table["image"].tolist(), class_names, self.probs_path)
            rank_zero_info(f"Saved the probabilities to {saved}")
        return latest
