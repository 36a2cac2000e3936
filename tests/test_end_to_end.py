"""The user's path through the real entry points: fit, then predict, then submit."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
from conftest import NOT_ABOUT_THE_RUN, TINY

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}  # the checkout under test, whatever is installed
SMALL = [*TINY, "--model.arch=resnet18", "--data.val_fraction=0.25"]


def run(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / script), *args],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.mark.slow
def test_fit_then_predict_writes_a_valid_submission(leaves_dir: Path, tmp_path: Path):
    fit = run("fit.py", "--data.data_dir", str(leaves_dir), *SMALL, "--trainer.max_epochs=2", cwd=tmp_path)
    best = tmp_path / "runs/version_0/checkpoints/best.ckpt"
    assert f"Best checkpoint: {best.relative_to(tmp_path)}" in fit.stdout + fit.stderr
    assert (tmp_path / "runs/version_0/checkpoints/last.ckpt").is_file()
    assert (tmp_path / "runs/version_0/learning_curves.png").stat().st_size > 0
    metrics = pd.read_csv(tmp_path / "runs/version_0/metrics.csv")
    assert {"train_loss", "train_acc", "val_acc", "val_loss"} <= set(metrics.columns)

    ckpt = torch.load(best, weights_only=True)
    assert ckpt["hyper_parameters"]["class_names"] == ["acer", "betula", "carpinus"]
    (state,) = [v for k, v in ckpt["callbacks"].items() if "{'monitor': 'val_acc'" in k]  # the best one's
    assert float(state["best_model_score"]) == metrics["val_acc"].max()

    # Predict needs no train.csv: the class list travels in the checkpoint.
    (leaves_dir / "train.csv").unlink()
    predict = run("predict.py", "--data.data_dir", str(leaves_dir), *SMALL, cwd=tmp_path)
    assert f"Predicting with {best.relative_to(tmp_path)}" in predict.stdout + predict.stderr
    submission = pd.read_csv(tmp_path / "submissions/submission.csv")
    assert submission["image"].tolist() == pd.read_csv(leaves_dir / "test.csv")["image"].tolist()
    assert set(submission["label"]) <= {"acer", "betula", "carpinus"}
    assert len(list((tmp_path / "submissions").glob("submission-*.csv"))) == 1
    said = fit.stdout + fit.stderr + predict.stdout + predict.stderr
    assert [message for message in NOT_ABOUT_THE_RUN if message in said] == [], "only what is about the run"


@pytest.mark.slow
def test_fit_resumes_the_latest_run_in_its_own_folder(leaves_dir: Path, tmp_path: Path):
    run("fit.py", "--data.data_dir", str(leaves_dir), *SMALL, "--trainer.max_epochs=2", cwd=tmp_path)
    before = torch.load(tmp_path / "runs/version_0/checkpoints/last.ckpt", weights_only=True)
    more = [*SMALL, "--trainer.max_epochs=3"]
    resumed = run("fit.py", "--data.data_dir", str(leaves_dir), *more, "--ckpt_path", "last", cwd=tmp_path)
    assert "Resuming runs/version_0/checkpoints/last.ckpt" in resumed.stdout + resumed.stderr
    assert not (tmp_path / "runs/version_1").exists()
    after = torch.load(tmp_path / "runs/version_0/checkpoints/last.ckpt", weights_only=True)
    assert after["epoch"] == before["epoch"] + 1 and after["global_step"] == before["global_step"] * 3 // 2
    metrics = pd.read_csv(tmp_path / "runs/version_0/metrics.csv")
    assert metrics.dropna(subset=["val_acc"])["epoch"].tolist() == [0, 1, 2]  # the log continues, not restarts


@pytest.mark.slow
def test_predict_without_any_run_says_what_to_do(leaves_dir: Path, tmp_path: Path):
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts/predict.py"), "--data.data_dir", str(leaves_dir)],
        cwd=tmp_path,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0
    assert "no best.ckpt under runs/: run leaves fit (python scripts/fit.py) first" in done.stderr
