"""The connection to Kaggle: the optional package, the network, the API, and its failures as KaggleError.

The official `kaggle` package is an optional extra (`pip install -e ".[kaggle]"`):
training and predicting never need it, so it is imported only in `connect`,
after checking that it is installed, that credentials exist and that Kaggle's
name resolves; each check says what to do instead.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from leaves.errors import KaggleError
from leaves.kaggle.competition import competition_page
from leaves.kaggle.credentials import CREDENTIALS_HELP, credentials_source

T = TypeVar("T")

INSTALL_HELP = (
    "The official kaggle package is not installed (it is an optional extra of this project).\n"
    'Install it with:  pip install -e ".[kaggle]"   (or: pip install kaggle)'
)


def kaggle_installed() -> bool:
    """Whether `kaggle` can be imported, found without importing it (importing may already authenticate)."""
    try:
        return importlib.util.find_spec("kaggle") is not None
    except ValueError:  # a module without a spec stands in for it (tests, notebooks)
        return sys.modules.get("kaggle") is not None


def check_network(host: str = "www.kaggle.com") -> None:
    """Fail at once when Kaggle's name does not resolve, instead of after the kaggle
    package's minute of retries. Skipped behind a proxy, where only the proxy resolves it."""
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return
    try:
        socket.getaddrinfo(host, 443)
    except OSError as err:
        raise KaggleError(f"cannot reach {host} ({err}): check the network connection (or set HTTPS_PROXY)") from err


def connect() -> Any:
    """An authenticated `KaggleApi`, or a KaggleError saying what is missing.

    Installation, credentials and the network are checked before `kaggle` is
    imported; a missing installation and missing credentials are reported together.
    """
    problems = []
    if not kaggle_installed():
        problems.append(INSTALL_HELP)
    source = credentials_source()
    if source is None:
        problems.append(CREDENTIALS_HELP)
    if problems:
        raise KaggleError("\n\n".join(problems))
    check_network()
    try:
        from kaggle.api.kaggle_api_extended import KaggleApi
    except ImportError as err:
        raise KaggleError(f"{INSTALL_HELP}\n(import failed: {err})") from err
    except (Exception, SystemExit) as err:  # old versions authenticate while importing
        raise KaggleError(f"the kaggle package refused the credentials from {source}: {err}") from err
    api = KaggleApi()
    try:
        api.authenticate()
    except (Exception, SystemExit) as err:  # it calls exit() when it finds nothing usable
        raise KaggleError(f"Kaggle refused the credentials from {source} ({err}).\n\n{CREDENTIALS_HELP}") from err
    return api


def call_api(what: str, competition: str, request: Callable[[], T]) -> T:
    """Run one request to Kaggle; any failure (the kaggle package may even call exit()) becomes a
    KaggleError naming the request and the usual cause, a 403 for rules not yet accepted."""
    try:
        return request()
    except (Exception, SystemExit) as err:
        raise KaggleError(
            f"{what} failed: {err}\n"
            "Check the network connection; a 403 (Forbidden) means the competition rules are not accepted yet:\n"
            f"{competition_page(competition, 'rules')}"
        ) from err
