"""Where the Kaggle credentials come from, found without importing the kaggle package.

Older `kaggle` versions authenticate as soon as they are imported and end the
process when no credentials are found, so the places they look are mirrored
here: a missing set-up is reported with what to do, before anything is
imported or sent.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Optional

from leaves.errors import KaggleError
from leaves.kaggle.competition import COMPETITION, competition_page

CREDENTIALS_HELP = (
    "No Kaggle credentials found. Create an API token on https://www.kaggle.com/settings (section API),\n"
    "then do one of:\n"
    "  - save the downloaded kaggle.json as ~/.kaggle/kaggle.json  (then: chmod 600 ~/.kaggle/kaggle.json)\n"
    "  - export KAGGLE_USERNAME=<your user name> KAGGLE_KEY=<the key in kaggle.json>\n"
    "  - newer kaggle versions: export KAGGLE_API_TOKEN=<token>, or save the token as ~/.kaggle/access_token,\n"
    "    or run: kaggle auth login\n"
    f"Also accept the competition rules once: {competition_page(COMPETITION, 'rules')}"
)


def credentials_source(environ: Optional[Mapping[str, str]] = None, home: Optional[Path] = None) -> Optional[str]:
    """Where the kaggle package will find credentials (a variable or a file), or None.

    Mirrors the places the kaggle package looks, so a missing set-up is caught
    before it is imported (and before it would try the network).
    """
    environ = os.environ if environ is None else environ
    home = Path.home() if home is None else home
    if environ.get("KAGGLE_API_TOKEN"):
        return "KAGGLE_API_TOKEN"
    if environ.get("KAGGLE_USERNAME") and environ.get("KAGGLE_KEY"):
        return "KAGGLE_USERNAME and KAGGLE_KEY"
    if environ.get("KAGGLE_CONFIG_DIR"):
        config_dirs = [Path(environ["KAGGLE_CONFIG_DIR"])]
    else:
        config_dirs = [home / ".kaggle", Path(environ.get("XDG_CONFIG_HOME") or home / ".config") / "kaggle"]
    for config_dir in config_dirs:
        path = config_dir / "kaggle.json"
        if path.is_file():
            check_kaggle_json(path)
            return str(path)
    for name in ("access_token", "access_token.txt", "credentials.json"):
        if (home / ".kaggle" / name).is_file():
            return str(home / ".kaggle" / name)
    return None


def check_kaggle_json(path: Path) -> None:
    """Refuse a kaggle.json the kaggle package could not use, naming the file: it would otherwise
    fail later with a message that does not say which file or field is wrong."""
    try:
        content = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise KaggleError(f"{path} is not readable JSON ({err}); download a new one from your Kaggle settings") from err
    missing = [k for k in ("username", "key") if not isinstance(content, dict) or not content.get(k)]
    if missing:
        raise KaggleError(f"{path} has no {' or '.join(missing)}; download a new one from your Kaggle settings")
