"""The degenerate-submission warning: predictions no sane model makes, whatever their accuracy.

A submission of one class everywhere, or of a handful of classes, is valid in
form and worthless; it is what a broken input (another normalisation, a
corrupt image folder) or a collapsed model produces. So every submission's
label shares are held against the training labels' before it is reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import pandas as pd
from lightning.pytorch.utilities import rank_zero_warn

#: A class predicted more than CROWD_FACTOR x its training share and on more than CROWD_FLOOR of the rows;
#: or fewer than half the classes when there are MIN_ROWS_PER_CLASS rows per class.
CROWD_FACTOR = 3.0
CROWD_FLOOR = 0.05
MIN_ROWS_PER_CLASS = 5
MIN_ROWS = 30


class DegenerateSubmissionWarning(UserWarning):
    """A submission that a sane model would not produce: one class everywhere, or too few classes."""


def degenerate_submission(
    labels: Sequence[str], class_names: Sequence[str], train_labels: Optional[Sequence[str]] = None
) -> list[str]:
    """What looks degenerate about predicted `labels` (empty: nothing): a class taking more than
    `CROWD_FACTOR` times its training share and over `CROWD_FLOOR` of the rows, or, on a test set of at
    least `MIN_ROWS_PER_CLASS` rows per class, fewer than half the classes predicted at all.
    Small test sets (under `MIN_ROWS` rows) are too noisy to judge."""
    n, k = len(labels), len(class_names)
    if n < MIN_ROWS or k < 2:
        return []
    predicted = pd.Series(list(labels)).value_counts(normalize=True)
    if train_labels is not None and len(train_labels):
        share = pd.Series(list(train_labels)).value_counts(normalize=True)
    else:
        share = pd.Series(1.0 / k, index=list(class_names))
    problems = []
    for label, fraction in predicted.items():
        expected = float(share.get(label, 1.0 / k))
        if fraction > CROWD_FACTOR * expected and fraction > CROWD_FLOOR:
            problems.append(f"{label!r} is {fraction:.1%} of the predictions but {expected:.1%} of the training images")
    if n >= MIN_ROWS_PER_CLASS * k and len(predicted) < k / 2:
        problems.append(f"only {len(predicted)} of {k} classes are predicted on {n} images")
    return problems


def warn_if_degenerate(
    labels: Sequence[str], class_names: Sequence[str], train_labels: Optional[Sequence[str]] = None
) -> list[str]:
    """Warn (once, listing every sign) when the submission looks degenerate; returns the signs."""
    problems = degenerate_submission(labels, class_names, train_labels)
    if problems:
        shown = "\n  - ".join(problems[:10])
        rank_zero_warn(
            f"DEGENERATE SUBMISSION? {len(problems)} sign(s):\n  - {shown}\nA sane model spreads its predictions "
            "roughly like the training classes: check the self-check above, the image size and the checkpoint.",
            category=DegenerateSubmissionWarning,
        )
    return problems
