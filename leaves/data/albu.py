"""albumentations, imported without its update check.

albumentations asks PyPI for a newer version of itself when it is imported.
Nothing the project does may reach the network unless asked (a Kaggle
notebook with the internet off would wait for the request's timeout), so the
data layer imports it from here, with the check off unless the user set the
variable `NO_ALBUMENTATIONS_UPDATE` themselves.
"""

from __future__ import annotations

import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import albumentations as A  # noqa: E402  (after the variable above)

__all__ = ["A"]
