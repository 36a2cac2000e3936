"""Prediction, for one trained model or several: the probabilities a submission is made of.

`Predictor` is a LightningModule over trained `LeavesModule`s, so it predicts
through the same Trainer, DataModule and SubmissionWriter as any fit: each
member normalises the uint8 batch itself (backbones with different input
statistics mix), predicts with its BatchNorm folded into the convolutions and
averages the test-time views, and the members' probabilities are averaged
with the given weights. One member is plain `leaves predict`; several are an
ensemble; the self-check, the out-of-fold pass and the report use it too, so
every pass predicts the way the submission does.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

import lightning as L
import torch
import torch.nn as nn

from leaves.errors import ClassListMismatch, ConfigError
from leaves.inference.bn_fold import fuse_bn
from leaves.inference.tta import View, check_views, tta_probs
from leaves.layout import TRAIN_CSV
from leaves.models.module import LeavesModule, load_module

#: The largest difference of a class probability, folded vs not, that still counts as the same answer.
FOLD_TOLERANCE = 1e-3


def check_same_classes(named: dict[str, Sequence[str]]) -> list[str]:
    """The shared class list of the named members, or an error saying which member differs and how."""
    (first, reference), *rest = named.items()
    for name, classes in rest:
        if list(classes) != list(reference):
            missing = sorted(set(reference) - set(classes))[:5]
            extra = sorted(set(classes) - set(reference))[:5]
            detail = f"lacks {missing}, has {extra}" if missing or extra else "lists them in another order"
            raise ClassListMismatch(
                f"{name} has {len(classes)} classes, {first} has {len(reference)}: it {detail}. "
                "An ensemble averages probabilities class by class, so every checkpoint must be "
                f"trained on the same {TRAIN_CSV} class list"
            )
    return list(reference)


class Predictor(L.LightningModule):
    """The weighted mean of its members' class probabilities.

    Args:
        members: trained modules (they are not changed: folding works on copies).
        weights: one per member (normalised); default: equal.
        names: how messages name each member (its checkpoint); default: member 0, 1, ...
        tta: test-time views whose probabilities are averaged (identity, hflip, vflip, rot90, rot180,
            rot270, transpose, antitranspose); unset: the image alone.
        fuse_bn: predict with BatchNorm folded into the convolutions (the same outputs, faster).
    """

    def __init__(
        self,
        members: Sequence[LeavesModule],
        weights: Optional[Sequence[float]] = None,
        names: Optional[Sequence[str]] = None,
        tta: Optional[Sequence[View]] = None,
        fuse_bn: bool = True,
    ) -> None:
        super().__init__()
        if not members:
            raise ConfigError("a prediction needs at least one model (checkpoint)")
        self.names = list(names) if names is not None else [f"member {i}" for i in range(len(members))]
        self._class_names = check_same_classes({n: m.class_names for n, m in zip(self.names, members)})
        weights = [1.0] * len(members) if weights is None else list(weights)
        if len(weights) != len(members) or any(w < 0 for w in weights) or sum(weights) <= 0:
            raise ConfigError(f"weights must be {len(members)} non-negative numbers, not all zero; got {weights}")
        self.members = nn.ModuleList(members)
        self.weights = [w / sum(weights) for w in weights]
        self.tta = check_views(tta)
        self.fuse_bn = fuse_bn
        self._nets: Optional[list[nn.Module]] = None  # the members' networks as they predict, during predict
        self._unchecked = False  # the folded networks are yet to be checked on a first batch

    @classmethod
    def from_checkpoints(
        cls,
        checkpoints: Sequence[str | Path],
        weights: Optional[Sequence[float]] = None,
        tta: Optional[Sequence[View]] = None,
        fuse_bn: bool = True,
    ) -> Predictor:
        """The members trained into `checkpoints` (each as it was trained: its network, classes and
        normalisation come from the file, never from a config)."""
        missing = [str(c) for c in checkpoints if not Path(c).is_file()]
        if missing:
            raise FileNotFoundError(f"checkpoint(s) not found: {', '.join(missing)}")
        members = [load_module(str(c)) for c in checkpoints]
        return cls(members, weights, [str(c) for c in checkpoints], tta, fuse_bn)

    @property
    def class_names(self) -> list[str]:
        return list(self._class_names)

    @property
    def source(self) -> str:
        """What predicted, for messages: the members' names."""
        return ", ".join(self.names)

    def subset(self, indices: Sequence[int]) -> Predictor:
        """The members at `indices`, with their share of the weights (renormalised)."""
        return Predictor(
            [self.members[i] for i in indices],
            [self.weights[i] for i in indices],
            [self.names[i] for i in indices],
            self.tta,
            self.fuse_bn,
        )

    def on_predict_start(self) -> None:
        self._nets = [fuse_bn(m.net)[0] if self.fuse_bn else m.net.eval() for m in self.members]
        self._unchecked = self.fuse_bn

    def on_predict_end(self) -> None:
        self._nets = None

    def _check_folding(self, images: torch.Tensor) -> None:
        """Keep each member's folded network only if it predicts the first batch as the original does
        (folding finds its pairs by module order, which some network may not run in): folding is only an
        optimisation, never a change of answer."""
        for i, member in enumerate(self.members):
            x = member.normalize(images)
            folded, plain = self._nets[i](x).float().softmax(1), member.net.eval()(x).float().softmax(1)
            gap = float((folded - plain).abs().max())
            if gap > FOLD_TOLERANCE:
                warnings.warn(
                    f"BatchNorm folding skipped for {self.names[i]}: the folded network's probabilities differ "
                    f"by up to {gap:.3g} on the first batch",
                    stacklevel=2,
                )
                self._nets[i] = member.net
        self._unchecked = False

    def probs(self, images: torch.Tensor) -> torch.Tensor:
        """Class probabilities of a uint8 batch, averaged over the views and the members."""
        nets = self._nets if self._nets is not None else [m.net.eval() for m in self.members]
        total = None
        for weight, member, net in zip(self.weights, self.members, nets):
            p = weight * tta_probs(net, member.normalize(images), self.tta)
            total = p if total is None else total + p
        return total

    def predict_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> dict[str, torch.Tensor]:
        images, rows = batch
        if self._unchecked and self._nets is not None:
            self._check_folding(images)
        return {"probs": self.probs(images), "rows": rows}
