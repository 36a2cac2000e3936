"""`--trainer.precision auto` picks what the machine runs fast and says so; the GPU configs use it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from conftest import TINY
from jsonargparse import Namespace
from lightning.pytorch.plugins.precision import DoublePrecision, MixedPrecision, Precision

from leaves.utils.hardware import auto_precision
from leaves.workflows import precision as precision_module
from leaves.workflows.cli import build_cli, run_lightning
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
            args=[
                *TINY,
                "--model.pretrained=false",
                "--model.frozen_stages=0",
                f"--data.data_dir={leaves_dir}",
                "--trainer.max_epochs=1",
                "--trainer.precision=auto",
            ],
        )
    assert cli.trainer.precision == "32-true"
    assert "--trainer.precision auto: using 32-true" in caplog.text
    saved = yaml.safe_load((tmp_path / "runs/version_0/config.yaml").read_text())
    assert saved["trainer"]["precision"] == "32-true"


def _built(tmp_path: Path, leaves_dir: Path, *args: str):
    """A fit's objects (not run) on the CPU: a tiny network trained from scratch."""
    small = [*TINY, "--model.pretrained=false", "--model.frozen_stages=0", f"--data.data_dir={leaves_dir}"]
    return build_cli([*args[:2], *small, f"--runs_dir={tmp_path / 'runs'}", *args[2:]])


@pytest.mark.parametrize(
    ("value", "plugin", "dtype"),
    [
        ("32-true", Precision, torch.float32),
        ("bf16-mixed", MixedPrecision, torch.bfloat16),
        ("64-true", DoublePrecision, torch.float64),
        ("auto", Precision, torch.float32),  # on a CPU: float32
    ],
)
def test_each_precision_builds_a_trainer_that_computes_in_it(leaves_dir, tmp_path, value, plugin, dtype) -> None:
    cli = _built(tmp_path, leaves_dir, "--trainer.precision", value)
    precision = cli.trainer.precision_plugin
    assert type(precision) is plugin
    net = precision.convert_module(cli.model).net
    with precision.forward_context():
        logits = net(precision.convert_input(torch.rand(2, 3, 32, 32)))
    assert logits.dtype == dtype


@pytest.mark.parametrize("preset", ["classify-leaves", "kaggle"])
def test_the_gpu_configs_choose_precision_automatically_and_benchmark_cudnn(
    preset, leaves_dir, tmp_path, monkeypatch, caplog
) -> None:
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)  # set by the Trainer; restored after the test
    asked = []

    def on_an_a100(accelerator: str) -> str:  # the machine's choice, as a GPU with native bf16 makes it
        asked.append(accelerator)
        return "bf16-mixed"

    monkeypatch.setattr(precision_module, "auto_precision", on_an_a100)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "NVIDIA A100")
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a: (8, 0))
    with caplog.at_level("INFO"):
        cli = _built(tmp_path, leaves_dir, "--config", preset, "--data.cache=false")
    assert asked, "the preset leaves the precision to the machine"
    assert type(cli.trainer.precision_plugin) is MixedPrecision and cli.trainer.precision == "bf16-mixed"
    assert "--trainer.precision auto: using bf16-mixed (NVIDIA A100" in caplog.text
    assert torch.backends.cudnn.benchmark is True  # fixed-size images: cuDNN picks its fastest kernels once


def test_on_a_t4_the_choice_and_its_reason_are_printed(monkeypatch, caplog) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a: (7, 5))
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "Tesla T4")
    trainer = Namespace(precision="auto", accelerator="auto")
    with caplog.at_level("INFO"):
        resolve_precision(trainer)
    assert trainer.precision == "16-mixed"
    assert "using 16-mixed (Tesla T4, compute capability 7.5, has no native bf16)" in caplog.text
