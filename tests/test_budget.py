"""`leaves fit --budget`: train for a time, not a number of epochs, and end on time with the schedule done."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import TINY

from leaves.callbacks.budget import TimeBudget, parse_budget
from leaves.commands import run
from leaves.errors import ConfigError


@pytest.mark.parametrize(("text", "seconds"), [("45m", 2700), ("90s", 90), ("1h30m", 5400), ("600", 600), ("2h", 7200)])
def test_a_budget_is_written_as_a_time(text: str, seconds: float) -> None:
    assert parse_budget(text) == seconds


@pytest.mark.parametrize("text", ["soon", "0", "5 minutes", "-3m"])
def test_a_budget_that_is_no_time_is_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="--budget"):
        parse_budget(text)


def test_fit_to_a_budget_ends_on_time_with_the_schedule_completed(leaves_dir: Path, tmp_path: Path) -> None:
    budget = 15.0
    cli = run(
        "fit",
        [
            *TINY,
            f"--data.data_dir={leaves_dir}",
            f"--runs_dir={tmp_path / 'runs'}",
            "--trainer.max_epochs=1000",
            "--budget",
            f"{budget:g}s",
        ],
    )
    meter = next(c for c in cli.trainer.callbacks if isinstance(c, TimeBudget))
    assert budget * 0.6 <= meter.elapsed <= budget + 5, "ends on time (a loaded machine may add seconds), most used"
    assert cli.trainer.global_step == meter.planned_steps < 1000 * cli.trainer.num_training_batches
    peak = cli.model.hparams.lr
    assert cli.trainer.optimizers[0].param_groups[0]["lr"] <= 0.01 * peak, "the cosine reached its end"
    metrics = pd.read_csv(tmp_path / "runs" / "version_0" / "metrics.csv")
    assert metrics["val_acc"].notna().sum() == cli.trainer.current_epoch >= 2, "validated after every epoch"
    assert (tmp_path / "runs" / "version_0" / "checkpoints" / "best.ckpt").is_file()


def test_a_malformed_budget_is_one_error_line(leaves_dir: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from leaves.commands import main; main(sys.argv[1:])",
            "fit",
            *TINY,
            f"--data.data_dir={leaves_dir}",
            f"--runs_dir={tmp_path}",
            "--budget",
            "soon",
        ],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[1],
    )
    assert done.returncode == 1
    assert "error: --budget 'soon'" in done.stderr.strip().splitlines()[-1]
