"""`leaves ensemble`: average checkpoints (folds, backbones) into one checked submission."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from leaves.commands.options import DataOverrides, PredictOptions, TrainerOptions
from leaves.inference.ensemble import predict_ensemble


def ensemble(
    checkpoints: list[Path],
    weights: Optional[list[float]] = None,
    data: DataOverrides = DataOverrides(),
    model: PredictOptions = PredictOptions(),
    trainer: TrainerOptions = TrainerOptions(),
    output_dir: str = "submissions",
    save_probs: Optional[str] = None,
) -> Path:
    """Average the checkpoints' probabilities on test.csv and write submissions/submission.csv.

    Args:
        checkpoints: .ckpt files, as a list ("[a.ckpt, b.ckpt]") or one per line on stdin ("-").
        weights: one per checkpoint (normalised); default: equal.
        data: data settings; default: those the first checkpoint was trained with.
        model: test-time views for every member (--model.tta).
        trainer: accelerator and precision.
        output_dir: where submission.csv and its timestamped copies go.
        save_probs: also save the averaged probabilities (.npy or .csv with class columns).
    """
    return predict_ensemble(
        checkpoints,
        weights,
        tta=model.tta,
        output_dir=output_dir,
        save_probs=save_probs,
        accelerator=trainer.accelerator,
        precision=trainer.precision,
        **data.given(),
    )
