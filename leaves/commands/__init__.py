"""`leaves`: one command for everything a competitor runs.

    leaves fit | validate | predict | kfold | recipes | ensemble | check | clean | report | precise-bn
    leaves weights | download | submit

Each subcommand's module is imported only when it runs, so `leaves --help`
answers at once. Every subcommand goes through `leaves.commands.runner`.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, Optional

from leaves.commands.runner import command, user_errors_exit
from leaves.layout import SUBMISSION_CSV, SUBMISSIONS_DIR, TEST_CSV

#: name -> (module, function, one line of help). `fit`, `validate`, `predict` and `kfold` are LightningCLI.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "fit": ("leaves.workflows.cli", "run_lightning", "train; --ckpt_path last resumes the latest run"),
    "validate": ("leaves.workflows.cli", "run_lightning", "score a checkpoint on its validation split"),
    "predict": (
        "leaves.workflows.cli",
        "run_lightning",
        f"predict {TEST_CSV} into {SUBMISSIONS_DIR}/{SUBMISSION_CSV}",
    ),
    "kfold": ("leaves.workflows.kfold", "run_kfold", "train every fold, out-of-fold probabilities, CV accuracy"),
    "recipes": ("leaves.commands.recipes", "recipes", f"train recipes side by side under one budget, score {TEST_CSV}"),
    "ensemble": ("leaves.commands.ensemble", "ensemble", "average checkpoints into one submission"),
    "check": ("leaves.commands.check", "check", "check a data folder: CSVs and every image"),
    "clean": (
        "leaves.commands.clean",
        "clean",
        "near-duplicates, conflicting labels, likely mislabels; a cleaned training CSV",
    ),
    "report": ("leaves.commands.report", "report", "write the HTML run report of a checkpoint"),
    "precise-bn": (
        "leaves.commands.precise_bn",
        "precise_bn_checkpoint",
        "recompute BN statistics into a new checkpoint",
    ),
    "weights": (
        "leaves.commands.weights",
        "weights",
        "save timm's pretrained weights to a file, for offline notebooks",
    ),
    "download": ("leaves.commands.kaggle", "download", "download and verify the competition (kaggle extra)"),
    "submit": ("leaves.commands.kaggle", "submit_file", f"check {SUBMISSION_CSV}, then submit it (kaggle extra)"),
}
LIGHTNING = ("fit", "validate", "predict")


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {help_}" for name, (_, _, help_) in COMMANDS.items()]
    return (
        "usage: leaves COMMAND [options]   (leaves COMMAND --help for its options)\n\n"
        "Kaggle Classify Leaves, from data to a checked submission.\n\ncommands:\n" + "\n".join(lines) + "\n\n"
        "--config takes a file or a shipped preset's name (e.g. --config classify-leaves).\n"
        "Benchmarks live outside the package: python benchmarks/bench.py --help"
    )


def run(name: str, args: Optional[list[str]] = None) -> Any:
    """Run the subcommand `name` with `args` (never `sys.argv`); returns what the command returns."""
    if name not in COMMANDS:
        raise SystemExit(f"error: unknown command {name!r}; choose from {', '.join(COMMANDS)}")
    module, function, _ = COMMANDS[name]
    target = getattr(importlib.import_module(module), function)
    args = list(args or [])
    if name in LIGHTNING:
        return user_errors_exit(lambda: target(name, args=args))
    if name == "kfold":
        return user_errors_exit(lambda: target(args))
    return command(target, args, prog=f"leaves {name}")


def main(argv: Optional[list[str]] = None) -> int:
    """The `leaves` console entry point."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    run(argv[0], argv[1:])
    return 0
