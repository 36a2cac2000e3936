"""`leaves fit --budget`: train for a time, not a number of epochs, and end on time with the schedule done."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import TINY, make_leaves

from leaves.callbacks import budget
from leaves.callbacks.budget import TimeBudget, parse_budget
from leaves.commands import run
from leaves.errors import ConfigError
from leaves.models.module import LeavesModule


@pytest.mark.parametrize(("text", "seconds"), [("45m", 2700), ("90s", 90), ("1h30m", 5400), ("600", 600), ("2h", 7200)])
def test_a_budget_is_written_as_a_time(text: str, seconds: float) -> None:
    assert parse_budget(text) == seconds


@pytest.mark.parametrize("text", ["soon", "0", "5 minutes", "-3m"])
def test_a_budget_that_is_no_time_is_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="--budget"):
        parse_budget(text)


class FakeClock:
    """The budget's clock, driven by the fit itself: every training step takes `step` seconds (the first
    `slow_steps` of them `slow` seconds, as workers start; those before step `busy_steps` `busy` seconds, as
    on a machine another job leaves), every validation batch `validation` seconds. No wall-clock time
    counts, so the plan is exact on any machine."""

    def __init__(
        self, step: float, validation: float, slow: float = 0.0, slow_steps: int = 0, busy: float = 0.0,
        busy_steps: int = 0,
    ) -> None:  # fmt: skip
        self.now, self.steps = 1000.0, 0
        self.step, self.validation, self.slow, self.slow_steps = step, validation, slow, slow_steps
        self.busy, self.busy_steps = busy, busy_steps

    def step_time(self) -> float:
        if self.steps < self.slow_steps:
            return self.slow
        return self.busy if self.steps < self.busy_steps else self.step

    def perf_counter(self) -> float:
        return self.now

    def patch(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(budget, "time", self)
        training_step, validation_step = LeavesModule.training_step, LeavesModule.validation_step

        def timed_training_step(module, *args):
            self.now += self.step_time()
            self.steps += 1
            return training_step(module, *args)

        def timed_validation_step(module, *args):
            self.now += self.validation
            return validation_step(module, *args)

        monkeypatch.setattr(LeavesModule, "training_step", timed_training_step)
        monkeypatch.setattr(LeavesModule, "validation_step", timed_validation_step)


def _fit(data: Path, runs: Path, budget_text: str, batch_size: int):
    cli = run(
        "fit",
        [
            *TINY,
            "--model.pretrained=false",
            "--model.frozen_stages=0",
            f"--data.data_dir={data}",
            f"--data.batch_size={batch_size}",
            f"--runs_dir={runs}",
            "--trainer.max_epochs=1000",
            "--trainer.num_sanity_val_steps=0",
            "--budget",
            budget_text,
        ],
    )
    return cli, next(c for c in cli.trainer.callbacks if isinstance(c, TimeBudget))


def test_fit_to_a_budget_plans_the_whole_epochs_that_fit_and_completes_the_schedule(
    leaves_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    FakeClock(step=1.0, validation=2.0).patch(monkeypatch)  # 1 s a step, 2 s a validation
    cli, meter = _fit(leaves_dir, tmp_path / "runs", "22s", batch_size=4)
    # 15 training images: 3 steps an epoch; 3 validation images: 1 batch. An epoch: 3 + 2 = 5 s.
    assert cli.trainer.num_training_batches == 3 and sum(cli.trainer.num_val_batches) == 1
    assert (meter.step_seconds, meter.validation_seconds) == (1.0, 2.0)
    # 22 s less the 5% reserve (20.9 s) and one validation for the report: 18.9 s. 3 whole epochs (15 s)
    # fit, a fourth (20 s) would not (it would without the reserve or the report's validation).
    assert meter.planned_steps == cli.trainer.global_step == 9
    assert cli.trainer.current_epoch == 3
    assert meter.elapsed == 15.0
    peak = cli.model.hparams.lr
    assert cli.trainer.optimizers[0].param_groups[0]["lr"] <= 0.01 * peak, "the cosine reached its end"
    metrics = pd.read_csv(tmp_path / "runs" / "version_0" / "metrics.csv")
    assert metrics["val_acc"].notna().sum() == 3, "validated after every epoch"
    assert (tmp_path / "runs" / "version_0" / "checkpoints" / "best.ckpt").is_file()


def test_a_budget_shorter_than_an_epoch_trains_the_steps_that_fit_then_validates_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 1 s a step, but the first two 1.5 s (workers starting: left out of the timing); 1/3 s a validation batch.
    FakeClock(step=1.0, validation=1 / 3, slow=1.5, slow_steps=2).patch(monkeypatch)
    data = make_leaves(tmp_path / "leaves", per_class=20, test_per_class=1)
    cli, meter = _fit(data, tmp_path / "runs", "20s", batch_size=2)
    # 54 training images: 27 steps an epoch; 6 validation images: 3 batches, 1 s (as estimated: 1/3 step each).
    assert cli.trainer.num_training_batches == 27 and sum(cli.trainer.num_val_batches) == 3
    assert meter.step_seconds == 1.0, "timed without the warm-up steps"
    # Planned after 2 + 10 timed steps (13 s): 20 s less the 5% reserve, a validation to end on and one for
    # the report leave 4 s: 16 steps, then the validation.
    assert meter.planned_steps == cli.trainer.global_step == 16  # of the epoch's 27
    assert meter.elapsed == pytest.approx(18.0)
    assert cli.trainer.optimizers[0].param_groups[0]["lr"] <= 0.01 * cli.model.hparams.lr
    metrics = pd.read_csv(tmp_path / "runs" / "version_0" / "metrics.csv")
    assert metrics["val_acc"].notna().sum() == 1


def test_a_first_plan_made_while_the_machine_was_busy_grows_to_what_the_later_steps_buy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first 12 steps take 3 s (the first plan sees only them), every later one 1 s; 1/3 s a validation batch.
    FakeClock(step=1.0, validation=1 / 3, slow=3.0, slow_steps=2, busy=3.0, busy_steps=12).patch(monkeypatch)
    data = make_leaves(tmp_path / "leaves", per_class=40, test_per_class=1)
    cli, meter = _fit(data, tmp_path / "runs", "300s", batch_size=2)
    assert cli.trainer.num_training_batches == 54 and sum(cli.trainer.num_val_batches) == 6
    # At 3 s a step the first plan is 1 epoch (over at 80 s of 300). Planned again after 40 timed steps
    # (1.5 s a step: 3 epochs), after epoch 0 (72 s for its 52 timed steps, 2 s of validation: 3 epochs) and
    # after epoch 1 (1 s a step: 4 epochs): 285 s (the 5% reserve kept) less a validation for the report.
    assert meter.step_seconds == pytest.approx(1.0) and meter.validation_seconds == pytest.approx(2.0)
    assert meter.planned_steps == cli.trainer.global_step == 216
    assert cli.trainer.current_epoch == 4
    assert meter.elapsed == pytest.approx(248.0)
    assert cli.trainer.optimizers[0].param_groups[0]["lr"] <= 0.01 * cli.model.hparams.lr, "the cosine ended"
