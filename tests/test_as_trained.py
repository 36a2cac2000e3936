"""No silent wrong answers: a checkpoint predicts at the input it was trained with, every submission is
preceded by a self-check on the checkpoint's own validation split, and degenerate submissions are flagged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import TINY, make_leaves

from leaves.commands import run
from leaves.configs import DEFAULT
from leaves.data.as_trained import NotAsTrainedWarning
from leaves.errors import SelfCheckError
from leaves.inference import Predictor, predict_ensemble
from leaves.inference.degenerate import DegenerateSubmissionWarning, degenerate_submission, warn_if_degenerate
from leaves.inference.selfcheck import SelfCheck, SelfCheckWarning, self_check
from leaves.models.module import LeavesModule, load_module
from leaves.utils.checkpoint import Checkpoint
from leaves.workflows.cli import run_lightning

#: TINY without its image size: the size comes from the checkpoint, or default.yaml's (96 px) would apply.
NO_SIZE = [a for a in TINY if not a.startswith("--data.image_size")]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two fits of the same data, at 32 px and at 40 px, with half of train.csv held out (a steady val_acc)."""
    root = tmp_path_factory.mktemp("as_trained")
    data = make_leaves(root / "data", per_class=16, test_per_class=4)
    out = {"data": data}
    for size in (32, 40):
        runs = root / f"runs{size}"
        run_lightning(
            "fit",
            DEFAULT,
            [
                *NO_SIZE,
                f"--data.image_size={size}",
                f"--data.data_dir={data}",
                "--data.val_fraction=0.5",
                "--trainer.max_epochs=3",
                f"--runs_dir={runs}",
            ],
        )
        out[size] = runs / "version_0" / "checkpoints" / "best.ckpt"
    return out


def predict_probs(ckpt: Path, data: Path, out: Path, *args: str) -> np.ndarray:
    """`leaves predict` with `args`; the probabilities it saved beside its submission."""
    config = out / "writer.yaml"
    out.mkdir(parents=True, exist_ok=True)
    config.write_text(
        "trainer:\n  callbacks:\n    - class_path: leaves.inference.submission.SubmissionWriter\n"
        f"      init_args: {{output_dir: {out}, probs_path: {out / 'probs.npy'}}}\n"
    )
    run_lightning(
        "predict", DEFAULT, [*NO_SIZE, "--config", str(config), f"--data.data_dir={data}", f"--ckpt_path={ckpt}", *args]
    )
    return np.load(out / "probs.npy")


@pytest.mark.slow
def test_predict_uses_the_training_size_whatever_the_config_default_says(trained, tmp_path, recwarn):
    as_trained = predict_probs(trained[32], trained["data"], tmp_path / "explicit", "--data.image_size=32")
    # default.yaml says 96 px: the checkpoint's 32 px wins, silently, since nobody asked for 96.
    defaulted = predict_probs(trained[32], trained["data"], tmp_path / "default")
    np.testing.assert_array_equal(defaulted, as_trained)
    assert not [w for w in recwarn if issubclass(w.category, NotAsTrainedWarning)]


@pytest.mark.slow
def test_an_explicit_other_size_is_honoured_with_a_warning_naming_both(trained, tmp_path):
    as_trained = predict_probs(trained[32], trained["data"], tmp_path / "a")
    with pytest.warns(NotAsTrainedWarning, match=r"image_size=32.*image_size=48"):
        other = predict_probs(trained[32], trained["data"], tmp_path / "b", "--data.image_size=48")
    assert not np.array_equal(other, as_trained)
    # A user's own config file is explicit too, even when it repeats default.yaml's value.
    (tmp_path / "mine.yaml").write_text("data:\n  image_size: 96\n")
    with pytest.warns(NotAsTrainedWarning, match=r"image_size=32.*image_size=96"):
        predict_probs(trained[32], trained["data"], tmp_path / "c", "--config", str(tmp_path / "mine.yaml"))


def test_report_and_precise_bn_rebuild_the_data_at_the_checkpoint_size(trained):
    from leaves.data.datamodule import datamodule_from_checkpoint

    assert datamodule_from_checkpoint(trained[40]).image_size == 40
    assert datamodule_from_checkpoint(trained[40], image_size=None, batch_size=2).image_size == 40
    with pytest.warns(NotAsTrainedWarning, match=r"image_size=40.*image_size=64"):
        assert datamodule_from_checkpoint(trained[40], image_size=64).image_size == 64


def test_the_checkpoint_keeps_the_normalisation_it_trained_with(trained):
    saved = torch.load(trained[32], map_location="cpu", weights_only=False)["hyper_parameters"]
    model = load_module(trained[32])
    assert saved["mean"] == pytest.approx(model.mean.flatten().div(255).tolist())
    assert saved["std"] == pytest.approx(model.std.flatten().div(255).tolist())


