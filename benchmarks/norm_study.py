"""The normalisation study: one ResNet, one dataset, one budget, a run per norm choice.

    python benchmarks/norm_study.py DATA_DIR [--epochs 6 --image_size 64 ...]

It tests d2l's claims on the project's own pipeline (LeavesModule,
LeavesDataModule, Lightning's Trainer): that BatchNorm speeds convergence,
tolerates a 10x larger learning rate, and how its cousins compare.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import lightning as L
import pandas as pd
from lightning.pytorch.loggers import CSVLogger

from leaves.callbacks import Throughput
from leaves.data import LeavesDataModule
from leaves.models import NORM_LAYERS, LeavesModule
from leaves.models.norms import Norm

NORMS: tuple[Norm, ...] = tuple(NORM_LAYERS)


@dataclass
class StudyRun:
    """One curve of the study: a norm choice and a multiple of the base learning rate."""

    norm: Norm
    lr_scale: float = 1.0

    @property
    def name(self) -> str:
        return self.norm if self.lr_scale == 1 else f"{self.norm}-lr{self.lr_scale:g}x"


def val_acc_per_epoch(metrics_csv: Path) -> list[float]:
    """The validation accuracy of each epoch, from the CSVLogger's file."""
    table = pd.read_csv(metrics_csv)
    return table.dropna(subset=["val_acc"]).groupby("epoch")["val_acc"].last().sort_index().tolist()


def train_one(
    run: StudyRun, data: dict[str, Any], model: dict[str, Any], epochs: int, out_dir: Path, seed: int
) -> dict[str, Any]:
    """Fit one run from the same seed; its logs land in `out_dir/<run name>/version_N`."""
    L.seed_everything(seed, workers=True)
    datamodule = LeavesDataModule(**data)
    module = LeavesModule(**{**model, "norm": run.norm, "lr": model["lr"] * run.lr_scale})
    speed = Throughput(include_loading=False)  # forward, backward, step: compares the norm layers, not decoders
    logger = CSVLogger(out_dir, name=run.name)
    trainer = L.Trainer(
        max_epochs=epochs,
        logger=logger,
        callbacks=[speed],
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        log_every_n_steps=1,
    )
    trainer.fit(module, datamodule=datamodule)
    return {
        "run": run.name,
        "lr": module.hparams.lr,
        "val_acc": val_acc_per_epoch(Path(logger.log_dir) / "metrics.csv"),
        "img_per_s": speed.steady_rate() or float("nan"),
    }


def epochs_to(curve: list[float], target: float) -> Optional[int]:
    return next((epoch for epoch, acc in enumerate(curve, 1) if acc >= target), None)


def markdown_table(results: list[dict[str, Any]], target: float) -> str:
    lines = [
        f"| run | lr | final val acc | best val acc | epochs to val acc >= {target:g} | train img/s |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        curve, reached = r["val_acc"], epochs_to(r["val_acc"], target)
        lines.append(
            f"| {r['run']} | {r['lr']:g} | {curve[-1]:.3f} | {max(curve):.3f} | "
            f"{reached if reached is not None else 'not reached'} | {r['img_per_s']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def plot_val_acc(results: list[dict[str, Any]], target: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=90)
    for r in results:
        epochs = range(1, len(r["val_acc"]) + 1)
        ax.plot(epochs, r["val_acc"], marker="o", markersize=3, label=r["run"])
    ax.axhline(target, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def run_study(
    data_dir: str,
    out_dir: str = "runs/norm_study",
    arch: str = "resnet18",
    image_size: int = 64,
    batch_size: int = 32,
    epochs: int = 6,
    val_fraction: float = 0.2,
    num_workers: Optional[int] = None,
    optimizer: str = "momentum",
    lr: float = 0.05,
    weight_decay: float = 5e-4,
    warmup_epochs: float = 1.0,
    high_lr_scale: float = 10.0,
    norms: tuple[Norm, ...] = NORMS,
    target_acc: float = 0.5,
    seed: int = 42,
) -> str:
    """Train `arch` once per norm in `norms`, plus BatchNorm at `high_lr_scale` x `lr`.

    Writes `val_acc.png` (one curve per run) and `table.md` into `out_dir`,
    refreshed after every run so a long study can be read while it goes on,
    and returns the table.

    Args:
        data_dir: a folder in the Kaggle layout (train.csv, images/).
        out_dir: where the runs' logs, the PNG and the table go.
        target_acc: the "epochs to reach" column counts epochs until this val accuracy.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = dict(
        data_dir=data_dir,
        image_size=image_size,
        batch_size=batch_size,
        num_workers=num_workers,
        val_fraction=val_fraction,
        seed=seed,
    )
    model = dict(arch=arch, optimizer=optimizer, lr=lr, weight_decay=weight_decay, warmup_epochs=warmup_epochs)
    runs = [StudyRun(norm) for norm in norms] + ([StudyRun("batch", high_lr_scale)] if high_lr_scale else [])
    results: list[dict[str, Any]] = []
    for run in runs:
        results.append(train_one(run, data, model, epochs, out, seed))
        table = markdown_table(results, target_acc)
        (out / "table.md").write_text(table)
        plot_val_acc(results, target_acc, out / "val_acc.png")
        print(f"[norm study] {run.name} done\n{table}", flush=True)
    return table


if __name__ == "__main__":
    from jsonargparse import CLI  # CLI, not auto_cli (jsonargparse >= 4.33): the declared floor is older

    CLI(run_study)
