"""The after-the-first-model benchmark runs end to end on tiny data (every technique against the pipeline
without it, scored on answers.csv, CPU minutes beside each) and keeps what it finished."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import COLOURS, TINY, make_leaves

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "after_first_model.py"


def with_answers(root: Path, per_class: int = 6, test_per_class: int = 2) -> Path:
    """make_leaves' folder with the labels of its test images in answers.csv (images are numbered class by class),
    and a planted copy of a training image under another label, for the cleaning to drop."""
    make_leaves(root, per_class=per_class, test_per_class=test_per_class)
    shutil.copy(root / "images/0.jpg", root / "images/copy.jpg")
    train = pd.read_csv(root / "train.csv")
    pd.concat([train, pd.DataFrame({"image": ["images/copy.jpg"], "label": ["betula"]})]).to_csv(
        root / "train.csv", index=False
    )
    block = per_class + test_per_class
    answers = [
        (f"images/{c * block + per_class + k}.jpg", name)
        for c, name in enumerate(COLOURS)
        for k in range(test_per_class)
    ]
    pd.DataFrame(answers, columns=["image", "label"]).to_csv(root / "answers.csv", index=False)
    assert pd.read_csv(root / "answers.csv")["image"].tolist() == pd.read_csv(root / "test.csv")["image"].tolist()
    return root


@pytest.mark.slow
def test_every_technique_is_measured_against_the_pipeline_without_it_and_a_rerun_keeps_them(tmp_path):
    data = with_answers(tmp_path / "data")
    args = ["--data_dir", str(data), "--folds", "2", "--output", str(tmp_path / "out"), "--pseudo_threshold", "0.34"]
    args += ["--args", " ".join([*TINY, "--trainer.max_epochs=1"])]
    done = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows_file = tmp_path / "out" / "data" / "default" / "seed_42" / "rows.jsonl"
    rows = [json.loads(line) for line in rows_file.read_text().splitlines()]
    by = {row["technique"]: row for row in rows}
    assert list(by) == ["baseline", "tta", "kfold-ensemble", "clean", "pseudo", "distill", "weights"]
    for name in ("tta", "clean", "pseudo", "distill"):
        assert by[name]["against"] == "baseline"
        assert by[name]["gain"] == pytest.approx(by[name]["test_acc"] - by["baseline"]["test_acc"])
    assert by["weights"]["against"] == "equal-weights ensemble"
    assert all(0 <= row["test_acc"] <= 1 for row in rows)
    assert by["pseudo"]["cpu_minutes"] > 0 and by["pseudo"]["shared_cpu_minutes"] > 0  # its fit; the k-fold teacher
    assert by["clean"]["conflicting_pairs"] == 1 and by["clean"]["dropped"] >= 2  # the planted copy and its original
    assert by["pseudo"]["pseudo_labelled"] > 0
    assert {"cv_equal", "cv_fitted", "weights", "mcnemar_p"} <= set(by["weights"])
    assert by["tta"]["cpu_minutes"] > 0 and by["tta"]["shared_cpu_minutes"] == by["baseline"]["cpu_minutes"]

    again = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.count("done earlier, kept") == 9  # baseline, tta, 2 k-folds, decisions, 3 fits, weights
    assert [json.loads(line) for line in rows_file.read_text().splitlines()] == rows


@pytest.fixture(scope="module")
def table():
    """benchmarks/after_first_model_table.py as a module (it imports after_first_model from its own folder)."""
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        spec = importlib.util.spec_from_file_location(
            "after_first_model_table", SCRIPT.parent / "after_first_model_table.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(SCRIPT.parent))
    return module


def _rows(technique: str, accs: list[float], against: list[float]) -> list[dict]:
    return [
        {"technique": technique, "data": "lab", "recipe": "default", "seed": seed, "test_acc": acc,
         "against": "baseline", "against_test_acc": base, "gain": acc - base, "cpu_minutes": 1.0,
         "shared_cpu_minutes": 3.0}
        for seed, acc, base in zip((1, 2, 42), accs, against)
    ]  # fmt: skip


def test_a_gain_within_the_spread_between_seeds_is_reported_as_no_gain(table):
    rows = pd.DataFrame(
        _rows("tta", [0.99, 0.98, 1.00], [0.96, 0.95, 0.97])  # +0.03 on every seed, seeds spread 0.02
        + _rows("pseudo", [0.97, 0.94, 0.98], [0.96, 0.92, 0.97])  # +0.013 on average, seeds spread 0.05
        + _rows("clean", [0.95, 0.90, 0.96], [0.96, 0.95, 0.97])  # -0.023, spread 0.06
        + _rows("distill", [0.90, 0.89, 0.90], [0.96, 0.95, 0.97])[:1]
    )
    by = table.summarise(rows).set_index("technique")
    assert by.loc["tta", "verdict"] == "gain" and by.loc["tta", "gain"] == pytest.approx(0.03)
    assert by.loc["pseudo", "verdict"] == "no gain"
    assert by.loc["clean", "verdict"] == "no gain"  # a loss inside the spread is no loss either
    assert by.loc["distill", "verdict"] == "one seed"
    assert by.loc["tta", "per_seed"] == "0.990 / 0.980 / 1.000"
    assert "| lab | tta | 1, 2, 42 | 0.990 (0.990 / 0.980 / 1.000) | baseline 0.960 |" in table.markdown(
        table.summarise(rows)
    )
