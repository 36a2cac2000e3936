"""`leaves.fit(...)` and `leaves.predict(...)`: the command line, callable from a notebook cell.

A notebook kernel has its own `sys.argv` (the kernel's launch options), and a
`SystemExit` in a cell is an unhelpful way to learn about a typo. These take
the same options as `leaves fit` / `leaves predict`, either as CLI-style
arguments or as keyword groups, never read `sys.argv`, raise the project's
errors (`leaves.errors`), and return the paths a notebook needs next.

    leaves.fit(config=["classify-leaves", "kaggle"], trainer={"max_epochs": 3})
    leaves.predict(["--config", "kaggle", "--tta", "[identity, hflip]"])
    leaves.clean("data/classify-leaves", oof="runs/kfold/oof.csv")
    leaves.ensemble(["runs/a/kfold", "runs/b/kfold"], fit_weights=True, tta=["identity", "hflip"])
"""

from __future__ import annotations

import json
from argparse import ArgumentError
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

import pandas as pd
from lightning.pytorch.cli import LightningArgumentParser

from leaves.errors import ConfigError
from leaves.inference.submission import SubmissionWriter
from leaves.layout import BEST, LAST, RECIPES_DIR, checkpoint_path
from leaves.workflows.clean import Cleaning, run_clean
from leaves.workflows.cli import LeavesCLI, run_lightning
from leaves.workflows.ensemble import Ensembled, run_ensemble
from leaves.workflows.kfold import run_kfold
from leaves.workflows.recipes import run_recipes


@dataclass(frozen=True)
class Fitted:
    """What a fit leaves behind: its run folder and its checkpoints."""

    run_dir: Path
    best_checkpoint: Path
    last_checkpoint: Path


@dataclass(frozen=True)
class Predicted:
    """What a prediction leaves behind: the checked submission and the checkpoint it came from."""

    submission: Path
    checkpoint: Path


class _RaisingCLI(LeavesCLI):
    """LeavesCLI whose option errors raise ConfigError instead of printing the usage and exiting."""

    def init_parser(self, **kwargs: Any) -> LightningArgumentParser:
        return super().init_parser(**kwargs, exit_on_error=False)  # the main parser and each subcommand's

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        try:
            super().parse_arguments(parser, args)
        except ArgumentError as err:
            raise ConfigError(f"invalid options: {err}") from None


def cli_args(
    args: Optional[Sequence[str]] = None, config: Union[str, Sequence[str], None] = None, **options: Any
) -> list[str]:
    """Command-line arguments from the keyword form: `config` names (in order), then each option;
    a group given as a dict becomes dotted options (`data={"data_dir": d}` -> `--data.data_dir=d`)."""
    out: list[str] = []
    for name in [config] if isinstance(config, str) else list(config or []):
        out += ["--config", str(name)]
    out += [str(a) for a in args or []]
    for key, value in _flatten(options):
        out.append(f"--{key}={_text(value)}")
    return out


def _flatten(options: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = []
    for key, value in options.items():
        if isinstance(value, Mapping) and "class_path" not in value:
            pairs += _flatten(value, f"{prefix}{key}.")
        else:
            pairs.append((prefix + key, value))
    return pairs


def _text(value: Any) -> str:
    """A value as the command line spells it (JSON for everything but plain strings and paths)."""
    return str(value) if isinstance(value, (str, Path)) else json.dumps(value)


def fit(
    args: Optional[Sequence[str]] = None, *, config: Union[str, Sequence[str], None] = None, **options: Any
) -> Fitted:
    """Train, as `leaves fit` with these options; returns the run folder and its best and last checkpoints.

    Args:
        args: CLI-style arguments (`["--trainer.max_epochs", "3"]`), applied before `options`.
        config: a preset name or config file, or several, applied in order on top of default.yaml.
        options: option groups or values: `data={...}`, `model={...}`, `trainer={...}`, `runs_dir=...`,
            `ckpt_path="last"` (resume)...
    """
    cli = run_lightning("fit", args=cli_args(args, config, **options), cli_class=_RaisingCLI)
    run_dir = Path(cli.trainer.default_root_dir).absolute()  # absolute: the notebook may change folder later
    best = cli.trainer.checkpoint_callback.best_model_path if cli.trainer.checkpoint_callback else ""
    best_path = Path(best).absolute() if best else checkpoint_path(run_dir, BEST)
    return Fitted(run_dir, best_path, checkpoint_path(run_dir, LAST))


def predict(
    args: Optional[Sequence[str]] = None, *, config: Union[str, Sequence[str], None] = None, **options: Any
) -> Predicted:
    """Predict test.csv, as `leaves predict`; returns the checked submission.csv and the checkpoint used
    (the latest run's best one unless `ckpt_path` names another). Options as for `fit`."""
    cli = run_lightning("predict", args=cli_args(args, config, **options), cli_class=_RaisingCLI)
    writers = [c for c in cli.trainer.callbacks if isinstance(c, SubmissionWriter) and c.last_written]
    if not writers:
        raise ConfigError("no submission was written: keep leaves.inference.SubmissionWriter in trainer.callbacks")
    return Predicted(Path(writers[0].last_written).absolute(), Path(cli.config.predict.ckpt_path).absolute())


def kfold(
    args: Optional[Sequence[str]] = None, *, config: Union[str, Sequence[str], None] = None, **options: Any
) -> float:
    """Cross-validate, as `leaves kfold` (`data={"num_folds": 5}` or a config that sets it): every fold is
    trained (finished folds are kept, an interrupted one resumes), their out-of-fold probabilities are
    written, and the CV accuracy is returned. Options as for `fit`."""
    return run_kfold(cli_args(args, config, **options), cli_class=_RaisingCLI)


def recipes(
    configs: Sequence[str],
    data_dir: Optional[str] = None,
    seeds: Sequence[int] = (42,),
    budget: Optional[str] = None,
    runs_dir: str = RECIPES_DIR,
    csv: Optional[str] = None,
    args: Optional[Sequence[str]] = None,
) -> pd.DataFrame:
    """Train recipes side by side and score them, as `leaves recipes` (one row per recipe, its seeds'
    mean, spread and each seed); `args` are more options for every fit and predict."""
    return run_recipes(list(configs), data_dir, None, seeds, budget, runs_dir, csv, [str(a) for a in args or []])


def clean(data_dir: Optional[str] = None, oof: Optional[str] = None, **options: Any) -> Cleaning:
    """The data-cleaning report, as `leaves clean`: near-duplicate pairs (`.pairs`, `.conflicts`) and, with
    `oof` (leaves kfold's oof.csv), the likely mislabels (`.suspects`), written as CSVs and a page of
    thumbnails (`.page`). Options: output_dir, train_csv, max_distance, max_difference, suspects, shown, workers."""
    return run_clean(data_dir, oof=oof, **options)


def ensemble(
    members: Sequence[Union[str, Path]],
    weights: Optional[Sequence[float]] = None,
    fit_weights: bool = False,
    **options: Any,
) -> Ensembled:
    """Average checkpoints and k-fold run folders into one checked submission, as `leaves ensemble`;
    `fit_weights` fits the members' weights on their out-of-fold probabilities first (`.fit` holds equal
    against fitted CV accuracy and the paired test). Options: rounds, and `leaves.predict_ensemble`'s
    (tta, data_dir, save_probs, output_dir, accelerator...)."""
    return run_ensemble(members, weights, fit_weights, **options)
