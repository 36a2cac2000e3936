"""Training to a time budget (`leaves fit --budget 45m`): nobody on Kaggle or a GPU quota has a number of epochs.

The fit measures what its time buys on this machine, then plans the run so the
learning-rate schedule (warmup, cosine) ends exactly when the budget does:

1. the first steps give the time of one optimizer step (the very first ones,
   which wait for the loader workers and warm caches, are left out); a first
   plan estimates a validation as a third of a step per validation batch. In
   that first epoch the plan is made again at 4, 16, 64... times as many
   timed steps, with the mean step so far: the first few steps of a fit are
   often slower than the rest (a cold cache, another job ending), and a plan
   that stopped at their figure would end a 45-minute budget after 12 minutes;
2. every epoch's end, after its validation, gives that epoch's own step time
   (from its first step, or from the timing's start in the first epoch) and the
   real cost of its validation, and the plan is made again with them (logged
   when it changes), unless the schedule has already ended: it is never
   restarted.

A plan is whole epochs (validated and checkpointed as usual) when at least one
fits, else as many steps as fit with one validation at the end. Under DDP rank
0 decides and every rank follows its plan.
"""

from __future__ import annotations

import math
import re
import time
from typing import Any, Optional

import lightning as L
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities import rank_zero_info

from leaves.errors import ConfigError

_BUDGET = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?")


def parse_budget(text: str) -> float:
    """Seconds of a budget written `45m`, `90s`, `1h30m`, `2h` or plain seconds (`600`)."""
    match = _BUDGET.fullmatch(str(text).strip().replace(" ", ""))
    if not text or match is None or not any(match.groups()):
        raise ConfigError(f"--budget {text!r}: write a time such as 45m, 90s, 1h30m or plain seconds (600)")
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total <= 0:
        raise ConfigError(f"--budget {text!r} must be more than zero")
    return total


class TimeBudget(Callback):
    """Plans the number of optimizer steps of a fit so it ends, schedule completed, within `budget`.

    Args:
        budget: the fit's time, as `parse_budget` reads it; counted from the start of the fit.
        measure_steps: optimizer steps timed for the first plan (fewer if an epoch is shorter).
        skip_steps: first steps left out of the timing (loader start-up, warm-up).
        reserve: fraction of the budget kept for the end of the fit (the last checkpoint); one validation's
            time is kept too, for the run report.
    """

    def __init__(self, budget: str, measure_steps: int = 10, skip_steps: int = 2, reserve: float = 0.05) -> None:
        self.text = budget
        self.seconds = parse_budget(budget)
        self.measure_steps = measure_steps
        self.skip_steps = skip_steps
        self.reserve = reserve
        self.step_seconds: Optional[float] = None
        self.validation_seconds: Optional[float] = None
        self.planned_steps: Optional[int] = None
        self._start = 0.0
        self._timing_start: Optional[float] = None
        self._timed_from = 0
        self._epoch_train_end = 0.0
        self._epoch_started = 0.0
        self._epoch_first_step = 0
        self._timing_epoch = -1
        self._next_plan = measure_steps
        self._first_step = 0
        self.elapsed: Optional[float] = None  # seconds the fit took, once it ended

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if not hasattr(pl_module, "plan_steps"):
            raise ConfigError("--budget needs a model whose learning-rate schedule can be re-planned (LeavesModule)")

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = time.perf_counter()

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._first_step = trainer.global_step  # a resumed fit plans from where it is

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, idx: int) -> None:
        if self._timing_start is None and trainer.global_step - self._first_step == self.skip_steps:
            self._timing_start, self._timed_from = time.perf_counter(), trainer.global_step
            self._timing_epoch = trainer.current_epoch

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self._epoch_train_end = time.perf_counter()
        last_of_epoch = batch_idx + 1 >= trainer.num_training_batches
        timed = trainer.global_step - self._timed_from
        if (
            self._timing_start is not None
            and trainer.current_epoch == self._timing_epoch
            and not trainer.should_stop
            and (timed >= self._next_plan or (last_of_epoch and self.step_seconds is None))
        ):
            self._next_plan *= 4
            self.step_seconds = (self._epoch_train_end - self._timing_start) / max(timed, 1)
            val_batches = sum(trainer.num_val_batches) if trainer.num_val_batches else 0
            self._plan(trainer, pl_module, validation=self.step_seconds / 3 * val_batches, measured=False)
        if self.planned_steps is not None and trainer.global_step >= self.planned_steps and not last_of_epoch:
            trainer.should_stop = True  # a plan shorter than an epoch: validate now and end

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._epoch_started, self._epoch_first_step = time.perf_counter(), trainer.global_step

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Training and validation of this epoch ended just now: plan again with their real cost, every epoch,
        # so the plan follows a machine whose speed changes (before the fit loop reads max_epochs).
        if self.step_seconds is None or trainer.should_stop or trainer.global_step >= self.planned_steps:
            return
        since, from_step = self._epoch_started, self._epoch_first_step
        if trainer.current_epoch == self._timing_epoch:
            since, from_step = self._timing_start, self._timed_from  # without the warm-up steps
        if trainer.global_step > from_step:
            self.step_seconds = (self._epoch_train_end - since) / (trainer.global_step - from_step)
        validation = max(time.perf_counter() - self._epoch_train_end, 0.0)
        self._plan(trainer, pl_module, validation=validation, measured=True)

    def _plan(self, trainer: L.Trainer, pl_module: L.LightningModule, validation: float, measured: bool) -> None:
        per_epoch = trainer.num_training_batches
        # Kept back: a share of the budget, and one validation's time for the run report at the end.
        left = self.seconds * (1 - self.reserve) - validation - (time.perf_counter() - self._start)
        done = trainer.global_step
        # Whole epochs counted from the start of the current one, each validated; if not even one fits,
        # as many steps as fit before one last validation.
        epoch_start = done - done % per_epoch
        epochs = int((left + (done - epoch_start) * self.step_seconds) // (per_epoch * self.step_seconds + validation))
        if epochs >= 1:
            total = epoch_start + epochs * per_epoch
        else:
            total = done + max(int((left - validation) // self.step_seconds), 1)
        total = int(trainer.strategy.broadcast(total, src=0))
        step_seconds = trainer.strategy.broadcast(self.step_seconds, src=0)
        changed = total != self.planned_steps
        self.planned_steps, self.validation_seconds = total, validation
        # A plan of whole epochs ends through max_epochs; a shorter one through should_stop (on_train_batch_end).
        # `fit_loop.max_epochs` is the one way to change the number of epochs of a Trainer already built: it has
        # no public setter (checked on Lightning 2.6.6).
        trainer.fit_loop.max_epochs = math.ceil(total / per_epoch)
        pl_module.plan_steps(total)
        if changed:
            rank_zero_info(
                f"budget {self.text}: measured {step_seconds:.3f} s/step, {validation:.1f} s per validation"
                f"{'' if measured else ' (estimated)'} -> {total / per_epoch:.2f} epochs / {total} steps"
            )

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage == "fit" and self._start:
            self.elapsed = time.perf_counter() - self._start
            rank_zero_info(f"budget {self.text}: the fit took {self.elapsed:.0f} s of {self.seconds:.0f} s")

    def state_dict(self) -> dict[str, Any]:
        return {"budget": self.text, "planned_steps": self.planned_steps}
