"""`leaves ensemble`: checkpoints and k-fold runs averaged into one checked submission, with equal, given or
fitted weights.

Fitted weights (`--fit_weights true`, every member a `leaves kfold` run) are
climbed on the members' out-of-fold probabilities (`leaves.inference.hill_climb`).
Scored on the images they were fitted on they always look better, so the
figure printed beside the equal weights' CV accuracy is cross-fitted: each
fold's images scored with weights fitted on the other folds. Whether the gain
is more than the noise of that many images is a paired test on per-image
correctness (`leaves.inference.paired`); a gain within the noise is said, as
such, in a warning. Tuning weights on the public leaderboard instead overfits
its 50% of test.csv: this is the alternative.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

from leaves.errors import ConfigError
from leaves.inference.ensemble import predict_ensemble
from leaves.inference.hill_climb import blend, cross_fitted, hill_climb
from leaves.inference.members import align_oof, expand_members, kfold_member
from leaves.inference.paired import ALPHA, PairedTest, paired_test


class WeightsWithinNoise(UserWarning):
    """Fitted ensemble weights score no better than equal ones, as far as the number of images can tell."""


@dataclass(frozen=True)
class WeightFit:
    """Equal against fitted weights on the members' out-of-fold probabilities."""

    members: list[str]
    weights: list[float]
    images: int
    equal: float  # CV accuracy of equal weights
    fitted: float  # cross-fitted: each fold scored with weights fitted on the other folds
    in_sample: float  # the final weights scored on the images they were fitted on (optimistic)
    test: PairedTest  # equal (first) against cross-fitted (second), image by image

    def table(self) -> str:
        lines = [
            f"{'weights':<34}{'CV accuracy':>12}",
            f"{'equal':<34}{self.equal:>12.4f}",
            f"{'fitted (cross-fitted over folds)':<34}{self.fitted:>12.4f}",
            f"{'fitted (in-sample, optimistic)':<34}{self.in_sample:>12.4f}",
            f"paired test on {self.images:,} images: fitted right where equal wrong {self.test.c}, the reverse "
            f"{self.test.b}, McNemar p = {self.test.p_value:.3g}",
            "fitted weights: " + ", ".join(f"{m} {w:.2f}" for m, w in zip(self.members, self.weights)),
        ]
        return "\n".join(lines)


def fit_member_weights(members: Sequence[str | Path], rounds: int = 100) -> WeightFit:
    """Fit the weights of k-fold runs on their out-of-fold probabilities and compare them with equal ones."""
    if len(members) < 2:
        raise ConfigError("fitting ensemble weights needs at least two members (leaves kfold run folders)")
    runs = [kfold_member(m) for m in members]
    oof = align_oof(runs)
    right = lambda probs: probs.argmax(axis=1) == oof.labels  # noqa: E731
    equal = right(blend(oof.probs, [1 / len(runs)] * len(runs)))
    weights = hill_climb(oof.probs, oof.labels, rounds)
    crossed, _ = cross_fitted(oof.probs, oof.labels, oof.folds, rounds)
    fitted = right(crossed)
    fit = WeightFit(
        [str(r.folder) for r in runs],
        [float(w) for w in weights],
        len(oof.images),
        float(equal.mean()),
        float(fitted.mean()),
        float(right(blend(oof.probs, weights)).mean()),
        paired_test(equal, fitted),
    )
    rank_zero_info(fit.table())
    if not (fit.test.gain > 0 and fit.test.significant):
        found = "within the noise" if not fit.test.significant else "a loss, not a gain"
        rank_zero_warn(
            f"the fitted weights' gain over equal weights ({100 * fit.test.gain:+.2f} points on {fit.images:,} "
            f"images, McNemar p = {fit.test.p_value:.2g}, significant below {ALPHA}) is {found}: as far as these "
            "images can tell, equal weights are as good",
            category=WeightsWithinNoise,
        )
    return fit


@dataclass(frozen=True)
class Ensembled:
    """The submission an ensemble wrote, the weight of each checkpoint, and the weight fit (if any)."""

    submission: Path
    checkpoints: list[Path]
    weights: list[float]
    fit: Optional[WeightFit] = None


def run_ensemble(
    members: Sequence[str | Path],
    weights: Optional[Sequence[float]] = None,
    fit_weights: bool = False,
    rounds: int = 100,
    **predict: Any,
) -> Ensembled:
    """Predict test.csv with the members (checkpoint files or k-fold run folders, each folder's folds sharing
    its weight); `fit_weights` fits the members' weights first (`fit_member_weights`). `predict` are
    `leaves.inference.predict_ensemble`'s options (tta, data_dir, save_probs, output_dir...)."""
    fit = None
    if fit_weights:
        if weights is not None:
            raise ConfigError("give --weights or --fit_weights true, not both")
        fit = fit_member_weights(members, rounds)
        weights = fit.weights
    checkpoints, shares = expand_members(members, weights)
    kept = [i for i, share in enumerate(shares) if share > 0]  # a member fitted out costs no prediction
    checkpoints, shares = [checkpoints[i] for i in kept], [shares[i] / sum(shares) for i in kept]
    submission = predict_ensemble(checkpoints, shares, **predict)
    return Ensembled(submission, checkpoints, shares, fit)
