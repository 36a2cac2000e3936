"""What a run runs on: usable cores and a one-line description of the devices.

Throughputs are only comparable with the hardware beside them, so reports and
benchmarks print the same line.
"""

from __future__ import annotations

import os
import platform

import torch


def usable_cores() -> int:
    """Cores this process may run on (respects taskset and container limits)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def describe_hardware(device: torch.device, world_size: int = 1) -> str:
    """One line naming the devices a run used, for comparing throughputs across machines."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        memory = torch.cuda.get_device_properties(device).total_memory / 2**30
        what = f"{world_size} x {name} ({memory:.0f} GiB)" if world_size > 1 else f"{name} ({memory:.0f} GiB)"
        what += f", {usable_cores()} usable CPU cores"
    else:
        what = f"{device.type.upper()}: {platform.processor() or platform.machine()}, {usable_cores()} usable cores"
        if world_size > 1:
            what = f"{world_size} processes on {what}"
    return f"{what}; torch {torch.__version__}, {platform.node()}"


def uses_cuda(accelerator: object = "auto") -> bool:
    """Whether a Trainer given `accelerator` ("auto", "gpu", "cuda", "cpu", an Accelerator...) runs on CUDA."""
    name = str(accelerator).lower()
    if name in ("auto", "gpu", "cuda"):
        return torch.cuda.is_available()
    return "cuda" in name


def auto_precision(accelerator: object = "auto") -> str:
    """The precision `--trainer.precision auto` stands for on this machine.

    bf16-mixed where the GPU computes bf16 natively (compute capability 8.0 and
    up: A100, L4, H100, RTX 30xx+); 16-mixed on older GPUs (Kaggle's T4 and
    P100), where bf16 is emulated and slower than float32; 32-true on a CPU,
    where mixed precision rarely pays and float32 is the reference.
    """
    if not uses_cuda(accelerator):
        return "32-true"
    major, _ = torch.cuda.get_device_capability()
    return "bf16-mixed" if major >= 8 else "16-mixed"
