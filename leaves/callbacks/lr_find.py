"""The learning-rate range test before a fit (`leaves fit --lr_find true`): Lightning's finder, its plot kept."""

from __future__ import annotations

import lightning as L
from lightning.pytorch.callbacks import LearningRateFinder
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

from leaves.layout import LR_FIND_PNG
from leaves.report.figures import save_lr_range
from leaves.utils.runs import run_dir


class FindLR(LearningRateFinder):
    """Lightning's `LearningRateFinder` (the range test at the start of the fit, the model restored after
    it, `hparams.lr` set to the suggestion), saying what it chose and drawing `lr_find.png` in the run
    folder, so the choice can be checked. Without a suggestion the configured lr is kept.

    Lightning sets every parameter group's current lr to the suggestion but leaves the scheduler's
    base rates as configured, so the schedule's first step would bring the configured lr back: here the
    whole schedule (base rates, `initial_lr`, current rates) is scaled by suggestion / configured,
    which also keeps the warmup's factor and a backbone's smaller rate (`model.backbone_lr_scale`).

    Args:
        steps: steps of the range test.
    """

    def __init__(self, steps: int = 100) -> None:
        super().__init__(num_training_steps=steps, attr_name="lr")

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        before = pl_module.hparams.lr
        rates = [[group["lr"] for group in optimizer.param_groups] for optimizer in trainer.optimizers]
        super().on_fit_start(trainer, pl_module)
        suggestion = self.optimal_lr.suggestion() if self.optimal_lr is not None else None
        if suggestion is None:
            pl_module.hparams.lr = before
            rank_zero_warn(f"lr_find found no clear learning rate; keeping model.lr {before}")
            return
        _scale_schedule(trainer, rates, suggestion / before)
        rank_zero_info(f"lr_find suggests lr {suggestion:.3g} (configured: {before}); training with it")
        path = run_dir(trainer) / LR_FIND_PNG  # every rank asks: the run folder is a broadcast under DDP
        if trainer.is_global_zero:
            results = self.optimal_lr.results
            save_lr_range(results["lr"], results["loss"], suggestion, path)
            rank_zero_info(f"lr_find plot: {path}")


def _scale_schedule(trainer: L.Trainer, rates: list[list[float]], factor: float) -> None:
    """Every optimizer's rates (`rates`: each group's lr before the range test) and every scheduler's
    base rates times `factor`, so the whole schedule peaks at the suggestion."""
    for optimizer, before in zip(trainer.optimizers, rates):
        for group, lr in zip(optimizer.param_groups, before):
            group["lr"] = lr * factor
            if "initial_lr" in group:
                group["initial_lr"] *= factor
    for config in trainer.lr_scheduler_configs:
        scheduler = config.scheduler
        scheduler.base_lrs = [lr * factor for lr in scheduler.base_lrs]
        scheduler._last_lr = [group["lr"] for group in scheduler.optimizer.param_groups]
