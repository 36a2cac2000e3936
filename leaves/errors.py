"""Every error a user can fix, in one place.

Each layer raises one of these with a message naming the file, row or option
at fault; the command runner (`leaves.commands`) turns any of them into one
error line and a non-zero exit instead of a traceback. Anything else that
escapes is a bug and keeps its traceback.
"""

from __future__ import annotations


class LeavesError(ValueError):
    """A problem with the user's data, options, files or set-up; the message says what to do."""


class DataError(LeavesError):
    """The data folder does not look like the Kaggle layout; the message says where."""


class ConfigError(LeavesError):
    """An option has a value that cannot work; the message names the option."""


class CheckpointError(LeavesError):
    """A checkpoint is missing or does not fit what it is used with."""


class ClassListMismatch(CheckpointError):
    """Checkpoints trained on different class lists cannot be averaged class by class."""


class KaggleError(LeavesError):
    """Kaggle cannot be used as things are set up; the message says what to do."""


class NonFiniteLossError(LeavesError):
    """The training loss became NaN or infinite; the message says where and what to try."""


class SelfCheckError(LeavesError):
    """The prediction path scores the checkpoint's own validation split far below its training record."""
