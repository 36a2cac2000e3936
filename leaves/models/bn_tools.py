"""Precise BN statistics: torch's `torch.optim.swa_utils.update_bn` recomputes running statistics as a
true average over training batches (instead of the moving average left by the last steps).
BatchNorm folding for prediction is `leaves.inference.bn_fold`.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.optim.swa_utils import update_bn

from leaves.errors import ConfigError


def count_batchnorms(net: nn.Module) -> int:
    return sum(isinstance(m, _BatchNorm) for m in net.modules())


def recalibrate_bn(net: nn.Module, batches: Iterable[torch.Tensor]) -> int:
    """Replace every torch BatchNorm's running statistics by their average over `batches`
    (normalised model inputs); returns how many layers were recalibrated.

    Only BN buffers change: weights stay as trained. The layers see the batches in
    train mode with momentum None (a cumulative average), then the module's mode is restored.
    """
    found = count_batchnorms(net)
    if not found:
        raise ConfigError("precise BN recalibrates torch BatchNorm layers (model.norm: batch); this model has none")
    with torch.no_grad():
        update_bn(batches, net)
    return found
