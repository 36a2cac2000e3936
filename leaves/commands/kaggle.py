"""The Kaggle round trip: download the competition folder, submit a checked submission.csv.

The official `kaggle` package is an optional extra (`pip install -e ".[kaggle]"`):
training and predicting never need it, so it is imported only inside the two
commands, after checking that it is installed and that credentials exist.
Older `kaggle` versions authenticate as soon as they are imported and end the
process when no credentials are found, so those checks come first and say what
to do instead.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import sys
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

import pandas as pd

from leaves.data.check import check_data
from leaves.data.table import class_names_of, read_table
from leaves.errors import DataError, KaggleError
from leaves.inference.submission import validate_submission

COMPETITION = "classify-leaves"
#: Where the competition is downloaded to, and looked for, unless told otherwise.
DATA_DIR = "data/classify-leaves"
#: Rows of the real competition's CSVs; another folder in the same layout is accepted with a notice.
EXPECTED_ROWS = {"train.csv": 18353, "test.csv": 8800}

INSTALL_HELP = (
    "The official kaggle package is not installed (it is an optional extra of this project).\n"
    'Install it with:  pip install -e ".[kaggle]"   (or: pip install kaggle)'
)
CREDENTIALS_HELP = (
    "No Kaggle credentials found. Create an API token on https://www.kaggle.com/settings (section API),\n"
    "then do one of:\n"
    "  - save the downloaded kaggle.json as ~/.kaggle/kaggle.json  (then: chmod 600 ~/.kaggle/kaggle.json)\n"
    "  - export KAGGLE_USERNAME=<your user name> KAGGLE_KEY=<the key in kaggle.json>\n"
    "  - newer kaggle versions: export KAGGLE_API_TOKEN=<token>, or save the token as ~/.kaggle/access_token,\n"
    "    or run: kaggle auth login\n"
    f"Also accept the competition rules once: https://www.kaggle.com/competitions/{COMPETITION}/rules"
)


@dataclass(frozen=True)
class Layout:
    """What a competition folder holds, as verified."""

    root: Path
    train_rows: int
    test_rows: int
    classes: int

    def __str__(self) -> str:
        return (
            f"{self.root}: train.csv {self.train_rows:,} labelled images of {self.classes} classes, "
            f"test.csv {self.test_rows:,} images; every image present"
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
            _check_kaggle_json(path)
            return str(path)
    for name in ("access_token", "access_token.txt", "credentials.json"):
        if (home / ".kaggle" / name).is_file():
            return str(home / ".kaggle" / name)
    return None


def _check_kaggle_json(path: Path) -> None:
    try:
        content = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise KaggleError(f"{path} is not readable JSON ({err}); download a new one from your Kaggle settings") from err
    missing = [k for k in ("username", "key") if not isinstance(content, dict) or not content.get(k)]
    if missing:
        raise KaggleError(f"{path} has no {' or '.join(missing)}; download a new one from your Kaggle settings")


def _kaggle_installed() -> bool:
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
    if not _kaggle_installed():
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


def _call_failed(what: str, competition: str, err: BaseException) -> KaggleError:
    return KaggleError(
        f"{what} failed: {err}\n"
        "Check the network connection; a 403 (Forbidden) means the competition rules are not accepted yet:\n"
        f"https://www.kaggle.com/competitions/{competition}/rules"
    )


def verify_layout(root: str | Path) -> Layout:
    """Check a competition folder the way fit and predict will read it (`leaves.data.check`:
    CSV columns, blank cells, every image on disk and decodable), reporting every
    problem at once. Row counts other than the real competition's are allowed
    (another data set in the same layout) but reported."""
    root = Path(root)
    report = check_data(root)
    if report.errors:
        raise DataError(f"{root} cannot be used as it is:\n  " + "\n  ".join(map(str, report.errors)))
    train = read_table(root / "train.csv", ("image", "label"))
    test = read_table(root / "test.csv", ("image",))
    for name, table in (("train.csv", train), ("test.csv", test)):
        if len(table) != EXPECTED_ROWS[name]:
            print(
                f"Note: {root / name} has {len(table):,} rows; Kaggle's {COMPETITION} has "
                f"{EXPECTED_ROWS[name]:,}. Using it as it is."
            )
    return Layout(root, len(train), len(test), len(class_names_of(train["label"])))


def _extract(archive: Path, dest: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as zf:
            print(f"Unpacking {archive} ({len(zf.infolist()):,} files)")
            zf.extractall(dest)  # strips absolute paths and '..', so nothing lands outside dest
    except zipfile.BadZipFile as err:
        raise KaggleError(f"{archive} is not a complete zip file ({err}): delete it and download again") from err


def download_competition(dest: str = DATA_DIR, competition: str = COMPETITION) -> Layout:
    """Download and unpack the competition into `dest`, then verify it.

    Work already done is skipped: a folder that verifies is left alone (no
    credentials or network needed), and an archive already downloaded is only
    unpacked. The archive is removed once its contents verify.

    Args:
        dest: folder for train.csv, test.csv and images/ (what --data.data_dir points to).
        competition: the competition's name in its Kaggle address.
    """
    dest = Path(dest)
    if (dest / "train.csv").is_file() and (dest / "test.csv").is_file():
        try:
            layout = verify_layout(dest)
        except DataError as err:
            print(f"{dest} is incomplete ({err}); fetching the archive again")
        else:
            print(f"Already downloaded: {layout}")
            return layout
    archive = dest / f"{competition}.zip"
    if archive.is_file():
        print(f"Using the archive downloaded earlier: {archive}")
    else:
        api = connect()
        dest.mkdir(parents=True, exist_ok=True)
        print(f"Downloading {competition} into {dest}")
        try:
            api.competition_download_files(competition, path=str(dest), quiet=False)
        except (Exception, SystemExit) as err:
            raise _call_failed(f"downloading {competition}", competition, err) from err
        if not archive.is_file():
            raise KaggleError(f"the download ended without error but {archive} is not there")
    _extract(archive, dest)
    layout = verify_layout(dest)
    archive.unlink()
    print(f"Downloaded: {layout}")
    return layout


def submit(
    file: str = "submissions/submission.csv",
    message: Optional[str] = None,
    data_dir: str = DATA_DIR,
    competition: str = COMPETITION,
) -> Any:
    """Check a submission against the competition's test.csv and labels, then submit it.

    Nothing is sent unless every test.csv row appears once, in order, with a
    label from train.csv: Kaggle limits submissions per day, so a broken file
    must not cost one.

    Args:
        file: the submission CSV (image,label).
        message: the description shown on Kaggle; defaults to the file name and its time.
        data_dir: the competition folder whose test.csv and train.csv the file must match.
        competition: the competition's name in its Kaggle address.
    """
    path = Path(file)
    if not path.is_file():
        raise DataError(f"{path} not found: write one with leaves predict --config classify-leaves")
    try:
        submission = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as err:
        raise DataError(f"{path} is not a readable CSV: {err}") from err
    root = Path(data_dir)
    test_images = read_table(root / "test.csv", ("image",))["image"].tolist()
    class_names = class_names_of(read_table(root / "train.csv", ("image", "label"))["label"])
    try:
        validate_submission(submission, test_images, class_names)
    except DataError as err:
        raise DataError(f"{path} was not submitted: {err}") from err
    print(f"{path}: {len(submission):,} rows match {root / 'test.csv'}, all labels known")
    api = connect()
    if message is None:
        stamp = datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
        message = f"{path.name} of {stamp}"
    try:
        result = api.competition_submit(str(path), message, competition)
    except (Exception, SystemExit) as err:
        raise _call_failed(f"submitting {path} to {competition}", competition, err) from err
    answer = getattr(result, "message", None) or str(result)
    # kaggle reports a failed upload as an answer, not an exception.
    if answer == getattr(api, "COMPETITION_SUBMIT_UPLOAD_FAILED_MESSAGE", "Could not submit to competition"):
        raise KaggleError(f"Kaggle: {answer} (the upload of {path} failed; the reason is printed above)")
    print(f"Kaggle: {answer}")
    print(f"Scores: https://www.kaggle.com/competitions/{competition}/submissions")
    return result


@dataclass(frozen=True)
class CompetitionFolder:
    """The competition's data folder.

    Args:
        data_dir: where train.csv, test.csv and images/ are (or go).
    """

    data_dir: str = DATA_DIR


def download(data: CompetitionFolder = CompetitionFolder(), competition: str = COMPETITION) -> Layout:
    """Download, unpack and verify the competition into --data.data_dir; work already done is skipped.

    Args:
        data: the folder for train.csv, test.csv and images/.
        competition: the competition's name in its Kaggle address.
    """
    return download_competition(data.data_dir, competition)


def submit_file(
    file: str = "submissions/submission.csv",
    message: Optional[str] = None,
    data: CompetitionFolder = CompetitionFolder(),
    competition: str = COMPETITION,
) -> Any:
    """Check a submission against the competition's test.csv and labels, then submit it.

    Args:
        file: the submission CSV (image,label).
        message: the description shown on Kaggle; defaults to the file name and its time.
        data: the competition folder whose test.csv and train.csv the file must match.
        competition: the competition's name in its Kaggle address.
    """
    return submit(file, message, data.data_dir, competition)
