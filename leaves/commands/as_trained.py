"""Predict as trained, for LightningCLI: which data settings the user set, and the checkpoint's for the rest.

Every command loads `default.yaml` first, so a parsed config cannot tell a
value the user chose from the default. A setting counts as given when its
value differs from what the defaults alone give, or when the user named it:
as an option (`--data.image_size 128`) or in one of their `--config` files.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from jsonargparse import Namespace
from lightning.pytorch.cli import LightningArgumentParser
from lightning.pytorch.utilities import rank_zero_warn

from leaves.data.as_trained import INPUT_KEYS, NotAsTrainedWarning, input_settings, option_given, saved_data_settings


def config_files(args: Sequence[str]) -> list[Any]:
    """The content of every `--config FILE` / `-c FILE` / `--config=FILE` in `args` (unreadable ones: empty)."""
    paths, expect = [], False
    for arg in args:
        if expect:
            paths.append(arg)
            expect = False
        elif arg in ("--config", "-c"):
            expect = True
        elif arg.startswith("--config="):
            paths.append(arg.partition("=")[2])
    contents = []
    for path in paths:
        try:
            contents.append(yaml.safe_load(Path(path).read_text()) or {})
        except (OSError, yaml.YAMLError):
            contents.append({})
    return contents


def apply_input_settings(parser: LightningArgumentParser, args: Sequence[str], cfg: Namespace, sub: str) -> None:
    """Set `cfg.data`'s input-defining settings to those `cfg.ckpt_path` was trained with, except the ones
    the user gave explicitly (honoured, with a warning naming both values when they differ)."""
    saved = saved_data_settings(cfg.ckpt_path)
    if saved is None:
        rank_zero_warn(
            f"{cfg.ckpt_path} holds no data settings (not written by leaves fit): using the config's "
            + ", ".join(f"data.{k}={cfg.data.get(k)}" for k in INPUT_KEYS),
            category=NotAsTrainedWarning,
        )
        return
    defaults = parser.parse_args([sub])[sub].data
    files = config_files(args)
    explicit = {
        key: cfg.data.get(key)
        for key in INPUT_KEYS
        if cfg.data.get(key) != defaults.get(key) or option_given(key, args, files)
    }
    for key, value in input_settings(saved, explicit, cfg.ckpt_path, "given").items():
        cfg.data[key] = value
