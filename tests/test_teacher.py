"""Learning from a teacher: pseudo-labelled test images join training (never validation) and are recorded in
the run; a student distilled from soft targets is an ordinary checkpoint that predicts, self-checks and
reports through the normal path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from conftest import COLOURS, TINY

import leaves
from leaves.data.teacher import NO_LABEL, teacher_rows
from leaves.errors import ConfigError, DataError
from leaves.layout import ADDED_IMAGES_CSV
from leaves.models.distill import distill_loss, soften
from leaves.report.write import write_report
from leaves.utils.checkpoint import Checkpoint
from leaves.workflows.cli import run_lightning

pytestmark = pytest.mark.usefixtures("one_thread")
CLASSES = sorted(COLOURS)


def probs_csv(path: Path, images: list[str], rows: list[list[float]], extra: dict | None = None) -> str:
    table = pd.DataFrame({"image": images, **(extra or {})})
    pd.concat([table, pd.DataFrame(rows, columns=CLASSES)], axis=1).to_csv(path, index=False)
    return str(path)


def confident(label: str, top: float) -> list[float]:
    rest = (1 - top) / 2
    return [top if c == label else rest for c in CLASSES]


def teacher_probs(leaves_dir: Path, path: Path, tops: list[float]) -> str:
    """Test-image probabilities whose top class is the true colour, at the given confidences."""
    test = pd.read_csv(leaves_dir / "test.csv")["image"].tolist()
    truth = [CLASSES[i // 2] for i in range(len(test))]  # make_leaves: 2 test images per class, in class order
    return probs_csv(path, test, [confident(t, p) for t, p in zip(truth, tops)])


# ------------------------------------------------------------------------------------ pseudo-labels


def test_only_confident_test_images_are_pseudo_labelled_with_their_top_class(leaves_dir, tmp_path):
    path = teacher_probs(leaves_dir, tmp_path / "p.csv", [0.95, 0.5, 0.9, 0.89, 0.99, 0.4])
    test = pd.read_csv(leaves_dir / "test.csv")["image"].tolist()
    rows = teacher_rows(["images/x.jpg"], test, CLASSES, pseudo_labels=path, pseudo_threshold=0.9)
    assert rows.added["image"].tolist() == [test[0], test[2], test[4]]
    assert rows.added["pseudo_label"].tolist() == ["acer", "betula", "carpinus"]
    assert [CLASSES[i] for i in rows.test_labels] == ["acer", "betula", "carpinus"]
    assert rows.train_soft is None and rows.test_soft is None  # hard labels


def test_teacher_files_that_do_not_fit_are_refused_naming_the_file(leaves_dir, tmp_path):
    test = pd.read_csv(leaves_dir / "test.csv")["image"].tolist()
    wrong = pd.DataFrame({"image": test[:1], "acer": [0.5], "quercus": [0.5]})
    wrong.to_csv(tmp_path / "wrong.csv", index=False)
    with pytest.raises(DataError, match=r"wrong\.csv.*missing \['betula', 'carpinus'\].*not classes \['quercus'\]"):
        teacher_rows([], test, CLASSES, pseudo_labels=str(tmp_path / "wrong.csv"))
    trainlike = probs_csv(tmp_path / "train.csv", ["images/0.jpg"], [confident("acer", 0.99)])
    with pytest.raises(DataError, match="not in test.csv"):
        teacher_rows(["images/0.jpg"], test, CLASSES, pseudo_labels=trainlike)
    with pytest.raises(ConfigError, match="pseudo_threshold"):
        teacher_rows([], test, CLASSES, pseudo_labels=teacher_probs(leaves_dir, tmp_path / "p.csv", [1] * 6),
                     pseudo_threshold=1.5)  # fmt: skip


@pytest.mark.slow
def test_pseudo_labelled_images_train_never_validate_are_recorded_and_the_fit_resumes(leaves_dir, tmp_path):
    probs = teacher_probs(leaves_dir, tmp_path / "probs.csv", [0.95, 0.5, 0.97, 0.6, 0.99, 0.3])
    args = [*TINY, "--data.data_dir", str(leaves_dir), "--runs_dir", str(tmp_path / "runs")]
    args += ["--data.pseudo_labels", probs, "--data.pseudo_threshold", "0.9", "--trainer.max_epochs", "1"]
    cli = run_lightning("fit", args=args)
    data = cli.datamodule
    test = set(pd.read_csv(leaves_dir / "test.csv")["image"])
    recorded = pd.read_csv(Path(cli.trainer.default_root_dir) / ADDED_IMAGES_CSV)
    assert len(recorded) == 3 and set(recorded["image"]) <= test
    assert recorded["pseudo_label"].tolist() == ["acer", "betula", "carpinus"]
    assert len(data.train_set) == len(data.train_images) + 3  # the training split grew by the pseudo-labelled
    assert not set(data.val_images) & test and len(data.val_set) == len(data.val_images)  # validation did not
    labels = [int(data.val_set[i][1]) for i in range(len(data.val_set))]
    assert labels == [CLASSES.index(x) for x in data.train_table.set_index("image").loc[data.val_images, "label"]]
    best = cli.trainer.checkpoint_callback.best_model_path
    settings = Checkpoint.read(best).data_settings
    assert (settings["pseudo_labels"], settings["pseudo_threshold"]) == (probs, 0.9)

    resumed = leaves.fit(args, trainer={"max_epochs": 2}, ckpt_path="last")
    assert resumed.run_dir == Path(cli.trainer.default_root_dir).absolute()
    steps = Checkpoint.read(resumed.last_checkpoint).content["global_step"]
    assert steps == 2 * cli.trainer.global_step  # the second epoch, continued from the first
    pd.testing.assert_frame_equal(pd.read_csv(resumed.run_dir / ADDED_IMAGES_CSV), recorded)


# ------------------------------------------------------------------------------------ distillation


def test_the_distillation_loss_mixes_hard_and_soft_and_ignores_the_missing_halves():
    torch.manual_seed(0)
    logits = torch.randn(4, 3)
    labels = torch.tensor([0, 1, NO_LABEL, 2])
    teacher = torch.softmax(torch.randn(4, 3), dim=1)
    teacher[3] = 0  # no teacher for the last row
    T, w = 2.0, 0.3
    ce = F.cross_entropy(logits, labels.clamp(min=0), reduction="none")
    kl = (teacher * (teacher.log() - F.log_softmax(logits, 1))).sum(1)  # at T=1 ...
    soft_t = soften(teacher[:3], T)
    kl_t = (soft_t * (soft_t.log() - F.log_softmax(logits[:3] / T, 1))).sum(1) * T**2
    expected = torch.stack([(1 - w) * ce[0] + w * kl_t[0], (1 - w) * ce[1] + w * kl_t[1], w * kl_t[2], ce[3]])
    torch.testing.assert_close(distill_loss(logits, labels, teacher, w, T), expected.mean())
    torch.testing.assert_close(soften(teacher[:3], 1.0), teacher[:3])  # T=1: the teacher as it is
    assert distill_loss(logits, labels, teacher, 0.0, 1.0) == pytest.approx(float(ce[[0, 1, 3]].sum() / 4))
    assert float(kl[0]) > 0
    student = teacher[:3].log()  # a student that already predicts what the teacher does learns nothing more
    assert float(distill_loss(student, torch.full((3,), NO_LABEL), teacher[:3], 1.0, T)) == pytest.approx(0, abs=1e-5)


def _teacher_files(leaves_dir: Path, tmp_path: Path) -> tuple[str, str]:
    train = pd.read_csv(leaves_dir / "train.csv")
    oof = probs_csv(
        tmp_path / "oof.csv",
        train["image"].tolist(),
        [confident(label, 0.8) for label in train["label"]],
        {"label": train["label"], "fold": np.arange(len(train)) % 2},
    )
    return oof, teacher_probs(leaves_dir, tmp_path / "test_probs.csv", [0.7] * 6)


@pytest.mark.slow
def test_a_student_is_an_ordinary_checkpoint_predict_self_check_and_report_use_unchanged(
    leaves_dir, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    oof, test = _teacher_files(leaves_dir, tmp_path)
    student = leaves.fit(
        [*TINY, "--data.soft_targets", f"[{oof}, {test}]"],
        data={"data_dir": str(leaves_dir)},
        model={"distill_weight": 0.7, "temperature": 2.0},
        trainer={"max_epochs": 1},
    )
    added = pd.read_csv(student.run_dir / ADDED_IMAGES_CSV, keep_default_na=False)
    assert len(added) == 6 and added["soft_target"].all() and (added["pseudo_label"] == "").all()
    saved = Checkpoint.read(student.best_checkpoint)
    assert saved.data_settings["soft_targets"] == [oof, test]
    assert (saved.model_settings["distill_weight"], saved.model_settings["temperature"]) == (0.7, 2.0)

    for teacher in (oof, test):  # the student needs its teacher to train, never to predict
        Path(teacher).rename(f"{teacher}.moved")
    predicted = leaves.predict(TINY, data={"data_dir": str(leaves_dir)}, strict=True)  # a failed self-check raises
    assert predicted.checkpoint == student.best_checkpoint
    assert len(pd.read_csv(predicted.submission)) == 6
    page = write_report(student.best_checkpoint, data_overrides={"num_workers": 0}, accelerator="cpu")
    assert "Run report" in page.read_text()


@pytest.mark.slow
def test_distillation_needs_both_the_soft_targets_and_a_soft_weight_and_no_mixing(leaves_dir, tmp_path):
    oof, _ = _teacher_files(leaves_dir, tmp_path)
    base = [*TINY, "--data.data_dir", str(leaves_dir), "--runs_dir", str(tmp_path / "runs")]
    with pytest.raises(ConfigError, match="distill_weight is 0"):
        leaves.fit([*base, "--data.soft_targets", f"[{oof}]"])
    with pytest.raises(ConfigError, match="soft_targets is not set"):
        leaves.fit([*base, "--model.distill_weight", "0.5"])
    with pytest.raises(ConfigError, match="does not mix"):
        leaves.fit(
            [*base, "--data.soft_targets", f"[{oof}]", "--model.distill_weight", "0.5"], model={"mixup_alpha": 0.2}
        )
    with pytest.raises(ConfigError, match="distill_weight"):
        leaves.fit([*base, "--model.distill_weight", "1.5"])
