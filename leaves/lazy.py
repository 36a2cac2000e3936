"""Re-exports that import on first use: a sub-package names its public API without importing it all.

`from leaves.data import read_table` must not pay for torch and Lightning,
and `leaves --help` must answer at once; so each package's `__init__` lists
name -> module, and a name's module is imported only when the name is asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, names: Mapping[str, str]) -> tuple[Callable[[str], Any], list[str]]:
    """`__getattr__` and `__all__` for `package`, whose public `names` live in the given modules."""

    def __getattr__(name: str) -> Any:
        if name in names:
            return getattr(importlib.import_module(names[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__, sorted(names)
