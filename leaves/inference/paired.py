"""Is one blend's accuracy really higher than another's on the same images? McNemar's exact test.

Two blends scored on the same images differ only where one is right and the
other wrong; their accuracies' gap is (c - b) / n, with b and c those two
discordant counts. Under "no difference" each discordant image is a fair coin,
so the two-sided p-value is the chance of a split at least as lopsided out of
b + c tosses. A per-image paired test is far sharper than comparing two
accuracies as independent proportions: most images are right (or wrong) for
both.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb

import numpy as np

#: A gain with a larger p-value than this is reported as within the noise.
ALPHA = 0.05


@dataclass(frozen=True)
class PairedTest:
    """b: images only the first blend gets right; c: images only the second gets right; of n images."""

    b: int
    c: int
    n: int

    @property
    def gain(self) -> float:
        """The second blend's accuracy minus the first's."""
        return (self.c - self.b) / max(self.n, 1)

    @property
    def p_value(self) -> float:
        discordant = self.b + self.c
        if discordant == 0:
            return 1.0
        tail = sum(comb(discordant, k) for k in range(min(self.b, self.c) + 1))
        return min(1.0, 2 * tail / 2**discordant)

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA


def paired_test(first_right: np.ndarray, second_right: np.ndarray) -> PairedTest:
    """McNemar's exact test of two blends' per-image correctness (boolean arrays over the same images)."""
    first_right, second_right = np.asarray(first_right, bool), np.asarray(second_right, bool)
    b = int((first_right & ~second_right).sum())
    c = int((~first_right & second_right).sum())
    return PairedTest(b, c, len(first_right))
