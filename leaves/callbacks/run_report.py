"""The run report at the end of every fit, with the training throughput and hardware it shows."""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

from leaves.callbacks.throughput import Throughput
from leaves.report.write import write_report
from leaves.utils.hardware import describe_hardware


class RunReport(Throughput):
    """Measures training throughput during a fit and writes `report.html` into the
    run folder when it ends (rank 0 only), for the best checkpoint.

    Throughput is images per second over each training epoch, from its first
    batch to its last (data loading included, validation excluded), summed over
    devices (`Throughput`). It and the hardware are kept in the checkpoints, so a
    report built later for any checkpoint still shows them.

    Args:
        gallery: at most this many misclassified validation images are shown.
        matrix_classes: at most this many classes in the confusion matrix.
    """

    def __init__(self, gallery: int = 48, matrix_classes: int = 12) -> None:
        super().__init__()
        self.gallery = gallery
        self.matrix_classes = matrix_classes
        self.hardware = ""

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage == "fit":
            hardware = describe_hardware(trainer.strategy.root_device, trainer.world_size)
            self.hardware = f"{hardware}; precision {trainer.precision}"

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.global_rank != 0:
            return
        best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
        if not best:
            rank_zero_info("No best checkpoint was saved, so no run report was written")
            return
        device = pl_module.device
        try:
            path = write_report(
                best,
                datamodule=trainer.datamodule,
                accelerator=device.type if device.type in ("cuda", "mps") else "cpu",
                devices=[device.index or 0] if device.type == "cuda" else 1,
                precision=str(trainer.precision),
                training=self.state_dict(),
                gallery=self.gallery,
                matrix_classes=self.matrix_classes,
            )
        except Exception as err:  # the checkpoints are saved: a report problem must not fail the fit
            rank_zero_warn(f"No run report ({type(err).__name__}: {err}); retry with: leaves report --ckpt_path {best}")
            return
        rank_zero_info(f"Run report: {path}")

    def state_dict(self) -> dict[str, Any]:
        return {"hardware": self.hardware, "throughput": self.rates("train"), "train_epochs": self.epochs["train"]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.hardware = state_dict.get("hardware", "")
        self.epochs["train"] = [tuple(e) for e in state_dict.get("train_epochs", [])]
