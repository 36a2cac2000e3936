"""A read-only data folder (Kaggle's /kaggle/input) never stops a run: everything written goes to a writable place."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from conftest import TINY, make_leaves

from leaves.data.places import cache_folder

REPO = Path(__file__).resolve().parents[1]
NOBODY = 65534  # uid and gid of `nobody` / `nogroup`


def as_nobody(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run `leaves ARGS` as the unprivileged user `nobody` in `cwd`.

    The process keeps one capability, reading (never writing) any file, so it can
    run this checkout's Python wherever it is installed (e.g. under a private
    /root); every write is checked against nobody's own permissions.
    """
    command = [
        "setpriv",
        f"--reuid={NOBODY}",
        f"--regid={NOBODY}",
        "--clear-groups",
        "--inh-caps=+dac_read_search",
        "--ambient-caps=+dac_read_search",
        sys.executable,
        "-c",
        "import sys; from leaves.commands import main; sys.exit(main(sys.argv[1:]))",
        *args,
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "LEAVES_"))}
    env.update(PYTHONPATH=str(REPO), HOME=str(cwd), OMP_NUM_THREADS="1")
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A temporary folder other users can reach (pytest's tmp_path is private to root); removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="leaves-other-user-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="switching to another user needs root and setpriv",
)
@pytest.mark.slow
def test_fit_and_predict_as_another_user_on_a_data_folder_it_cannot_write(shared_tmp: Path) -> None:
    leaves_dir = make_leaves(shared_tmp / "leaves")  # root's folder: nobody may read it, not write it
    before = sorted(p.relative_to(leaves_dir) for p in leaves_dir.rglob("*"))
    work = shared_tmp / "working"
    work.mkdir()
    os.chown(work, NOBODY, NOBODY)
    options = [f"--data.data_dir={leaves_dir}", "--data.cache=true", *TINY]

    fit = as_nobody(["fit", *options, "--trainer.max_epochs=1"], work)
    predict = as_nobody(["predict", *options], work)

    assert sorted(p.relative_to(leaves_dir) for p in leaves_dir.rglob("*")) == before  # nothing written there
    (cache,) = (work / "cache").iterdir()
    assert cache.name.startswith("leaves-")
    assert f"is read-only: caching decoded images in {cache}" in fit.stdout + fit.stderr
    assert {p.name.split("-")[0] for p in cache.glob("*.npy")} == {"train", "test"}
    assert (work / "runs/version_0/checkpoints/best.ckpt").is_file()
    submission = pd.read_csv(work / "submissions/submission.csv")
    assert submission["image"].tolist() == pd.read_csv(leaves_dir / "test.csv")["image"].tolist()
    assert "Predicting with" in predict.stdout + predict.stderr


def test_the_cache_stays_in_a_writable_data_folder_and_an_explicit_folder_wins(leaves_dir: Path, tmp_path) -> None:
    assert cache_folder(leaves_dir) == leaves_dir / "cache"
    assert cache_folder(leaves_dir, tmp_path / "mine") == tmp_path / "mine"
