"""`--trainer.precision auto`: the precision that fits the machine, chosen before the Trainer is built.

Lightning's Trainer has no "auto" precision. `LeavesTrainer` only widens the
option's type so configs and the command line may say `auto`; `LeavesCLI`
replaces it by the concrete choice (and says which) before the Trainer is
built, so the saved config.yaml records what actually ran.
"""

from __future__ import annotations

from typing import Any, Literal, Optional, Union

import lightning as L
import torch
from jsonargparse import Namespace
from lightning.fabric.connector import _PRECISION_INPUT
from lightning.pytorch.utilities import rank_zero_info

from leaves.utils.hardware import auto_precision

Precision = Optional[Union[_PRECISION_INPUT, Literal["auto"]]]


class LeavesTrainer(L.Trainer):
    """Lightning's Trainer, with `precision="auto"` accepted (see `leaves.utils.hardware.auto_precision`)."""

    def __init__(self, *args: Any, precision: Precision = None, **kwargs: Any) -> None:
        if precision == "auto":
            precision = auto_precision(kwargs.get("accelerator", "auto"))
        super().__init__(*args, precision=precision, **kwargs)


def resolve_precision(trainer_cfg: Namespace) -> None:
    """Turn `precision: auto` in a trainer config into the concrete choice for this machine, and say it."""
    if trainer_cfg.get("precision") != "auto":
        return
    chosen = auto_precision(trainer_cfg.get("accelerator") or "auto")
    trainer_cfg.precision = chosen
    rank_zero_info(f"--trainer.precision auto: using {chosen} ({_why(chosen)})")


def _why(chosen: str) -> str:
    if chosen == "32-true":
        return "no CUDA GPU"
    name = torch.cuda.get_device_name()
    major, minor = torch.cuda.get_device_capability()
    native = "supports" if chosen.startswith("bf16") else "has no native"
    return f"{name}, compute capability {major}.{minor}, {native} bf16"
