"""Any Lightning logger, or a list of them: the run folder, resume, predict's checkpoint lookup, k-fold and the
report work the same, because they read the run's own record (checkpoints), not a logger's files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch
from conftest import TINY
from jsonargparse import Namespace

from leaves.report.tables import load_history
from leaves.workflows.cli import place_run, run_lightning
from leaves.workflows.kfold import run_kfold

TB = "lightning.pytorch.loggers.TensorBoardLogger"
CSV = "leaves.utils.ResumableCSVLogger"


def logger_config(tmp_path: Path, *class_paths: str) -> Path:
    """A config file naming the loggers, as a user would write it."""
    entries = "\n".join(f"    - class_path: {c}" for c in class_paths)
    path = tmp_path / "loggers.yaml"
    path.write_text(f"trainer:\n  logger:\n{entries}\n")
    return path


def fit_resume_predict(tmp_path: Path, leaves_dir: Path, config: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    args = [*TINY, f"--data.data_dir={leaves_dir}", f"--config={config}"]
    run_lightning("fit", args=[*args, "--trainer.max_epochs=1"])
    resumed = run_lightning("fit", args=[*args, "--trainer.max_epochs=2", "--ckpt_path=last"])
    assert resumed.trainer.current_epoch == 2
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["version_0"]  # resumed in its own folder
    run_lightning("predict", args=args)  # no --ckpt_path: the latest run's best.ckpt
    assert len(pd.read_csv(tmp_path / "submissions/submission.csv")) == len(pd.read_csv(leaves_dir / "test.csv"))
    return tmp_path / "runs/version_0"


@pytest.mark.slow
def test_tensorboard_alone_resumes_predicts_and_reports_every_epoch(tmp_path, leaves_dir, monkeypatch) -> None:
    pytest.importorskip("tensorboard")
    run = fit_resume_predict(tmp_path, leaves_dir, logger_config(tmp_path, TB), monkeypatch)
    assert list(run.glob("events.out.tfevents.*")), "TensorBoard writes into the run folder"
    assert not (run / "metrics.csv").exists()
    assert (run / "report.html").is_file() and (run / "learning_curves.png").is_file()
    best = torch.load(run / "checkpoints/best.ckpt", map_location="cpu", weights_only=False)
    assert load_history(run, best)["epoch"].tolist() == [1, 2]  # from the run's last.ckpt, no CSV needed


@pytest.mark.slow
def test_a_list_of_two_loggers_resumes_and_predicts(tmp_path, leaves_dir, monkeypatch) -> None:
    pytest.importorskip("tensorboard")
    run = fit_resume_predict(tmp_path, leaves_dir, logger_config(tmp_path, CSV, TB), monkeypatch)
    assert list(run.glob("events.out.tfevents.*"))
    assert sorted(pd.read_csv(run / "metrics.csv")["epoch"].dropna().unique()) == [0, 1]


@pytest.mark.slow
def test_kfold_with_tensorboard_writes_each_fold_into_its_folder(tmp_path, leaves_dir, monkeypatch) -> None:
    pytest.importorskip("tensorboard")
    monkeypatch.chdir(tmp_path)
    config = logger_config(tmp_path, TB)
    run_kfold(
        [*TINY, f"--data.data_dir={leaves_dir}", f"--config={config}", "--data.num_folds=2", "--trainer.max_epochs=1"]
    )
    for fold in (0, 1):
        folder = tmp_path / f"runs/kfold/fold_{fold}"
        assert (folder / "checkpoints/best.ckpt").is_file() and list(folder.glob("events.out.tfevents.*"))
    assert (tmp_path / "runs/kfold/oof.csv").is_file()


def test_wandb_keeps_its_local_files_in_the_run_folder(tmp_path) -> None:
    trainer = Namespace(
        logger=[Namespace(class_path="lightning.pytorch.loggers.WandbLogger", init_args=Namespace(save_dir="."))]
    )
    place_run(trainer, tmp_path / "runs/version_3")
    assert trainer.logger[0].init_args.save_dir == str(tmp_path / "runs/version_3")
