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
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

import pandas as pd
from lightning.pytorch.utilities import rank_zero_info

from leaves.callbacks.throughput import Throughput
from leaves.inference.scoring import score_submission
from leaves.inference.submission import SubmissionWriter
from leaves.layout import (
    ANSWERS_CSV,
    LAST,
    RECIPE_RESULT,
    RECIPES_CSV,
    RECIPES_DIR,
    VAL_ACC,
    checkpoint_path,
    recipe_run_dir,
)
from leaves.report.recipes import summarise
from leaves.utils.atomic import atomic_file
from leaves.workflows.cli import run_lightning


def recipe_name(config: str) -> str:
    """A recipe's name in the table: the config's file stem (`seed`, `my-recipe` for `my-recipe.yaml`)."""
    return Path(config).stem


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
    last = checkpoint_path(folder, LAST)
    if last.is_file():
        rank_zero_info(f"Resuming {last}")
        fit_args += ["--ckpt_path", str(last)]
    start, cpu_start = time.perf_counter(), _cpu_seconds()
    fit = run_lightning("fit", args=fit_args)
    fit_seconds, cpu_seconds = time.perf_counter() - start, _cpu_seconds() - cpu_start
    trainer = fit.trainer
    best = trainer.checkpoint_callback.best_model_path
    score = trainer.checkpoint_callback.best_model_score
    meter = _callback(trainer, Throughput)
    rate = meter.steady_rate("train") if meter is not None else None
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
    answers = Path(predict.datamodule.root) / ANSWERS_CSV
    return {
        "recipe": recipe_name(config),
        "config": config,
        "seed": seed,
        "image_size": fit.datamodule.image_size,
        "epochs": trainer.current_epoch,
        "steps": trainer.global_step,
        VAL_ACC: float(score) if score is not None else None,
        "test_acc": score_submission(writer.last_written, answers) if answers.is_file() else None,
        "fit_minutes": fit_seconds / 60,
        "fit_cpu_minutes": cpu_seconds / 60,
        "img_per_s": rate,
        "submission": str(writer.last_written),
    }


def run_recipes(
    configs: list[str],
    data_dir: Optional[str] = None,
    demo_dir: Optional[str] = None,
    seeds: Sequence[int] = (42,),
    budget: Optional[str] = None,
    runs_dir: str = RECIPES_DIR,
    csv: Optional[str] = RECIPES_CSV,
    args: Sequence[str] = (),
) -> pd.DataFrame:
    """Train each recipe with each seed under one equal budget, predict test.csv, score and tabulate;
    the table is printed and appended to `csv` (when given). Options as `leaves recipes` documents them;
    `args` are more options for every fit and predict."""
    common = [f"--data.data_dir={data_dir}"] if data_dir else []
    common += [f"--data.demo_dir={demo_dir}"] if demo_dir else []
    common += list(args)
    fit_only = ["--budget", budget] if budget else []
    data_name = Path(data_dir).name if data_dir else "demo"
    rows = []
    for config in configs:
        results = []
        for seed in seeds:
            folder = recipe_run_dir(runs_dir, data_name, recipe_name(config), seed)
            done = folder / RECIPE_RESULT
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
    if csv:
        out = Path(csv)
        out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(out, mode="a", header=not out.is_file(), index=False, float_format="%.4f")
        rank_zero_info(f"Appended {len(table)} rows to {out}")
    return table
