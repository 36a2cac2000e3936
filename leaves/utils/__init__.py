"""Small tools every layer uses: atomic writes, the runs folder, hardware, the resumable CSV logger."""

from leaves.utils.atomic import atomic_file, atomic_write_csv
from leaves.utils.csv_logger import ResumableCSVLogger
from leaves.utils.hardware import describe_hardware, usable_cores
from leaves.utils.runs import find_checkpoint, new_run_dir, resolve_checkpoint, run_dir, run_dir_of

__all__ = [
    "ResumableCSVLogger",
    "atomic_file",
    "atomic_write_csv",
    "describe_hardware",
    "find_checkpoint",
    "new_run_dir",
    "resolve_checkpoint",
    "run_dir",
    "run_dir_of",
    "usable_cores",
]
