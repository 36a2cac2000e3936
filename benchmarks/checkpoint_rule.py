"""Which epoch should `best.ckpt` keep? Fits that score every epoch's weights on the folder's answers.csv,
then the rules side by side over seeds: the first epoch of the top val_acc (Lightning's ModelCheckpoint),
the lowest val_loss among those (leaves' BestCheckpoint), and the last epoch.

A small validation split ties often: on the demo's 36 images the accuracy reaches 1.000 early and stays
there while the test score still climbs. The test score is read here only to judge the rules; no rule
sees it.

    OMP_NUM_THREADS=1 python benchmarks/checkpoint_rule.py --data_dir ../shared/data/leafsnap-lab10
    OMP_NUM_THREADS=1 python benchmarks/checkpoint_rule.py --seeds "[1, 2, 3, 42]"   # the demo, as scripts/fit.py

Each seed is one `leaves fit` (extra options with `--args`); its per-epoch rows go to
OUTPUT/seed_S.jsonl, and a seed whose rows are complete is not fitted again.
"""

from __future__ import annotations

import json
import os
import resource
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional

import pandas as pd
import torch
from jsonargparse import CLI
from lightning.pytorch import Callback
from torch.utils.data import DataLoader

from leaves.layout import ANSWERS_CSV, VAL_ACC, VAL_LOSS

HERE = Path(__file__).resolve().parent


class TestEachEpoch(Callback):
    """After every training epoch (its validation done): val_acc, val_loss and the test accuracy, one row."""

    def __init__(self, out: str, seed: int) -> None:
        self.out, self.seed = Path(out), seed

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        data = trainer.datamodule
        if not hasattr(data, "predict_set"):
            data.setup("predict")
        answers = pd.read_csv(Path(data.root) / ANSWERS_CSV).set_index("image")["label"]
        truth = answers.loc[data.test_table["image"]].tolist()
        was_training = pl_module.training
        pl_module.eval()
        predicted: list[int] = []
        with torch.no_grad():
            for images, _ in DataLoader(data.predict_set, batch_size=64):
                predicted += pl_module(pl_module.normalize(images.to(pl_module.device))).argmax(1).tolist()
        pl_module.train(was_training)
        test_acc = sum(data.class_names[p] == t for p, t in zip(predicted, truth)) / len(truth)
        metrics = trainer.callback_metrics
        row = {
            "seed": self.seed,
            "epoch": trainer.current_epoch,
            "max_epochs": trainer.max_epochs,
            VAL_ACC: float(metrics[VAL_ACC]),
            VAL_LOSS: float(metrics[VAL_LOSS]),
            "test_acc": test_acc,
        }
        with self.out.open("a") as f:
            f.write(json.dumps(row) + "\n")


def first_of_equals(epochs: pd.DataFrame) -> pd.Series:
    """Lightning's ModelCheckpoint: the first epoch of the top accuracy."""
    return epochs.sort_values([VAL_ACC, "epoch"], ascending=[False, True]).iloc[0]


def lowest_loss_of_equals(epochs: pd.DataFrame) -> pd.Series:
    """leaves' BestCheckpoint: of the epochs of the top accuracy, the lowest loss (the first of equals)."""
    return epochs.sort_values([VAL_ACC, VAL_LOSS, "epoch"], ascending=[False, True, True]).iloc[0]


def last_epoch(epochs: pd.DataFrame) -> pd.Series:
    return epochs.sort_values("epoch").iloc[-1]


RULES = {"first of equals": first_of_equals, f"lowest {VAL_LOSS} of equals": lowest_loss_of_equals, "last": last_epoch}


def compare(rows: pd.DataFrame) -> pd.DataFrame:
    """Per seed, the epoch each rule keeps and its test accuracy; a last line with the means."""
    out: list[dict[str, Any]] = []
    for seed, epochs in rows.groupby("seed"):
        line: dict[str, Any] = {"seed": seed}
        for name, rule in RULES.items():
            kept = rule(epochs)
            line[name] = f"{kept['test_acc']:.3f} (epoch {int(kept['epoch']) + 1})"
            line[f"_{name}"] = kept["test_acc"]
        out.append(line)
    table = pd.DataFrame(out)
    mean = {"seed": "mean"} | {name: f"{table[f'_{name}'].mean():.3f}" for name in RULES}
    table = pd.concat([table, pd.DataFrame([mean])], ignore_index=True)
    return table[["seed", *RULES]]


def _complete(rows_file: Path) -> Optional[pd.DataFrame]:
    if not rows_file.exists():
        return None
    rows = pd.read_json(rows_file, lines=True)
    return rows if len(rows) and len(rows) == rows["max_epochs"].iloc[0] else None


def fit_seed(seed: int, data_dir: Optional[str], output: Path, args: str) -> tuple[pd.DataFrame, float]:
    """One fit with the probe; the rows and the fit's CPU minutes (0 when the rows were already there)."""
    rows_file = output / f"seed_{seed}.jsonl"
    rows = _complete(rows_file)
    if rows is not None:
        return rows, 0.0
    rows_file.unlink(missing_ok=True)  # an interrupted fit's partial rows
    command = ["leaves", "fit", "--seed_everything", str(seed), "--runs_dir", str(output / "runs")]
    command += ["--run_name", f"seed_{seed}", "--trainer.callbacks+=checkpoint_rule.TestEachEpoch"]
    command += [f"--trainer.callbacks.out={rows_file}", f"--trainer.callbacks.seed={seed}"]
    command += ["--data.data_dir", str(Path(data_dir).resolve())] if data_dir else []
    command += shlex.split(args)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with (output / f"seed_{seed}.log").open("w") as log:
        done = subprocess.run(command, cwd=output, env=env, stdout=log, stderr=subprocess.STDOUT)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"error: the fit of seed {seed} failed; see {output / f'seed_{seed}.log'}")
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) / 60
    return pd.read_json(rows_file, lines=True), cpu


def main(
    data_dir: Optional[str] = None,
    seeds: tuple[int, ...] = (1, 2, 42),
    output: str = "runs/checkpoint_rule",
    args: str = "--data.num_workers 1 --trainer.enable_progress_bar false",
) -> pd.DataFrame:
    """Fit each seed (the demo data when `data_dir` is unset, generated in `output`) and print the rules.

    Args:
        data_dir: a folder with answers.csv (the development folders have one; the demo data too).
        seeds: one fit each.
        output: the runs, the per-epoch rows and the fits' logs.
        args: more `leaves fit` options, as one string.
    """
    folder = Path(output) / (Path(data_dir).name if data_dir else "demo")
    folder.mkdir(parents=True, exist_ok=True)
    every = []
    for seed in seeds:
        rows, cpu = fit_seed(seed, data_dir, folder, args)
        print(f"seed {seed}: {len(rows)} epochs" + (f", {cpu:.1f} CPU min" if cpu else " (already fitted)"))
        every.append(rows)
    table = compare(pd.concat(every, ignore_index=True))
    print(f"\ntest accuracy of the epoch each rule keeps ({folder.name}):")
    print(table.to_string(index=False))
    return table


if __name__ == "__main__":
    sys.exit(0 if CLI(main, as_positional=False) is not None else 1)
