"""Predict as trained: the data settings that define a model's input come from its checkpoint.

A model trained at 224 px and fed 96 px images still writes a valid-looking
submission, only a much worse one. So every command that uses a checkpoint
(predict, validate, ensemble, report, precise-bn, kfold's out-of-fold pass)
takes the input-defining settings from the checkpoint; a value given
explicitly (command line, a user's config file) that differs is honoured
with a warning naming both, and a config file's default never wins silently.
Normalisation is the model's (mean/std in its hyper-parameters), so it
travels with the weights and needs nothing here. Which values the user gave
explicitly is the command line's business (`leaves.workflows.as_trained`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lightning.pytorch.utilities import rank_zero_warn

#: DataModule settings the eval transform (the model's input) depends on.
INPUT_KEYS: tuple[str, ...] = ("image_size",)


class NotAsTrainedWarning(UserWarning):
    """A checkpoint is used with input settings other than those it was trained with."""


def input_settings(
    saved: Mapping[str, Any], explicit: Mapping[str, Any], source: str | Path, given_by: str = "given"
) -> dict[str, Any]:
    """The input-defining settings to use with the checkpoint `source`: its `saved` ones, except
    those in `explicit` (values the user set; None = not set), which win with a warning when they differ."""
    chosen: dict[str, Any] = {}
    for key in INPUT_KEYS:
        ours, theirs = explicit.get(key), saved.get(key)
        if ours is not None and theirs is not None and ours != theirs:
            rank_zero_warn(
                f"{source} was trained with data.{key}={theirs}, but data.{key}={ours} was {given_by}: "
                f"using {ours} as asked. Predictions at another input than the training one are usually "
                f"worse; leave data.{key} unset to use {theirs}.",
                category=NotAsTrainedWarning,
            )
        value = ours if ours is not None else theirs
        if value is not None:
            chosen[key] = value
    return chosen
