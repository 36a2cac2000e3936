"""Which epoch `best.ckpt` keeps: the best validation accuracy, and among equal ones the lowest loss."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from leaves.callbacks import BestCheckpoint, LastCheckpoint
from leaves.layout import BEST, LAST, VAL_ACC, VAL_LOSS, checkpoint_file


class Scripted(L.LightningModule):
    """Logs a given validation accuracy and loss at each epoch, as a real model's validation would."""

    def __init__(self, accs: list[float], losses: list[float]) -> None:
        super().__init__()
        self.accs, self.losses = accs, losses
        self.w = torch.nn.Parameter(torch.zeros(1))

    def training_step(self, batch, batch_idx):
        return (self.w * batch[0]).sum()

    def validation_step(self, batch, batch_idx) -> None:
        self.log(VAL_ACC, self.accs[self.current_epoch])
        self.log(VAL_LOSS, self.losses[self.current_epoch])

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _fit(run: Path, accs: list[float], losses: list[float], epochs: int, ckpt_path=None) -> int:
    """Fit `epochs` epochs (resuming from `ckpt_path`) and return the epoch best.ckpt was saved at."""
    data = DataLoader(TensorDataset(torch.ones(2, 1)), batch_size=2)
    trainer = L.Trainer(
        max_epochs=epochs,
        callbacks=[BestCheckpoint(dirpath=str(run)), LastCheckpoint(dirpath=str(run))],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        accelerator="cpu",
    )
    trainer.fit(Scripted(accs, losses), data, data, ckpt_path=ckpt_path)
    best = run / checkpoint_file(BEST)
    assert trainer.checkpoint_callback.best_model_path == str(best)
    return torch.load(best, weights_only=False)["epoch"]


@pytest.mark.parametrize(
    "accs, losses, best_epoch",
    [
        ([0.5, 1.0, 1.0, 1.0], [2.0, 1.0, 0.5, 0.7], 2),  # equal accuracy: the lowest loss
        ([0.9, 1.0, 0.9, 0.9], [0.1, 0.9, 0.05, 0.01], 1),  # a better accuracy beats any loss
        ([1.0, 1.0, 1.0], [0.5, 0.5, 0.5], 0),  # equal in both: the first is kept
    ],
)
def test_best_checkpoint_keeps_the_best_accuracy_and_breaks_ties_by_the_lower_loss(
    tmp_path: Path, accs: list[float], losses: list[float], best_epoch: int
) -> None:
    assert _fit(tmp_path, accs, losses, epochs=len(accs)) == best_epoch


def test_a_resumed_fit_breaks_ties_against_the_loss_of_the_checkpoint_it_kept(tmp_path: Path) -> None:
    accs, losses = [1.0, 1.0, 1.0, 1.0], [0.9, 0.5, 0.6, 0.4]
    assert _fit(tmp_path, accs, losses, epochs=3) == 1
    last = tmp_path / checkpoint_file(LAST)
    assert _fit(tmp_path, accs, losses, epochs=4, ckpt_path=str(last)) == 3
