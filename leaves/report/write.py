"""The run report: one self-contained HTML page showing what a fit learned and where it fails.

Written into the run folder when a fit ends (`RunReport` callback) and on demand
for any checkpoint (`leaves report --ckpt_path ...`). Everything the
page shows comes from the checkpoint (weights, classes, data settings, training
throughput and hardware), the run folder (metrics.csv, config.yaml) and a fresh
pass over the validation split, so a report can be rebuilt at any time.
Figures and thumbnails are embedded as base64 PNG: the file can be mailed or
archived alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import pandas as pd
import torch

from leaves.data.datamodule import LeavesDataModule, datamodule_from_checkpoint
from leaves.data.table import read_table
from leaves.inference.predictor import Predictor
from leaves.layout import BEST, MONITOR, REPORT_HTML, RUN_CONFIG, TEST_CSV, TRAIN_CSV, run_dir_of
from leaves.report.evaluate import evaluate
from leaves.report.html import render_report
from leaves.report.tables import load_history
from leaves.utils.atomic import atomic_file
from leaves.utils.checkpoint import Checkpoint
from leaves.utils.hardware import describe_hardware

#: The callbacks whose saved states hold the training throughput and the hardware (`leaves.callbacks`;
#: runs before 2026-12 kept both in RunReport's).
TRAINING_STATES = ("Throughput", "RunReport")


def _best_epoch(history: pd.DataFrame, checkpoint: Checkpoint) -> tuple[Optional[int], str]:
    """The epoch of the best monitored value (the first, on ties, as ModelCheckpoint keeps it) and a line saying so."""
    if MONITOR in history and history[MONITOR].notna().any():
        best = history.loc[history[MONITOR].idxmax()]
        return int(best["epoch"]), f"{int(best['epoch'])} ({MONITOR} {best[MONITOR]:.4f})"
    if checkpoint.epoch is not None:
        return int(checkpoint.epoch) + 1, f"{int(checkpoint.epoch) + 1} (no {MONITOR} logged)"
    return None, "unknown"


def write_report(
    ckpt_path: str | Path,
    datamodule: Optional[LeavesDataModule] = None,
    data_overrides: Optional[dict[str, Any]] = None,
    accelerator: str = "auto",
    devices: Any = 1,
    precision: str = "32-true",
    training: Optional[dict[str, Any]] = None,
    gallery: int = 48,
    matrix_classes: int = 12,
) -> Path:
    """Evaluate a checkpoint on its run's validation split and write the report beside its run.

    The data settings (folder, split fraction and seed, image size) come from the
    checkpoint unless `datamodule` is given or `data_overrides` changes them, so
    the validation split is the one the run held out. The page is `report.html`
    for best.ckpt and `report-<name>.html` for any other checkpoint.
    """
    ckpt_path = Path(ckpt_path)
    checkpoint = Checkpoint.read(ckpt_path)
    if datamodule is None:
        datamodule = datamodule_from_checkpoint(checkpoint, **(data_overrides or {}))
        datamodule.prepare_data()
        datamodule.setup("validate")
    predictor = Predictor.from_checkpoints([ckpt_path])
    module = predictor.members[0]
    evaluation = evaluate(predictor, datamodule, accelerator, devices, precision)

    run_dir = run_dir_of(ckpt_path)
    history = load_history(run_dir, checkpoint)
    if training is None:
        training = {k: v for name in TRAINING_STATES for k, v in checkpoint.callback_state(name).items()}
    checkpoint_epoch = int(checkpoint.epoch) + 1
    best_epoch, best_line = _best_epoch(history, checkpoint)
    epochs = int(history["epoch"].max()) if len(history) else checkpoint_epoch
    test_csv = datamodule.root / TEST_CSV
    test_rows = f"{len(read_table(test_csv, ('image',))):,}" if test_csv.is_file() else f"no {TEST_CSV}"
    throughput = training.get("throughput", [])
    # The first epoch pays for warm-up (allocator, cuDNN autotuning, worker start): report the later ones.
    steady = sorted(throughput[1:] or throughput)
    parameters = sum(p.numel() for p in module.parameters()) / 1e6
    summary = [
        ("run", str(run_dir)),
        ("checkpoint", f"{ckpt_path} (end of epoch {checkpoint_epoch})"),
        ("best epoch", f"{best_line} of {epochs}"),
        ("model", f"{module.hparams.arch}, norm {module.hparams.norm}, {parameters:.1f} M parameters"),
        ("data", f"{datamodule.root}" + (" (synthetic demo data)" if datamodule.is_demo else "")),
        (
            "images",
            f"{TRAIN_CSV} {len(datamodule.train_table):,} ({len(datamodule.train_set):,} train / "
            f"{len(datamodule.val_set):,} validation); {TEST_CSV} {test_rows}",
        ),
        ("classes", str(len(module.class_names))),
        ("image size", f"{datamodule.image_size} px"),
        (
            "training throughput",
            f"{steady[len(steady) // 2]:,.0f} img/s (median over {len(steady)} epoch(s))"
            if steady
            else "not measured (add leaves.callbacks.RunReport to the callbacks)",
        ),
        ("training hardware", training.get("hardware") or "not recorded"),
        (
            "evaluation throughput",
            f"{len(evaluation.targets) / evaluation.seconds:,.0f} img/s for this report (data loading included)",
        ),
        ("report hardware", describe_hardware(torch.device(_device_type(accelerator)))),
    ]
    config_file = run_dir / RUN_CONFIG
    config_text = (
        config_file.read_text()
        if config_file.is_file()
        else (f"# no {config_file}; hyperparameters in the checkpoint:\n{module.hparams}")
    )
    page = render_report(evaluation, history, summary, config_text, best_epoch, gallery, matrix_classes)
    report = Path(REPORT_HTML)
    out = run_dir / (report.name if ckpt_path.stem == BEST else f"{report.stem}-{ckpt_path.stem}{report.suffix}")
    with atomic_file(out, "w", encoding="utf-8") as f:
        f.write(page)
    return out


def _device_type(accelerator: str) -> str:
    if accelerator == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return "cuda" if accelerator == "gpu" else accelerator
