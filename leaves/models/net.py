"""Building the classifier: a timm network (or the d2l course's ResNet-18) with a choice of normalisation,
and its pretrained weights from the hub, a file or a package (`leaves.models.sources`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

import safetensors.torch
import timm
import torch
import torch.nn as nn
from timm.models import load_pretrained

from leaves.errors import ConfigError
from leaves.models.d2l import D2L_ARCHS
from leaves.models.norms import Norm, norm_layer
from leaves.models.sources import SOURCES, check_source, is_source, source_state_dict
from leaves.utils.atomic import atomic_file

#: Prefixes of names timm fetches from the Hugging Face hub (config and weights).
HUB_PREFIXES = ("hf-hub:", "hf_hub:")
#: Norm layers that ImageNet weights load into: BatchNorm, torch's or the from-scratch one (the same state_dict).
PRETRAINED_NORMS = ("batch", "scratch")


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
    if arch in D2L_ARCHS:
        return D2L_ARCHS[arch](num_classes, norm_layer(norm, norm_groups), drop_rate)
    kwargs = dict(num_classes=num_classes, drop_rate=drop_rate, drop_path_rate=drop_path_rate)
    if norm != "batch":
        kwargs["norm_layer"] = norm_layer(norm, norm_groups)
    try:
        return timm.create_model(arch, pretrained=False, **kwargs)
    except TypeError as err:  # e.g. timm's EfficientNets build their own norm+activation layers
        raise ConfigError(
            f"model.norm {norm!r} cannot be used with model.arch {arch} ({err}): use norm batch"
        ) from None


def check_arch(arch: str) -> None:
    """Refuse a name timm cannot build, before any work. A timm tag (`resnet50d.ra2_in1k`) picks one set of
    pretrained weights and must be one timm knows; `hf-hub:ORG/NAME` names are timm's to resolve."""
    if arch.startswith(HUB_PREFIXES) or arch in D2L_ARCHS:
        return
    if not timm.is_model(arch):
        raise ConfigError(f"model.arch {arch!r} is not a timm model (e.g. resnet18, resnet50d, seresnext50_32x4d)")
    base, _, tag = arch.partition(".")
    if tag and arch not in timm.list_pretrained(base):
        known = ", ".join(timm.list_pretrained(base)) or "none"
        raise ConfigError(f"model.arch {arch!r}: timm has no weights tagged {tag!r} for {base} (it has: {known})")


def check_pretrained(pretrained: Union[bool, str], arch: str, norm: str) -> None:
    """Refuse, before any work, pretrained weights that cannot be loaded: a missing file or package,
    weights of another architecture, or a norm layer with no place for the weights' BatchNorm statistics."""
    check_arch(arch)  # an unknown name first: no other message makes sense then
    if pretrained is False:
        return
    if norm not in PRETRAINED_NORMS:
        raise ConfigError(
            f"model.pretrained: ImageNet weights carry BatchNorm weights and statistics, which model.norm "
            f"{norm!r} has no place for: use model.norm batch, or train from scratch (model.pretrained false)"
        )
    if arch in D2L_ARCHS:
        raise ConfigError(f"model.pretrained: there are no pretrained weights for {arch} (it trains from scratch)")
    if is_source(pretrained):
        check_source(pretrained, arch)
    elif isinstance(pretrained, str) and not Path(pretrained).is_file():
        raise ConfigError(
            f"model.pretrained {pretrained!r} is neither a weights file nor a packaged source "
            f"({', '.join(SOURCES)}); true takes timm's weights from the hub"
        )


def load_weights(net: nn.Module, pretrained: Union[bool, str], num_classes: int) -> None:
    """Load ImageNet weights into `net`, keeping its new classifier.

    `True` asks timm for the architecture's default weights (Hugging Face hub or
    timm's cache, so it works offline once cached); a source name
    (`leaves.models.sources`) reads them from an installed package; a path loads
    a local `.pth`/`.safetensors` file in timm's names, for machines without internet.
    """
    if pretrained is False:
        return
    if is_source(pretrained):
        state = source_state_dict(pretrained, net)
        classifier = net.pretrained_cfg.get("classifier", "classifier")
        head = {k for k in state if k.startswith(classifier + ".")}
        if any(state[k].shape != net.state_dict()[k].shape for k in head):
            state = {k: v for k, v in state.items() if k not in head}  # a new head for the competition's classes
        missing, unexpected = net.load_state_dict(state, strict=False)
        assert not unexpected and set(missing) <= head, (missing, unexpected)  # the converter checked every name
        return
    cfg = dict(net.pretrained_cfg)
    if isinstance(pretrained, str):
        path = Path(pretrained)
        if not path.is_file():
            raise FileNotFoundError(f"model.pretrained: weights file {path} not found")
        cfg.update(file=str(path), source="")
    load_pretrained(net, pretrained_cfg=cfg, num_classes=num_classes)


def pretrained_net(arch: str, pretrained: Union[bool, str] = True) -> nn.Module:
    """The network with its ImageNet weights and classifier, as published: timm's from the hub or its
    cache (`True`), or those of a packaged source (`leaves.models.sources`)."""
    check_arch(arch)
    if is_source(pretrained):
        check_source(pretrained, arch)
        net = create_net(arch, num_classes=1000)
        load_weights(net, pretrained, num_classes=1000)
        return net
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


def export_weights(
    out: str | Path, arch: Optional[str] = None, pretrained: Union[bool, str] = True
) -> tuple[str, Path]:
    """Write ImageNet weights into `out` in timm's names, for `--model.pretrained FILE` on a machine that
    reaches neither the hub nor the package registry (a Kaggle notebook with the internet off): timm's for
    `arch` from the hub (`pretrained` True), or a packaged source's (`arch` defaults to the source's).
    Returns the architecture and the file; an existing file is never overwritten."""
    if is_source(pretrained):
        arch = arch or SOURCES[pretrained].arch
        check_source(pretrained, arch)
    elif pretrained is True:
        if not arch:
            raise ConfigError("--model.arch is required with timm's hub weights, e.g. --model.arch resnet50d")
        check_arch(arch)
    else:
        raise ConfigError(f"--model.pretrained must be true (the hub) or one of {', '.join(SOURCES)}; got {pretrained}")
    if Path(out).exists():
        raise FileExistsError(f"{out} already exists; choose another --out")
    return arch, save_weights(pretrained_net(arch, pretrained), out)
