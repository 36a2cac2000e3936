"""The command line: LightningCLI with the project's defaults and checkpoint lookup."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

from jsonargparse import Namespace
from lightning.pytorch.cli import ArgsType, LightningArgumentParser, LightningCLI, SaveConfigCallback
from lightning.pytorch.utilities import rank_zero_info
from lightning.pytorch.utilities.exceptions import SIGTERMException

from leaves.data import LeavesDataModule
from leaves.lr_find import find_lr
from leaves.module import LeavesModule
from leaves.runs import find_checkpoint, run_dir_of


def _runs_root(trainer_cfg: Namespace) -> Path:
    """Where fits write their runs: the logger's save_dir, else the trainer's root dir."""
    logger = trainer_cfg.get("logger")
    save_dir = logger.get("init_args", {}).get("save_dir") if isinstance(logger, Namespace) else None
    return Path(save_dir or trainer_cfg.get("default_root_dir") or ".")


class LeavesCLI(LightningCLI):
    """LightningCLI that resolves checkpoints the way a competitor expects.

    - `predict` without `--ckpt_path` uses the best checkpoint of the latest fit
      (and says which); `--ckpt_path best|last` mean the same for that run.
    - `fit --ckpt_path last` resumes the latest run in its own folder, so its
      logs, curves and checkpoints continue where they stopped.
    """

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_argument("--lr_find", type=bool, default=False,
                            help="fit: run Lightning's learning-rate range test first and train with its suggestion")
        parser.add_argument("--lr_find_steps", type=int, default=100, help="fit: steps of the range test")

    def parse_arguments(self, parser: LightningArgumentParser, args: ArgsType) -> None:
        self.config = parser.parse_args(args)
        sub = self.config.get("subcommand")
        cfg = self.config[sub] if sub else self.config  # no subcommand: run=False (scripts/kfold.py)
        ckpt = cfg.get("ckpt_path")
        if sub == "predict" and ckpt in (None, "best", "last"):
            found = find_checkpoint(_runs_root(cfg.trainer), ckpt or "best")
            rank_zero_info(f"Predicting with {found}")
            cfg.ckpt_path = str(found)
        if sub == "predict":
            cfg.trainer.logger = False  # predicting is not a run: no empty runs/version_N folder
        elif sub == "fit" and ckpt == "last":
            found = find_checkpoint(_runs_root(cfg.trainer), "last")
            rank_zero_info(f"Resuming {found}")
            cfg.ckpt_path = str(found)
            logger = cfg.trainer.get("logger")
            if isinstance(logger, Namespace) and "init_args" in logger:
                logger.init_args.version = run_dir_of(found).name

    def before_instantiate_classes(self) -> None:
        sub = self.config.get("subcommand")
        cfg = self.config[sub] if sub else self.config
        if cfg.get("ckpt_path"):
            # The checkpoint holds the trained weights: never fetch pretrained ones again.
            cfg.model.pretrained = False

    def before_fit(self) -> None:
        if self.config.fit.lr_find:
            find_lr(self.trainer, self.model, self.datamodule, self.config.fit.lr_find_steps)


def main(subcommand: str, default_config: Optional[Path] = None, args: Optional[list[str]] = None) -> LeavesCLI:
    """Run one LightningCLI subcommand (fit, validate, predict) with `default_config` loaded first."""
    args = sys.argv[1:] if args is None else args
    parser_kwargs = {subcommand: {"default_config_files": [str(default_config)]}} if default_config else {}
    try:
        return LeavesCLI(
            LeavesModule,
            LeavesDataModule,
            args=[subcommand, *args],
            parser_kwargs=parser_kwargs,
            save_config_callback=SaveConfigCallback if subcommand == "fit" else None,
            save_config_kwargs={"overwrite": True},
            auto_configure_optimizers=False,
        )
    except SIGTERMException as stop:
        # Lightning exits with status 0 on SIGTERM (and, through InterruptCheckpoint, Ctrl-C): a stopped fit must
        # not look finished to `fit.py && predict.py` or to a job scheduler.
        raise SystemExit(1) from stop
