"""The Kaggle notebook runs, cell by cell, on the demo data at toy size: it cannot rot."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from conftest import TINY

from leaves.data.demo import generate_demo

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")
pytest.importorskip("ipykernel")

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "classify-leaves.ipynb"


@pytest.mark.slow
def test_the_kaggle_notebook_fits_predicts_reports_and_leaves_submission_csv(tmp_path, monkeypatch) -> None:
    data = generate_demo(tmp_path / "input" / "classify-leaves", train_per_class=4, test_per_class=2, size=48)
    work = tmp_path / "working"
    settings = {
        "LEAVES_DATA_DIR": str(data),
        "LEAVES_WORK_DIR": str(work),
        "LEAVES_EPOCHS": "1",
        "LEAVES_PRETRAINED": "false",  # no network in tests
        "LEAVES_EXTRA": json.dumps([*TINY, "--data.val_fraction=0.25"]),
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),  # this checkout: no pip install
        "NO_ALBUMENTATIONS_UPDATE": "1",
        "OMP_NUM_THREADS": "1",
    }
    for key, value in settings.items():
        monkeypatch.setenv(key, value)  # the kernel inherits them

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(
        notebook, timeout=240, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    ).execute()

    submission = pd.read_csv(work / "submission.csv")
    assert submission["image"].tolist() == pd.read_csv(data / "test.csv")["image"].tolist()
    assert (work / "runs/version_0/checkpoints/best.ckpt").is_file()
    assert list((work / "cache").glob("train-*.npy")), "the kaggle preset caches under the working folder"
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert any("text/html" in o.get("data", {}) and "iframe" in o["data"]["text/html"] for o in outputs)
    assert any("image/png" in o.get("data", {}) for o in outputs)
