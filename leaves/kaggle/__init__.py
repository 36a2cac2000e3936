"""The Kaggle round trip, callable from a notebook: download and verify the competition folder,
check a submission file, submit it.

The official `kaggle` package is an optional extra (`pip install -e ".[kaggle]"`):
nothing here imports it until a download or a submission needs Kaggle, and
only after the package, the credentials and the network are found; without
one of them, each entry point stops at once and says what to set up.
`leaves download` and `leaves submit` are these functions on the command line.
"""

from leaves.kaggle.client import INSTALL_HELP, call_api, check_network, connect, kaggle_installed
from leaves.kaggle.competition import COMPETITION, EXPECTED_ROWS, competition_page
from leaves.kaggle.credentials import CREDENTIALS_HELP, check_kaggle_json, credentials_source
from leaves.kaggle.download import download_competition, extract, verify_competition
from leaves.kaggle.submission import SUBMISSION_FILE, check_submission, submit

__all__ = [
    "COMPETITION",
    "CREDENTIALS_HELP",
    "EXPECTED_ROWS",
    "INSTALL_HELP",
    "SUBMISSION_FILE",
    "call_api",
    "check_kaggle_json",
    "check_network",
    "check_submission",
    "competition_page",
    "connect",
    "credentials_source",
    "download_competition",
    "extract",
    "kaggle_installed",
    "submit",
    "verify_competition",
]
