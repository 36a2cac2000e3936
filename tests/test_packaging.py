"""`pip install git+<repo>` gives a working `leaves`: the wheel carries the configs, and the installed package
(not a checkout) runs `leaves fit` from any folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_wheel_ships_every_config_and_runs_from_any_folder(tmp_path: Path) -> None:
    source = tmp_path / "source"  # a copy, so the build leaves no build/ folder in the checkout
    shutil.copytree(REPO / "leaves", source / "leaves", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", str(source), "-w", str(tmp_path)], check=True)
    (wheel,) = tmp_path.glob("leaves-*.whl")
    shipped = {n for n in zipfile.ZipFile(wheel).namelist() if n.startswith("leaves/configs/")}
    assert {f"leaves/configs/{p.name}" for p in (REPO / "leaves/configs").glob("*.yaml")} <= shipped
    assert (
        "leaves = leaves.commands:main"
        in zipfile.ZipFile(wheel).read("leaves-0.1.0.dist-info/entry_points.txt").decode()
    )

    site = tmp_path / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    code = "import leaves, sys; print(leaves.__file__); leaves.main(sys.argv[1:])"
    done = subprocess.run(
        [sys.executable, "-c", code, "fit", "--config", "kaggle", "--print_config"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith(str(site / "leaves"))  # the installed copy, not this checkout
    assert "data_dir: /kaggle/input/classify-leaves" in done.stdout
