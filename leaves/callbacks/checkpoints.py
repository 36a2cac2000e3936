"""Checkpoints that survive interruptions: atomic writes, and a last.ckpt on Ctrl-C or SIGTERM.

Lightning's own atomic save writes through fsspec, whose temporary file lives
in the system temp folder: when that is another file system (a tmpfs, a
container's scratch disk) the final move is a copy, and a kill during the
copy leaves a truncated checkpoint under the real name. Here the temporary
file sits next to the target, so the rename is atomic.

A kill that cannot be caught (SIGKILL, power loss, an out-of-memory kill)
loses at most the work since the last periodic `last.ckpt`; Ctrl-C and
SIGTERM (schedulers, `kill`, a preempted cloud machine) stop after the current
batch and save `last.ckpt` first, so `--ckpt_path last` continues from there.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional, Union

import lightning as L
import torch
from lightning.fabric.utilities.types import _PATH
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities import rank_zero_info
from lightning.pytorch.utilities.exceptions import SIGTERMException

from leaves.utils.atomic import atomic_file


class AtomicCheckpointIO(TorchCheckpointIO):
    """`torch.save` into a temporary file beside the target, then `os.replace`."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: _PATH, storage_options: Optional[Any] = None) -> None:
        if "://" in str(path):  # remote storage: fsspec's transaction is the right tool there
            return super().save_checkpoint(checkpoint, path, storage_options)
        with atomic_file(path) as f:
            torch.save(checkpoint, f)


class InterruptCheckpoint(Callback):
    """On Ctrl-C or SIGTERM during fit: finish the current batch, save `last.ckpt`, stop.

    Lightning already turns SIGTERM into a stop after the current batch; this
    makes the first Ctrl-C do the same (a second one interrupts at once) and
    saves the checkpoint next to the run's others, where `--ckpt_path last`
    finds it. Stopping at a batch boundary matters: a checkpoint taken in the
    middle of an optimizer step would hold half-updated weights.

    Args:
        filename: checkpoint name, without `.ckpt`, in the ModelCheckpoint folder.
    """

    def __init__(self, filename: str = "last") -> None:
        self.filename = filename
        self._previous_sigint: Union[Callable, int, None] = None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if threading.current_thread() is threading.main_thread():
            self._previous_sigint = signal.signal(signal.SIGINT, lambda *_: self._stop_soon(trainer))

    def _stop_soon(self, trainer: L.Trainer) -> None:
        rank_zero_info("\nCtrl-C: stopping after this batch and saving last.ckpt (Ctrl-C again stops at once)")
        self._restore_sigint()
        # The same flag Lightning's SIGTERM handler sets: the loops raise SIGTERMException at the batch end.
        trainer._signal_connector.received_sigterm = True

    def _restore_sigint(self) -> None:
        if self._previous_sigint is not None:
            signal.signal(signal.SIGINT, self._previous_sigint)
            self._previous_sigint = None

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._restore_sigint()

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        self._restore_sigint()
        ckpt = trainer.checkpoint_callback
        if trainer.state.fn != TrainerFn.FITTING or ckpt is None or ckpt.dirpath is None:
            return
        if not isinstance(exception, SIGTERMException):
            return  # other failures (NaN loss, bad data, bugs) must not replace the last good checkpoint
        path = Path(ckpt.dirpath) / f"{self.filename}.ckpt"
        trainer.save_checkpoint(path)
        rank_zero_info(
            f"Stopped at epoch {trainer.current_epoch}, step {trainer.global_step}; saved {path}. "
            "Continue with: leaves fit --ckpt_path last (plus the same options)"
        )
