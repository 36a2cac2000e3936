"""BatchNorm tools for the competition: precise BN statistics and BN folded into convolutions.

Both rest on torch's own utilities: `torch.optim.swa_utils.update_bn`
recomputes running statistics as a true average over training batches
(instead of the moving average left by the last steps), and
`torch.fx.experimental.optimization.fuse` folds every eval-mode BatchNorm into
the convolution before it, so inference skips a pass over every feature map.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterable

import torch
import torch.nn as nn
from torch.fx.experimental.optimization import fuse
from torch.nn.modules.batchnorm import _BatchNorm
from torch.optim.swa_utils import update_bn

from leaves.errors import ConfigError
from leaves.models.batchnorm import BatchNorm


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


def with_torch_batchnorm(net: nn.Module) -> nn.Module:
    """Swap the from-scratch BatchNorm layers of `net` for torch's BatchNorm2d in place.

    Their state_dicts are interchangeable, so the swap keeps every statistic
    and parameter; it lets torch's fusion, which matches torch's BN types, fold them too.
    """
    for name, module in list(net.named_modules()):
        if isinstance(module, BatchNorm):
            twin = nn.BatchNorm2d(
                module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats
            )
            state = [t for t in (module.weight, module.running_mean) if t is not None]
            if state:  # same device and dtype as the layer it replaces
                twin.to(device=state[0].device, dtype=state[0].dtype)
            twin.load_state_dict(module.state_dict())
            parent_name, _, child = name.rpartition(".")
            setattr(net.get_submodule(parent_name), child, twin.train(module.training))
    return net


def fuse_bn(net: nn.Module) -> nn.Module:
    """An eval-mode copy of `net` with each Conv+BatchNorm pair folded into one Conv.

    `net` itself is untouched (it may go on training). A network that torch.fx
    cannot trace is returned unfused, with a warning saying why.
    """
    net = with_torch_batchnorm(copy.deepcopy(net).eval())
    try:
        return fuse(net, inplace=True)
    except Exception as err:  # fx tracing fails in many model-specific ways; fusion is only an optimisation
        warnings.warn(
            f"BatchNorm folding skipped, {type(net).__name__} is not traceable by torch.fx: {err}", stacklevel=2
        )
        return net
