"""The Kaggle round trip: set-up problems stop at once with what to do, a broken
submission is never sent, and with Kaggle answering (a fake API object; these
tests never touch the network) the data arrive verified and submissions go out."""

from __future__ import annotations

import importlib.machinery
import json
import socket
import sys
import types
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from PIL import Image

import leaves
from leaves.commands import main
from leaves.data import verify_data
from leaves.errors import DataError, KaggleError
from leaves.kaggle import check_submission, client, connect, credentials_source, download_competition, submit

CLASSES = ["acer", "betula", "quercus"]


def make_competition(root: Path, per_class: int = 3, test_rows: int = 4) -> Path:
    """A tiny folder in the Kaggle layout."""
    (root / "images").mkdir(parents=True)
    rows, n = [], 0
    for label in CLASSES:
        for _ in range(per_class):
            rows.append((f"images/{n}.jpg", label))
            n += 1
    test = [f"images/{i}.jpg" for i in range(n, n + test_rows)]
    for image in [r[0] for r in rows] + test:
        Image.new("RGB", (8, 8), (n * 7 % 255, 90, 40)).save(root / image)
    pd.DataFrame(rows, columns=["image", "label"]).to_csv(root / "train.csv", index=False)
    pd.DataFrame({"image": test}).to_csv(root / "test.csv", index=False)
    return root


