"""Learning curves during a fit and the end-of-fit summary, as a callback."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import lightning as L
import pandas as pd
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_info, rank_zero_only

from leaves.layout import CURVES_PNG
from leaves.report.figures import save_curves
from leaves.utils.runs import run_dir
from leaves.utils.runs import shown as shown_path


class LearningCurves(Callback):
    """Keeps per-epoch metrics, the learning rate among them (also across a resume, through
    the checkpoint), redraws `learning_curves.png` in the run folder after every
    epoch, and ends the fit with one line naming the best checkpoint and its accuracy.

    The history is the run's own record: it does not depend on which loggers are configured.

    Args:
        filename: name of the PNG inside the run folder.
    """

    def __init__(self, filename: str = CURVES_PNG) -> None:
        self.filename = filename
        self.history: list[dict[str, float]] = []

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        row: dict[str, float] = {"epoch": trainer.current_epoch}
        row.update({k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1})
        self.history = [h for h in self.history if h["epoch"] != row["epoch"]] + [row]
        # The run folder is a broadcast under DDP: every rank must ask, not only the one that draws.
        self._draw(run_dir(trainer))

    def history_table(self) -> pd.DataFrame:
        """The history with 1-based epochs, as the report shows it."""
        return pd.DataFrame(self.history).assign(epoch=lambda t: t["epoch"].astype(int) + 1)

    @rank_zero_only
    def _draw(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        save_curves(self.history_table(), folder / self.filename)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        ckpt: Optional[ModelCheckpoint] = trainer.checkpoint_callback
        if ckpt is not None and ckpt.best_model_path:
            score = ckpt.best_model_score
            score_text = f"{score.item():.4f}" if score is not None else "n/a"
            rank_zero_info(
                f"Best checkpoint: {shown_path(ckpt.best_model_path)} ({ckpt.monitor}={score_text}); "
                f"curves: {shown_path(Path(trainer.default_root_dir) / self.filename)}"
            )

    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = list(state_dict.get("history", []))
