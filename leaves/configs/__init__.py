"""The configs that ship with the package: `default.yaml` (loaded first by every command) and the presets.

They are package data, so an installed `leaves fit` finds them from any
folder. `--config` takes a file, or a preset's name (`--config classify-leaves`);
the old spelling `configs/NAME.yaml` still works where no such file exists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

CONFIGS = Path(__file__).resolve().parent
DEFAULT = CONFIGS / "default.yaml"


def presets() -> list[str]:
    """The names of the shipped configs, without `.yaml`."""
    return sorted(p.stem for p in CONFIGS.glob("*.yaml"))


def config_path(name: str) -> str:
    """`name` itself when it is a file, else the shipped config it names (by stem or `configs/<stem>.yaml`)."""
    if Path(name).is_file():
        return name
    stem = Path(name).stem if Path(name).suffix in (".yaml", ".yml") else name
    shipped = CONFIGS / f"{stem}.yaml"
    return str(shipped) if shipped.is_file() else name


def resolve_config_args(args: list[str]) -> list[str]:
    """Command-line arguments with every `--config X` pointing at a file that exists where possible."""
    out: list[str] = []
    expect = False
    for arg in args:
        if expect:
            out.append(config_path(arg))
            expect = False
        elif arg == "--config":
            out.append(arg)
            expect = True
        elif arg.startswith("--config="):
            out.append("--config=" + config_path(arg.partition("=")[2]))
        else:
            out.append(arg)
    return out


def default_setting(dotted: str) -> Any:
    """A value of `default.yaml` by its dotted name (`data.demo_dir`, `runs_dir`): commands that are
    not LightningCLI take their defaults from the same file, so each default is written once."""
    value: Any = yaml.safe_load(DEFAULT.read_text())
    for key in dotted.split("."):
        value = value[key]
    return value
