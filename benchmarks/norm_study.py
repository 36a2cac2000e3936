"""The normalisation study: one ResNet, one dataset, one budget, a run per norm choice.

    python benchmarks/norm_study.py DATA_DIR [--epochs 6 --image_size 64 ...]

It tests d2l's claims on the project's own pipeline (every run is `leaves fit`
of a recipe with another `--model.norm`): that BatchNorm speeds convergence,
tolerates a 10x larger learning rate, and how its cousins compare.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from leaves.callbacks import LearningCurves, Throughput
from leaves.layout import RUNS_DIR, VAL_ACC
from leaves.models import NORM_LAYERS
from leaves.models.norms import Norm
from leaves.workflows import build_cli

NORMS: tuple[Norm, ...] = tuple(NORM_LAYERS)


@dataclass
class StudyRun:
    """One curve of the study: a norm choice and a multiple of the base learning rate."""

    norm: Norm
    lr_scale: float = 1.0

    @property
    def name(self) -> str:
        return self.norm if self.lr_scale == 1 else f"{self.norm}-lr{self.lr_scale:g}x"


def train_one(run: StudyRun, recipe: str, options: list[str], out_dir: Path, seed: int) -> dict[str, Any]:
    """Fit one run, as `leaves fit --config RECIPE` with its norm and learning rate, into `out_dir/<run name>`."""
    base = build_cli(["--config", recipe, *options]).model.hparams.lr  # the recipe's rate, scaled below
    args = ["--config", recipe, *options, f"--model.norm={run.norm}", f"--model.lr={base * run.lr_scale}"]
    args += [f"--seed_everything={seed}", f"--runs_dir={out_dir}", f"--run_name={run.name}"]
    cli = build_cli(args)  # the fit's objects, not run
    speed = Throughput(include_loading=False)  # forward, backward, step: compares the norm layers, not decoders
    cli.trainer.callbacks.append(speed)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    curves = next(c for c in cli.trainer.callbacks if isinstance(c, LearningCurves))
    history = curves.history_table()
    return {
        "run": run.name,
        "lr": cli.model.hparams.lr,
        VAL_ACC: history[VAL_ACC].dropna().tolist(),
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
        curve, reached = r[VAL_ACC], epochs_to(r[VAL_ACC], target)
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
        epochs = range(1, len(r[VAL_ACC]) + 1)
        ax.plot(epochs, r[VAL_ACC], marker="o", markersize=3, label=r["run"])
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
    recipe: str = "default",
    out_dir: str = f"{RUNS_DIR}/norm_study",
    image_size: int = 64,
    batch_size: int = 32,
    epochs: int = 6,
    val_fraction: float = 0.2,
    num_workers: Optional[int] = None,
    lr: float = 0.05,
    high_lr_scale: float = 10.0,
    norms: tuple[Norm, ...] = NORMS,
    target_acc: float = 0.5,
    seed: int = 42,
) -> str:
    """Train the recipe's network once per norm in `norms`, plus BatchNorm at `high_lr_scale` x `lr`.

    Every run is `leaves fit --config RECIPE` (built by the fit's own command line) with the study's
    settings on top, the same for every run: a small image and a few epochs so a CPU finishes the study.
    Writes `val_acc.png` (one curve per run) and `table.md` into `out_dir`, refreshed after every run so a
    long study can be read while it goes on, and returns the table.

    Args:
        data_dir: a folder in the Kaggle layout (train.csv, images/).
        recipe: a shipped preset's name or a config file (a from-scratch recipe: the norms are retrained).
        out_dir: where the runs, the PNG and the table go.
        lr: the base learning rate of every run (BatchNorm's high-rate run multiplies it).
        target_acc: the "epochs to reach" column counts epochs until this val accuracy.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    options = [
        f"--data.data_dir={data_dir}",
        f"--data.image_size={image_size}",
        f"--data.batch_size={batch_size}",
        f"--data.val_fraction={val_fraction}",
        f"--trainer.max_epochs={epochs}",
        f"--model.lr={lr}",
        "--trainer.enable_progress_bar=false",
        "--trainer.num_sanity_val_steps=0",
    ]
    if num_workers is not None:
        options.append(f"--data.num_workers={num_workers}")
    runs = [StudyRun(norm) for norm in norms] + ([StudyRun("batch", high_lr_scale)] if high_lr_scale else [])
    results: list[dict[str, Any]] = []
    for run in runs:
        results.append(train_one(run, recipe, options, out, seed))
        table = markdown_table(results, target_acc)
        (out / "table.md").write_text(table)
        plot_val_acc(results, target_acc, out / f"{VAL_ACC}.png")
        print(f"[norm study] {run.name} done\n{table}", flush=True)
    return table


if __name__ == "__main__":
    from jsonargparse import CLI  # CLI, not auto_cli (jsonargparse >= 4.33): the declared floor is older

    CLI(run_study)
