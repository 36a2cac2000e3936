"""Every name the project gives to a file, a folder or a metric, in one place.

The competition's files, the run folder a fit writes, the checkpoints in it,
the metric that picks the best one, where submissions and the demo data go:
each is spelled here once, and every other module (and the tests) asks this
one. Renaming an artifact is one line.
"""

from __future__ import annotations

from pathlib import Path

# -- the competition's folder ------------------------------------------------------------------------
TRAIN_CSV = "train.csv"
TEST_CSV = "test.csv"
#: The labels of test.csv, where a folder has them (the demo data, the development folders): scores a submission.
ANSWERS_CSV = "answers.csv"
#: Where `leaves download` puts the competition, and where the classify-leaves preset reads it.
COMPETITION_DIR = "data/classify-leaves"
#: Where the synthetic demo data is generated when no data folder is given.
DEMO_DIR = "data/demo"
#: The decoded-image cache, inside the data folder (or, when that is read-only, the working folder).
CACHE_DIR = "cache"

# -- runs ----------------------------------------------------------------------------------------------
#: The folder of every fit's run folder.
RUNS_DIR = "runs"
#: A fit's run folder is RUNS_DIR/version_N.
RUN_PREFIX = "version_"
#: Inside a run folder.
CHECKPOINTS = "checkpoints"
RUN_CONFIG = "config.yaml"
METRICS_CSV = "metrics.csv"
CURVES_PNG = "learning_curves.png"
REPORT_HTML = "report.html"
LR_FIND_PNG = "lr_find.png"
#: Checkpoint names (without `.ckpt`): the highest validation accuracy, and the latest state to resume.
BEST = "best"
LAST = "last"
CKPT = ".ckpt"
#: k-fold: RUNS_DIR/kfold/fold_<i>, each with its out-of-fold probabilities; all of them in RUNS_DIR/kfold/oof.csv.
KFOLD_DIR = "kfold"
FOLD_PREFIX = "fold_"
OOF_CSV = "oof.csv"
#: `leaves recipes`: its run folders (`<data>/<recipe>/seed_<s>/` inside), and the table it appends to.
RECIPES_DIR = f"{RUNS_DIR}/recipes"
RECIPES_CSV = "recipes.csv"
#: `leaves recipes`: one finished (recipe, seed) leaves this in its run folder.
RECIPE_RESULT = "result.json"
#: A fit with pseudo-labels or a teacher's soft targets for test images lists the test images it trained on.
ADDED_IMAGES_CSV = "added_images.csv"

# -- data cleaning (`leaves clean`) ---------------------------------------------------------------------
#: RUNS_DIR/clean: the report of near-duplicate images and likely mislabels.
CLEAN_DIR = "clean"
DUPLICATES_CSV = "duplicates.csv"
SUSPECTS_CSV = "suspects.csv"
CLEANING_HTML = "cleaning.html"

# -- submissions ---------------------------------------------------------------------------------------
SUBMISSIONS_DIR = "submissions"
SUBMISSION_CSV = "submission.csv"

# -- metrics -------------------------------------------------------------------------------------------
TRAIN_LOSS = "train_loss"
TRAIN_ACC = "train_acc"
VAL_LOSS = "val_loss"
VAL_ACC = "val_acc"
LR = "lr"
#: The metric that picks `best.ckpt`, and which way is better.
MONITOR = VAL_ACC
MONITOR_MODE = "max"
#: Among checkpoints of equal MONITOR, the one with the lower TIE_BREAK is best: a small validation split
#: ties often, and the first of equals is usually the least trained epoch.
TIE_BREAK = VAL_LOSS


def checkpoint_file(name: str) -> str:
    """The file name of checkpoint `name` (best, last, or any other)."""
    return f"{name}{CKPT}"


def checkpoint_path(run_dir: str | Path, name: str) -> Path:
    """Checkpoint `name` of the run in `run_dir`."""
    return Path(run_dir) / CHECKPOINTS / checkpoint_file(name)


def run_dir_of(checkpoint: str | Path) -> Path:
    """The run folder a checkpoint was written into (its checkpoints/ folder's parent)."""
    return Path(checkpoint).resolve().parent.parent


def fold_run_name(fold: int) -> str:
    """The run name (folder inside the runs folder) of k-fold's fold `fold`."""
    return f"{KFOLD_DIR}/{FOLD_PREFIX}{fold}"


def recipe_run_dir(runs_dir: str | Path, data_name: str, recipe: str, seed: int | str) -> Path:
    """The run folder of one (recipe, seed) on one data folder, where `leaves recipes` and the benchmarks
    that sit beside it (the d2l notes' loop, the after-the-first-model techniques) keep their results;
    "*" for any part is the pattern that finds them all."""
    return Path(runs_dir) / data_name / recipe / f"seed_{seed}"
