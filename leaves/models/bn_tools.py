"""BatchNorm tools for the competition: precise BN statistics and BN folded into convolutions.

Both rest on torch's own utilities: `torch.optim.swa_utils.update_bn`
recomputes running statistics as a true average over training batches
(instead of the moving average left by the last steps), and
`torch.nn.utils.fusion.fuse_conv_bn_eval` folds every eval-mode BatchNorm into
the convolution before it, so inference skips a pass over every feature map.
The pairs are found by module structure rather than by tracing, so networks
torch.fx cannot trace (timm's EfficientNets, with their TF "same" padding) fold too.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterable

import torch
import torch.nn as nn
from timm.layers import BatchNormAct2d
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.utils.fusion import fuse_conv_bn_eval
from torch.optim.swa_utils import update_bn

from leaves.errors import ConfigError
from leaves.models.batchnorm import BatchNorm

#: Norm layers folded into the convolution before them: exactly these types (a subclass may compute more).
FOLDABLE = (nn.BatchNorm2d, BatchNormAct2d)


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


def _after_fold(norm: nn.Module) -> nn.Module:
    """What is left of a norm layer once its affine map is in the convolution: nothing, or timm's activation."""
    return nn.Identity() if type(norm) is nn.BatchNorm2d else nn.Sequential(norm.drop, norm.act)


def _fold_pairs(net: nn.Module) -> int:
    """Fold, in place, every BatchNorm registered right after a convolution of as many channels
    into it; returns how many. Registration order is not execution order in every network, so the
    caller checks the result against the unfolded network."""
    folded = 0
    for parent in list(net.modules()):
        children = list(parent.named_children())
        for (conv_name, conv), (norm_name, norm) in zip(children, children[1:]):
            if (
                isinstance(conv, nn.Conv2d)
                and type(norm) in FOLDABLE
                and norm.num_features == conv.out_channels
                and norm.running_mean is not None
            ):
                setattr(parent, conv_name, fuse_conv_bn_eval(conv, norm))
                setattr(parent, norm_name, _after_fold(norm))
                folded += 1
    return folded


def fuse_bn(net: nn.Module) -> nn.Module:
    """An eval-mode copy of `net` with each Conv+BatchNorm pair folded into one Conv (timm's
    BatchNorm+activation layers keep their activation).

    `net` itself is untouched (it may go on training). The folded copy is checked against `net` on a
    random batch; where they differ (a network whose layers are not registered in the order they
    run), the unfolded copy is returned with a warning: folding is only an optimisation.
    """
    original = copy.deepcopy(net).eval()
    fused = with_torch_batchnorm(copy.deepcopy(net).eval())
    if not _fold_pairs(fused):
        return fused
    param = next(net.parameters())
    x = torch.randn(2, 3, 64, 64, device=param.device, dtype=param.dtype)
    with torch.no_grad():
        want, got = original(x), fused(x)
    if not torch.allclose(got, want, rtol=1e-3, atol=1e-3 * float(want.abs().max())):
        warnings.warn(
            f"BatchNorm folding skipped: the folded {type(net).__name__} does not compute what it did "
            f"(largest difference {float((got - want).abs().max()):.3g})",
            stacklevel=2,
        )
        return original
    return fused
