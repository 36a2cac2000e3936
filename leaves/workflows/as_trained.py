"""Predict as trained, for LightningCLI: the checkpoint's model, and its input settings unless the user set them.

The model that predicts or validates is the one in the checkpoint (network,
classes, normalisation), whatever the config says: its weights fit nothing
else. The input-defining data settings (`leaves.data.as_trained.INPUT_KEYS`)
come from the checkpoint too, except the ones the user gave: every command
loads `default.yaml` first, so a parsed config cannot tell a value the user
chose from the default. A setting counts as given when its value differs from
what the defaults alone give, or when the user named it: as an option
(`--data.image_size 128`) or in one of their `--config` files.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from jsonargparse import Namespace
from lightning.pytorch.cli import LightningArgumentParser
from lightning.pytorch.utilities import rank_zero_warn

from leaves.configs import config_files
from leaves.data.as_trained import INPUT_KEYS, NotAsTrainedWarning, input_settings
from leaves.utils.checkpoint import Checkpoint


def _contents(paths: Iterable[str]) -> list[Any]:
    contents = []
    for path in paths:
        try:
            contents.append(yaml.safe_load(Path(path).read_text()) or {})
        except (OSError, yaml.YAMLError):
            contents.append({})
    return contents


def option_given(key: str, args: Iterable[str], config_contents: Iterable[Mapping[str, Any]]) -> bool:
    """Whether `data.<key>` was set by the user: as an option in `args`, or in one of their config files."""
    flag = f"--data.{key}"
    if any(arg == flag or arg.startswith(flag + "=") for arg in args):
        return True
    for content in config_contents:
        section = content.get("data") if isinstance(content, Mapping) else None
        if isinstance(section, Mapping) and key in section:
            return True
        if isinstance(section, Mapping) and isinstance(section.get("init_args"), Mapping):
            if key in section["init_args"]:
                return True
    return False


def apply_as_trained(
    parser: LightningArgumentParser, args: Sequence[str], cfg: Namespace, sub: str, checkpoint: Checkpoint
) -> None:
    """Make `cfg` the checkpoint's model (its settings, pretrained off, its class list through the data),
    and set `cfg.data`'s input-defining settings to the checkpoint's, except the ones the user gave
    explicitly (honoured, with a warning naming both values when they differ)."""
    saved_model = checkpoint.model_settings
    for key, value in saved_model.items():
        if key in cfg.model and key != "class_names":
            cfg.model[key] = value
    cfg.model.pretrained = False  # the checkpoint holds the trained weights: never fetch pretrained ones
    if checkpoint.class_names is not None:
        cfg.data.class_names = checkpoint.class_names
    saved = checkpoint.data_settings
    if saved is None:
        rank_zero_warn(
            f"{checkpoint.path} holds no data settings (not written by leaves fit): using the config's "
            + ", ".join(f"data.{k}={cfg.data.get(k)}" for k in INPUT_KEYS),
            category=NotAsTrainedWarning,
        )
        return
    defaults = parser.parse_args([sub])[sub].data
    files = _contents(config_files(list(args)))
    explicit = {
        key: cfg.data.get(key)
        for key in INPUT_KEYS
        if cfg.data.get(key) != defaults.get(key) or option_given(key, args, files)
    }
    for key, value in input_settings(saved, explicit, checkpoint.path, "given").items():
        cfg.data[key] = value
