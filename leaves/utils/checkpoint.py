"""What a checkpoint written by `leaves fit` holds, read in one place.

A checkpoint is Lightning's dictionary plus what the project adds: the
model's settings and class list (`hyper_parameters`), the data settings it
trained with (`datamodule_hyper_parameters`), the validation accuracy of
exactly these weights (`validation`, written by `LeavesModule`), and the
callbacks' states (the learning curves' history, the run report's throughput).
Every reader (predict as trained, the self-check, the report, ensembles)
asks this class, so the format is known here only. Files load with
`weights_only=True`: they hold plain types only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import torch

from leaves.errors import CheckpointError
from leaves.layout import MONITOR

#: The key `LeavesModule.on_save_checkpoint` writes the record of its weights' validation accuracy under.
VALIDATION_RECORD = "validation"


@dataclass(frozen=True)
class Checkpoint:
    """One checkpoint file's content (tensors memory-mapped, so reading settings costs no weights' load)."""

    path: Path
    content: Mapping[str, Any]

    @classmethod
    def read(cls, path: str | Path) -> Checkpoint:
        path = Path(path)
        if not path.is_file():
            raise CheckpointError(f"checkpoint {path} not found")
        return cls(path, torch.load(path, map_location="cpu", weights_only=True, mmap=True))

    @property
    def model_settings(self) -> dict[str, Any]:
        """The model's constructor arguments (class list included)."""
        return dict(self.content.get("hyper_parameters") or {})

    @property
    def class_names(self) -> Optional[list[str]]:
        names = self.model_settings.get("class_names")
        return None if names is None else list(names)

    @property
    def data_settings(self) -> Optional[dict[str, Any]]:
        """The DataModule's arguments, or None for a checkpoint not written by leaves fit."""
        settings = self.content.get("datamodule_hyper_parameters")
        return None if settings is None else dict(settings)

    def require_data_settings(self) -> dict[str, Any]:
        settings = self.data_settings
        if settings is None:
            raise CheckpointError(f"{self.path} holds no data settings: it was not written by leaves fit")
        return settings

    @property
    def epoch(self) -> Optional[int]:
        return self.content.get("epoch")

    @property
    def state_dict(self) -> Mapping[str, torch.Tensor]:
        return self.content["state_dict"]

    def callback_state(self, name: str) -> dict[str, Any]:
        """The saved state of the callback class `name` (Lightning keys states by the callback's class
        name and settings), or {} when it was not in the fit."""
        for key, state in (self.content.get("callbacks") or {}).items():
            if key == name or key.startswith(name + "{"):
                return dict(state)
        return {}

    @property
    def recorded_val_acc(self) -> Optional[float]:
        """The validation accuracy of exactly these weights, as recorded when the file was saved: the module's
        own record, else ModelCheckpoint's best score when this file is its best."""
        record = self.content.get(VALIDATION_RECORD)
        if record and record.get("global_step") == self.content.get("global_step"):
            return float(record[MONITOR])
        for key, state in (self.content.get("callbacks") or {}).items():
            if f"'monitor': '{MONITOR}'" in key:  # the best-checkpoint callback's state
                best, score = state.get("best_model_path"), state.get("best_model_score")
                if best and score is not None and Path(best).name == self.path.name:
                    return float(score)
        return None
