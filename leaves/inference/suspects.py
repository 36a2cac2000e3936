"""The training images most likely mislabelled, from out-of-fold probabilities.

An out-of-fold probability comes from a model that never trained on the image,
so it cannot have memorised a wrong label: an image whose own label gets
almost no probability, while the models agree on another, is the first one a
person should look at (confident learning's idea, without its thresholds:
the list is ranked, and the person decides).
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import pandas as pd

from leaves.inference.oof import oof_classes

SUSPECT_COLUMNS = ["image", "label", "label_prob", "suggested", "suggested_prob", "fold"]


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
