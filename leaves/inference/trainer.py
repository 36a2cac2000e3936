"""The one Trainer every prediction pass outside `leaves predict` uses (ensembles, self-check, out-of-fold, report).

A pass over data with a finished model needs no logger, checkpoints or
progress bar, on one device: the same settings everywhere, so every such pass
predicts the way `leaves predict` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

import lightning as L
from lightning.pytorch.callbacks import Callback

from leaves.utils.hardware import auto_precision


def predict_trainer(
    accelerator: str = "auto",
    devices: Any = 1,
    precision: Optional[str] = None,
    callbacks: Optional[Sequence[Callback]] = None,
    progress_bar: bool = False,
) -> L.Trainer:
    """A single-device Trainer for `predict` only; `precision` None means full float32, "auto" what fits the
    device (`leaves.utils.hardware.auto_precision`)."""
    if precision == "auto":
        precision = auto_precision(accelerator)
    return L.Trainer(
        accelerator=accelerator,
        devices=devices,
        precision=precision or "32-true",
        logger=False,
        callbacks=list(callbacks or []),
        enable_checkpointing=False,
        enable_progress_bar=progress_bar,
        enable_model_summary=False,
    )
