"""`leaves kfold`: train every fold in turn, collect out-of-fold probabilities, report the CV accuracy.

Each fold is an ordinary fit (`--data.num_folds K --data.fold i`) into
`<runs>/kfold/fold_i/`. A fold is done once its `oof.csv` exists, so running
the command again skips finished folds and resumes an interrupted one from its
`last.ckpt`. The fold checkpoints are then an ensemble for leaves ensemble.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pandas as pd
from lightning.pytorch.utilities import rank_zero_info

from leaves.configs import DEFAULT
from leaves.errors import ConfigError
from leaves.inference.oof import cv_accuracy, oof_classes, out_of_fold
from leaves.layout import BEST, LAST, OOF_CSV, checkpoint_path, fold_run_name
from leaves.utils.atomic import atomic_write_csv
from leaves.workflows.cli import LeavesCLI, build_cli


def _fold_cli(args: list[str], default_config: Optional[Path], fold: int, cli_class: type[LeavesCLI]) -> LeavesCLI:
    """The objects of one fold's fit, written into its fold folder of the runs folder."""
    fold_args = [*args, "--data.fold", str(fold), "--run_name", fold_run_name(fold)]
    return build_cli(fold_args, None, default_config, cli_class)


def run_kfold(
    args: list[str], default_config: Optional[Path] = DEFAULT, cli_class: type[LeavesCLI] = LeavesCLI
) -> float:
    """Fit every fold of `--data.num_folds` (other arguments as for leaves fit); returns the CV accuracy."""
    first = _fold_cli(args, default_config, 0, cli_class)
    num_folds = first.datamodule.num_folds
    if not num_folds or num_folds < 2:
        raise ConfigError("leaves kfold needs --data.num_folds K (K >= 2), in a config or on the command line")
    tables, checkpoints = [], []
    for fold in range(num_folds):
        cli = first if fold == 0 else _fold_cli(args, default_config, fold, cli_class)
        fold_dir = Path(cli.trainer.default_root_dir)
        oof_path = fold_dir / OOF_CSV
        best = checkpoint_path(fold_dir, BEST)
        if oof_path.is_file():
            rank_zero_info(f"Fold {fold}/{num_folds}: done earlier ({oof_path}), skipped")
        else:
            last = checkpoint_path(fold_dir, LAST)
            rank_zero_info(f"Fold {fold}/{num_folds}: " + (f"resuming {last}" if last.is_file() else "training"))
            cli.trainer.fit(cli.model, datamodule=cli.datamodule, ckpt_path=str(last) if last.is_file() else None)
            best = Path(cli.trainer.checkpoint_callback.best_model_path)
            table = out_of_fold(
                str(best), cli.datamodule, cli.trainer.accelerator, cli.trainer.precision, cli.config.tta
            )
            atomic_write_csv(table, oof_path)
        tables.append(pd.read_csv(oof_path))
        checkpoints.append(best)
    oof = pd.concat(tables, ignore_index=True)
    for fold, table in enumerate(tables):
        rank_zero_info(f"fold {fold}: accuracy {cv_accuracy(table):.4f} on {len(table)} images")
    accuracy = cv_accuracy(oof, oof_classes(oof))
    oof_all = fold_dir.parent / OOF_CSV
    atomic_write_csv(oof, oof_all)
    rank_zero_info(
        f"CV accuracy {accuracy:.4f} over {len(oof)} images ({num_folds} folds); out-of-fold probabilities: {oof_all}\n"
        f'Fold ensemble: leaves ensemble "[{", ".join(map(str, checkpoints))}]" [--tta ...]'
    )
    return accuracy
