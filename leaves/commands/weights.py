"""`leaves weights`: save timm's pretrained weights into a file, for notebooks without internet.

A Kaggle notebook with internet off cannot reach the Hugging Face hub. Run
this once on a machine that is online, upload the file as a Kaggle dataset,
attach it to the notebook and train with `--model.pretrained
/kaggle/input/<dataset>/<file>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from leaves.errors import ConfigError
from leaves.models.net import check_arch, pretrained_net, save_weights


@dataclass(frozen=True)
class Architecture:
    """Which weights.

    Args:
        arch: a timm architecture (resnet50d), optionally with the tag of one set of weights
            (resnet50d.ra2_in1k), or an hf-hub:ORG/NAME name.
    """

    arch: str = "resnet50d"


def weights(out: Optional[str] = None, model: Architecture = Architecture()) -> Path:
    """Download timm's pretrained weights for --model.arch (needs internet) and save them into OUT.

    Args:
        out: the file to write: NAME.safetensors (or NAME.pth); never overwritten (required).
        model: the architecture, spelled as for leaves fit.
    """
    if not out:  # an option rather than a positional, so the command reads like the others
        raise ConfigError("--out is required: the file to write, e.g. --out resnet50d.safetensors")
    check_arch(model.arch)
    if Path(out).exists():
        raise FileExistsError(f"{out} already exists; choose another --out")
    saved = save_weights(pretrained_net(model.arch), out)
    print(f"Saved {model.arch} weights to {saved}.")
    print(f"Offline: leaves fit --model.arch {model.arch} --model.pretrained {saved}")
    return saved
