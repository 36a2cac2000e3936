"""BatchNorm folded into the convolutions for prediction: the same outputs, one pass over every feature map less.

`torch.nn.utils.fusion.fuse_conv_bn_eval` does the arithmetic. The pairs are
found by module structure rather than by tracing, so networks torch.fx cannot
trace (timm's EfficientNets, with their TF "same" padding) fold too; the
Predictor checks the folded copy against the original on the first batch it
predicts, and keeps the original where they differ.
"""

from __future__ import annotations

import copy

import torch.nn as nn
from timm.layers import BatchNormAct2d
from torch.nn.utils.fusion import fuse_conv_bn_eval

from leaves.models.batchnorm import BatchNorm

#: Norm layers folded into the convolution before them: exactly these types (a subclass may compute more).
FOLDABLE = (nn.BatchNorm2d, BatchNormAct2d)


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


def fuse_bn(net: nn.Module) -> tuple[nn.Module, int]:
    """An eval-mode copy of `net` with each Conv+BatchNorm pair folded into one Conv (timm's
    BatchNorm+activation layers keep their activation), and how many pairs were folded.

    `net` itself is untouched (it may go on training). The pairs are found by registration order, which
    is not execution order in every network: a caller checks the copy against `net` on real inputs
    (`leaves.inference.Predictor` does, on the first batch it predicts).
    """
    fused = with_torch_batchnorm(copy.deepcopy(net).eval())
    return fused, _fold_pairs(fused)
