"""`leaves recipes`: train recipes side by side under one budget and score them the way a submission is scored.

Every (recipe, seed) is an ordinary `leaves fit` into `runs_dir/<data>/<recipe>/seed_<s>`
followed by an ordinary `leaves predict` of test.csv with its best checkpoint (the
same code, the same options), scored against `answers.csv` when the data folder
has one. Its figures go into `result.json` in that folder; a (recipe, seed) with a
result is done and skipped when the command runs again, and one that was
interrupted resumes from its `last.ckpt`. The rows (mean and spread over seeds)
are printed and appended to a CSV.
"""

from __future__ import annotations

import json
import os
import shlex
import statistics
import time
from pathlib import Path
from typing import Any, Optional

import pandas as pd
from lightning.pytorch.utilities import rank_zero_info

from leaves.callbacks.run_report import RunReport
from leaves.commands.lightning import run_lightning
from leaves.commands.options import DataFolder
from leaves.errors import DataError
from leaves.inference.submission import SubmissionWriter
from leaves.utils.atomic import atomic_file

RESULT = "result.json"


def recipe_name(config: str) -> str:
    """A recipe's name in the table: the config's file stem (`seed`, `my-recipe` for `my-recipe.yaml`)."""
    return Path(config).stem


def test_accuracy(submission: Path, answers: Path) -> float:
    """Accuracy of `submission` (image,label) against `answers` (image,label), matched by image."""
    truth = pd.read_csv(answers)
    got = pd.read_csv(submission)
    merged = truth.merge(got, on="image", how="left", suffixes=("", "_predicted"))
    if len(got) != len(truth) or merged["label_predicted"].isna().any():
        missing = merged.loc[merged["label_predicted"].isna(), "image"].tolist()[:5]
        raise DataError(
            f"{submission} ({len(got)} rows) does not predict the {len(truth)} images of {answers}"
            + (f": none for {', '.join(missing)}" if missing else "")
        )
    return float((merged["label"] == merged["label_predicted"]).mean())


def _cpu_seconds() -> float:
    """CPU seconds of this process and its finished children (loader workers): on a shared machine
    the cost of a fit that wall time, which other jobs stretch, does not show."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _callback(trainer: Any, kind: type) -> Any:
    return next((c for c in trainer.callbacks if isinstance(c, kind)), None)


def run_one(config: str, seed: int, common: list[str], fit_only: list[str], folder: Path) -> dict[str, Any]:
    """Fit one recipe with one seed into `folder`, predict test.csv with its best checkpoint, score it."""
    # The config first: options after it override it, whatever it sets.
    fit_args = ["--config", config, *common, "--seed_everything", str(seed), *fit_only]
    fit_args += ["--runs_dir", str(folder.parent), "--run_name", folder.name]
    last = folder / "checkpoints" / "last.ckpt"
    if last.is_file():
        rank_zero_info(f"Resuming {last}")
        fit_args += ["--ckpt_path", str(last)]
    start, cpu_start = time.perf_counter(), _cpu_seconds()
    fit = run_lightning("fit", args=fit_args)
    fit_seconds, cpu_seconds = time.perf_counter() - start, _cpu_seconds() - cpu_start
    trainer = fit.trainer
    best = trainer.checkpoint_callback.best_model_path
    score = trainer.checkpoint_callback.best_model_score
    report = _callback(trainer, RunReport)
    rate = report.steady_rate("train") if report is not None else None
    predict = run_lightning(
        "predict",
        args=[
            "--config",
            config,
            *common,
            "--ckpt_path",
            best,
            "--trainer.callbacks.init_args.output_dir",
            str(folder / "submission"),
        ],
    )
    writer = _callback(predict.trainer, SubmissionWriter)
    answers = Path(predict.datamodule.root) / "answers.csv"
    return {
        "recipe": recipe_name(config),
        "config": config,
        "seed": seed,
        "image_size": fit.datamodule.image_size,
        "epochs": trainer.current_epoch,
        "steps": trainer.global_step,
        "val_acc": float(score) if score is not None else None,
        "test_acc": test_accuracy(writer.last_written, answers) if answers.is_file() else None,
        "fit_minutes": fit_seconds / 60,
        "fit_cpu_minutes": cpu_seconds / 60,
        "img_per_s": rate,
        "submission": str(writer.last_written),
    }


def _spread(values: list[float]) -> tuple[Optional[float], Optional[float]]:
    if not values:
        return None, None
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summarise(results: list[dict[str, Any]], data_name: str, budget: Optional[str]) -> dict[str, Any]:
    """One table row for a recipe's per-seed results: means, spreads (sample sd) and per-seed values."""
    val_mean, val_sd = _spread([r["val_acc"] for r in results if r["val_acc"] is not None])
    test_mean, test_sd = _spread([r["test_acc"] for r in results if r["test_acc"] is not None])
    rates = [r["img_per_s"] for r in results if r["img_per_s"]]
    return {
        "data": data_name,
        "recipe": results[0]["recipe"],
        "budget": budget or "recipe's epochs",
        "image_size": results[0]["image_size"],
        "epochs": "/".join(str(r["epochs"]) for r in results),
        "seeds": "/".join(str(r["seed"]) for r in results),
        "val_acc": val_mean,
        "val_sd": val_sd,
        "test_acc": test_mean,
        "test_sd": test_sd,
        "test_per_seed": "/".join(f"{r['test_acc']:.3f}" for r in results if r["test_acc"] is not None),
        "fit_min": statistics.fmean(r["fit_minutes"] for r in results),
        "cpu_min": statistics.fmean(r.get("fit_cpu_minutes", float("nan")) for r in results),
        "img_per_s": statistics.fmean(rates) if rates else None,
    }


