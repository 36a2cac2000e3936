"""Precise BN and BN folding: what a competitor relies on after training."""

from __future__ import annotations

import hashlib
from pathlib import Path

import lightning as L
import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn as nn
from lightning.pytorch.callbacks import ModelCheckpoint
from PIL import Image

from leaves.callbacks import PreciseBN
from leaves.commands.options import DataOverrides
from leaves.commands.precise_bn import precise_bn_checkpoint
from leaves.data.datamodule import LeavesDataModule
from leaves.inference import Predictor
from leaves.inference.bn_fold import fuse_bn
from leaves.models.batchnorm import BatchNorm
from leaves.models.bn_tools import recalibrate_bn
from leaves.models.module import LeavesModule
from leaves.models.net import create_net

BN_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")


def trained_net(norm: str) -> nn.Module:
    """A small ResNet whose BN statistics and affine parameters are not the initial ones."""
    torch.manual_seed(0)
    net = create_net("resnet18", num_classes=4, norm=norm)
    with torch.no_grad():
        for _ in range(3):
            net(torch.randn(6, 3, 32, 32) * 2 + 0.5)
        for m in net.modules():
            if isinstance(m, (nn.BatchNorm2d, BatchNorm)):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return net


@pytest.mark.parametrize("norm", ["batch", "scratch"])
def test_folded_network_predicts_what_the_unfolded_one_does(norm):
    net = trained_net(norm)
    fused, pairs = fuse_bn(net)
    assert pairs == 20
    assert not any(isinstance(m, (nn.BatchNorm2d, BatchNorm)) for m in fused.modules())
    x = torch.randn(5, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(fused(x), net.eval()(x), atol=1e-4, rtol=1e-4)


def test_folding_leaves_the_training_network_untouched():
    net = trained_net("batch").train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    fuse_bn(net)
    assert net.training
    assert net.state_dict().keys() == before.keys()
    assert all(torch.equal(net.state_dict()[k], v) for k, v in before.items())


def test_precise_bn_changes_only_bn_statistics_to_the_average_over_batches():
    net = trained_net("batch").eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    batches = [torch.randn(4, 3, 32, 32) + i for i in range(3)]
    assert recalibrate_bn(net, iter(batches)) == 20
    changed = {k for k, v in net.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all(k.endswith(BN_BUFFERS) for k in changed)
    assert not net.training  # the mode is restored
    with torch.no_grad():  # the stem's BN now holds the plain average of the batches' statistics
        expected = torch.stack([net.conv1(x).mean(dim=(0, 2, 3)) for x in batches]).mean(0)
    torch.testing.assert_close(net.bn1.running_mean, expected, atol=1e-5, rtol=1e-5)
    assert int(net.bn1.num_batches_tracked) == 3


def test_precise_bn_refuses_a_model_without_batchnorm():
    with pytest.raises(ValueError, match="precise BN recalibrates torch BatchNorm layers"):
        recalibrate_bn(create_net("resnet18", 3, norm="group", norm_groups=8), iter([torch.randn(2, 3, 32, 32)]))


def tiny_leaves(root: Path, classes: int = 3, per_class: int = 6, size: int = 32) -> Path:
    """A Kaggle-layout folder of flat-coloured images, one colour per class."""
    (root / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    rows = []
    for c in range(classes):
        for i in range(per_class):
            name = f"images/{c}_{i}.jpg"
            pixels = np.full((size, size, 3), 60 + 80 * c, np.uint8) + rng.integers(0, 30, (size, size, 3), np.uint8)
            Image.fromarray(pixels).save(root / name)
            rows.append((name, f"species_{c}"))
    pd.DataFrame(rows, columns=["image", "label"]).to_csv(root / "train.csv", index=False)
    pd.DataFrame({"image": [r[0] for r in rows[::4]]}).to_csv(root / "test.csv", index=False)
    return root


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_fit_with_precise_bn_then_fused_predict_and_the_checkpoint_command(tmp_path):
    data = tiny_leaves(tmp_path / "data")
    datamodule = LeavesDataModule(str(data), image_size=32, batch_size=4, num_workers=0, val_fraction=0.34)
    model = LeavesModule(datamodule.class_names, arch="resnet18", warmup_epochs=0, pretrained=False, frozen_stages=0)
    checkpoint = ModelCheckpoint(tmp_path / "ckpt", filename="best", monitor="val_acc", mode="max")
    trainer = L.Trainer(
        max_epochs=1,
        accelerator="cpu",
        logger=False,
        callbacks=[checkpoint, PreciseBN(batches=2)],
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, datamodule=datamodule)
    assert int(model.net.bn1.num_batches_tracked) == 2  # recalibrated over 2 batches before validating

    folding = Predictor([model])
    fused = trainer.predict(folding, datamodule=datamodule)
    assert folding._nets is None  # the folded copy lives only during predict
    plain = trainer.predict(Predictor([model], fuse_bn=False), datamodule=datamodule)
    torch.testing.assert_close(
        torch.cat([b["probs"] for b in fused]), torch.cat([b["probs"] for b in plain]), atol=1e-4, rtol=1e-4
    )

    src = Path(checkpoint.best_model_path)
    digest = sha(src)
    out = precise_bn_checkpoint(str(src), num_batches=3, data=DataOverrides(num_workers=0))
    assert out == src.with_name("best-precise-bn.ckpt") and sha(src) == digest
    old, new = (torch.load(p, map_location="cpu", weights_only=False)["state_dict"] for p in (src, out))
    changed = {k for k in old if not torch.equal(old[k], new[k])}
    assert changed and all(k.endswith(BN_BUFFERS) for k in changed)
    assert int(new["net.bn1.num_batches_tracked"]) == 3
    with pytest.raises(FileExistsError, match="nothing was overwritten"):
        precise_bn_checkpoint(str(src), num_batches=1, data=DataOverrides(num_workers=0))
    assert LeavesModule.load_from_checkpoint(out).class_names == ["species_0", "species_1", "species_2"]


def test_precise_bn_in_fit_is_refused_up_front_without_batchnorm(tmp_path):
    datamodule = LeavesDataModule(str(tiny_leaves(tmp_path / "data")), image_size=32, batch_size=4, num_workers=0)
    model = LeavesModule(datamodule.class_names, arch="resnet18", norm="layer", pretrained=False, frozen_stages=0)
    trainer = L.Trainer(
        max_epochs=1, accelerator="cpu", logger=False, enable_checkpointing=False, callbacks=[PreciseBN(batches=2)]
    )
    with pytest.raises(ValueError, match="--precise_bn.batches needs torch BatchNorm layers"):
        trainer.fit(model, datamodule=datamodule)


class Misordered(nn.Module):
    """A BatchNorm registered right after a convolution it does not follow: folding by module order is wrong here."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.other = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc((self.conv(x) + self.bn(self.other(x))).mean(dim=(2, 3)))


def test_prediction_keeps_the_unfolded_network_where_folding_would_change_the_answer(tmp_path):
    data = tiny_leaves(tmp_path / "data")
    datamodule = LeavesDataModule(str(data), image_size=16, batch_size=4, num_workers=0)
    model = LeavesModule(datamodule.class_names, arch="resnet18", pretrained=False, frozen_stages=0)
    torch.manual_seed(0)
    model.net = Misordered()
    with torch.no_grad():
        model.net.bn.running_mean.uniform_(-1, 1)
        model.net.bn.running_var.uniform_(0.5, 2)
    assert fuse_bn(model.net)[1] == 1, "the order-based fold pairs conv with bn"
    trainer = L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False)
    with pytest.warns(UserWarning, match="BatchNorm folding skipped for member 0"):
        folded = trainer.predict(Predictor([model]), datamodule=datamodule)
    plain = trainer.predict(Predictor([model], fuse_bn=False), datamodule=datamodule)
    torch.testing.assert_close(torch.cat([b["probs"] for b in folded]), torch.cat([b["probs"] for b in plain]))
