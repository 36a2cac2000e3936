"""Small tools every layer uses: atomic writes, the runs folder, checkpoints' content, hardware, the
resumable CSV logger, Lightning's messages silenced."""

from leaves.lazy import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "atomic_file": "leaves.utils.atomic",
        "atomic_write_csv": "leaves.utils.atomic",
        "Checkpoint": "leaves.utils.checkpoint",
        "ResumableCSVLogger": "leaves.utils.csv_logger",
        "auto_precision": "leaves.utils.hardware",
        "describe_hardware": "leaves.utils.hardware",
        "usable_cores": "leaves.utils.hardware",
        "quiet_lightning": "leaves.utils.quiet",
        "find_checkpoint": "leaves.utils.runs",
        "new_run_dir": "leaves.utils.runs",
        "resolve_checkpoint": "leaves.utils.runs",
        "run_dir": "leaves.utils.runs",
    },
)
