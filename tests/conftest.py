"""Shared test fixtures: a tiny dataset in the Kaggle layout, and no network."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

#: Options that make any fit or predict tiny: a small network from scratch, 32 px, CPU, no workers, quiet.
TINY = [
    "--model.arch=resnet10t",
    "--model.pretrained=false",
    "--model.frozen_stages=0",
    "--data.image_size=32",
    "--data.batch_size=4",
    "--data.num_workers=0",
    "--trainer.accelerator=cpu",
    "--trainer.enable_progress_bar=false",
    "--trainer.enable_model_summary=false",
]

#: What Lightning and torch have printed on a fit or predict that is not about the user's run (issue 16).
NOT_ABOUT_THE_RUN = [
    "Tip: For seamless cloud logging",  # the cloud logger's advertisement
    "LeafSpec",  # torch deprecating a call inside Lightning
    "on_after_batch_transfer",
    "The dirpath has changed",  # reads like a fault
    "smaller than the logging interval",  # nothing is logged per step
    "module(s) in eval mode",  # the frozen stages' BatchNorm, on purpose
]

COLOURS = {"acer": (200, 40, 40), "betula": (40, 160, 40), "carpinus": (40, 60, 200)}


def make_leaves(root: Path, per_class: int = 6, test_per_class: int = 2, size: int = 32, seed: int = 0) -> Path:
    """A Kaggle-layout folder whose classes differ by colour, so a model learns them in a few steps."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    train, test, n = [], [], 0
    for name, colour in COLOURS.items():
        for k in range(per_class + test_per_class):
            pixels = np.clip(np.array(colour) + rng.normal(0, 25, (size, size, 3)), 0, 255).astype(np.uint8)
            path = f"images/{n}.jpg"
            Image.fromarray(pixels).save(root / path, quality=90)
            (train if k < per_class else test).append({"image": path, "label": name})
            n += 1
    pd.DataFrame(train).to_csv(root / "train.csv", index=False)
    pd.DataFrame(test)[["image"]].to_csv(root / "test.csv", index=False)
    return root


def pytest_configure(config: pytest.Config) -> None:
    """Python's own Ctrl-C handler, whoever started pytest: a background job (CI, nohup, the floors
    run) inherits SIGINT as ignored, and the tests check how a fit handles Ctrl-C."""
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def leaves_dir(tmp_path: Path) -> Path:
    return make_leaves(tmp_path / "leaves")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to reach another machine fails the test; local sockets (DDP's gloo store) still work."""
    connect = socket.socket.connect

    def local_only(sock: socket.socket, address) -> None:
        host = address[0] if isinstance(address, tuple) else address
        if sock.family in (socket.AF_INET, socket.AF_INET6) and host not in ("127.0.0.1", "::1", "localhost"):
            raise RuntimeError(f"test tried to reach the network: {address}")
        return connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", local_only)


@pytest.fixture(scope="module")
def one_thread():
    """Tiny batches are fastest on one thread, and a shared CPU is not oversubscribed
    (`pytestmark = pytest.mark.usefixtures("one_thread")` in a module that fits)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
