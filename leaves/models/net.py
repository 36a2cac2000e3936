"""Building the classifier: timm's ResNet family with a choice of normalisation."""

from __future__ import annotations

from pathlib import Path
from typing import Union

import safetensors.torch
import timm
import torch
import torch.nn as nn
from timm.models import load_pretrained

from leaves.errors import ConfigError
from leaves.models.norms import Norm, norm_layer
from leaves.utils.atomic import atomic_file

#: Prefixes of names timm fetches from the Hugging Face hub (config and weights).
HUB_PREFIXES = ("hf-hub:", "hf_hub:")


def create_net(
    arch: str,
    num_classes: int,
    norm: Norm = "batch",
    norm_groups: int = 32,
    drop_rate: float = 0.0,
    drop_path_rate: float = 0.0,
) -> nn.Module:
    """A randomly initialised network; weights come later, from a checkpoint or `load_weights`."""
    check_arch(arch)
    kwargs = dict(num_classes=num_classes, drop_rate=drop_rate, drop_path_rate=drop_path_rate)
    if norm != "batch":
        kwargs["norm_layer"] = norm_layer(norm, norm_groups)
    return timm.create_model(arch, pretrained=False, **kwargs)


def check_arch(arch: str) -> None:
    """Refuse a name timm cannot build, before any work. A timm tag (`resnet50d.ra2_in1k`) picks one set of
    pretrained weights and must be one timm knows; `hf-hub:ORG/NAME` names are timm's to resolve."""
    if arch.startswith(HUB_PREFIXES):
        return
    if not timm.is_model(arch):
        raise ConfigError(f"model.arch {arch!r} is not a timm model (e.g. resnet18, resnet50d, seresnext50_32x4d)")
    base, _, tag = arch.partition(".")
    if tag and arch not in timm.list_pretrained(base):
        known = ", ".join(timm.list_pretrained(base)) or "none"
        raise ConfigError(f"model.arch {arch!r}: timm has no weights tagged {tag!r} for {base} (it has: {known})")


def load_weights(net: nn.Module, pretrained: Union[bool, str], num_classes: int) -> None:
    """Load ImageNet weights into `net`, keeping its new classifier.

    `True` asks timm for the architecture's default weights (Hugging Face hub or
    timm's cache, so it works offline once cached); a path loads a local
    `.pth`/`.safetensors` file, for machines without internet.
    """
    if pretrained is False:
        return
    cfg = dict(net.pretrained_cfg)
    if isinstance(pretrained, str):
        path = Path(pretrained)
        if not path.is_file():
            raise FileNotFoundError(f"model.pretrained: weights file {path} not found")
        cfg.update(file=str(path), source="")
    load_pretrained(net, pretrained_cfg=cfg, num_classes=num_classes)


def pretrained_net(arch: str) -> nn.Module:
    """timm's network with its pretrained weights (from the hub or timm's cache), as timm publishes it."""
    check_arch(arch)
    return timm.create_model(arch, pretrained=True)


def save_weights(net: nn.Module, path: Union[str, Path]) -> Path:
    """Write `net`'s weights to `path` (`.safetensors`, else a torch `.pth`), in the form
    `--model.pretrained FILE` loads; an existing file is never overwritten (it may be someone's upload)."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} already exists; choose another --out")
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    with atomic_file(path) as f:
        if path.suffix == ".safetensors":
            f.write(safetensors.torch.save(state))
        else:
            torch.save(state, f)
    return path
