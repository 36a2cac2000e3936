"""A fit killed at any point continues with `--ckpt_path last` and ends where an uninterrupted fit ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import torch
from lightning.pytorch.callbacks import Callback

from leaves.callbacks.checkpoints import AtomicCheckpointIO
from leaves.configs import DEFAULT as DEFAULT_CONFIG
from leaves.errors import NonFiniteLossError
from leaves.models.module import LeavesModule
from leaves.workflows.cli import run_lightning

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = DEFAULT_CONFIG
EPOCHS, STEPS_PER_EPOCH = 3, 3  # 12 training images (4 per class) in batches of 4
KILL_AT = 4  # global step: the middle of the second epoch


def fit_args(data_dir: Path) -> list[str]:
    return [
        f"--data.data_dir={data_dir}",
        "--data.image_size=32",
        "--data.num_workers=0",
        "--data.batch_size=4",
        "--data.val_fraction=0.34",
        "--model.arch=resnet10t",
        "--model.pretrained=false",
        "--model.frozen_stages=0",
        "--model.optimizer=adamw",  # Adam keeps a step count per parameter: it shows each step counted once
        f"--trainer.max_epochs={EPOCHS}",
        "--trainer.enable_progress_bar=false",
        "--trainer.enable_model_summary=false",
        "--trainer.log_every_n_steps=1",
    ]


KILLER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from leaves.workflows.cli import run_lightning
    from test_resume import KillAt  # noqa: F401 - named by --trainer.callbacks

    run_lightning("fit", default_config=Path(sys.argv[1]), args=sys.argv[2:])
    """
)


class KillAt(Callback):
    """Sends this process `signum` once training has reached global step `step`."""

    def __init__(self, step: int, signum: int) -> None:
        self.step, self.signum = step, signum

    def on_train_batch_end(self, trainer, *args) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), self.signum)


def kill_args(signum: int, where: str, step: int = KILL_AT) -> list[str]:
    return [
        f"--trainer.callbacks+={where}.KillAt",
        f"--trainer.callbacks.step={step}",
        f"--trainer.callbacks.signum={int(signum)}",
    ]


def assert_resumes_and_finishes(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`fit --ckpt_path last` ends with the epochs, steps, optimizer and scheduler of an uninterrupted fit."""
    monkeypatch.chdir(tmp_path)
    cli = run_lightning("fit", default_config=DEFAULT, args=[*fit_args(data_dir), "--ckpt_path=last"])
    total = EPOCHS * STEPS_PER_EPOCH
    assert cli.trainer.global_step == total
    assert cli.trainer.current_epoch == EPOCHS
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["version_0"], "resumed in its own run folder"
    final = torch.load(tmp_path / "runs" / "version_0" / "checkpoints" / "last.ckpt", weights_only=True)
    assert final["global_step"] == total
    steps = {float(s["step"]) for s in final["optimizer_states"][0]["state"].values()}
    assert steps == {float(total)}, "the optimizer counted every step exactly once"
    assert final["lr_schedulers"][0]["last_epoch"] == total, "the warmup + cosine schedule ended where it should"
    metrics = pd.read_csv(tmp_path / "runs" / "version_0" / "metrics.csv")
    assert sorted(set(metrics.dropna(subset=["val_acc"])["epoch"])) == list(range(EPOCHS)), "no epoch's metrics lost"


def saved_step(tmp_path: Path) -> tuple[int, int]:
    saved = torch.load(tmp_path / "runs" / "version_0" / "checkpoints" / "last.ckpt", weights_only=True)
    return saved["global_step"], saved["epoch"]


@pytest.mark.slow
def test_a_fit_killed_by_sigkill_mid_epoch_resumes_from_the_last_periodic_checkpoint(
    tmp_path: Path, leaves_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "killed_fit.py"
    script.write_text(KILLER)
    # Nothing can react to SIGKILL: what is left is the periodic last.ckpt (every 2 steps here, 10 minutes by default).
    args = (
        fit_args(leaves_dir)
        + kill_args(signal.SIGKILL, "test_resume", step=KILL_AT + 1)
        + [
            "--trainer.callbacks+=lightning.pytorch.callbacks.ModelCheckpoint",
            "--trainer.callbacks.save_top_k=0",
            "--trainer.callbacks.save_last=true",
            "--trainer.callbacks.enable_version_counter=false",
            "--trainer.callbacks.every_n_train_steps=2",
        ]
    )
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}", "OMP_NUM_THREADS": "1"}
    killed = subprocess.run(
        [sys.executable, str(script), str(DEFAULT), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    # Checkpoint callbacks run after the others: the kill after step 5 came before step 5 was saved.
    assert saved_step(tmp_path) == (KILL_AT, 1), "the middle of the second epoch"
    assert_resumes_and_finishes(tmp_path, leaves_dir, monkeypatch)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_sigterm_or_ctrl_c_finish_the_batch_save_last_ckpt_and_resume(
    tmp_path: Path, leaves_dir: Path, signum: int, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        run_lightning("fit", default_config=DEFAULT, args=fit_args(leaves_dir) + kill_args(signum, __name__))
    assert stopped.value.code == 1, "a stopped fit must not look finished to `fit.py && predict.py`"
    assert saved_step(tmp_path) == (KILL_AT, 1), "stopped after the batch it was in, and saved it"
    assert "Continue with: leaves fit --ckpt_path last" in caplog.text
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler, "Ctrl-C handler restored"
    if signum == signal.SIGTERM:  # from here on both are the same resume; once is enough
        assert_resumes_and_finishes(tmp_path, leaves_dir, monkeypatch)


def test_a_nan_loss_stops_the_fit_with_a_clear_message_and_keeps_the_last_good_checkpoint(
    tmp_path: Path, leaves_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    step = LeavesModule.training_step

    def poisoned(self, batch, batch_idx):  # the loss blows up in the second epoch
        loss = step(self, batch, batch_idx)
        return loss * float("nan") if self.global_step >= STEPS_PER_EPOCH + 1 else loss

    monkeypatch.setattr(LeavesModule, "training_step", poisoned)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NonFiniteLossError, match=r"training loss is nan at epoch 1, step 4.*last\.ckpt"):
        run_lightning("fit", default_config=DEFAULT, args=fit_args(leaves_dir))
    kept = torch.load(tmp_path / "runs" / "version_0" / "checkpoints" / "last.ckpt", weights_only=True)
    assert kept["global_step"] == STEPS_PER_EPOCH  # saved at the end of the first epoch, before the bad step
    assert all(torch.isfinite(v).all() for v in kept["state_dict"].values() if v.is_floating_point())


def test_a_checkpoint_write_that_fails_half_way_leaves_the_previous_file_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "last.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"global_step": 1}, path)

    def dies_half_way(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"global_step": 2}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True) == {"global_step": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"], "no temporary file left behind"
