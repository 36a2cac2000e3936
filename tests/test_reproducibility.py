"""Same seed, same data, CPU: the same model, metrics and predictions; checkpoints are plain data; no network."""

from __future__ import annotations

import socket
from pathlib import Path

import lightning as L
import pytest
import torch

from leaves.configs import DEFAULT as DEFAULT_CONFIG
from leaves.data.datamodule import LeavesDataModule
from leaves.workflows.cli import run_lightning

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = DEFAULT_CONFIG


def fit_and_predict(data_dir: Path, workdir: Path, num_workers: int, monkeypatch: pytest.MonkeyPatch):
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    args = [
        f"--data.data_dir={data_dir}",
        "--data.image_size=32",
        f"--data.num_workers={num_workers}",
        "--data.batch_size=4",
        "--data.val_fraction=0.34",
        "--model.arch=resnet10t",
        "--model.pretrained=false",
        "--model.frozen_stages=0",
        "--trainer.max_epochs=1",
        "--trainer.enable_progress_bar=false",
        "--trainer.enable_model_summary=false",
    ]
    fit = run_lightning("fit", default_config=DEFAULT, args=args)  # augment: light (random crops, flips, turns)
    metrics = {k: float(v) for k, v in fit.trainer.callback_metrics.items()}
    predict = run_lightning("predict", default_config=DEFAULT, args=args[:-1])
    return metrics, (workdir / "submissions" / "submission.csv").read_text(), predict.config.predict.ckpt_path


@pytest.mark.slow
def test_two_fits_with_the_same_seed_give_identical_metrics_predictions_and_plain_checkpoints(
    tmp_path: Path, leaves_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two loader workers: the harder case (the seed must reach augmentation inside each worker); the main
    # process's own augmentation stream is covered by test_augmentation_follows_the_seed.
    first = fit_and_predict(leaves_dir, tmp_path / "a", 2, monkeypatch)
    second = fit_and_predict(leaves_dir, tmp_path / "b", 2, monkeypatch)
    assert first[0] == second[0], "metrics (train loss after augmentation, val accuracy)"
    assert first[1] == second[1], "submission.csv"
    a = torch.load(first[2], weights_only=True)["state_dict"]
    b = torch.load(second[2], weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a), "bit-identical weights"
    for name in ("best.ckpt", "last.ckpt"):  # weights_only=True refuses any pickled class
        hparams = torch.load(Path(first[2]).parent / name, weights_only=True)["hyper_parameters"]
        assert hparams["class_names"] == ["acer", "betula", "carpinus"]


def test_augmentation_follows_the_seed(leaves_dir: Path) -> None:
    def augmented(seed: int) -> torch.Tensor:
        L.seed_everything(seed, workers=True, verbose=False)
        dm = LeavesDataModule(data_dir=str(leaves_dir), image_size=32, num_workers=0, val_fraction=0.34)
        dm.setup("fit")
        return torch.stack([dm.train_set[i][0] for i in range(4)])

    assert torch.equal(augmented(1), augmented(1))
    assert not torch.equal(augmented(1), augmented(2))


def test_the_network_guard_is_active_in_every_test() -> None:
    # The autouse fixture in conftest.py makes the fits above (and every other test) fail on any download attempt.
    with pytest.raises(RuntimeError, match="tried to reach the network"):
        socket.create_connection(("203.0.113.1", 443), timeout=1)
