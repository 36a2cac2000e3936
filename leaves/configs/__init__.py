"""The configs that ship with the package: `default.yaml` (loaded first by every command) and the presets.

They are package data, so an installed `leaves fit` finds them from any
folder. `--config` takes a file, or a preset's name (`--config classify-leaves`);
the old spelling `configs/NAME.yaml` still works where no such file exists.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

CONFIGS = Path(__file__).resolve().parent
DEFAULT = CONFIGS / "default.yaml"
#: Applied first, on its own, when a fit is given no data folder: the demo data trains for fewer epochs.
DEMO = CONFIGS / "demo.yaml"


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


#: The spellings of the option that names a config file.
CONFIG_FLAGS = ("--config", "-c")


def _with_config_values(args: list[str], change: Callable[[str], str]) -> tuple[list[str], list[str]]:
    """`args` with every config value (`--config X`, `-c X`, `--config=X`) passed through `change`, and
    those values as changed: the one place the option is recognised."""
    out: list[str] = []
    values: list[str] = []
    expect = False
    for arg in args:
        if expect:
            values.append(change(arg))
            out.append(values[-1])
            expect = False
        elif arg in CONFIG_FLAGS:
            out.append(arg)
            expect = True
        elif arg.startswith("--config="):
            values.append(change(arg.partition("=")[2]))
            out.append("--config=" + values[-1])
        else:
            out.append(arg)
    return out, values


def resolve_config_args(args: list[str]) -> list[str]:
    """Command-line arguments with every config pointing at a file that exists where possible."""
    return _with_config_values(list(args), config_path)[0]


def config_files(args: list[str]) -> list[str]:
    """The config files `args` name, in order, each as `resolve_config_args` resolves it."""
    return _with_config_values(list(args), config_path)[1]
