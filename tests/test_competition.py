"""Competition tools: k-fold, MixUp/CutMix, EMA, fine-tuning, precision/layout, LR finder, TTA, ensembles."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn as nn
from conftest import TINY
from PIL import Image

from leaves.callbacks import FindLR, FreezeBackbone
from leaves.configs import DEFAULT as DEFAULT_CONFIG
from leaves.data.splits import stratified_folds
from leaves.errors import ClassListMismatch, ConfigError
from leaves.inference import Predictor, predict_ensemble
from leaves.inference.tta import VIEWS, tta_probs
from leaves.models.finetune import finetune_param_groups
from leaves.models.module import LeavesModule
from leaves.workflows.cli import run_lightning
from leaves.workflows.kfold import run_kfold

CONFIG = DEFAULT_CONFIG
CLASSES = ["ash", "birch", "oak"]


pytestmark = pytest.mark.usefixtures("one_thread")


def resnet18(**settings) -> LeavesModule:
    """A ResNet-18 from random weights, nothing frozen: the network these tests read by its layer names."""
    return LeavesModule(**{"arch": "resnet18", "pretrained": False, "frozen_stages": 0, **settings})


def make_data(root: Path, per_class: int = 8, test_per_class: int = 2) -> Path:
    """A Kaggle-layout folder of 32 px images whose colour gives the class."""
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    train, test = [], []
    for k, name in enumerate(CLASSES):
        colour = np.full(3, 40.0)
        colour[k] = 200
        for i in range(per_class + test_per_class):
            image = np.clip(rng.normal(colour, 40, (32, 32, 3)), 0, 255).astype(np.uint8)
            path = f"images/{name}{i}.jpg"
            Image.fromarray(image).save(root / path)
            (train.append((path, name)) if i < per_class else test.append(path))
    pd.DataFrame(train, columns=["image", "label"]).to_csv(root / "train.csv", index=False)
    pd.DataFrame({"image": test}).to_csv(root / "test.csv", index=False)
    return root


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One tiny fit with every training feature switched on at once (it is the slow part)."""
    root = tmp_path_factory.mktemp("fit")
    data = make_data(root / "data", per_class=6)
    run_lightning(
        "fit",
        CONFIG,
        [
            *TINY,
            "--model.pretrained=false",
            "--model.frozen_stages=0",
            "--data.data_dir",
            str(data),
            "--trainer.max_epochs",
            "2",
            "--runs_dir",
            str(root / "runs"),
            "--trainer.precision",
            "bf16-mixed",
            "--model.channels_last",
            "true",
            "--model.mixup_alpha",
            "0.2",
            "--model.cutmix_alpha",
            "1.0",
            "--model.mix_stop_epoch",
            "1",
            "--ema.decay",
            "0.9",
            "--model.backbone_lr_scale",
            "0.1",
            "--freeze_backbone.epochs",
            "1",
        ],
    )
    run = root / "runs" / "version_0"
    return {"root": root, "data": data, "run": run, "best": run / "checkpoints" / "best.ckpt"}


# ---------------------------------------------------------------- k-fold


def test_folds_are_disjoint_stratified_seeded_and_cover_the_data():
    labels = pd.Series(["a"] * 10 + ["b"] * 7 + ["c"] * 3)
    folds = stratified_folds(labels, 5, seed=1)
    assert set(folds) == set(range(5))  # every row in exactly one fold, every fold used
    assert len(folds) == len(labels)
    sizes = np.bincount(folds)
    assert sizes.max() - sizes.min() <= 1
    for name in labels.unique():
        per_fold = np.bincount(folds[labels.to_numpy() == name], minlength=5)
        assert per_fold.max() - per_fold.min() <= 1, name  # each class dealt evenly
    assert np.array_equal(folds, stratified_folds(labels, 5, seed=1))
    assert not np.array_equal(folds, stratified_folds(labels, 5, seed=2))


