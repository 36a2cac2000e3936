"""Option groups shared by the commands that are not LightningCLI, so an option has one name everywhere.

Each group becomes dotted options (`--data.data_dir`, `--data.image_size`,
`--trainer.precision`), the same spelling `leaves fit` and `leaves predict` use.
Unset values mean "as the checkpoint was trained" or "as the default config says".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Optional


@dataclass(frozen=True)
class DataFolder:
    """Which data folder.

    Args:
        data_dir: the Kaggle folder (train.csv, test.csv, images/); unset: the synthetic demo data.
        demo_dir: where the demo data lives.
    """

    data_dir: Optional[str] = None
    demo_dir: Optional[str] = None


@dataclass(frozen=True)
class DataOverrides(DataFolder):
    """Data settings that replace the checkpoint's (the data moved, a smaller batch).

    Args:
        data_dir: the Kaggle folder, if no longer where the run read it.
        demo_dir: the demo data folder, for runs on the demo data.
        image_size: side of the square input; unset: the size the model was trained at.
        batch_size: images per batch.
        num_workers: loader processes; unset: one per usable core.
    """

    image_size: Optional[int] = None
    batch_size: Optional[int] = None
    num_workers: Optional[int] = None

    def given(self) -> dict[str, Any]:
        """The settings that were set, by name."""
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class TrainerOptions:
    """Where and how the pass runs.

    Args:
        accelerator: cpu, gpu or auto.
        precision: e.g. 32-true, bf16-mixed, 16-mixed; unset: 32-true.
    """

    accelerator: str = "auto"
    precision: Optional[str] = None
