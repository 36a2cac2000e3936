"""`leaves weights`: save pretrained weights into a file, for notebooks without internet.

A Kaggle notebook with internet off can reach neither the Hugging Face hub
nor the package registry. Run this once on a machine that has them, upload
the file as a Kaggle dataset, attach it to the notebook and train with
`--model.pretrained /kaggle/input/<dataset>/<file>` and the same `--model.arch`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

from leaves.errors import ConfigError
from leaves.models.net import export_weights


@dataclass(frozen=True)
class Weights:
    """Which weights.

    Args:
        arch: a timm architecture (resnet50d), optionally with the tag of one set of weights
            (resnet50d.ra2_in1k), or an hf-hub:ORG/NAME name; unset with a packaged source: the source's.
        pretrained: true: timm's weights for arch from the hub (needs internet); or a packaged source
            (efficientnet-lite0, efficientnet-lite1, efficientnet-lite2: needs its pip package).
    """

    arch: Optional[str] = None
    pretrained: Union[bool, str] = True


def weights(out: Optional[str] = None, model: Weights = Weights()) -> Path:
    """Save pretrained weights (timm's from the hub, or a packaged source's) into OUT, in timm's names.

    Args:
        out: the file to write: NAME.safetensors (or NAME.pth); never overwritten (required).
        model: the weights, spelled as for leaves fit.
    """
    if not out:  # an option rather than a positional, so the command reads like the others
        raise ConfigError("--out is required: the file to write, e.g. --out resnet50d.safetensors")
    arch, saved = export_weights(out, model.arch, model.pretrained)
    print(f"Saved {arch} weights to {saved}.")
    print(f"Offline: leaves fit --model.arch {arch} --model.pretrained {saved}")
    return saved
