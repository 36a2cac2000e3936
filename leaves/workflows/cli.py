"""fit, validate and predict: LightningCLI with the project's defaults, run folders and checkpoint lookup."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Optional

from jsonargparse import Namespace
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import ArgsType, LightningArgumentParser, LightningCLI, SaveConfigCallback
from lightning.pytorch.utilities import rank_zero_info
from lightning.pytorch.utilities.exceptions import SIGTERMException

from leaves.callbacks.budget import TimeBudget, parse_budget
from leaves.callbacks.ema import ema
from leaves.callbacks.freeze import FreezeBackbone
from leaves.callbacks.lr_find import FindLR
from leaves.callbacks.precise_bn import PreciseBN
from leaves.configs import DEFAULT, DEMO, resolve_config_args
from leaves.data.datamodule import LeavesDataModule
from leaves.inference.submit import predict_submission
from leaves.inference.tta import View
from leaves.layout import BEST, CHECKPOINTS, LAST, RUN_PREFIX, RUNS_DIR, run_dir_of
from leaves.models.module import LeavesModule
from leaves.models.net import check_pretrained
from leaves.utils.checkpoint import Checkpoint
from leaves.utils.quiet import quiet_lightning
from leaves.utils.runs import claim_run_dir, find_checkpoint, new_run_dir
from leaves.workflows.as_trained import apply_as_trained
from leaves.workflows.precision import LeavesTrainer, resolve_precision

#: Loggers whose folder is `save_dir/name/version`: pointed at the run folder so their files sit beside the rest.
_FOLDER_LOGGERS = ("CSVLogger", "TensorBoardLogger")
#: Loggers with a local `save_dir` of their own (W&B's offline files and run cache): put in the run folder.
_SAVE_DIR_LOGGERS = ("WandbLogger",)


def _entries(value: object) -> list[Namespace]:
    """A config value that is one class_path entry or a list of them, as a list."""
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, Namespace) and "class_path" in item]


def _is_model_checkpoint(class_path: str) -> bool:
    module, _, name = class_path.rpartition(".")
    return isinstance(cls := getattr(importlib.import_module(module), name, None), type) and issubclass(
        cls, ModelCheckpoint
    )


def place_run(trainer_cfg: Namespace, run_dir: Path) -> None:
    """Point everything a fit writes at `run_dir`: the trainer's root, each checkpoint callback
    (unless it names its own folder) and the loggers that write into a folder."""
    trainer_cfg.default_root_dir = str(run_dir)
    for callback in _entries(trainer_cfg.get("callbacks") or []):
        if _is_model_checkpoint(callback.class_path) and not callback.init_args.get("dirpath"):
            callback.init_args.dirpath = str(run_dir / CHECKPOINTS)
    for logger in _entries(trainer_cfg.get("logger")):
        if logger.class_path.endswith(_FOLDER_LOGGERS):
            logger.init_args.save_dir = str(run_dir.parent)
            logger.init_args.name = ""
            # version_N as the number N: the progress bar then shows "v_num=N", not the name's last letters.
            number = run_dir.name.removeprefix(RUN_PREFIX)
            logger.init_args.version = int(number) if number.isdigit() else run_dir.name
        elif logger.class_path.endswith(_SAVE_DIR_LOGGERS) and logger.init_args.get("save_dir") in (None, "."):
            logger.init_args.save_dir = str(run_dir)


class LeavesCLI(LightningCLI):
    """LightningCLI that resolves run folders and checkpoints the way a competitor expects.

    - The DataModule's class list sizes the model when both are built (`link_arguments`), so the model
      is whole from its constructor; EMA, a frozen backbone and precise BN are callbacks with their
      own option groups (`--ema.decay`, `--freeze_backbone.epochs`, `--precise_bn.batches`).
    - `fit` writes into a new `runs_dir/version_N` (or `runs_dir/run_name`), whatever loggers are configured;
      `fit --ckpt_path last` resumes the latest run in its own folder.
    - `predict` and `validate` without `--ckpt_path` use the best checkpoint of the latest fit
      (and say which); `--ckpt_path best|last` mean the same for that run. They use the checkpoint's
      model and its input settings unless given explicitly (`leaves.workflows.as_trained`); `predict`
      goes through `leaves.inference.predict_submission` (self-check, TTA, checked submission).
    """

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.link_arguments("data.class_names", "model.class_names", apply_on="instantiate")
        parser.add_lightning_class_args(ema, "ema")
        parser.add_lightning_class_args(FreezeBackbone, "freeze_backbone")
        parser.add_lightning_class_args(PreciseBN, "precise_bn")
        parser.add_argument(
            "--runs_dir",
            type=str,
            default=RUNS_DIR,
            help="where fits write their run folders, and where predict looks for checkpoints",
        )
        parser.add_argument(
            "--run_name",
            type=Optional[str],
            default=None,
            help=f"fit: write into runs_dir/RUN_NAME instead of a new runs_dir/{RUN_PREFIX}N",
        )
        parser.add_argument(
            "--lr_find",
            type=bool,
            default=False,
            help="fit: run Lightning's learning-rate range test first and train with its suggestion",
        )
        parser.add_argument("--lr_find_steps", type=int, default=100, help="fit: steps of the range test")
        parser.add_argument(
            "--budget",
            type=Optional[str],
            default=None,
            help="fit: train for this long (45m, 90s, 1h30m or seconds) instead of trainer.max_epochs: the step "
            "time is measured first and the warmup + cosine schedule planned to end when the time is up",
        )
        parser.add_argument(
            "--tta",
            type=Optional[list[View]],
            default=None,
            help="predict (and kfold's out-of-fold pass): test-time views whose probabilities are averaged "
            "(identity, hflip, vflip, rot90, rot180, rot270, transpose, antitranspose); unset: the image alone",
        )
        parser.add_argument(
            "--fuse_bn", type=bool, default=True, help="predict with BatchNorm folded into the convolutions"
        )
        parser.add_argument(
            "--self_check",
            type=bool,
            default=True,
            help="predict: first rescore the checkpoint's validation split through the prediction path and "
            "compare with its training record (leaves.inference.selfcheck)",
        )
        parser.add_argument(
            "--strict", type=bool, default=False, help="predict: a failed self-check is an error; nothing is written"
        )

    def parse_arguments(self, parser: LightningArgumentParser, args: ArgsType) -> None:
        args = list(args)
        demo = self._is_demo_fit(parser, args)
        if demo:
            # The demo data: its preset goes under everything the user gave, so their options still win.
            at = 1 if args and args[0] == "fit" else 0
            args = [*args[:at], "--config", str(DEMO), *args[at:]]
        self.config = parser.parse_args(args)
        sub = self.config.get("subcommand")
        cfg = self.config[sub] if sub else self.config  # no subcommand: run=False (leaves kfold)
        if demo:
            rank_zero_info(f"The demo preset ({DEMO.name}) applies: trainer.max_epochs={cfg.trainer.max_epochs}")
        ckpt = cfg.get("ckpt_path")
        if cfg.get("budget"):
            parse_budget(cfg.budget)  # a malformed budget is refused before anything is built
        if sub in ("predict", "validate"):
            if ckpt in (None, BEST, LAST):
                found = find_checkpoint(cfg.runs_dir, ckpt or BEST)
                rank_zero_info(f"{'Predicting' if sub == 'predict' else 'Validating'} with {found}")
                cfg.ckpt_path = str(found)
            # predict as trained: the checkpoint's model and image size
            apply_as_trained(parser, args, cfg, sub, Checkpoint.read(cfg.ckpt_path))
            cfg.trainer.logger = False  # predicting is not a run: no empty run folder
            return
        if ckpt == LAST:
            found = find_checkpoint(cfg.runs_dir, LAST)
            rank_zero_info(f"Resuming {found}")
            cfg.ckpt_path = str(found)
            run_dir = run_dir_of(found)
        else:
            run_dir = Path(cfg.runs_dir) / cfg.run_name if cfg.get("run_name") else new_run_dir(cfg.runs_dir)
        place_run(cfg.trainer, claim_run_dir(run_dir))

    @staticmethod
    def _is_demo_fit(parser: LightningArgumentParser, args: list[str]) -> bool:
        """A fit given no data folder (by option or config): it trains the demo data. Parsed without
        --print_config, which would print and exit before the demo preset is in."""
        if args and args[0] in ("predict", "validate", "test"):
            return False  # the checkpoint decides what these do
        probe = parser.parse_args([a for a in args if not a.startswith("--print_config")])
        return (probe[probe.subcommand] if probe.get("subcommand") else probe).data.data_dir is None

    def before_instantiate_classes(self) -> None:
        sub = self.config.get("subcommand")
        cfg = self.config[sub] if sub else self.config
        if cfg.get("ckpt_path"):
            # The checkpoint holds the trained weights: never fetch pretrained ones again.
            cfg.model.pretrained = False
        elif sub in ("fit", None):
            # The network's settings are refused before the data is read (or the demo generated).
            check_pretrained(cfg.model.pretrained, cfg.model.arch, cfg.model.norm)
        resolve_precision(cfg.trainer)

    def predict(self, model: LeavesModule, datamodule: LeavesDataModule, ckpt_path: str, **kwargs: Any) -> Any:
        """`leaves predict`: the checkpoint's model predicts test.csv into a checked submission."""
        cfg = self.config.predict
        return predict_submission(
            [ckpt_path],
            datamodule,
            self.trainer,
            tta=cfg.tta,
            fuse_bn=cfg.fuse_bn,
            self_check=cfg.self_check,
            strict=cfg.strict,
        )

    def before_fit(self) -> None:
        if self.config.fit.get("budget"):
            self.trainer.callbacks.insert(0, TimeBudget(self.config.fit.budget))
        if self.config.fit.lr_find:
            self.trainer.callbacks.append(FindLR(self.config.fit.lr_find_steps))


