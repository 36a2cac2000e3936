"""Lightning's and torch's messages that are not about the user's run, silenced for the length of a command.

A newcomer reads the terminal to learn how their run went; each line here
reads like advice or a fault and is neither. Each filter matches one message
exactly, so anything else Lightning says still shows. Checked on Lightning
2.6.6 with torch 2.14.1.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

#: Logger messages that start with these are dropped: Lightning's advertisement for its cloud logger,
#: printed by every Trainer that has no LitLogger (twice per `leaves predict`: the self-check's and predict's).
NOT_ABOUT_THE_RUN = ("💡 Tip: For seamless cloud logging",)
#: Warnings (regular expressions of their start): torch 2.14 deprecates a call inside Lightning's own
#: batch flattening (`lightning.pytorch.utilities._pytree`), on every fit and predict.
FOREIGN_WARNINGS = (r"`isinstance\(treespec, LeafSpec\)` is deprecated",)
#: Lightning's warning that modules are in eval mode when training starts: the frozen early stages'
#: BatchNorm layers (`model.frozen_stages`, on in the default recipe) are, on purpose.
INTENDED = (r"Found \d+ module\(s\) in eval mode at the start of training",)
#: Where Lightning's `rank_zero_info` logs.
_LOGGERS = ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero")


class _DropMessages(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(NOT_ABOUT_THE_RUN)


@contextmanager
def quiet_lightning() -> Iterator[None]:
    """Drop the messages above while the block runs; everything is as it was afterwards."""
    drop = _DropMessages()
    loggers = [logging.getLogger(name) for name in _LOGGERS]
    for logger in loggers:
        logger.addFilter(drop)
    try:
        with warnings.catch_warnings():
            for message in FOREIGN_WARNINGS:
                warnings.filterwarnings("ignore", message=message, category=FutureWarning)
            for message in INTENDED:
                warnings.filterwarnings("ignore", message=message)
            yield
    finally:
        for logger in loggers:
            logger.removeFilter(drop)
