"""The training images most likely mislabelled, from out-of-fold probabilities.

An out-of-fold probability comes from a model that never trained on the image,
so it cannot have memorised a wrong label: an image whose own label gets
almost no probability, while the models agree on another, is the first one a
person should look at (confident learning's idea, without its thresholds:
the list is ranked, and the person decides).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from leaves.errors import DataError
from leaves.inference.oof import oof_classes

SUSPECT_COLUMNS = ["image", "label", "label_prob", "suggested", "suggested_prob", "fold"]


def read_oof(path: str | Path) -> pd.DataFrame:
    """An out-of-fold table (`leaves kfold`'s oof.csv: image, label, fold, one column per class), checked."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: leaves kfold writes the out-of-fold probabilities it names")
    table = pd.read_csv(path)
    missing = [c for c in ("image", "label") if c not in table.columns]
    if missing:
        raise DataError(f"{path} has no column {', '.join(missing)}: expected leaves kfold's oof.csv")
    classes = oof_classes(table)
    unknown = table.index[~table["label"].astype(str).isin(classes)]
    if len(unknown):
        raise DataError(
            f"{path}: line {int(unknown[0]) + 2} has label {table.loc[unknown[0], 'label']!r}, which has no "
            f"probability column ({len(unknown)} such rows)"
        )
    return table


def mislabel_suspects(oof: pd.DataFrame, limit: Optional[int] = None) -> pd.DataFrame:
    """Rows of `oof` by rising probability of their own label: the label, that probability, the label the
    models prefer and its probability, the fold; the first `limit` rows (all when None)."""
    classes = oof_classes(oof)
    probs = oof[classes].to_numpy(dtype=np.float64)
    own = probs[np.arange(len(oof)), pd.Index(classes).get_indexer(oof["label"].astype(str))]
    best = probs.argmax(axis=1)
    table = pd.DataFrame(
        {
            "image": oof["image"],
            "label": oof["label"],
            "label_prob": own.round(4),
            "suggested": np.asarray(classes, dtype=object)[best],
            "suggested_prob": probs[np.arange(len(oof)), best].round(4),
            "fold": oof["fold"] if "fold" in oof else -1,
        },
        columns=SUSPECT_COLUMNS,
    )
    table = table.sort_values(["label_prob", "suggested_prob"], ascending=[True, False], kind="stable")
    return table.head(limit).reset_index(drop=True) if limit is not None else table.reset_index(drop=True)