@pytest.fixture
def no_credentials(monkeypatch, tmp_path):
    """A user with an empty home and no Kaggle variables."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in ("KAGGLE_API_TOKEN", "KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_CONFIG_DIR", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def credentials(no_credentials, monkeypatch):
    monkeypatch.setenv("KAGGLE_USERNAME", "someone")
    monkeypatch.setenv("KAGGLE_KEY", "0123456789abcdef")
    monkeypatch.setattr(client, "check_network", lambda *a, **k: None)  # never resolve a real name in tests


class Calls(list):
    """What the fake KaggleApi was asked, in order."""

    api_class: type


@pytest.fixture
def fake_kaggle(monkeypatch, tmp_path):
    """An installed `kaggle` package whose KaggleApi records calls instead of using the network.
    Its download serves a zip of `served`, a tiny competition folder."""
    calls = Calls()
    served = make_competition(tmp_path / "served")

    class KaggleApi:
        def __init__(self):
            calls.append(("KaggleApi",))

        def authenticate(self):
            calls.append(("authenticate",))

        refusal = None

        def competition_download_files(self, competition, path=None, force=False, quiet=True):
            calls.append(("competition_download_files", competition, path))
            if self.refusal:
                raise self.refusal
            with zipfile.ZipFile(Path(path) / f"{competition}.zip", "w") as zf:
                for file in served.rglob("*"):
                    zf.write(file, file.relative_to(served).as_posix())

        COMPETITION_SUBMIT_UPLOAD_FAILED_MESSAGE = "Could not submit to competition"
        answer = "Successfully submitted to Classify Leaves"

        def competition_submit(self, file_name, message, competition, quiet=False):
            calls.append(("competition_submit", file_name, message, competition))
            return SimpleNamespace(message=self.answer)

    package = types.ModuleType("kaggle")
    package.__spec__ = importlib.machinery.ModuleSpec("kaggle", None, is_package=True)
    package.__path__ = []
    api = types.ModuleType("kaggle.api")
    api.__path__ = []
    extended = types.ModuleType("kaggle.api.kaggle_api_extended")
    extended.KaggleApi = KaggleApi
    package.api, api.kaggle_api_extended = api, extended
    calls.api_class = KaggleApi
    for name, module in (("kaggle", package), ("kaggle.api", api), ("kaggle.api.kaggle_api_extended", extended)):
        monkeypatch.setitem(sys.modules, name, module)
    return calls


# ------------------------------------------------------------ set-up problems


def test_without_credentials_both_commands_stop_at_once_saying_how_to_set_them_up(
    no_credentials, fake_kaggle, tmp_path
):
    data = make_competition(tmp_path / "data")
    submission = tmp_path / "submission.csv"
    pd.DataFrame({"image": pd.read_csv(data / "test.csv")["image"], "label": "acer"}).to_csv(submission, index=False)

    with pytest.raises(KaggleError) as download_refused:
        download_competition(str(tmp_path / "new"))
    with pytest.raises(KaggleError) as submit_refused:
        submit(str(submission), data_dir=str(data))

    for err in (download_refused, submit_refused):
        message = str(err.value)
        assert "~/.kaggle/kaggle.json" in message and "KAGGLE_USERNAME" in message and "KAGGLE_KEY" in message
        assert "KAGGLE_API_TOKEN" in message
    assert fake_kaggle == []  # kaggle was not even imported
    assert not (tmp_path / "new").exists()


def test_the_commands_end_with_the_message_and_no_traceback(no_credentials, fake_kaggle, tmp_path):
    with pytest.raises(SystemExit) as stop:
        main(["download", "--data.data_dir", str(tmp_path / "new")])
    assert str(stop.value.code).startswith("error: No Kaggle credentials found")


def test_without_the_kaggle_package_says_how_to_install_it(credentials, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "kaggle", None)  # as if not installed, whatever this machine has
    with pytest.raises(KaggleError, match=r'pip install -e "\.\[kaggle\]"'):
        download_competition(str(tmp_path / "new"))


def test_credentials_are_found_where_the_kaggle_package_looks(no_credentials, monkeypatch):
    assert credentials_source() is None
    (no_credentials / ".kaggle").mkdir()
    (no_credentials / ".kaggle" / "kaggle.json").write_text(json.dumps({"username": "someone", "key": "abc"}))
    assert credentials_source() == str(no_credentials / ".kaggle" / "kaggle.json")
    monkeypatch.setenv("KAGGLE_API_TOKEN", "token")
    assert credentials_source() == "KAGGLE_API_TOKEN"


def test_a_kaggle_json_without_a_key_is_named(no_credentials):
    (no_credentials / ".kaggle").mkdir()
    bad = no_credentials / ".kaggle" / "kaggle.json"
    bad.write_text(json.dumps({"username": "someone"}))
    with pytest.raises(KaggleError, match=r"kaggle\.json has no key"):
        connect()


def test_without_network_it_stops_at_once(no_credentials, fake_kaggle, monkeypatch, tmp_path):
    monkeypatch.setenv("KAGGLE_USERNAME", "someone")
    monkeypatch.setenv("KAGGLE_KEY", "0123456789abcdef")
    for var in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)

    def no_dns(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    with pytest.raises(KaggleError, match="check the network connection"):
        download_competition(str(tmp_path / "new"))
    assert fake_kaggle == []


# ------------------------------------------------------------ download


def test_download_unpacks_verifies_and_then_skips_the_work_done(credentials, fake_kaggle, tmp_path, capsys):
    dest = tmp_path / "data" / "classify-leaves"
    layout = download_competition(str(dest))

    assert ("competition_download_files", "classify-leaves", str(dest)) in fake_kaggle
    assert (layout.train_rows, layout.test_rows, layout.classes) == (9, 4, 3)
    assert (dest / "images" / "0.jpg").is_file() and not (dest / "classify-leaves.zip").exists()
    out = capsys.readouterr().out
    assert "train.csv has 9 rows; Kaggle's classify-leaves has 18,353" in out  # another data set: a notice

    fake_kaggle.clear()
    again = download_competition(str(dest))
    assert fake_kaggle == [] and again == layout
    assert "Already downloaded" in capsys.readouterr().out


def test_a_refused_download_says_to_accept_the_rules(credentials, fake_kaggle, tmp_path):
    fake_kaggle.api_class.refusal = RuntimeError("(403) Forbidden")
    with pytest.raises(KaggleError, match=r"403.*\n.*competition rules.*\n.*/competitions/classify-leaves/rules"):
        download_competition(str(tmp_path / "new"))


def test_an_archive_already_downloaded_is_only_unpacked(no_credentials, tmp_path):
    served = make_competition(tmp_path / "served")
    dest = tmp_path / "dest"
    dest.mkdir()
    with zipfile.ZipFile(dest / "classify-leaves.zip", "w") as zf:
        for file in served.rglob("*"):
            zf.write(file, file.relative_to(served).as_posix())
    assert download_competition(str(dest)).train_rows == 9  # no credentials needed


def test_layout_verification_names_what_is_wrong(tmp_path):
    root = make_competition(tmp_path / "data")
    assert verify_data(root).classes == 3

    (root / "images" / "4.jpg").unlink()
    with pytest.raises(DataError, match=r"train\.csv:6: images/4\.jpg: missing"):
        verify_data(root)

    pd.DataFrame({"file": ["images/9.jpg"]}).to_csv(root / "test.csv", index=False)
    with pytest.raises(DataError, match=r"test\.csv has no column 'image'"):
        verify_data(root)


# ------------------------------------------------------------ submit


@pytest.fixture
def competition(tmp_path):
    return make_competition(tmp_path / "data")


def _submission(path: Path, images: list[str], labels: list[str]) -> Path:
    pd.DataFrame({"image": images, "label": labels}).to_csv(path, index=False)
    return path


def test_submit_sends_a_valid_file_and_prints_kaggles_answer(credentials, fake_kaggle, competition, tmp_path, capsys):
    images = pd.read_csv(competition / "test.csv")["image"].tolist()
    file = _submission(tmp_path / "submission.csv", images, ["acer", "betula", "quercus", "acer"])

    submit(str(file), message="resnet50d, 30 epochs", data_dir=str(competition))

    assert fake_kaggle[-1] == ("competition_submit", str(file), "resnet50d, 30 epochs", "classify-leaves")
    assert "Successfully submitted to Classify Leaves" in capsys.readouterr().out


def test_a_failed_upload_is_an_error_not_a_success(credentials, fake_kaggle, competition, tmp_path):
    images = pd.read_csv(competition / "test.csv")["image"].tolist()
    file = _submission(tmp_path / "submission.csv", images, ["acer"] * len(images))
    fake_kaggle.api_class.answer = "Could not submit to competition"
    with pytest.raises(KaggleError, match="upload of .* failed"):
        submit(str(file), data_dir=str(competition))


@pytest.mark.parametrize(
    "problem, edit",
    [
        ("rows", lambda images, labels: (images[:-1], labels[:-1])),
        ("order", lambda images, labels: (images[::-1], labels)),
        ("labels that are not classes", lambda images, labels: (images, ["acer", "maple", "acer", "acer"])),
    ],
)
def test_a_broken_submission_is_refused_before_anything_is_sent(
    problem, edit, credentials, fake_kaggle, competition, tmp_path
):
    images = pd.read_csv(competition / "test.csv")["image"].tolist()
    file = _submission(tmp_path / "submission.csv", *edit(images, ["acer"] * len(images)))

    with pytest.raises(DataError, match=f"was not submitted: .*{problem}"):
        submit(str(file), data_dir=str(competition))
    assert not [c for c in fake_kaggle if c[0] == "competition_submit"]


def test_submit_of_a_missing_file_says_how_to_make_one(credentials, competition, tmp_path):
    with pytest.raises(SystemExit, match="leaves predict"):
        main(["submit", "--file", str(tmp_path / "none.csv"), "--data.data_dir", str(competition)])


# ------------------------------------------------------------ from a notebook


def test_a_notebook_checks_a_folder_and_a_submission_with_no_kaggle_set_up(
    no_credentials, monkeypatch, competition, tmp_path
):
    monkeypatch.setitem(sys.modules, "kaggle", None)  # neither the package nor credentials: not needed to check
    assert leaves.download_competition(competition).train_rows == 9  # already in place: only verified

    images = pd.read_csv(competition / "test.csv")["image"].tolist()
    good = _submission(tmp_path / "good.csv", images, ["acer", "betula", "quercus", "acer"])
    assert check_submission(good, competition)["label"].tolist() == ["acer", "betula", "quercus", "acer"]

    short = _submission(tmp_path / "short.csv", images[:-1], ["acer"] * 3)
    with pytest.raises(DataError, match=r"short\.csv was not submitted: submission has 3 rows; test\.csv has 4"):
        check_submission(short, competition)


def test_a_notebook_downloads_and_submits_through_the_package(credentials, fake_kaggle, tmp_path):
    dest = tmp_path / "classify-leaves"
    assert leaves.download_competition(dest).classes == 3

    images = pd.read_csv(dest / "test.csv")["image"].tolist()
    file = _submission(tmp_path / "submission.csv", images, ["quercus"] * len(images))
    leaves.submit(file, message="from a notebook", data_dir=dest)
    assert fake_kaggle[-1] == ("competition_submit", str(file), "from a notebook", "classify-leaves")
