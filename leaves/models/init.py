"""Weight initialisation schemes for a network built from scratch: a registry from name to function.

`default` keeps timm's own initialisation (Kaiming for convolutions); `xavier`
is what the d2l course's `init_cnn` does (xavier_uniform on every Conv2d and
Linear weight, biases and norm layers untouched), so `configs/seed.yaml` can
reproduce that recipe. Pretrained weights and checkpoints replace either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch.nn as nn

from leaves.errors import ConfigError


def _xavier(net: nn.Module) -> None:
    for module in net.modules():
        if type(module) in (nn.Conv2d, nn.Linear):
            nn.init.xavier_uniform_(module.weight)


#: name -> f(net), changing the weights in place. Adding a scheme is one entry; `--model.init` offers every name.
INITS: dict[str, Callable[[nn.Module], None]] = {
    "default": lambda net: None,
    "xavier": _xavier,
}

Init = Literal[tuple(INITS)]  # type: ignore[valid-type]  # the CLI's choices, from the registry


def init_weights(net: nn.Module, scheme: str) -> None:
    """Initialise `net` in place with the scheme named `scheme`."""
    if scheme not in INITS:
        raise ConfigError(f"model.init must be one of {', '.join(INITS)}; got {scheme!r}")
    INITS[scheme](net)
