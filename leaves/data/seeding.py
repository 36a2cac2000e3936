"""Making albumentations follow the run's seed, in the main process and in every loader worker.

Albumentations 2 draws from its own generator, seeded from the OS unless
`Compose(seed=...)` is given, so `seed_everything` does not reach it; and a
fixed seed alone would give every worker (and every rank) the same sequence
of augmentations. Reseeding from `torch.initial_seed()` at the first call in
each process gives both: Lightning's worker init function (added by
`seed_everything(workers=True)`, which LightningCLI calls) derives that seed
from the run's seed, the worker id and the global rank.
"""

from __future__ import annotations

import os
import random
from typing import Any, Optional

import numpy as np
import torch

from leaves.data.albu import A


class ProcessSeeded:
    """Wraps an `A.Compose`; reseeds it from `torch.initial_seed()` once per process."""

    def __init__(self, transform: A.Compose) -> None:
        self.transform = transform
        self._seeded_in: Optional[int] = None

    def __call__(self, **data: Any) -> dict[str, Any]:
        if self._seeded_in != os.getpid():
            # One generator shared by all transforms: Compose.set_random_seed would give
            # each transform the same seed, so both flips would always fire together.
            # All 64 bits: Lightning's worker seeds (torch <= 2.3 keeps them as given) can share their low 32.
            seed = torch.initial_seed()
            self.transform.set_random_state(np.random.default_rng(seed), random.Random(seed))
            self._seeded_in = os.getpid()
        return self.transform(**data)

    def __repr__(self) -> str:
        return f"ProcessSeeded({self.transform!r})"
