"""The run report: a fit leaves a self-contained report.html in its run folder with
every section a user looks for, and any checkpoint gets one on demand."""

from __future__ import annotations

import base64
import html
import io
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
import torch
from conftest import TINY
from PIL import Image

from leaves.commands import run as leaves_run
from leaves.configs import DEFAULT as DEFAULT_CONFIG
from leaves.report import confused_pairs, matrix_classes, per_class_table
from leaves.workflows.cli import run_lightning

CONFIG = DEFAULT_CONFIG
#: A label that must come out as text, not markup.
TRICKY = "Acer <b>rubrum</b> & co"
CLASSES = ["betula", "quercus", TRICKY]
SECTIONS = ["summary", "curves", "per-class", "confusions", "gallery", "config"]


class Page(HTMLParser):
    """What a browser would show: sections, headings, images and text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.headings: list[str] = []
        self.images: list[str] = []
        self.links: list[str] = []
        self.figures = 0
        self.text: list[str] = []
        self._in_h2 = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.sections.append(attrs.get("id"))
        if tag == "img":
            self.images.append(attrs["src"])
        if tag == "figure":
            self.figures += 1
        if tag in ("a", "link", "script") and (attrs.get("href") or attrs.get("src")):
            self.links.append(attrs.get("href") or attrs.get("src"))
        self._in_h2 = tag == "h2"

    def handle_endtag(self, tag):
        self._in_h2 = False

    def handle_data(self, data):
        if self._in_h2:
            self.headings.append(data)
        self.text.append(data)

    @property
    def all_text(self) -> str:
        return "".join(self.text)


def make_data(root: Path, per_class: int = 6) -> Path:
    """Every image the same leaf-green square: no model can tell the classes apart, so it gives every
    validation image the same class and exactly the other classes' validation images are mistakes."""
    (root / "images").mkdir(parents=True)
    rows, n = [], 0
    for label in CLASSES:
        for _ in range(per_class):
            image = f"images/{n}.jpg"
            Image.new("RGB", (32, 32), (60, 140, 50)).save(root / image)
            rows.append((image, label))
            n += 1
    pd.DataFrame(rows, columns=["image", "label"]).to_csv(root / "train.csv", index=False)
    pd.DataFrame({"image": [r[0] for r in rows[:3]]}).to_csv(root / "test.csv", index=False)
    return root


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, Path]:
    """One tiny fit with the default config (which includes the report callback)."""
    tmp = tmp_path_factory.mktemp("report")
    data = make_data(tmp / "data")
    cli = run_lightning(
        "fit",
        default_config=CONFIG,
        args=[
            *TINY,
            "--model.arch=resnet18",
            "--model.pretrained=false",
            "--model.frozen_stages=0",
            f"--data.data_dir={data}",
            "--data.val_fraction=0.34",
            "--trainer.max_epochs=2",
            f"--runs_dir={tmp / 'runs'}",
            "--trainer.num_sanity_val_steps",
            "0",
            "--trainer.log_every_n_steps",
            "1",
        ],
    )
    return Path(cli.trainer.log_dir), data


@pytest.mark.slow
def test_a_fit_ends_with_a_self_contained_report_in_its_run_folder(run):
    run_dir, _ = run
    page = Page((run_dir / "report.html").read_text(encoding="utf-8"))

    assert page.sections == SECTIONS
    assert page.headings == [
        "Summary",
        "Learning curves",
        "Validation accuracy per class (worst first)",
        "Most confused classes",
        "Misclassified validation images",
        "Config",
    ]
    assert page.links == [] and page.images
    assert all(src.startswith("data:image/png;base64,") for src in page.images)  # nothing outside the file
    curves = Image.open(io.BytesIO(base64.b64decode(page.images[0].split(",", 1)[1])))
    assert curves.width >= 800

    text = page.all_text
    for fact in (
        "best epoch",
        "of 2",
        "train.csv 18",
        "12 train / 6 validation",
        "test.csv 3",
        "classes3",
        "training throughput",
        "img/s",
        "training hardware",
        "CPU",
    ):
        assert fact in text, fact
    assert "not measured" not in text and "not recorded" not in text
    assert "seed_everything: 42" in text  # the run's config
    assert all(name in text for name in CLASSES)


def test_labels_are_shown_as_text_never_as_markup(run):
    run_dir, _ = run
    raw = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "<b>rubrum</b>" not in raw
    assert "Acer &lt;b&gt;rubrum&lt;/b&gt; &amp; co" in raw


def test_the_gallery_shows_every_mistake_with_true_and_predicted_labels(run):
    run_dir, _ = run
    raw = (run_dir / "report.html").read_text(encoding="utf-8")
    page = Page(raw)
    # 2 validation images per class, all alike: the one class predicted for all is right for 2 of the 6.
    assert "4 of 6 validation images are misclassified" in page.all_text
    assert "No validation image is misclassified." not in page.all_text
    assert page.figures == 4
    true = [html.unescape(t) for t in re.findall(r'<span class="t">true: ([^<]*)</span>', raw)]
    predicted = {html.unescape(p) for p in re.findall(r'<span class="p">predicted: ([^<]*)</span>', raw)}
    assert len(predicted) == 1 and len(true) == 4
    assert sorted(true) == sorted(2 * [name for name in CLASSES if name not in predicted])


def test_any_checkpoint_gets_a_report_on_demand_even_after_the_data_moved(run, tmp_path):
    run_dir, data = run
    moved = shutil.copytree(data, tmp_path / "moved")
    out = leaves_run(
        "report",
        [
            "--ckpt_path",
            str(run_dir / "checkpoints" / "last.ckpt"),
            "--data.data_dir",
            str(moved),
            "--data.num_workers",
            "0",
        ],
    )
    assert out == run_dir / "report-last.html"  # report.html (best.ckpt) is left as it was
    page = Page(out.read_text(encoding="utf-8"))
    assert page.sections == SECTIONS
    text = page.all_text
    assert str(moved) in text
    assert "img/s (median over" in text and "not recorded" not in text  # kept in the checkpoint


def test_classes_are_ranked_worst_first_and_the_matrix_keeps_the_most_confused():
    names = ["a", "b", "c", "d"]
    confmat = torch.tensor(
        [
            [9, 1, 0, 0],  # a: 90%
            [4, 5, 0, 1],  # b: 50%, mostly taken for a
            [0, 0, 10, 0],  # c: 100%
            [0, 0, 3, 7],  # d: 70%, taken for c
        ]
    )
    table = per_class_table(confmat, names)
    assert table["class"].tolist() == ["b", "d", "a", "c"]
    assert table.iloc[0]["mistaken for"] == "a (4)"

    pairs = confused_pairs(confmat, names)
    assert list(zip(pairs["true"], pairs["predicted"], pairs["images"])) == [
        ("b", "a", 4),
        ("d", "c", 3),
        ("a", "b", 1),
        ("b", "d", 1),
    ]
    assert matrix_classes(pairs, limit=3) == [1, 0, 3]
