"""`leaves ensemble`: average checkpoints and k-fold runs (folds, backbones) into one checked submission, with
equal, given or fitted weights."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from leaves.commands.options import DataOverrides, TrainerOptions
from leaves.inference.tta import View
from leaves.layout import SUBMISSIONS_DIR
from leaves.workflows.ensemble import run_ensemble


def ensemble(
    checkpoints: list[Path],
    weights: Optional[list[float]] = None,
    fit_weights: bool = False,
    rounds: int = 100,
    data: DataOverrides = DataOverrides(),
    trainer: TrainerOptions = TrainerOptions(),
    tta: Optional[list[View]] = None,
    fuse_bn: bool = True,
    output_dir: str = SUBMISSIONS_DIR,
    save_probs: Optional[str] = None,
    self_check: bool = True,
    strict: bool = False,
) -> Path:
    """Average the members' probabilities on test.csv and write submissions/submission.csv.

    Args:
        checkpoints: the members: .ckpt files or leaves kfold run folders (runs/kfold: its fold checkpoints,
            which share the member's weight), as a list ("[a.ckpt, runs/b/kfold]") or one per line on stdin ("-").
        weights: one per member (normalised); default: equal.
        fit_weights: fit the members' weights on their out-of-fold probabilities (every member a leaves kfold
            run): hill climbing on log loss; prints the CV accuracy of equal and fitted weights side by side
            and warns when the gain is within the noise of the number of images; then predicts with them.
        rounds: hill-climbing picks at most (a weight is a multiple of 1/rounds).
        data: data settings; default: the first checkpoint's folder and batch size, each member's own image size.
        trainer: accelerator and precision.
        tta: test-time views whose probabilities are averaged, for every member (identity, hflip, vflip,
            rot90, rot180, rot270, transpose, antitranspose); unset: the image alone.
        fuse_bn: predict with BatchNorm folded into the convolutions.
        output_dir: where submission.csv and its timestamped copies go.
        save_probs: also save the averaged probabilities (.npy or .csv with class columns).
        self_check: first rescore each checkpoint's validation split through this prediction path and
            compare with its training record (a loud warning when it is far worse).
        strict: a failed self-check is an error: nothing is written.
    """
    done = run_ensemble(
        checkpoints,
        weights,
        fit_weights,
        rounds,
        tta=tta,
        fuse_bn=fuse_bn,
        output_dir=output_dir,
        save_probs=save_probs,
        accelerator=trainer.accelerator,
        precision=trainer.precision,
        self_check=self_check,
        strict=strict,
        **data.given(),
    )
    return done.submission
