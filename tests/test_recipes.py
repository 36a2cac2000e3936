"""Recipes: the d2l seed recipe exactly, and `leaves recipes`, which trains recipes side by side
and scores each through the real predict path."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn as nn
from conftest import TINY
from PIL import Image
from torch.utils.data import Subset
from torchvision import transforms

from leaves.callbacks import EMA
from leaves.commands import run
from leaves.data.transforms import train_transform
from leaves.models.d2l import D2LResNet18, Residual
from leaves.models.module import LeavesModule
from leaves.models.net import create_net
from leaves.workflows.cli import build_cli


def test_the_seed_config_is_the_d2l_notes_recipe(leaves_dir: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    cli = build_cli(["--config", "seed", "--data.data_dir", str(leaves_dir), "--data.num_workers", "0"])
    model, data = cli.model, cli.datamodule
    # d2l's own network, every conv and linear weight drawn by xavier_uniform (d2l's init_cnn)
    assert type(model.net) is D2LResNet18
    layers = [m for m in model.net.modules() if type(m) in (nn.Conv2d, nn.Linear)]
    spread = [m.weight.abs().max().item() / _xavier_bound(m) for m in layers]
    assert max(spread) <= 1 + 1e-6 and min(spread) > 0.9, "uniform over exactly xavier's bound"
    # plain SGD: no momentum, no weight decay; no label smoothing, no mixing, no EMA
    optimizer = model.create_optimizer()
    assert type(optimizer) is torch.optim.SGD
    groups = [(g["lr"], g["momentum"], g["weight_decay"], g["nesterov"]) for g in optimizer.param_groups]
    assert set(groups) == {(0.02, 0.0, 0.0, False)}
    assert model.loss.label_smoothing == 0.0 and model.mixup is None
    assert not any(isinstance(c, EMA) for c in cli.trainer.callbacks)
    assert cli.trainer.max_epochs == 15
    # ToTensor's 0-1 values, not normalised: a white pixel is 1.0.
    white = model.normalize(torch.full((1, 3, 2, 2), 255, dtype=torch.uint8))
    assert torch.equal(white, torch.ones(1, 3, 2, 2))
    data.setup("fit")  # the first 80% of train.csv's rows train, the last 20% validate
    rows = len(data.train_table)
    assert list(data.val_set.indices) == list(range(int(rows * 0.8), rows))
    # 224 px, batches of 64 (all 14 training images here), and no augmentation: every epoch sees the same pixels
    first, again = (next(iter(data.train_dataloader()))[0] for _ in range(2))
    assert first.shape == (14, 3, 224, 224)
    assert torch.equal(first.sort(0).values, again.sort(0).values)


def test_the_seed_recipe_trains_on_every_image_every_epoch(leaves_dir: Path, tmp_path: Path, monkeypatch) -> None:
    """d2l's DataLoader keeps the last, partial batch: on a few hundred images that is a quarter more steps."""
    monkeypatch.chdir(tmp_path)
    args = ["--config", "seed", "--data.data_dir", str(leaves_dir), "--data.num_workers", "0"]
    data = build_cli([*args, "--data.batch_size", "4", "--data.image_size", "16"]).datamodule
    data.setup("fit")
    assert [len(batch[0]) for batch in data.train_dataloader()] == [4, 4, 4, 2], "all 14 training images"


