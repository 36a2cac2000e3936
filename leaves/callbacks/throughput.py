"""Images per second of training and prediction, measured the one way every report and benchmark uses.

On a GPU the work of a batch is queued, not done, when its hook runs: the
meter synchronises before it reads the clock at the points it measures.
"""

from __future__ import annotations

import statistics
import time
from typing import Any, Optional

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Throughput(Callback):
    """Wall seconds and images of every training and predict epoch.

    Args:
        include_loading: time whole epochs, from their start to their last batch
            (data loading included, validation excluded); False sums the time
            inside the batches only (forward, backward, step), so the figure
            compares models rather than decoders.
        skip_first_batch: leave each epoch's first batch out of its figure (it
            waits for the loader workers to start); it is kept in `startup`.

    Images are summed over devices, so the rate is the whole run's.
    """

    def __init__(self, include_loading: bool = True, skip_first_batch: bool = False) -> None:
        self.include_loading = include_loading
        self.skip_first_batch = skip_first_batch
        self.epochs: dict[str, list[tuple[float, int]]] = {"train": [], "predict": []}
        self.startup: dict[str, list[tuple[float, int]]] = {"train": [], "predict": []}
        self._mark = 0.0
        self._batch_t0 = 0.0
        self._seconds = 0.0
        self._images = 0
        self._batches = 0

    # -- one implementation for both stages --------------------------------------------------------

    def _epoch_start(self) -> None:
        self._mark = time.perf_counter()
        self._seconds, self._images, self._batches = 0.0, 0, 0

    def _batch_start(self) -> None:
        self._batch_t0 = time.perf_counter()

    def _batch_end(self, stage: str, pl_module: L.LightningModule, batch: Any, last: bool) -> None:
        if not self.include_loading or last or (self.skip_first_batch and self._batches == 0):
            _sync(pl_module.device)
        now = time.perf_counter()
        images = len(batch[0])
        self._batches += 1
        if self.skip_first_batch and self._batches == 1:
            self.startup[stage].append((now - self._mark, images))
            self._mark = now
            return
        self._images += images
        self._seconds = now - self._mark if self.include_loading else self._seconds + now - self._batch_t0

    def _epoch_end(self, stage: str, trainer: L.Trainer) -> None:
        if self._images and self._seconds > 0 and not trainer.sanity_checking:
            self.epochs[stage].append((self._seconds, self._images * trainer.world_size))

    def rates(self, stage: str = "train") -> list[float]:
        """Images per second of each epoch of `stage`."""
        return [images / seconds for seconds, images in self.epochs[stage]]

    def steady_rate(self, stage: str = "train") -> Optional[float]:
        """The median rate over the epochs after the first (which pays for warm-up), or None."""
        rates = self.rates(stage)
        return statistics.median(rates[1:] or rates) if rates else None

    # -- Lightning hooks ----------------------------------------------------------------------------

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._epoch_start()

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self._batch_start()

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self._batch_end("train", pl_module, batch, last=batch_idx + 1 >= trainer.num_training_batches)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._epoch_end("train", trainer)

    def on_predict_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._epoch_start()

    def on_predict_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        self._batch_start()

    def on_predict_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        last = batch_idx + 1 >= trainer.num_predict_batches[dataloader_idx]
        self._batch_end("predict", pl_module, batch, last=last)

    def on_predict_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._epoch_end("predict", trainer)

    # -- kept in the checkpoints, so a run report built later still shows the training throughput -------

    def state_dict(self) -> dict[str, Any]:
        return {"throughput": self.rates("train"), "train_epochs": self.epochs["train"]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.epochs["train"] = [tuple(e) for e in state_dict.get("train_epochs", [])]
