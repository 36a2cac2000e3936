"""`--trainer.precision auto` picks what the machine runs fast and says so; the GPU configs use it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from conftest import TINY
from jsonargparse import Namespace

from leaves.configs import CONFIGS
from leaves.utils.hardware import auto_precision
from leaves.workflows.cli import run_lightning
from leaves.workflows.precision import resolve_precision


@pytest.mark.parametrize(
    ("capability", "expected"),
    [((8, 0), "bf16-mixed"), ((9, 0), "bf16-mixed"), ((7, 5), "16-mixed"), ((6, 0), "16-mixed")],
    ids=["A100", "H100", "T4", "P100"],
)
def test_auto_is_bf16_where_the_gpu_has_it_and_fp16_on_older_gpus(monkeypatch, capability, expected) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a: capability)
    assert auto_precision("auto") == expected
    assert auto_precision("gpu") == expected
    assert auto_precision("cpu") == "32-true"  # asked for the CPU: float32 even on a GPU machine


def test_auto_is_float32_on_a_cpu(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert auto_precision("auto") == "32-true"


def test_a_fit_with_auto_precision_says_what_it_chose_and_records_it(leaves_dir, tmp_path, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)
    with caplog.at_level("INFO"):
        cli = run_lightning(
            "fit",
            args=[*TINY, f"--data.data_dir={leaves_dir}", "--trainer.max_epochs=1", "--trainer.precision=auto"],
        )
    assert cli.trainer.precision == "32-true"
    assert "--trainer.precision auto: using 32-true" in caplog.text
    saved = yaml.safe_load((tmp_path / "runs/version_0/config.yaml").read_text())
    assert saved["trainer"]["precision"] == "32-true"


@pytest.mark.parametrize("preset", ["classify-leaves", "kaggle"])
def test_the_gpu_configs_choose_precision_automatically_and_benchmark_cudnn(preset) -> None:
    trainer = yaml.safe_load(Path(CONFIGS / f"{preset}.yaml").read_text())["trainer"]
    assert trainer["precision"] == "auto"  # bf16-mixed, or 16-mixed on T4/P100
    assert trainer["benchmark"] is True  # fixed-size images: cuDNN picks its fastest kernels once


def test_on_a_t4_the_choice_and_its_reason_are_printed(monkeypatch, caplog) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a: (7, 5))
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "Tesla T4")
    trainer = Namespace(precision="auto", accelerator="auto")
    with caplog.at_level("INFO"):
        resolve_precision(trainer)
    assert trainer.precision == "16-mixed"
    assert "using 16-mixed (Tesla T4, compute capability 7.5, has no native bf16)" in caplog.text