def test_the_seed_recipe_keeps_its_learning_rate_for_the_whole_run(leaves_dir: Path, tmp_path: Path) -> None:
    small = ["--data.image_size=32", "--data.batch_size=4", "--data.num_workers=0", "--trainer.accelerator=cpu"]
    small += ["--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]
    cli = run(
        "fit",
        ["--config", "seed", *small, f"--data.data_dir={leaves_dir}", f"--runs_dir={tmp_path / 'runs'}"]
        + ["--trainer.max_steps=3", "--trainer.limit_val_batches=1"],  # a 3-step run: a schedule would end at 0
    )
    assert [g["lr"] for g in cli.trainer.optimizers[0].param_groups] == [0.02]
    logged = pd.read_csv(tmp_path / "runs" / "version_0" / "metrics.csv")["lr"].dropna()
    assert len(logged) and logged.to_numpy() == pytest.approx(0.02), "no warmup, no decay"


@pytest.fixture(scope="module")
def notes():
    """benchmarks/d2l_reference.py: the d2l notes' own loop, written without leaves."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "d2l_reference.py"
    spec = importlib.util.spec_from_file_location("d2l_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _leaves_names(name: str) -> str:
    """The notes' nn.Sequential names (0: stem, 1-4: stages, 7: the linear layer) as D2LResNet18's."""
    block, _, rest = name.partition(".")
    if block == "0":
        return f"stem.{rest}"
    if block == "7":
        return f"fc.{rest}"
    return f"stages.{int(block) - 1}.{rest}"


def test_the_seed_recipe_takes_the_d2l_notes_step(notes, leaves_dir: Path, tmp_path: Path, monkeypatch) -> None:
    """From the same weights, a step of `--config seed` on a batch is a step of the notes' loop: the same
    input pixels, network, loss and optimizer, so the two differ only in their random draws. The images are
    the size the recipe resizes to, as the competition's are 224 px (OpenCV and PIL resize in other ways)."""
    monkeypatch.chdir(tmp_path)
    size = Image.open(leaves_dir / "images" / "0.jpg").width
    args = ["--config", "seed", "--data.data_dir", str(leaves_dir), "--data.num_workers", "0"]
    cli = build_cli([*args, "--data.image_size", str(size)])
    model, data = cli.model, cli.datamodule
    data.setup("fit")
    torch.manual_seed(0)
    theirs = notes.resnet18(len(data.class_names))
    theirs.apply(notes.init_cnn)
    model.net.load_state_dict({_leaves_names(k): v for k, v in theirs.state_dict().items()})  # strict: every layer

    rows = list(range(8))
    pixels, targets = next(iter(torch.utils.data.DataLoader(Subset(data.train_set, rows), batch_size=8)))
    to_tensor = transforms.Compose([transforms.Resize((size, size)), transforms.ToTensor()])
    table = data.train_table
    labels = [data.class_names.index(c) for c in table["label"]]
    X, y = next(iter(torch.utils.data.DataLoader(notes.LeavesCSV(leaves_dir, table["image"], labels, to_tensor), 8)))
    ours = model.normalize(pixels)
    assert torch.equal(targets, y) and torch.allclose(ours, X, atol=1e-6), "Resize + ToTensor, nothing else"

    model.train()
    theirs.train()
    step, optimizer = torch.optim.SGD(theirs.parameters(), lr=0.02), model.create_optimizer()
    for _ in range(2):  # two steps: a momentum would show in the second
        step.zero_grad()
        nn.CrossEntropyLoss()(theirs(X), y).backward()
        step.step()
        optimizer.zero_grad()
        model.loss(model(ours), targets).backward()
        optimizer.step()
    after = model.net.state_dict()
    moved = {k: (v - after[_leaves_names(k)]).abs().max().item() for k, v in theirs.state_dict().items()}
    assert max(moved.values()) < 1e-5, sorted(moved.items(), key=lambda kv: -kv[1])[:3]


def test_the_d2l_resnet18_is_the_courses_network_not_timms() -> None:
    net = create_net("d2l_resnet18", num_classes=176)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 20 and all(c.bias is not None for c in convs), "17 3x3/7x7 + 3 shortcut convs, all biased"
    shortcuts = [m.conv3 for m in net.modules() if isinstance(m, Residual) and m.conv3 is not None]
    assert [c.kernel_size for c in shortcuts] == [(1, 1)] * 3, "a bare 1x1 convolution, no BatchNorm after it"
    norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(norms) == 17 and all(torch.equal(m.weight, torch.ones_like(m.weight)) for m in norms), "no zero init"
    assert sum(p.numel() for p in net.parameters()) == 11_269_808  # d2l's resnet18 with 3 input channels, 176 classes
    assert net(torch.zeros(2, 3, 224, 224)).shape == (2, 176)


def test_xavier_init_is_d2l_init_cnn() -> None:
    def widest(init: str) -> float:
        model = LeavesModule(["a", "b"], arch="resnet10t", pretrained=False, frozen_stages=0, init=init)
        convs = [m for m in model.net.modules() if isinstance(m, nn.Conv2d)]
        return max(m.weight.abs().max().item() / _xavier_bound(m) for m in convs)

    assert widest("xavier") <= 1.0 + 1e-6, "every Conv2d weight inside xavier_uniform's bound (float rounding aside)"
    assert widest("default") > 1.0, "timm's own init is another one"


def _xavier_bound(layer: nn.Conv2d | nn.Linear) -> float:
    receptive = layer.weight[0, 0].numel() if layer.weight.ndim > 2 else 1
    fan_in, fan_out = layer.weight.shape[1] * receptive, layer.weight.shape[0] * receptive
    return math.sqrt(6 / (fan_in + fan_out))


@pytest.mark.slow
def test_recipes_trains_scores_against_answers_and_resumes(tmp_path: Path, leaves_dir: Path, capsys) -> None:
    test = pd.read_csv(leaves_dir / "test.csv")
    labels = ["acer", "acer", "betula", "betula", "carpinus", "carpinus"]  # make_leaves' test order
    test.assign(label=labels).to_csv(leaves_dir / "answers.csv", index=False)
    (tmp_path / "fast.yaml").write_text("model:\n  lr: 0.01\n")
    args = [
        "[seed, " + str(tmp_path / "fast.yaml") + "]",
        f"--data.data_dir={leaves_dir}",
        "--seeds=[3]",
        f"--runs_dir={tmp_path / 'runs'}",
        f"--csv={tmp_path / 'recipes.csv'}",
        "--args=" + " ".join([*TINY, "--trainer.max_epochs=2"]),
    ]
    table = run("recipes", args)
    assert list(table["recipe"]) == ["seed", "fast"]
    assert list(table["epochs"]) == ["2", "2"] and list(table["seeds"]) == ["3", "3"]
    assert table["test_acc"].between(0, 1).all() and table["img_per_s"].gt(0).all()
    result = json.loads((tmp_path / "runs" / "leaves" / "seed" / "seed_3" / "result.json").read_text())
    submission = pd.read_csv(result["submission"])
    expected = (submission.set_index("image")["label"] == pd.Series(labels, index=test["image"])).mean()
    assert result["test_acc"] == expected, "scored on the submission predict wrote, against answers.csv"
    assert "seed" in capsys.readouterr().out

    again = run("recipes", args)  # every (recipe, seed) is done: nothing is trained again
    assert again.drop(columns=["fit_min", "cpu_min"]).equals(table.drop(columns=["fit_min", "cpu_min"]))
    assert len(pd.read_csv(tmp_path / "recipes.csv")) == 4, "each run appends its rows"


def test_the_default_augmentation_keeps_the_whole_leaf_in_one_of_the_8_symmetries() -> None:
    image = np.random.default_rng(0).integers(0, 255, (16, 16, 3), dtype=np.uint8)
    symmetries = [np.rot90(m, k) for m in (image, image.transpose(1, 0, 2)) for k in range(4)]
    seen = set()
    for _ in range(300):  # a symmetry missed in 300 draws: (7/8)^300 * 8, about 3e-17
        out = train_transform(16, "flips")(image=image)["image"].permute(1, 2, 0).numpy()
        matches = [i for i, s in enumerate(symmetries) if np.array_equal(out, s)]
        assert matches, "no crop, no rescale, no aspect change: only flips and quarter turns"
        seen.add(matches[0])
    assert len(seen) == 8
