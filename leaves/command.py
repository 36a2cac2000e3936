"""Running a package function as a command line, for the thin scripts that are not LightningCLI."""

from __future__ import annotations

from typing import Any, Callable, Optional

from jsonargparse import CLI

from leaves.kaggle import KaggleError
from leaves.table import DataError


def command(function: Callable[..., Any], args: Optional[list[str]] = None) -> Any:
    """Run `function` with options from its signature and docstring (jsonargparse).

    Failures a user can fix (data layout, missing files, Kaggle set-up) end with
    their message and exit status 1 instead of a traceback.
    """
    try:
        return CLI(function, args=args, as_positional=False)
    except (DataError, KaggleError, FileNotFoundError) as err:
        raise SystemExit(f"error: {err}") from None
