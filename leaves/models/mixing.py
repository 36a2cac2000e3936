"""MixUp / CutMix for training, from timm, with the soft-target loss they need."""

from __future__ import annotations

from typing import Optional

from timm.data import Mixup

from leaves.errors import ConfigError


def build_mixup(
    mixup_alpha: float,
    cutmix_alpha: float,
    prob: float,
    switch_prob: float,
    label_smoothing: float,
    num_classes: int,
) -> Optional[Mixup]:
    """timm's batch-wise Mixup (or None when both alphas are 0); it also smooths the
    labels, so the loss while mixing is timm's SoftTargetCrossEntropy."""
    if mixup_alpha < 0 or cutmix_alpha < 0:
        raise ConfigError(f"model.mixup_alpha and model.cutmix_alpha must be >= 0, got {mixup_alpha}, {cutmix_alpha}")
    if mixup_alpha == 0 and cutmix_alpha == 0:
        return None
    if not 0.0 <= prob <= 1.0 or not 0.0 <= switch_prob <= 1.0:
        raise ConfigError(f"model.mix_prob and model.mix_switch_prob must be in [0, 1], got {prob}, {switch_prob}")
    return Mixup(
        mixup_alpha=mixup_alpha,
        cutmix_alpha=cutmix_alpha,
        prob=prob,
        switch_prob=switch_prob,
        label_smoothing=label_smoothing,
        num_classes=num_classes,
    )