def build_cli(
    args: list[str],
    subcommand: Optional[str] = None,
    default_config: Optional[Path] = DEFAULT,
    cli_class: type[LeavesCLI] = LeavesCLI,
) -> LeavesCLI:
    """The CLI for `subcommand` (fit, validate, predict), run; or, with no subcommand, a fit's
    objects only, not run (leaves kfold drives the fits itself; the benchmarks time them)."""
    files = {"default_config_files": [str(default_config)]} if default_config else {}
    run = subcommand is not None
    return cli_class(
        LeavesModule,
        LeavesDataModule,
        trainer_class=LeavesTrainer,
        args=[subcommand, *resolve_config_args(args)] if run else resolve_config_args(args),
        run=run,
        parser_kwargs={subcommand: files} if run else files,
        save_config_callback=SaveConfigCallback if subcommand in ("fit", None) else None,
        save_config_kwargs={"overwrite": True},
        auto_configure_optimizers=False,
    )


def run_lightning(
    subcommand: str,
    default_config: Optional[Path] = DEFAULT,
    args: Optional[list[str]] = None,
    cli_class: type[LeavesCLI] = LeavesCLI,
) -> LeavesCLI:
    """Run one LightningCLI subcommand (fit, validate, predict) with `default_config` loaded first."""
    try:
        with quiet_lightning():
            return build_cli(list(args or []), subcommand, default_config, cli_class)
    except SIGTERMException as stop:
        # Lightning exits with status 0 on SIGTERM (and, through InterruptCheckpoint, Ctrl-C): a stopped fit must
        # not look finished to `leaves fit && leaves predict` or to a job scheduler.
        raise SystemExit(1) from stop
