"""Cross-validation: train every fold in turn, collect out-of-fold probabilities, report CV accuracy.

Each fold is an ordinary fit (`--data.num_folds K --data.fold i`) logged to
`<runs>/kfold/fold_i/`. A fold is done once its `oof.csv` exists, so running
the command again skips finished folds and resumes an interrupted one from its
`last.ckpt`. The fold checkpoints are then an ensemble for leaves ensemble.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import lightning as L
import numpy as np
import pandas as pd
import torch
from lightning.pytorch.utilities import rank_zero_info

from leaves.commands.lightning import LeavesCLI, build_cli
from leaves.configs import DEFAULT
from leaves.data.as_trained import input_settings, read_data_settings
from leaves.data.datamodule import LeavesDataModule, datamodule_from_checkpoint
from leaves.errors import ConfigError
from leaves.inference.predictor import predict_trainer
from leaves.inference.probs import probs_table
from leaves.models.module import LeavesModule
from leaves.utils.atomic import atomic_write_csv

OOF = "oof.csv"


def _fold_cli(args: list[str], default_config: Optional[Path], fold: int) -> LeavesCLI:
    """The objects of one fold's fit, written into `<runs_dir>/kfold/fold_<fold>`."""
    return build_cli([*args, "--data.fold", str(fold), "--run_name", f"kfold/fold_{fold}"], None, default_config)


def out_of_fold(
    checkpoint: str, datamodule: LeavesDataModule, trainer: L.Trainer, tta: Optional[list[str]]
) -> pd.DataFrame:
    """Probabilities of the fold's best checkpoint on the rows it never trained on, at the input it trained
    with (a fold resumed with other options is rebuilt from its checkpoint's data settings)."""
    trained = input_settings(read_data_settings(checkpoint), {}, checkpoint)
    if any(getattr(datamodule, key) != value for key, value in trained.items()):
        datamodule = datamodule_from_checkpoint(
            checkpoint, batch_size=datamodule.batch_size, num_workers=datamodule.num_workers
        )
        datamodule.setup("validate")
    model = LeavesModule.load_from_checkpoint(checkpoint, map_location="cpu", tta=tta)
    predictor = predict_trainer(trainer.accelerator, 1, trainer.precision)
    outputs = predictor.predict(model, dataloaders=datamodule.val_dataloader())
    probs = torch.cat([o["probs"] for o in outputs]).numpy()
    table = datamodule.train_table.loc[datamodule.val_rows]
    return probs_table(
        probs,
        table["image"].tolist(),
        model.class_names,
        {"label": table["label"].tolist(), "fold": [datamodule.fold] * len(table)},
    )


def cv_accuracy(oof: pd.DataFrame, class_names: list[str]) -> float:
    """Accuracy of the out-of-fold argmax over all train.csv rows."""
    predicted = np.asarray(class_names)[oof[class_names].to_numpy().argmax(axis=1)]
    return float((predicted == oof["label"].to_numpy()).mean())


def run_kfold(args: list[str], default_config: Optional[Path] = DEFAULT) -> float:
    """Fit every fold of `--data.num_folds` (other arguments as for scripts/fit.py); returns the CV accuracy."""
    first = _fold_cli(args, default_config, 0)
    num_folds = first.datamodule.num_folds
    if not num_folds or num_folds < 2:
        raise ConfigError("leaves kfold needs --data.num_folds K (K >= 2), in a config or on the command line")
    tables, checkpoints = [], []
    for fold in range(num_folds):
        cli = first if fold == 0 else _fold_cli(args, default_config, fold)
        fold_dir = Path(cli.trainer.default_root_dir)
        oof_path = fold_dir / OOF
        best = fold_dir / "checkpoints" / "best.ckpt"
        if oof_path.is_file():
            rank_zero_info(f"Fold {fold}/{num_folds}: done earlier ({oof_path}), skipped")
        else:
            last = fold_dir / "checkpoints" / "last.ckpt"
            rank_zero_info(f"Fold {fold}/{num_folds}: " + (f"resuming {last}" if last.is_file() else "training"))
            cli.trainer.fit(cli.model, datamodule=cli.datamodule, ckpt_path=str(last) if last.is_file() else None)
            best = Path(cli.trainer.checkpoint_callback.best_model_path)
            table = out_of_fold(str(best), cli.datamodule, cli.trainer, cli.model.tta)
            atomic_write_csv(table, oof_path)
        tables.append(pd.read_csv(oof_path))
        checkpoints.append(best)
    oof = pd.concat(tables, ignore_index=True)
    class_names = [c for c in oof.columns if c not in ("image", "label", "fold")]
    for fold, table in enumerate(tables):
        rank_zero_info(f"fold {fold}: accuracy {cv_accuracy(table, class_names):.4f} on {len(table)} images")
    accuracy = cv_accuracy(oof, class_names)
    oof_all = fold_dir.parent / OOF
    atomic_write_csv(oof, oof_all)
    rank_zero_info(
        f"CV accuracy {accuracy:.4f} over {len(oof)} images ({num_folds} folds); out-of-fold probabilities: {oof_all}\n"
        f'Fold ensemble: leaves ensemble "[{", ".join(map(str, checkpoints))}]" [--model.tta ...]'
    )
    return accuracy
