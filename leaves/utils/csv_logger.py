"""A CSV logger that appends on resume instead of deleting the run's metrics.

Lightning's CSVLogger removes an existing metrics.csv when it opens a run folder
that is not empty, so `fit --ckpt_path last` (which continues in the same
folder) would lose every epoch logged before the interruption.
"""

from __future__ import annotations

import csv
from typing import Optional, Union

from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter


class _AppendingWriter(ExperimentWriter):
    def _check_log_dir_exists(self) -> None:
        # Keep the file and its columns; new rows are appended under the same header.
        if self._fs.isfile(self.metrics_file_path):
            with self._fs.open(self.metrics_file_path, "r", newline="") as file:
                self.metrics_keys = next(csv.reader(file), [])


class ResumableCSVLogger(CSVLogger):
    """CSVLogger whose metrics.csv survives a resume into the same run folder.

    Its folder needs no setting: `leaves fit` points it at the run folder.
    """

    def __init__(
        self,
        save_dir: str = ".",
        name: str = "",
        version: Optional[Union[int, str]] = None,
        prefix: str = "",
        flush_logs_every_n_steps: int = 100,
    ) -> None:
        super().__init__(save_dir, name, version, prefix, flush_logs_every_n_steps)

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _AppendingWriter(log_dir=self.log_dir)
        return self._experiment
