"""The learning-rate schedule: linear warmup, then cosine decay to zero (or a constant rate), by step.

It is a `LambdaLR` factor whose total number of steps can change during a fit:
`leaves fit --budget` measures the step time first and then sets the total so
the decay ends exactly when the time is up. Its settings are saved with the
scheduler in every checkpoint, so a resumed fit continues the same curve.
"""

from __future__ import annotations

import math


class WarmupCosine:
    """The factor of the peak learning rate at each optimizer step.

    Args:
        warmup: steps of linear warmup from 1% of the peak.
        total: steps of the whole run; the cosine reaches zero there.
        constant: after the warmup, keep the peak instead of decaying.
    """

    def __init__(self, warmup: int, total: int, constant: bool = False) -> None:
        self.warmup = warmup
        self.total = total
        self.constant = constant
        self.configured_warmup = warmup

    def plan(self, total: int) -> None:
        """End after `total` steps; a plan shorter than the configured warmup warms up until its last step
        (as a run of `total` steps would have been configured), so the schedule still ends at zero."""
        self.total = total
        self.warmup = min(self.configured_warmup, max(total - 1, 0))

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return 0.01 + 0.99 * step / self.warmup
        if self.constant:
            return 1.0
        progress = min((step - self.warmup) / max(self.total - self.warmup, 1), 1.0)
        return 0.5 * (1.0 + math.cos(math.pi * progress))
