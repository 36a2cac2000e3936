"""Near-duplicate images within train.csv, between train.csv and test.csv, and within test.csv.

A photo saved twice in train.csv under two labels teaches the model both; one
in train.csv and test.csv inflates nothing but is a free answer; two copies
split across a validation split flatter the validation accuracy. Candidates
come from the perceptual hash (`leaves.data.fingerprints`, found by
`leaves.data.near_pairs`) and are kept when their thumbnails agree too, first
on the whole (32 px), then everywhere (64 px).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from leaves.data.fingerprints import Fingerprints, fingerprint_images, local_differences
from leaves.data.near_pairs import near_pairs
from leaves.errors import ConfigError

#: Defaults measured on the development folders (see `leaves.data.fingerprints`): every re-saved copy is
#: within 6 bits, 0.08 at 32 px and 0.54 at 64 px; no two distinct images passed all three.
MAX_DISTANCE = 6
MAX_DIFFERENCE = 0.10
MAX_LOCAL_DIFFERENCE = 0.6

#: The kinds of pair, by where each image is listed.
KINDS = {(True, True): "train-train", (True, False): "train-test", (False, False): "test-test"}
COLUMNS = ["kind", "image_a", "label_a", "image_b", "label_b", "bits", "difference", "local_difference", "conflict"]


def duplicate_pairs(
    root: Path,
    fingerprints: Fingerprints,
    images: list[str],
    labels: list[Optional[str]],
    max_distance: int = MAX_DISTANCE,
    max_difference: float = MAX_DIFFERENCE,
    max_local_difference: float = MAX_LOCAL_DIFFERENCE,
    workers: int = 4,
) -> pd.DataFrame:
    """Every pair of `images` (paths in `root`; train rows first, each with its label; test rows with None)
    whose hashes are within `max_distance` bits and whose thumbnails differ by at most `max_difference`
    (32 px mean) and `max_local_difference` (64 px, 99th percentile); `conflict` marks two labelled images
    with different labels. Conflicts first, then the closest pairs."""
    if max_difference < 0 or max_local_difference < 0:
        raise ConfigError(
            f"max_difference and max_local_difference must be >= 0, got {max_difference}, {max_local_difference}"
        )
    i, j, bits = near_pairs(fingerprints.hashes, max_distance)
    difference = fingerprints.difference(i, j)
    keep = difference <= max_difference
    i, j, bits, difference = i[keep], j[keep], bits[keep], difference[keep]
    local = local_differences(root, images, i, j, workers)
    keep = local <= max_local_difference
    i, j, bits, difference, local = i[keep], j[keep], bits[keep], difference[keep], local[keep]
    label = np.asarray(labels, dtype=object)
    name = np.asarray(images, dtype=object)
    labelled = np.asarray([x is not None for x in labels])
    table = pd.DataFrame(
        {
            "kind": [KINDS[(bool(a), bool(b))] for a, b in zip(labelled[i], labelled[j])],
            "image_a": name[i],
            "label_a": label[i],
            "image_b": name[j],
            "label_b": label[j],
            "bits": bits,
            "difference": difference.round(4),
            "local_difference": local.round(4),
            "conflict": labelled[i] & labelled[j] & (label[i] != label[j]),
        },
        columns=COLUMNS,
    )
    return table.sort_values(["conflict", "bits", "difference"], ascending=[False, True, True], ignore_index=True)


def find_duplicates(
    root: Path,
    train: pd.DataFrame,
    test: Optional[pd.DataFrame] = None,
    max_distance: int = MAX_DISTANCE,
    max_difference: float = MAX_DIFFERENCE,
    max_local_difference: float = MAX_LOCAL_DIFFERENCE,
    workers: int = 4,
) -> pd.DataFrame:
    """The near-duplicate pairs among `train`'s (image, label) rows and `test`'s images (see `duplicate_pairs`)."""
    images = train["image"].tolist() + ([] if test is None else test["image"].tolist())
    labels = train["label"].tolist() + [None] * (len(images) - len(train))
    fingerprints = fingerprint_images(Path(root), images, workers)
    return duplicate_pairs(
        Path(root), fingerprints, images, labels, max_distance, max_difference, max_local_difference, workers
    )
