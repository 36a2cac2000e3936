"""`leaves.fit` / `leaves.predict` from a notebook cell: the command line's options, the kernel's sys.argv ignored,
the project's errors raised (never SystemExit), the paths of the best checkpoint and the submission returned."""

from __future__ import annotations

import sys

import pandas as pd
import pytest
from conftest import TINY

import leaves
from leaves.errors import CheckpointError, ConfigError, DataError


def test_fit_then_predict_return_the_checkpoint_and_the_submission(leaves_dir, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["ipykernel_launcher.py", "-f", "/tmp/kernel.json"])  # a notebook's argv
    fitted = leaves.fit(TINY, data={"data_dir": str(leaves_dir)}, trainer={"max_epochs": 1})
    assert fitted.run_dir == tmp_path / "runs/version_0"
    assert fitted.best_checkpoint == tmp_path / "runs/version_0/checkpoints/best.ckpt"
    assert fitted.best_checkpoint.is_file() and fitted.last_checkpoint.is_file()

    resumed = leaves.fit(TINY, data={"data_dir": str(leaves_dir)}, trainer={"max_epochs": 2}, ckpt_path="last")
    assert resumed.run_dir == fitted.run_dir

    predicted = leaves.predict(TINY, data={"data_dir": str(leaves_dir)}, tta=["identity", "hflip"])
    assert predicted.submission == tmp_path / "submissions/submission.csv"
    assert predicted.checkpoint == fitted.best_checkpoint
    submission = pd.read_csv(predicted.submission)
    assert submission["image"].tolist() == pd.read_csv(leaves_dir / "test.csv")["image"].tolist()


def test_a_preset_by_name_and_cli_style_arguments_mix(leaves_dir, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    fitted = leaves.fit(
        [*TINY, "--trainer.max_epochs", "1"], config="seed", data={"data_dir": leaves_dir}, runs_dir="elsewhere"
    )
    assert fitted.run_dir == tmp_path / "elsewhere/version_0"


def test_mistakes_raise_the_projects_errors_not_system_exit(leaves_dir, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="trainer.epochs"):
        leaves.fit(TINY, trainer={"epochs": 1})  # a typo
    with pytest.raises(DataError, match="does not exist"):
        leaves.fit(TINY, data={"data_dir": str(tmp_path / "nowhere")})
    with pytest.raises(CheckpointError, match="no best.ckpt"):
        leaves.predict(TINY, data={"data_dir": str(leaves_dir)})
