"""The d2l course's notes as they ran Classify Leaves, in their own plain PyTorch loop: the reference that
`leaves fit --config seed` must reproduce, so every "beats the d2l recipe" claim has an honest anchor.

Nothing of leaves trains here: the network is d2l's `Residual` blocks written out again (biased
convolutions, a bare 1x1 shortcut, BatchNorm at torch's initialisation), `init_cnn`'s xavier_uniform on
every Conv2d and Linear weight, `Resize((224, 224))` + `ToTensor()` with no mean/std, the first 80% of
train.csv's rows to train and the last 20% to validate, a plain `DataLoader(shuffle=True)` (the last
batch partial), `torch.optim.SGD(lr=0.02)`, batch 64, 15 epochs, and the weights of the first epoch of
the best validation accuracy predict test.csv. Only the file names and the scoring are the project's.

    OMP_NUM_THREADS=1 python benchmarks/d2l_reference.py --data_dir ../shared/data/leafsnap-lab10 --seeds "[1, 2, 42]"
    OMP_NUM_THREADS=1 leaves recipes "[seed]" --data.data_dir ../shared/data/leafsnap-lab10 --seeds "[1, 2, 42]"

Each seed's figures go to `runs_dir/<data>/d2l-notes/seed_<s>/result.json`, in the form `leaves recipes`
writes (beside its `seed/` folder when `runs_dir` is the same), and a seed with a result is not run
again. The rows are printed and appended to `csv`, the table `leaves recipes` appends to.
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F
from jsonargparse import CLI
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from leaves.inference.scoring import score_submission
from leaves.layout import (
    ANSWERS_CSV,
    RECIPE_RESULT,
    RECIPES_CSV,
    RECIPES_DIR,
    SUBMISSION_CSV,
    TEST_CSV,
    TRAIN_CSV,
    VAL_ACC,
    recipe_run_dir,
)
from leaves.report.recipes import summarise

#: The recipe's name in the table, beside `leaves recipes`' `seed`.
NAME = "d2l-notes"


class Residual(nn.Module):
    """d2l, "Residual Networks (ResNet)"."""

    def __init__(self, input_channels: int, num_channels: int, use_1x1conv: bool = False, strides: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(input_channels, num_channels, kernel_size=3, padding=1, stride=strides)
        self.conv2 = nn.Conv2d(num_channels, num_channels, kernel_size=3, padding=1)
        self.conv3 = nn.Conv2d(input_channels, num_channels, kernel_size=1, stride=strides) if use_1x1conv else None
        self.bn1 = nn.BatchNorm2d(num_channels)
        self.bn2 = nn.BatchNorm2d(num_channels)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        if self.conv3:
            X = self.conv3(X)
        return F.relu(Y + X)


def resnet_block(input_channels: int, num_channels: int, num_residuals: int, first_block: bool = False) -> list:
    blk = []
    for i in range(num_residuals):
        if i == 0 and not first_block:
            blk.append(Residual(input_channels, num_channels, use_1x1conv=True, strides=2))
        else:
            blk.append(Residual(num_channels, num_channels))
    return blk


def resnet18(num_classes: int) -> nn.Module:
    b1 = nn.Sequential(
        nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
    )
    b2 = nn.Sequential(*resnet_block(64, 64, 2, first_block=True))
    b3 = nn.Sequential(*resnet_block(64, 128, 2))
    b4 = nn.Sequential(*resnet_block(128, 256, 2))
    b5 = nn.Sequential(*resnet_block(256, 512, 2))
    return nn.Sequential(b1, b2, b3, b4, b5, nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(512, num_classes))


def init_cnn(m: nn.Module) -> None:
    if type(m) is nn.Linear or type(m) is nn.Conv2d:
        nn.init.xavier_uniform_(m.weight)


class LeavesCSV(Dataset):
    def __init__(self, root: Path, images: Sequence[str], labels: Sequence[int], transform) -> None:
        self.root, self.images, self.labels, self.transform = root, list(images), list(labels), transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        image = Image.open(self.root / self.images[i]).convert("RGB")
        return self.transform(image), self.labels[i]


def evaluate(net: nn.Module, loader: DataLoader) -> tuple[float, list[int]]:
    net.eval()
    predicted, correct = [], 0
    with torch.no_grad():
        for X, y in loader:
            p = net(X).argmax(1)
            correct += int((p == y).sum())
            predicted += p.tolist()
    return correct / len(loader.dataset), predicted


def _cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def run_seed(
    data_dir: Path,
    seed: int,
    folder: Path,
    epochs: int = 15,
    batch_size: int = 64,
    lr: float = 0.02,
    image_size: int = 224,
    num_workers: int = 0,
) -> dict:
    """One run of the notes' loop with `seed`; writes its submission into `folder` and returns its figures."""
    torch.manual_seed(seed)
    start, cpu_start = time.perf_counter(), _cpu_seconds()
    train_df = pd.read_csv(data_dir / TRAIN_CSV)
    test_df = pd.read_csv(data_dir / TEST_CSV)
    classes = sorted(set(train_df["label"]))
    labels = [classes.index(c) for c in train_df["label"]]
    n_train = int(len(train_df) * 0.8)
    trans = transforms.Compose([transforms.Resize((image_size, image_size)), transforms.ToTensor()])
    images = train_df["image"].tolist()
    train_set = LeavesCSV(data_dir, images[:n_train], labels[:n_train], trans)
    val_set = LeavesCSV(data_dir, images[n_train:], labels[n_train:], trans)
    test_set = LeavesCSV(data_dir, test_df["image"].tolist(), [0] * len(test_df), trans)
    train_iter = DataLoader(train_set, batch_size, shuffle=True, num_workers=num_workers)
    val_iter = DataLoader(val_set, batch_size, num_workers=num_workers)
    test_iter = DataLoader(test_set, batch_size, num_workers=num_workers)

    net = resnet18(len(classes))
    net.apply(init_cnn)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    loss = nn.CrossEntropyLoss()
    best_acc, best_epoch, best_state, steps, seen = -1.0, -1, None, 0, 0
    for epoch in range(epochs):
        net.train()
        for X, y in train_iter:
            optimizer.zero_grad()
            loss(net(X), y).backward()
            optimizer.step()
            steps, seen = steps + 1, seen + len(y)
        val_acc, _ = evaluate(net, val_iter)
        print(f"seed {seed} epoch {epoch}: validation accuracy {val_acc:.3f}", flush=True)
        if val_acc > best_acc:
            best_acc, best_epoch, best_state = val_acc, epoch, copy.deepcopy(net.state_dict())
    train_seconds = time.perf_counter() - start
    cpu_seconds = _cpu_seconds() - cpu_start
    net.load_state_dict(best_state)
    _, predicted = evaluate(net, test_iter)
    folder.mkdir(parents=True, exist_ok=True)
    submission = folder / SUBMISSION_CSV
    pd.DataFrame({"image": test_df["image"], "label": [classes[p] for p in predicted]}).to_csv(submission, index=False)
    answers = data_dir / ANSWERS_CSV
    return {
        "recipe": NAME,
        "config": __file__,
        "seed": seed,
        "image_size": image_size,
        "epochs": epochs,
        "steps": steps,
        "best_epoch": best_epoch,
        VAL_ACC: best_acc,
        "test_acc": score_submission(submission, answers) if answers.is_file() else None,
        "fit_minutes": train_seconds / 60,
        "fit_cpu_minutes": cpu_seconds / 60,
        "img_per_s": seen / train_seconds,
        "submission": str(submission),
    }