def recipes(
    configs: list[str],
    data: DataFolder = DataFolder(),
    seeds: list[int] = [42],  # noqa: B006  (jsonargparse shows the default)
    budget: Optional[str] = None,
    runs_dir: str = "runs/recipes",
    csv: str = "recipes.csv",
    args: str = "",
) -> pd.DataFrame:
    """Train each recipe with each seed under one equal budget, predict test.csv, score and tabulate.

    Args:
        configs: shipped preset names or config files, e.g. "[seed, default, cpu-strong]".
        data: the data folder; test accuracy is scored when it holds answers.csv (image,label).
        seeds: one fit per recipe per seed.
        budget: the same time budget for every fit (leaves fit --budget: 45m, 90s, 1h30m);
            unset: each recipe trains its own number of epochs.
        runs_dir: the run folders, runs_dir/<data folder name>/<recipe>/seed_<s>; finished ones are skipped.
        csv: the table's rows are appended here.
        args: more options for every fit and predict, as one string ("--data.num_workers 1").
    """
    data_dir = Path(data.data_dir) if data.data_dir else None
    common = [f"--data.data_dir={data_dir}"] if data_dir else []
    common += [f"--data.demo_dir={data.demo_dir}"] if data.demo_dir else []
    common += shlex.split(args)
    fit_only = ["--budget", budget] if budget else []
    data_name = data_dir.name if data_dir else "demo"
    rows = []
    for config in configs:
        results = []
        for seed in seeds:
            folder = Path(runs_dir) / data_name / recipe_name(config) / f"seed_{seed}"
            done = folder / RESULT
            if done.is_file():
                rank_zero_info(f"{recipe_name(config)} seed {seed}: done earlier ({done}), kept")
            else:
                result = run_one(config, seed, common, fit_only, folder)
                with atomic_file(done, "w") as f:
                    f.write(json.dumps(result, indent=1))
            results.append(json.loads(done.read_text()))
        rows.append(summarise(results, data_name, budget))
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    out = Path(csv)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, mode="a", header=not out.is_file(), index=False, float_format="%.4f")
    rank_zero_info(f"Appended {len(table)} rows to {out}")
    return table
