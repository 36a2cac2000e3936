"""Distillation: a student learns from a teacher's probabilities as well as from the labels.

The loss of a row is `(1 - w) * CE(label) + w * T^2 * KL(teacher_T || student_T)`,
`w` the distill weight and `T` the temperature (Hinton et al., 2015): both
distributions are softened by T, which shows the student how the teacher ranks
the wrong classes; T^2 keeps the soft gradients the size of the hard ones.
The teacher's files hold probabilities, not logits: `softmax(log p / T)` is the
same softening, since log p differs from the logits by a constant per row.

A row without a label (a test image, `leaves.data.teacher.NO_LABEL`) has hard
weight 0 and learns from the teacher alone; a row without a teacher (a zero
soft target) learns from its label alone, with full weight.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from leaves.data.teacher import NO_LABEL
from leaves.errors import ConfigError


def check_distillation(weight: float, temperature: float) -> None:
    """Refuse settings that cannot work, naming the option."""
    if not 0.0 <= weight <= 1.0:
        raise ConfigError(f"model.distill_weight is the soft loss's share, in [0, 1]; got {weight}")
    if temperature <= 0:
        raise ConfigError(f"model.temperature must be > 0, got {temperature}")


def soften(probs: torch.Tensor, temperature: float) -> torch.Tensor:
    """The teacher's probabilities at `temperature` (1: as they are; higher: flatter)."""
    return torch.softmax(torch.log(probs.float().clamp_min(1e-8)) / temperature, dim=1)


def distill_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    soft: torch.Tensor,
    weight: float,
    temperature: float = 1.0,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """The batch's mean of each row's hard and soft loss, weighted as the module docstring says."""
    hard = F.cross_entropy(
        logits.float(), labels, reduction="none", ignore_index=NO_LABEL, label_smoothing=label_smoothing
    )
    target = soften(soft, temperature)
    log_student = F.log_softmax(logits.float() / temperature, dim=1)
    kl = (torch.xlogy(target, target) - target * log_student).sum(dim=1) * temperature**2
    has_soft = soft.sum(dim=1) > 0
    has_label = labels != NO_LABEL
    hard_weight = torch.where(has_soft, 1.0 - weight, 1.0) * has_label
    soft_weight = has_soft.float() * weight
    return (hard_weight * hard + soft_weight * kl).mean()
