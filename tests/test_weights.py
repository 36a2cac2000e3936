"""Offline weights: timm's tagged and hub names are accepted, and weights saved to a file load with
--model.pretrained FILE (how a Kaggle notebook without internet gets ImageNet weights)."""

from __future__ import annotations

from pathlib import Path

import pytest
import timm
import torch
from conftest import TINY

import leaves.models.net as net_module
from leaves.commands import run
from leaves.errors import ConfigError
from leaves.models.net import check_arch, create_net, load_weights
from leaves.workflows.cli import run_lightning

TAGGED = "resnet10t.c3_in1k"


def test_an_architecture_may_name_its_weights_by_timm_tag_or_hub_name() -> None:
    check_arch(TAGGED)
    check_arch("hf-hub:timm/resnet18.a1_in1k")  # resolved by timm (config from the hub) when built
    assert create_net(TAGGED, num_classes=3).pretrained_cfg["tag"] == "c3_in1k"
    with pytest.raises(ConfigError, match=r"no weights tagged 'nope' for resnet10t \(it has: resnet10t.c3_in1k\)"):
        create_net("resnet10t.nope", num_classes=3)
    with pytest.raises(ConfigError, match="not a timm model"):
        create_net("resnet9000", num_classes=3)


@pytest.fixture
def imagenet_net(monkeypatch: pytest.MonkeyPatch) -> torch.nn.Module:
    """What `leaves weights` would download, made up: a randomly initialised 1000-class network."""
    torch.manual_seed(0)
    net = timm.create_model("resnet10t", num_classes=1000)
    monkeypatch.setattr(net_module, "pretrained_net", lambda arch, pretrained=True: net)
    return net


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_saved_weights_load_into_a_new_classifier(imagenet_net, tmp_path: Path, suffix: str, capsys) -> None:
    out = tmp_path / f"resnet10t{suffix}"
    run("weights", [f"--model.arch={TAGGED}", f"--out={out}"])
    assert f"--model.pretrained {out}" in capsys.readouterr().out

    net = create_net(TAGGED, num_classes=3)
    load_weights(net, str(out), num_classes=3)
    expected = imagenet_net.state_dict()
    for name, value in net.state_dict().items():
        if name.startswith("fc."):
            assert value.shape[0] == 3  # the new 3-class head, not ImageNet's
        else:
            torch.testing.assert_close(value, expected[name], rtol=0, atol=0, msg=name)


def test_leaves_weights_never_overwrites_a_file(imagenet_net, tmp_path: Path) -> None:
    out = tmp_path / "w.safetensors"
    out.write_bytes(b"someone's upload")
    with pytest.raises(SystemExit, match="already exists"):
        run("weights", [f"--model.arch={TAGGED}", f"--out={out}"])
    assert out.read_bytes() == b"someone's upload"


def test_a_fit_starts_from_an_attached_weights_file(imagenet_net, leaves_dir, tmp_path, monkeypatch) -> None:
    out = tmp_path / "attached" / "resnet10t.safetensors"
    out.parent.mkdir()
    run("weights", [f"--model.arch={TAGGED}", f"--out={out}"])
    monkeypatch.chdir(tmp_path)
    cli = run_lightning(
        "fit",
        args=[
            *TINY,
            f"--data.data_dir={leaves_dir}",
            f"--model.arch={TAGGED}",
            f"--model.pretrained={out}",
            "--trainer.max_epochs=1",
            "--trainer.limit_train_batches=0",  # no step: the weights are the file's
        ],
    )
    stem = cli.model.net.conv1[0].weight
    torch.testing.assert_close(stem, imagenet_net.conv1[0].weight, rtol=0, atol=0)
