"""The run report at the end of every fit, with the hardware it ran on."""

from __future__ import annotations

from typing import Any, Optional

import lightning as L
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

from leaves.callbacks.throughput import Throughput
from leaves.report.write import write_report
from leaves.utils.hardware import describe_hardware


class RunReport(L.Callback):
    """Writes `report.html` into the run folder when a fit ends (rank 0 only), for the best checkpoint.

    The report shows the training throughput measured by the fit's `Throughput` callback (when there is
    one) and the hardware, which this callback keeps in the checkpoints, so a report built later for
    any checkpoint still shows them.

    Args:
        gallery: at most this many misclassified validation images are shown.
        matrix_classes: at most this many classes in the confusion matrix.
    """

    def __init__(self, gallery: int = 48, matrix_classes: int = 12) -> None:
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
        meter: Optional[Throughput] = next((c for c in trainer.callbacks if isinstance(c, Throughput)), None)
        device = pl_module.device
        try:
            path = write_report(
                best,
                datamodule=trainer.datamodule,
                accelerator=device.type if device.type in ("cuda", "mps") else "cpu",
                devices=[device.index or 0] if device.type == "cuda" else 1,
                precision=str(trainer.precision),
                training={**(meter.state_dict() if meter is not None else {}), **self.state_dict()},
                gallery=self.gallery,
                matrix_classes=self.matrix_classes,
            )
        except Exception as err:  # the checkpoints are saved: a report problem must not fail the fit
            rank_zero_warn(f"No run report ({type(err).__name__}: {err}); retry with: leaves report --ckpt_path {best}")
            return
        rank_zero_info(f"Run report: {path}")

    def state_dict(self) -> dict[str, Any]:
        return {"hardware": self.hardware}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.hardware = state_dict.get("hardware", "")
