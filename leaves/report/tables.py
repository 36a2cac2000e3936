"""The report's tables: accuracy per class, the most confused pairs, and the per-epoch history."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from leaves.layout import LAST, METRICS_CSV, checkpoint_path
from leaves.utils.checkpoint import Checkpoint


def per_class_table(confmat: torch.Tensor, class_names: list[str]) -> pd.DataFrame:
    """Validation accuracy of each class, worst first, with the class it is most often mistaken for."""
    counts = confmat.sum(dim=1)
    correct = confmat.diagonal()
    off = confmat.clone()
    off.fill_diagonal_(0)
    worst_count, worst_pred = off.max(dim=1)
    table = pd.DataFrame(
        {
            "class": class_names,
            "images": counts.tolist(),
            "correct": correct.tolist(),
            "accuracy": (correct / counts.clamp(min=1)).tolist(),
            "mistaken for": [
                f"{class_names[p]} ({n})" if n > 0 else "" for p, n in zip(worst_pred.tolist(), worst_count.tolist())
            ],
        }
    )
    table = table[table["images"] > 0]
    return table.sort_values(["accuracy", "images", "class"], ascending=[True, False, True], kind="stable")


def confused_pairs(confmat: torch.Tensor, class_names: list[str], top: int = 15) -> pd.DataFrame:
    """The (true, predicted) pairs with the most validation mistakes, most first."""
    off = confmat.clone()
    off.fill_diagonal_(0)
    t, p = off.nonzero(as_tuple=True)
    pairs = pd.DataFrame(
        {
            "true": [class_names[i] for i in t.tolist()],
            "predicted": [class_names[i] for i in p.tolist()],
            "images": off[t, p].tolist(),
            "share of true class": (off[t, p] / confmat.sum(dim=1)[t]).tolist(),
            "_t": t.tolist(),
            "_p": p.tolist(),
        }
    )
    return pairs.sort_values(["images", "_t", "_p"], ascending=[False, True, True]).head(top).reset_index(drop=True)


def matrix_classes(pairs: pd.DataFrame, limit: int) -> list[int]:
    """Classes of the most confused pairs, in order of first appearance, at most `limit`."""
    chosen: list[int] = []
    for t, p in zip(pairs["_t"], pairs["_p"]):
        for c in (int(t), int(p)):
            if c not in chosen and len(chosen) < limit:
                chosen.append(c)
    return chosen


#: The callback whose saved state holds the per-epoch history (`leaves.callbacks.LearningCurves`).
CURVES_STATE = "LearningCurves"


def curves_history(checkpoint: Checkpoint) -> list[dict[str, float]]:
    """The LearningCurves callback's per-epoch history stored in a checkpoint (empty if none)."""
    return list(checkpoint.callback_state(CURVES_STATE).get("history") or [])


def load_history(run_dir: Path, checkpoint: Checkpoint) -> pd.DataFrame:
    """Per-epoch metrics (epoch 1-based), from the run's own record whatever loggers it had.

    The source is the LearningCurves history in the run's `last.ckpt` (saved
    every epoch, so it holds them all), else in `checkpoint`; the CSV logger's
    `metrics.csv` only for a run that has neither (older runs).
    """
    last = checkpoint_path(run_dir, LAST)
    sources = [checkpoint]
    if last.is_file():
        sources.insert(0, Checkpoint.read(last))
    for source in sources:
        history = curves_history(source)
        if history:
            return pd.DataFrame(history).assign(epoch=lambda t: t["epoch"].astype(int) + 1)
    return _csv_history(run_dir / METRICS_CSV)


def _csv_history(csv: Path) -> pd.DataFrame:
    if csv.is_file():
        raw = pd.read_csv(csv)
        if "epoch" in raw:
            # LearningRateMonitor rows carry only a step: they belong to the epoch that follows.
            raw["epoch"] = raw["epoch"].bfill().ffill()
            return (
                raw.drop(columns=["step"], errors="ignore")
                .groupby("epoch")
                .last()
                .reset_index()
                .assign(epoch=lambda t: t["epoch"].astype(int) + 1)
            )
    return pd.DataFrame({"epoch": []})