def test_kfold_trains_every_fold_writes_out_of_fold_probabilities_and_resumes(tmp_path):
    data = make_data(tmp_path / "data", per_class=4)
    args = [
        *TINY,
        "--data.data_dir",
        str(data),
        "--data.num_folds",
        "2",
        "--trainer.max_epochs",
        "1",
        "--runs_dir",
        str(tmp_path / "runs"),
    ]
    accuracy = run_kfold(args, CONFIG)
    oof = pd.read_csv(tmp_path / "runs" / "kfold" / "oof.csv")
    train = pd.read_csv(data / "train.csv")
    assert sorted(oof["image"]) == sorted(train["image"])  # every image predicted once, by the fold that never saw it
    assert list(oof.columns[-3:]) == CLASSES
    np.testing.assert_allclose(oof[CLASSES].sum(axis=1), 1.0, atol=1e-5)
    assert 0.0 <= accuracy <= 1.0
    fold0 = tmp_path / "runs" / "kfold" / "fold_0" / "checkpoints" / "best.ckpt"
    stamp = fold0.stat().st_mtime
    assert run_kfold(args, CONFIG) == accuracy  # finished folds are skipped, not retrained
    assert fold0.stat().st_mtime == stamp


# ---------------------------------------------------------------- training features


def test_fit_with_mixing_ema_finetuning_bf16_and_channels_last(fitted):
    metrics = pd.read_csv(fitted["run"] / "metrics.csv")
    epochs = metrics.dropna(subset=["train_loss"])
    # train_acc is meaningless on mixed images: logged only once mixing stopped (epoch 1)
    assert epochs.set_index("epoch")["train_acc"].isna().tolist() == [True, False]
    ckpt = torch.load(fitted["best"], map_location="cpu", weights_only=False)
    # EMA: the checkpoint's weights are the average, the raw ones are kept for resuming
    raw, ema = ckpt["current_model_state"], ckpt["state_dict"]
    assert not torch.equal(raw["net.fc.weight"], ema["net.fc.weight"])
    # backbone at a tenth of the head's learning rate, in every weight-decay group
    lrs = [group["initial_lr"] for group in ckpt["optimizer_states"][0]["param_groups"]]  # the peaks
    assert len(lrs) == 4
    assert sorted({round(lr / max(lrs), 6) for lr in lrs}) == [0.1, 1.0]


def test_frozen_backbone_trains_only_the_head_with_batchnorm_in_eval():
    model = resnet18(class_names=CLASSES)
    model.train()
    freeze = FreezeBackbone(epochs=1)
    freeze.on_train_epoch_start(SimpleNamespace(current_epoch=0), model)
    head = list(model.net.get_classifier().parameters())
    assert all(p.requires_grad for p in head)
    assert not any(p.requires_grad for n, p in model.net.named_parameters() if not n.startswith("fc."))
    assert not model.net.bn1.training
    freeze.on_train_epoch_start(SimpleNamespace(current_epoch=1), model)
    assert all(p.requires_grad for p in model.parameters()) and model.net.bn1.training


def test_early_stages_stay_frozen_for_the_whole_fit_and_the_rest_trains():
    model = resnet18(class_names=CLASSES, frozen_stages=2)  # resnet18: the stem, layer1 and layer2
    freeze = FreezeBackbone(epochs=1)
    for epoch in (0, 1, 5):
        model.train()  # as Lightning does at every epoch
        freeze.on_train_epoch_start(SimpleNamespace(current_epoch=epoch), model)
        trainable = {n.split(".")[0] for n, p in model.net.named_parameters() if p.requires_grad}
        assert trainable == ({"fc"} if epoch == 0 else {"layer3", "layer4", "fc"}), epoch
        assert not model.net.bn1.training and not model.net.layer2[0].bn1.training
        assert model.net.layer3[0].bn1.training == (epoch > 0)
    with pytest.raises(ValueError, match="frozen_stages needs a timm network with stages"):
        LeavesModule(class_names=CLASSES, arch="d2l_resnet18", pretrained=False, frozen_stages=1)


def test_backbone_lr_scale_keeps_no_weight_decay_on_norms_and_biases():
    model = resnet18(class_names=CLASSES)
    groups = finetune_param_groups(model.net, lr=1.0, weight_decay=0.05, backbone_lr_scale=0.1)
    head = {id(p) for p in model.net.get_classifier().parameters()}
    for group in groups:
        assert group["lr"] == (1.0 if id(group["params"][0]) in head else 0.1)
        assert all((id(p) in head) == (id(group["params"][0]) in head) for p in group["params"])
    assert sum(len(g["params"]) for g in groups) == len(list(model.net.parameters()))
    assert {g["weight_decay"] for g in groups if any(p.ndim == 1 for p in g["params"])} == {0.0}