def test_ensemble_members_each_run_at_their_own_size(trained, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    kwargs = dict(data_dir=str(trained["data"]), batch_size=4, num_workers=0, accelerator="cpu")
    predict_ensemble([trained[32]], save_probs="a.npy", output_dir="a", **kwargs)
    predict_ensemble([trained[40]], save_probs="b.npy", output_dir="b", **kwargs)
    predict_ensemble([trained[32], trained[40]], save_probs="ab.npy", output_dir="ab", **kwargs)
    np.testing.assert_allclose(np.load("ab.npy"), (np.load("a.npy") + np.load("b.npy")) / 2, atol=1e-6)
    single = predict_probs(trained[40], trained["data"], tmp_path / "plain")
    np.testing.assert_allclose(np.load("b.npy"), single, atol=1e-6)


# ---------------------------------------------------------------- the self-check


def test_the_self_check_passes_on_a_healthy_run(trained):
    predictor = Predictor.from_checkpoints([trained[32]])
    result = self_check(Checkpoint.read(trained[32]), predictor, batch_size=4, num_workers=0, accelerator="cpu")
    assert result.skipped is None and not result.failed
    assert result.images == 24  # half of 16 per class, 3 classes
    assert result.rescored == pytest.approx(result.recorded)
    assert "passed" in result.message()


def _invert_colours(monkeypatch: pytest.MonkeyPatch) -> None:
    """A broken prediction path: the images are normalised as if their colours were inverted."""
    normalize = LeavesModule.normalize
    monkeypatch.setattr(LeavesModule, "normalize", lambda self, images: normalize(self, 255 - images))


def test_the_self_check_fires_when_the_prediction_path_is_broken(trained, tmp_path, monkeypatch):
    _invert_colours(monkeypatch)
    predictor = Predictor.from_checkpoints([trained[32]])
    result = self_check(Checkpoint.read(trained[32]), predictor, batch_size=4, num_workers=0, accelerator="cpu")
    assert result.failed
    message = result.message()
    assert f"{result.rescored:.4f}" in message and f"{result.recorded:.4f}" in message
    assert "image size" in message and "normalisation" in message
    # predict still writes (a warning is loud, not fatal) ...
    monkeypatch.chdir(tmp_path)
    with pytest.warns(SelfCheckWarning, match="SELF-CHECK FAILED"):
        run_lightning(
            "predict", DEFAULT, [*NO_SIZE, f"--data.data_dir={trained['data']}", f"--ckpt_path={trained[32]}"]
        )
    assert (tmp_path / "submissions" / "submission.csv").is_file()


def test_strict_makes_a_failed_self_check_an_error_and_writes_nothing(trained, tmp_path, monkeypatch):
    _invert_colours(monkeypatch)
    monkeypatch.chdir(tmp_path)
    args = [*NO_SIZE, f"--data.data_dir={trained['data']}", f"--ckpt_path={trained[32]}", "--strict=true"]
    with pytest.raises(SelfCheckError, match="no submission was written"):
        run_lightning("predict", DEFAULT, args)
    with pytest.raises(SystemExit, match="error: SELF-CHECK FAILED"):
        run("predict", args)
    assert not (tmp_path / "submissions").exists()
    with pytest.raises(SystemExit, match="error: SELF-CHECK FAILED"):
        run(
            "ensemble",
            [
                str([str(trained[32])]),
                f"--data.data_dir={trained['data']}",
                "--strict=true",
                "--data.num_workers=0",
                "--trainer.accelerator=cpu",
            ],
        )
    assert not (tmp_path / "submissions").exists()


def test_the_self_check_is_skipped_with_a_reason_when_the_training_data_is_gone(trained, tmp_path):
    checkpoint = torch.load(trained[32], map_location="cpu", weights_only=False)
    checkpoint["datamodule_hyper_parameters"]["data_dir"] = str(tmp_path / "moved")
    moved = tmp_path / "moved.ckpt"
    torch.save(checkpoint, moved)
    result = self_check(Checkpoint.read(moved), Predictor.from_checkpoints([moved]), num_workers=0, accelerator="cpu")
    assert not result.failed
    assert "skipped" in result.message() and "not there" in result.message()


def test_noise_allowance_is_two_points_or_three_standard_errors():
    assert SelfCheck("c", recorded=0.90, rescored=0.885, images=2000).failed is False  # 1.5 points
    assert SelfCheck("c", recorded=0.90, rescored=0.87, images=2000).failed is True  # 3 points, 4.5 SE
    assert SelfCheck("c", recorded=0.80, rescored=0.70, images=40).failed is False  # 10 points, 1.6 SE
    assert SelfCheck("c", recorded=0.80, rescored=0.95, images=2000).failed is False  # better is not feared


# ---------------------------------------------------------------- degenerate submissions


def test_a_constant_submission_is_flagged_as_degenerate():
    classes = [f"c{i}" for i in range(20)]
    train = [c for c in classes for _ in range(10)]
    problems = degenerate_submission(["c3"] * 200, classes, train)
    assert any("'c3' is 100.0% of the predictions but 5.0%" in p for p in problems)
    assert any("only 1 of 20 classes" in p for p in problems)
    with pytest.warns(DegenerateSubmissionWarning, match="DEGENERATE"):
        warn_if_degenerate(["c3"] * 200, classes, train)


def test_a_submission_spread_like_the_training_classes_is_not_flagged():
    rng = np.random.default_rng(0)
    classes = [f"c{i}" for i in range(20)]
    assert degenerate_submission(list(rng.choice(classes, 200)), classes) == []
    assert degenerate_submission(["c3"] * 10, classes) == []  # too few rows to judge


def test_submission_writer_warns_on_a_degenerate_submission(tmp_path):
    from leaves.inference.submission import SubmissionWriter

    classes = [f"c{i}" for i in range(10)]
    probs = torch.zeros(100, 10)
    probs[:, 4] = 1
    with pytest.warns(DegenerateSubmissionWarning):
        written = SubmissionWriter(str(tmp_path)).write(
            probs, torch.arange(100), [f"{i}.jpg" for i in range(100)], classes
        )
    assert pd.read_csv(written)["label"].eq("c4").all()  # still written: a warning, not a refusal
