"""Learning curves and the end-of-fit summary, as a callback."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import lightning as L
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_info, rank_zero_only

from leaves.atomic import atomic_file

CURVES = ("train_loss", "train_acc", "val_acc")


def plot_curves(history: list[dict[str, float]], path: Path) -> None:
    """One PNG with train loss, train accuracy and validation accuracy per epoch (d2l's Animator)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    epochs = [h["epoch"] + 1 for h in history]
    for key, style in zip(CURVES, ("-", "--", "-.")):
        points = [(e, h[key]) for e, h in zip(epochs, history) if key in h]
        if points:
            ax.plot(*zip(*points), style, marker="o", markersize=3, label=key.replace("_", " "))
    ax.set_xlabel("epoch")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_file(path) as f:
        fig.savefig(f, format="png")
    plt.close(fig)


class LearningCurves(Callback):
    """Keeps per-epoch metrics (also across a resume, through the checkpoint),
    redraws `learning_curves.png` in the run folder after every epoch, and ends
    the fit with one line naming the best checkpoint and its accuracy.

    Args:
        filename: name of the PNG inside the run folder.
    """

    def __init__(self, filename: str = "learning_curves.png") -> None:
        self.filename = filename
        self.history: list[dict[str, float]] = []

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        row: dict[str, float] = {"epoch": trainer.current_epoch}
        row.update({k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1})
        self.history = [h for h in self.history if h["epoch"] != row["epoch"]] + [row]
        # trainer.log_dir is a broadcast under DDP: every rank must ask, not only the one that draws.
        self._draw(trainer.log_dir)

    @rank_zero_only
    def _draw(self, log_dir: Optional[str]) -> None:
        if log_dir:
            Path(log_dir).mkdir(parents=True, exist_ok=True)
            plot_curves(self.history, Path(log_dir) / self.filename)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        ckpt: Optional[ModelCheckpoint] = trainer.checkpoint_callback
        if ckpt is not None and ckpt.best_model_path:
            score = ckpt.best_model_score
            shown = f"{score.item():.4f}" if score is not None else "n/a"
            rank_zero_info(
                f"Best checkpoint: {ckpt.best_model_path} ({ckpt.monitor}={shown}); "
                f"curves: {Path(trainer.log_dir or '.') / self.filename}"
            )

    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = list(state_dict.get("history", []))
