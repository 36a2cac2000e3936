"""The figures of a run: learning curves and a confusion matrix as PNG, and image thumbnails.

Every figure is returned as base64 PNG for embedding in the report; the
learning curves are also saved as `learning_curves.png` by the LearningCurves
callback, with the same function.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd
import torch
from PIL import Image, ImageOps

from leaves.layout import LR, TRAIN_ACC, TRAIN_LOSS, VAL_ACC, VAL_LOSS
from leaves.utils.atomic import atomic_file


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(**kwargs: Any) -> Any:
    """A matplotlib Figure outside pyplot: no backend switch, so a notebook's own inline plots keep working,
    and no pyplot import in an IPython kernel (matplotlib 3.7 + IPython 9 fail there)."""
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def curves_figure(history: pd.DataFrame, best_epoch: Optional[int]) -> Optional[str]:
    """Loss, accuracy and learning rate per epoch (1-based), side by side, the best epoch marked; base64 PNG."""
    fig = _curves(history, best_epoch)
    return None if fig is None else _png(fig)


def save_curves(history: pd.DataFrame, path: Path, best_epoch: Optional[int] = None) -> None:
    """The same figure as `curves_figure`, written to `path` (atomically: a viewer never sees half a PNG)."""
    fig = _curves(history, best_epoch)
    if fig is None:
        return
    with atomic_file(path) as f:
        fig.savefig(f, format="png")


def _curves(history: pd.DataFrame, best_epoch: Optional[int]) -> Any:
    if history.empty:
        return None
    from matplotlib.ticker import MaxNLocator

    fig = _figure(figsize=(12, 3.6), dpi=100)
    axes = fig.subplots(1, 3)
    lr_columns = [c for c in history.columns if c == LR or c.startswith(f"{LR}-")]
    panels = (
        ("loss", [TRAIN_LOSS, VAL_LOSS]),
        ("accuracy", [TRAIN_ACC, VAL_ACC]),
        ("learning rate", lr_columns[:1]),
    )
    for ax, (title, columns) in zip(axes, panels):
        for column in columns:
            if column in history and history[column].notna().any():
                points = history[["epoch", column]].dropna()
                label = (
                    "epoch mean"
                    if column == "lr"
                    else "at epoch start"
                    if column.startswith("lr")
                    else column.replace("_", " ")
                )
                ax.plot(points["epoch"], points[column], marker="o", markersize=3, label=label)
        if best_epoch is not None:
            ax.axvline(best_epoch, color="grey", linestyle=":", label=f"best epoch ({best_epoch})")
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    axes[1].set_ylim(0, 1.02)
    fig.tight_layout()
    return fig


def matrix_figure(confmat: torch.Tensor, classes: list[int], class_names: list[str]) -> Optional[str]:
    """Counts among `classes` (true rows, predicted columns) plus a column for every other prediction."""
    if not classes:
        return None
    index = torch.tensor(classes)
    sub = confmat[index][:, index]
    other = confmat[index].sum(dim=1) - sub.sum(dim=1)
    counts = torch.cat([sub, other[:, None]], dim=1).numpy()
    names = [class_names[c] for c in classes]
    n = len(classes)
    fig = _figure(figsize=(2.5 + 0.45 * (n + 1), 2 + 0.4 * n), dpi=100)
    ax = fig.subplots()
    ax.imshow(counts / counts.sum(axis=1, keepdims=True).clip(min=1), cmap="Blues", vmin=0, vmax=1)
    for (i, j), value in np.ndenumerate(counts):
        if value:
            share = value / max(counts[i].sum(), 1)
            ax.text(
                j, i, str(int(value)), ha="center", va="center", fontsize=9, color="white" if share > 0.6 else "black"
            )
    ax.set_xticks(range(n + 1), [*names, "any other"], rotation=45, ha="right", fontsize=9)
    ax.set_yticks(range(n), names, fontsize=9)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.tight_layout()
    return _png(fig)


def thumbnail(path: Path, size: int = 128, format: str = "PNG") -> str:
    """A base64 image (PNG, or JPEG: a tenth of the bytes, for pages of hundreds of photos) no larger than
    `size` pixels a side, orientation as the model saw it."""
    with Image.open(path) as img:
        img = ImageOps.exif_transpose(img).convert("RGB")
        img.thumbnail((size, size))
        buffer = io.BytesIO()
        img.save(buffer, format=format, **({"quality": 85} if format == "JPEG" else {}))
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def save_lr_range(lrs: list[float], losses: list[float], suggestion: Optional[float], path: Path) -> None:
    """The learning-rate range test: loss against learning rate (log scale), the suggestion marked;
    drawn outside pyplot like every figure here, written atomically to `path`."""
    fig = _figure(figsize=(6, 4), dpi=100)
    ax = fig.subplots()
    ax.plot(lrs, losses)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    if suggestion is not None:
        ax.axvline(suggestion, color="tab:red", linestyle="--", label=f"suggestion {suggestion:.3g}")
        ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as f:
        fig.savefig(f, format="png")
