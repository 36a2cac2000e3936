"""The learning-rate range test before a fit (`leaves fit --lr_find true`)."""

from __future__ import annotations

from pathlib import Path

import lightning as L
from lightning.pytorch.tuner import Tuner
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn


def find_lr(trainer: L.Trainer, model: L.LightningModule, datamodule: L.LightningDataModule, steps: int = 100) -> None:
    """Run Lightning's Tuner.lr_find and set `model.hparams.lr` to its suggestion.

    The loss-vs-lr plot goes to the run folder as `lr_find.png`, so the choice
    can be checked; without a suggestion the configured lr is kept.
    """
    before = model.hparams.lr
    finder = Tuner(trainer).lr_find(model, datamodule=datamodule, num_training=steps)
    suggestion = finder.suggestion() if finder is not None else None
    if suggestion is None:
        model.hparams.lr = before
        rank_zero_warn(f"lr_find found no clear learning rate; keeping model.lr {before}")
        return
    rank_zero_info(f"lr_find suggests lr {suggestion:.3g} (configured: {before}); training with it")
    if trainer.is_global_zero:
        import matplotlib

        matplotlib.use("Agg")
        fig = finder.plot(suggest=True)
        path = Path(trainer.default_root_dir) / "lr_find.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
        rank_zero_info(f"lr_find plot: {path}")
