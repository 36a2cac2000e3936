"""The one runner every command goes through: the same error handling and option style for all.

A user's mistake (bad data, a bad option value, a missing checkpoint, a Kaggle
refusal) ends with one `error: ...` message and exit status 1, never a
traceback; jsonargparse answers an unknown option with the usage and status 2.
Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Optional

from jsonargparse import CLI
from lightning.fabric.utilities.exceptions import MisconfigurationException

from leaves.errors import LeavesError
from leaves.utils.quiet import quiet_lightning

#: Exceptions that carry a message for the user rather than a bug.
USER_ERRORS = (LeavesError, FileNotFoundError, FileExistsError, PermissionError, MisconfigurationException)


def user_errors_exit(run: Callable[[], Any]) -> Any:
    """Call `run`; a user error becomes `SystemExit("error: <message>")` (printed, exit status 1)."""
    try:
        return run()
    except USER_ERRORS as err:
        raise SystemExit(f"error: {err}") from None


def command(function: Callable[..., Any], args: Optional[list[str]] = None, prog: Optional[str] = None) -> Any:
    """Run `function` as a command: options from its signature and docstring (jsonargparse), dotted
    groups for dataclass parameters (`--data.data_dir`), user errors as one message."""
    kwargs = {"prog": prog} if prog else {}
    with quiet_lightning():
        return user_errors_exit(lambda: CLI(function, args=list(args or []), **kwargs))
