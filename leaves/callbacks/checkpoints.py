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
from datetime import timedelta
from pathlib import Path
from typing import Any, Optional, Union

import lightning as L
import torch
from lightning.fabric.utilities.types import _PATH
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities import rank_zero_info
from lightning.pytorch.utilities.exceptions import SIGTERMException

from leaves.layout import BEST, LAST, MONITOR, MONITOR_MODE, TIE_BREAK, checkpoint_file
from leaves.utils.atomic import atomic_file


class BestCheckpoint(ModelCheckpoint):
    """`checkpoints/best.ckpt`: the weights of the best validation accuracy (the monitored metric), and of
    those of equal accuracy, the lowest validation loss.

    Listed first among the callbacks, it is the Trainer's `checkpoint_callback`, which predict,
    the report and k-fold ask for the best checkpoint.

    Args:
        dirpath: the run's checkpoints folder (set by the command line).
    """

    def __init__(self, dirpath: Optional[str] = None) -> None:
        super().__init__(dirpath=dirpath, monitor=MONITOR, mode=MONITOR_MODE, filename=BEST)
        #: The TIE_BREAK metric (validation loss) of the kept checkpoint; None until one is kept.
        self.best_tie_break: Optional[float] = None

    def check_monitor_top_k(self, trainer: L.Trainer, current: Optional[torch.Tensor] = None) -> bool:
        """A better accuracy wins, as in Lightning; an equal accuracy with a lower validation loss wins too.

        Lightning keeps the first of equals. On a small validation split (the demo's 36 images) the
        accuracy often reaches its top early and stays there while the model keeps improving: on the
        demo, the first epoch at 1.000 scored 0.965 on the test set and a later one at 1.000 0.986
        (docs/recipes.md, "The demo"). The loss, which still moves, tells such epochs apart.
        """
        loss = trainer.callback_metrics.get(TIE_BREAK)
        if super().check_monitor_top_k(trainer, current):
            better = True
        else:
            kept = self.best_k_models.get(self.kth_best_model_path)
            tie = (
                current is not None
                and kept is not None
                and loss is not None
                and self.best_tie_break is not None
                and float(current) == float(kept)
                and float(loss) < self.best_tie_break
            )
            better = trainer.strategy.reduce_boolean_decision(tie)
        if better:  # Lightning saves these weights next: remember their loss
            self.best_tie_break = None if loss is None else float(loss)
        return better

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "best_tie_break": self.best_tie_break}  # a resumed fit breaks ties alike

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self.best_tie_break = state_dict.get("best_tie_break")


class LastCheckpoint(ModelCheckpoint):
    """`checkpoints/last.ckpt`, the latest state, to resume with `--ckpt_path last`: rewritten at every epoch
    end, or, with `every`, also that often inside an epoch (so a SIGKILL loses at most that much).

    Lightning 2.6's own `save_last` writes only when the monitored checkpoint improved, so it is not used
    for the epoch-end copy.

    Args:
        dirpath: the run's checkpoints folder (set by the command line).
        every: also refresh last.ckpt after this much training time within an epoch ("0:10:00").
    """

    def __init__(self, dirpath: Optional[str] = None, every: Optional[str] = None) -> None:
        if every is None:
            super().__init__(dirpath=dirpath, filename=LAST, enable_version_counter=False)
        else:
            hours, minutes, seconds = (float(p) for p in every.split(":"))
            super().__init__(
                dirpath=dirpath,
                save_top_k=0,
                save_last=True,
                enable_version_counter=False,  # the same last.ckpt as the epoch-end one, not last-v1.ckpt
                train_time_interval=timedelta(hours=hours, minutes=minutes, seconds=seconds),
            )
            self.CHECKPOINT_NAME_LAST = LAST


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

    def __init__(self, filename: str = LAST) -> None:
        self.filename = filename
        self._previous_sigint: Union[Callable, int, None] = None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if threading.current_thread() is threading.main_thread():
            self._previous_sigint = signal.signal(signal.SIGINT, lambda *_: self._stop_soon(trainer))

    def _stop_soon(self, trainer: L.Trainer) -> None:
        rank_zero_info(
            f"\nCtrl-C: stopping after this batch and saving {checkpoint_file(self.filename)} "
            "(Ctrl-C again stops at once)"
        )
        self._restore_sigint()
        # The same flag Lightning's SIGTERM handler sets: the loops raise SIGTERMException at the batch end.
        # A private attribute (checked on Lightning 2.6.6): Lightning has no public way to ask the loops to stop
        # at the next batch boundary *and* raise, which is what makes InterruptCheckpoint save and exit 1.
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
        path = Path(ckpt.dirpath) / checkpoint_file(self.filename)
        trainer.save_checkpoint(path)
        rank_zero_info(
            f"Stopped at epoch {trainer.current_epoch}, step {trainer.global_step}; saved {path}. "
            "Continue with: leaves fit --ckpt_path last (plus the same options)"
        )
