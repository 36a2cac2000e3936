"""A CSV logger that keeps a resumed run's earlier metrics.

Lightning's CSVLogger deletes `metrics.csv` when it opens a run folder that
already has one, so `fit --ckpt_path last` (which continues in the same
folder) would lose every epoch logged before the interruption.
"""

from __future__ import annotations

import csv
from pathlib import Path

from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment


class ResumableCSVLogger(CSVLogger):
    """CSVLogger whose `metrics.csv` keeps the rows already in it when a run is resumed."""

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            earlier = Path(self.log_dir) / ExperimentWriter.NAME_METRICS_FILE
            rows = []
            if earlier.is_file():
                with earlier.open(newline="") as f:
                    rows = [{k: v for k, v in row.items() if v != ""} for row in csv.DictReader(f)]
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = ExperimentWriter(log_dir=self.log_dir)  # removes the file: rewrite what it held
            self._experiment.metrics = rows
        return self._experiment