def test_mixing_needs_an_even_batch():
    model = resnet18(class_names=CLASSES, mixup_alpha=0.2)
    with pytest.raises(ValueError, match="even batch"):
        model.training_step((torch.zeros(3, 3, 32, 32), torch.zeros(3, dtype=torch.long)), 0)


def test_lr_find_sets_the_learning_rate_before_fitting(tmp_path):
    data = make_data(tmp_path / "data")
    configured = 0.002
    cli = run_lightning(
        "fit",
        CONFIG,
        [
            *TINY,
            "--model.pretrained=false",
            "--model.frozen_stages=0",
            "--model.lr",
            str(configured),
            "--model.lr_schedule=constant",  # the rate each step trains with is the peak itself
            "--model.warmup_epochs=0",
            "--data.batch_size",
            "2",
            "--data.data_dir",
            str(data),
            "--trainer.max_epochs",
            "2",
            "--trainer.max_steps",
            "3",  # the fit after the range test: a few steps, so the schedule has stepped
            "--trainer.limit_val_batches",
            "1",
            "--runs_dir",
            str(tmp_path / "runs"),
            "--lr_find",
            "true",
            "--lr_find_steps",
            "20",  # 10 batches an epoch: the range test spans both epochs
        ],
    )
    finder = next(c for c in cli.trainer.callbacks if isinstance(c, FindLR))
    suggestion = finder.optimal_lr.suggestion()
    assert suggestion is not None and not np.isclose(suggestion, configured)
    assert cli.model.hparams.lr == suggestion
    # every step of the fit trained with the suggestion, not the configured lr
    assert [group["lr"] for group in cli.trainer.optimizers[0].param_groups] == pytest.approx([suggestion] * 2)
    logged = pd.read_csv(tmp_path / "runs" / "version_0" / "metrics.csv")["lr"].dropna()
    assert len(logged) and logged.to_numpy() == pytest.approx(suggestion)
    assert (tmp_path / "runs" / "version_0" / "lr_find.png").is_file()


# ---------------------------------------------------------------- TTA


