"""Ensemble weights fitted on out-of-fold probabilities: a worse member gets less weight, fitted weights beat
equal ones where one member is worse (scored on folds they were not fitted on), a gain within the noise of
the number of images is said so, and `leaves ensemble --fit_weights` predicts with the members' fold
checkpoints."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TINY

import leaves
from leaves.commands import run
from leaves.errors import ConfigError
from leaves.inference.hill_climb import blend, cross_fitted, hill_climb
from leaves.inference.paired import PairedTest, paired_test
from leaves.layout import BEST, FOLD_PREFIX, KFOLD_DIR, OOF_CSV, checkpoint_path
from leaves.workflows.ensemble import WeightsWithinNoise, fit_member_weights
from leaves.workflows.kfold import run_kfold

pytestmark = pytest.mark.usefixtures("one_thread")
CLASSES = ["acer", "betula", "carpinus", "fagus"]


def member_probs(labels: np.ndarray, accuracy: float, seed: int, sure_when_wrong: bool = False) -> np.ndarray:
    """Probabilities whose argmax is the label for about `accuracy` of the rows, another class otherwise
    (less confidently, as a trained model is; or, `sure_when_wrong`, as confidently as when right)."""
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet([1.0] * len(CLASSES), len(labels)) * 0.3
    right = rng.random(len(labels)) < accuracy
    top = np.where(right, labels, (labels + rng.integers(1, len(CLASSES), len(labels))) % len(CLASSES))
    probs[np.arange(len(labels)), top] += np.where(right | sure_when_wrong, 0.7, 0.35)
    return probs


def labels_of(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, len(CLASSES), n)


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    return float((probs.argmax(axis=1) == labels).mean())


# ------------------------------------------------------------------------------------ the fit and the test


def test_fitted_weights_beat_equal_weights_where_one_member_is_worse_on_folds_they_never_saw():
    labels = labels_of(2000)
    good, bad = member_probs(labels, 0.9, seed=1), member_probs(labels, 0.35, seed=2, sure_when_wrong=True)
    weights = hill_climb([good, bad], labels)
    assert weights.tolist() == [1.0, 0.0]  # a member that only hurts is never picked
    folds = np.arange(len(labels)) % 4
    crossed, per_fold = cross_fitted([good, bad], labels, folds)
    equal = blend([good, bad], [0.5, 0.5])
    assert accuracy(crossed, labels) > accuracy(equal, labels) + 0.05
    assert len(per_fold) == 4
    test = paired_test(equal.argmax(1) == labels, crossed.argmax(1) == labels)
    assert test.gain > 0.05 and test.significant


def test_two_members_with_independent_errors_share_the_weight():
    labels = labels_of(2000)
    a, b = member_probs(labels, 0.75, seed=1), member_probs(labels, 0.75, seed=2)
    weights = hill_climb([a, b], labels, rounds=50)
    assert 0.3 < weights[0] < 0.7 and weights.sum() == pytest.approx(1.0)
    assert accuracy(blend([a, b], weights), labels) > max(accuracy(a, labels), accuracy(b, labels))


def test_the_climb_follows_accuracy_where_the_log_loss_optimum_scores_less():
    labels = labels_of(300)
    a, b = member_probs(labels, 0.8, seed=1), member_probs(labels, 0.78, seed=2)
    weights = hill_climb([a, b], labels)
    assert weights.tolist() == [0.5, 0.5]
    assert accuracy(blend([a, b], weights), labels) > accuracy(blend([a, b], [2 / 3, 1 / 3]), labels) + 0.05
    truth = [p[np.arange(300), labels] for p in (a, b)]
    log_loss = lambda w: -np.log(w * truth[0] + (1 - w) * truth[1]).mean()  # noqa: E731
    assert log_loss(2 / 3) < log_loss(0.5)  # a log-loss climb would have stopped at 2/3, 1/3


def test_the_paired_test_is_mcnemars_exact_binomial():
    assert PairedTest(b=0, c=0, n=100).p_value == 1.0
    assert PairedTest(b=5, c=5, n=100).p_value == 1.0
    assert PairedTest(b=0, c=6, n=100).p_value == pytest.approx(2 / 2**6)  # six heads in six tosses, two-sided
    assert PairedTest(b=1, c=9, n=100).p_value == pytest.approx(2 * 11 / 2**10)
    assert PairedTest(b=1, c=9, n=100).gain == pytest.approx(0.08)
    assert paired_test(np.array([1, 1, 0, 0], bool), np.array([1, 0, 1, 1], bool)) == PairedTest(1, 2, 4)


def kfold_folder(root: Path, probs: np.ndarray, labels: np.ndarray, folds: int = 2) -> Path:
    """A finished k-fold run as leaves kfold leaves it: oof.csv and a best.ckpt per fold (empty here: the
    weight fit reads only the out-of-fold probabilities)."""
    folder = root / KFOLD_DIR
    for fold in range(folds):
        path = checkpoint_path(folder / f"{FOLD_PREFIX}{fold}", BEST)
        path.parent.mkdir(parents=True)
        path.touch()
    table = pd.DataFrame(
        {"image": [f"images/{i}.jpg" for i in range(len(labels))], "label": np.asarray(CLASSES)[labels]}
    )
    table["fold"] = np.arange(len(labels)) % folds
    pd.concat([table, pd.DataFrame(probs, columns=CLASSES)], axis=1).to_csv(folder / OOF_CSV, index=False)
    return folder


def test_a_gain_within_the_noise_of_the_number_of_images_is_a_warning(tmp_path):
    labels = labels_of(300)
    a = kfold_folder(tmp_path / "a", member_probs(labels, 0.8, seed=1), labels)
    b = kfold_folder(tmp_path / "b", member_probs(labels, 0.78, seed=2), labels)
    with pytest.warns(WeightsWithinNoise, match="within the noise"):
        fit = leaves.fit_member_weights([tmp_path / "a", b])  # the runs folder or the kfold folder itself
    assert fit.members == [str(a), str(b)]
    assert not fit.test.significant and fit.images == 300
    assert "equal" in fit.table() and "cross-fitted" in fit.table()


def test_members_must_predict_the_same_images(tmp_path):
    labels = labels_of(40)
    kfold_folder(tmp_path / "a", member_probs(labels, 0.8, seed=1), labels)
    kfold_folder(tmp_path / "b", member_probs(labels[:30], 0.8, seed=2), labels[:30])
    with pytest.raises(ValueError, match="different images"):
        fit_member_weights([tmp_path / "a", tmp_path / "b"])
    with pytest.raises(ConfigError, match="at least two members"):
        fit_member_weights([tmp_path / "a"])
    with pytest.raises(ValueError, match="not a finished leaves kfold run"):
        fit_member_weights([tmp_path / "a", tmp_path])


# ------------------------------------------------------------------------------------ leaves ensemble


def _colour_data(root: Path) -> Path:
    from conftest import make_leaves

    return make_leaves(root, per_class=4)


@pytest.mark.slow
def test_leaves_ensemble_fits_the_weights_of_kfold_runs_and_predicts_with_their_folds(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = _colour_data(tmp_path / "data")
    run_kfold([*TINY, "--data.data_dir", str(data), "--data.num_folds", "2", "--trainer.max_epochs", "1",
               "--runs_dir", str(tmp_path / "a")])  # fmt: skip
    good = tmp_path / "a" / KFOLD_DIR
    worse = tmp_path / "b" / KFOLD_DIR
    shutil.copytree(good, worse)
    oof = pd.read_csv(worse / OOF_CSV)
    classes = [c for c in oof.columns if c not in ("image", "label", "fold")]
    truth = oof["label"].map(classes.index).to_numpy()
    wrong = np.eye(len(classes))[(truth + 1) % len(classes)] * 0.9 + 0.1 / len(classes)
    oof[classes] = wrong  # the worse member is confidently wrong everywhere
    oof.to_csv(worse / OOF_CSV, index=False)

    args = [str([str(good), str(worse)]), "--fit_weights", "true", "--data.num_workers", "0"]
    args += ["--trainer.accelerator", "cpu", "--save_probs", "probs.csv"]
    submission = run("ensemble", args)
    assert submission == Path("submissions") / "submission.csv"
    assert len(pd.read_csv(submission)) == len(pd.read_csv(data / "test.csv"))

    done = leaves.ensemble([good, worse], fit_weights=True, output_dir="again", data_dir=str(data), num_workers=0)
    assert done.fit.weights == [1.0, 0.0] and done.fit.fitted > done.fit.equal
    assert done.checkpoints == [checkpoint_path(good / f"{FOLD_PREFIX}{i}", BEST) for i in range(2)]  # no worse one
    assert done.weights == [0.5, 0.5]
    with pytest.raises(ConfigError, match="not both"):
        leaves.ensemble([good, worse], weights=[1, 2], fit_weights=True)
