"""`leaves recipes`: train recipes side by side under one budget and score them the way a submission is scored.

Every (recipe, seed) is an ordinary `leaves fit` followed by an ordinary
`leaves predict` of test.csv with its best checkpoint, scored against
answers.csv when the data folder has one (`leaves.workflows.recipes`).
"""

from __future__ import annotations

import shlex
from typing import Optional

import pandas as pd

from leaves.commands.options import DataFolder
from leaves.layout import RECIPES_CSV, RECIPES_DIR
from leaves.workflows.recipes import run_recipes


def recipes(
    configs: list[str],
    data: DataFolder = DataFolder(),
    seeds: list[int] = [42],  # noqa: B006  (jsonargparse shows the default)
    budget: Optional[str] = None,
    runs_dir: str = RECIPES_DIR,
    csv: str = RECIPES_CSV,
    args: str = "",
) -> pd.DataFrame:
    """Train each recipe with each seed under one equal budget, predict test.csv, score and tabulate.

    Args:
        configs: shipped preset names or config files, e.g. "[seed, default, cpu-strong]".
        data: the data folder; test accuracy is scored when it holds answers.csv (image,label).
        seeds: one fit per recipe per seed.
        budget: the same time budget for every fit (leaves fit --budget: 45m, 90s, 1h30m);
            unset: each recipe trains its own number of epochs.
        runs_dir: the run folders, runs_dir/<data folder name>/<recipe>/seed_<s>; finished ones are skipped
            (one interrupted resumes from its last.ckpt).
        csv: the table's rows are appended here.
        args: more options for every fit and predict, as one string ("--data.num_workers 1").
    """
    return run_recipes(configs, data.data_dir, data.demo_dir, seeds, budget, runs_dir, csv, shlex.split(args))