class Constant(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.logits = nn.Parameter(torch.tensor([[0.5, 2.0, -1.0]]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits.expand(len(x), -1)


def test_tta_of_a_model_that_ignores_its_input_changes_nothing():
    model = resnet18(class_names=CLASSES)
    model.net = Constant()
    images = torch.rand(4, 3, 8, 8)
    plain = Predictor([model]).probs(images)
    views = ["identity", "hflip", "vflip", "rot90", "rot180", "rot270", "transpose", "antitranspose"]
    torch.testing.assert_close(Predictor([model], tta=views).probs(images), plain)


def test_tta_averages_the_probabilities_of_the_views():
    images = torch.rand(2, 3, 8, 8)
    net = lambda x: x[:, :, 0, :3] * 10  # noqa: E731 - depends on the top row only
    expected = (net(images).softmax(1) + net(images.flip(-2)).softmax(1)) / 2
    torch.testing.assert_close(tta_probs(net, images, ["identity", "vflip"]), expected)


def test_unknown_tta_views_are_refused():
    with pytest.raises(ValueError, match="unknown view"):
        Predictor([resnet18(class_names=CLASSES)], tta=["mirror"])


# ---------------------------------------------------------------- prediction and ensembles


def test_predict_with_tta_from_the_command_line(fitted, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    probs = {}
    every = f"[{', '.join(VIEWS)}]"
    runs = (("plain", []), ("tta", ["--tta", "[identity, hflip, rot90]"]), ("all", ["--tta", every]))
    for name, views in (*runs, ("preset", ["--config", "tta"])):
        (tmp_path / f"{name}.yaml").write_text(
            "trainer:\n  callbacks:\n    - class_path: leaves.inference.SubmissionWriter\n"
            f"      init_args: {{output_dir: {name}, probs_path: {name}.npy}}\n"
        )
        args = [*TINY, "--config", f"{name}.yaml", "--data.data_dir", str(fitted["data"]), *views]
        run_lightning("predict", CONFIG, [*args, "--ckpt_path", str(fitted["best"])])
        probs[name] = np.load(f"{name}.npy")
        assert len(pd.read_csv(tmp_path / name / "submission.csv")) == 6  # 2 test images per class
    assert not np.allclose(probs["plain"], probs["tta"]), "the views were averaged"
    np.testing.assert_allclose(probs["preset"], probs["all"])  # --config tta: all 8 symmetries
    assert not np.allclose(probs["preset"], probs["plain"])


def test_an_ensemble_of_one_checkpoint_equals_plain_predict(fitted, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plain.yaml").write_text(
        "trainer:\n  callbacks:\n    - class_path: leaves.inference.submission.SubmissionWriter\n"
        "      init_args: {output_dir: plain, probs_path: plain.npy}\n"
    )
    run_lightning(
        "predict",
        CONFIG,
        [*TINY, "--config", "plain.yaml", "--data.data_dir", str(fitted["data"]), "--ckpt_path", str(fitted["best"])],
    )
    written = predict_ensemble(
        [fitted["best"]],
        data_dir=str(fitted["data"]),
        batch_size=4,
        num_workers=0,
        output_dir="ensemble",
        save_probs="ensemble.csv",
    )
    assert written == Path("ensemble") / "submission.csv"
    pd.testing.assert_frame_equal(pd.read_csv(written), pd.read_csv("plain/submission.csv"))
    saved = pd.read_csv("ensemble.csv")
    assert list(saved.columns) == ["image", *CLASSES]
    np.testing.assert_array_equal(saved[CLASSES].to_numpy(dtype=np.float32), np.load("plain.npy"))
    with pytest.raises(FileExistsError, match="ensemble.csv"):  # saved probabilities are never overwritten
        predict_ensemble([fitted["best"]], data_dir=str(fitted["data"]), save_probs="ensemble.csv")


def test_an_ensemble_averages_with_weights(fitted, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # A second member that predicts differently: the fitted checkpoint with its classifier's biases shifted.
    ckpt = torch.load(fitted["best"], map_location="cpu", weights_only=False)
    ckpt["state_dict"]["net.fc.bias"] += torch.tensor([2.0, 0.0, -2.0])
    other = tmp_path / "other.ckpt"
    torch.save(ckpt, other)
    kwargs = dict(data_dir=str(fitted["data"]), batch_size=4, num_workers=0, self_check=False)

    def probs(members, name, **extra):
        predict_ensemble(members, save_probs=name, **extra, **kwargs)
        return np.load(name).astype(np.float64)

    pa, pb = probs([fitted["best"]], "a.npy"), probs([other], "b.npy")
    assert np.abs(pa - pb).max() > 0.05, "the members disagree"
    weighted = probs([fitted["best"], other], "ab.npy", weights=[3, 1])
    equal = probs([fitted["best"], other], "equal.npy")
    np.testing.assert_allclose(weighted, (3 * pa + 1 * pb) / 4, atol=1e-6)
    np.testing.assert_allclose(equal, (pa + pb) / 2, atol=1e-6)
    assert np.abs(weighted - equal).max() > 0.01, "the weights changed the average"
    for bad in ([1.0], [1.0, 1.0, 1.0], [3.0, -1.0], [0.0, 0.0]):  # wrong count, negative, all zero
        with pytest.raises(ConfigError, match=rf"weights must be 2 non-negative numbers.*got {re.escape(str(bad))}"):
            predict_ensemble([fitted["best"], other], weights=bad, **kwargs)


def test_checkpoints_with_different_class_lists_are_refused(fitted, tmp_path):
    ckpt = torch.load(fitted["best"], map_location="cpu", weights_only=False)
    ckpt["hyper_parameters"]["class_names"] = ["ash", "birch", "elm"]
    other = tmp_path / "other.ckpt"
    torch.save(ckpt, other)
    with pytest.raises(ClassListMismatch, match=r"other\.ckpt.*lacks \['oak'\], has \['elm'\]"):
        predict_ensemble([fitted["best"], other], data_dir=str(fitted["data"]))
    with pytest.raises(ClassListMismatch):
        Predictor([resnet18(class_names=CLASSES), resnet18(class_names=CLASSES[::-1])])
