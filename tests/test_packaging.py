"""`pip install git+<repo>` gives a working `leaves`: the wheel carries the configs and the console script,
and the installed package (not a checkout) finds its presets and trains with `leaves fit` from any folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import TINY, make_leaves

REPO = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.slow  # builds a wheel and installs it: the slow tier


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The package built into a wheel from a copy of the checkout and installed into its own folder."""
    tmp = tmp_path_factory.mktemp("packaging")
    source = tmp / "source"  # a copy, so the build leaves no build/ folder in the checkout
    shutil.copytree(REPO / "leaves", source / "leaves", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", str(source), "-w", str(tmp)], check=True)
    (wheel,) = tmp.glob("leaves-*.whl")
    site = tmp / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True)
    return {"wheel": wheel, "site": site}


def _elsewhere(tmp_path: Path) -> Path:
    folder = tmp_path / "elsewhere"  # no checkout, no configs/ folder
    folder.mkdir()
    return folder


def test_the_wheel_ships_every_config_and_the_installed_copy_finds_them_from_any_folder(installed, tmp_path) -> None:
    wheel, site = installed["wheel"], installed["site"]
    shipped = {n for n in zipfile.ZipFile(wheel).namelist() if n.startswith("leaves/configs/")}
    assert {f"leaves/configs/{p.name}" for p in (REPO / "leaves/configs").glob("*.yaml")} <= shipped
    assert (
        "leaves = leaves.commands:main"
        in zipfile.ZipFile(wheel).read("leaves-0.1.0.dist-info/entry_points.txt").decode()
    )
    code = "import leaves, sys; print(leaves.__file__); leaves.main(sys.argv[1:])"
    done = subprocess.run(
        [sys.executable, "-c", code, "fit", "--config", "kaggle", "--print_config"],
        cwd=_elsewhere(tmp_path),
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith(str(site / "leaves"))  # the installed copy, not this checkout
    assert "data_dir: /kaggle/input/classify-leaves" in done.stdout  # the kaggle preset, read from the wheel


def test_the_installed_leaves_command_fits_from_any_folder(installed, tmp_path) -> None:
    site = installed["site"]
    command = site / "bin" / "leaves"  # the console script pip made
    data = make_leaves(tmp_path / "data", per_class=2, test_per_class=1)
    elsewhere = _elsewhere(tmp_path)
    fit = ["fit", "--config", "scratch", *TINY, f"--data.data_dir={data}", "--trainer.max_steps=1"]
    fit += ["--trainer.limit_val_batches=1", "--trainer.num_sanity_val_steps=0"]
    done = subprocess.run(
        [str(command), *fit],
        cwd=elsewhere,
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    run = elsewhere / "runs" / "version_0"  # the run folder is made where the command runs
    assert (run / "checkpoints" / "last.ckpt").is_file() and (run / "metrics.csv").is_file()
    saved = (run / "config.yaml").read_text()
    assert "arch: resnet10t" in saved and "optimizer: momentum" in saved  # the options over the scratch preset