def main(
    data_dir: str,
    seeds: list[int] = [42],  # noqa: B006  (jsonargparse reads the default from here)
    runs_dir: str = RECIPES_DIR,
    csv: str = RECIPES_CSV,
    epochs: int = 15,
    batch_size: int = 64,
    lr: float = 0.02,
    image_size: int = 224,
    num_workers: int = 0,
) -> pd.DataFrame:
    """Run the d2l notes' loop once per seed on `data_dir`, score each on answers.csv, print the row.

    Args:
        data_dir: a folder in the competition's layout (answers.csv, if there, scores the submission).
        seeds: one run each.
        runs_dir: `runs_dir/<data>/d2l-notes/seed_<s>/` holds each run's result and submission.
        csv: the table the row is appended to ('' for none).
        epochs, batch_size, lr, image_size: the notes' settings (change them only to test this script).
        num_workers: loader processes.
    """
    root = Path(data_dir)
    results = []
    for seed in seeds:
        folder = recipe_run_dir(runs_dir, root.name, NAME, seed)
        done = folder / RECIPE_RESULT
        if not done.is_file():
            result = run_seed(root, seed, folder, epochs, batch_size, lr, image_size, num_workers)
            done.write_text(json.dumps(result, indent=1))
        results.append(json.loads(done.read_text()))
    table = pd.DataFrame([summarise(results, root.name, None)])
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    if csv:
        table.to_csv(csv, mode="a", header=not Path(csv).is_file(), index=False, float_format="%.4f")
    return table


if __name__ == "__main__":
    CLI(main, as_positional=False)
