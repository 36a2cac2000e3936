"""The training step on this machine, variant against variant: memory layout, torch.compile, precision, threads.

A recipe's cost on a CPU is almost all forward + backward + optimizer step, so
these are the levers worth knowing before choosing an image size or a number of
epochs. Every variant trains the model `leaves fit --config RECIPE` would build (its
loss, its optimizer) on random tensors of the recipe's batch and image size, and the
variants run in alternation (round-robin repeats, median reported), so the
ratios hold on a machine other jobs share. Both wall images/s and images per
CPU-second are printed: on a shared machine the second is the fairer cost.

    python benchmarks/bench_step.py                       # default.yaml's model, 128 px, batch 16
    python benchmarks/bench_step.py --image_size 224 --batch_size 64 --variants "[fp32, channels_last]"
"""

from __future__ import annotations

import copy
import functools
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

import torch
from jsonargparse import CLI  # CLI, not auto_cli (jsonargparse >= 4.33): the declared floor is older
from round_robin import round_robin

from leaves.models import LeavesModule
from leaves.utils.hardware import describe_hardware
from leaves.workflows.cli import build_cli

#: name -> (memory format, autocast dtype or None, compile?, threads or None for the process's own).
VARIANTS: dict[str, tuple[torch.memory_format, Optional[torch.dtype], bool, Optional[int]]] = {
    "fp32": (torch.contiguous_format, None, False, None),
    "channels_last": (torch.channels_last, None, False, None),
    "bf16-mixed": (torch.contiguous_format, torch.bfloat16, False, None),
    "compile": (torch.contiguous_format, None, True, None),
    "1-thread": (torch.contiguous_format, None, False, 1),
}


def _stepper(
    model: LeavesModule, variant: str, batch_size: int, image_size: int
) -> Callable[[int], tuple[float, float]]:
    """A function that runs `n` training steps of one variant (on its own copy of `model`), returning (wall, CPU) s."""
    memory_format, dtype, compiled, threads = VARIANTS[variant]
    module = copy.deepcopy(model).train()  # every variant starts from the same weights
    net = module.net.to(memory_format=memory_format)
    optimizer = module.create_optimizer()
    classes = len(module.class_names)
    forward = torch.compile(net) if compiled else net
    x = torch.randn(batch_size, 3, image_size, image_size).contiguous(memory_format=memory_format)
    y = torch.randint(0, classes, (batch_size,))

    def steps(n: int) -> tuple[float, float]:
        saved = torch.get_num_threads()
        torch.set_num_threads(threads or saved)
        try:
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(n):
                with torch.autocast("cpu", dtype=dtype, enabled=dtype is not None):
                    loss = module.loss(forward(x), y)
                loss.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            return time.perf_counter() - wall, time.process_time() - cpu
        finally:
            torch.set_num_threads(saved)

    return steps


def run(
    recipe: str = "default",
    image_size: Optional[int] = None,
    batch_size: Optional[int] = None,
    variants: list[str] = list(VARIANTS),  # noqa: B006  (jsonargparse shows the default)
    steps: int = 5,
    repeats: int = 3,
    classes: int = 176,
    output: str = "runs/bench_step.json",
) -> dict[str, Any]:
    """Measure the training step of each variant side by side and write a JSON report.

    Args:
        recipe: a shipped preset's name or a config file, resolved as `leaves fit --config` resolves it
            (on top of default.yaml); its model, optimizer, image size and batch size are measured. Not
            named `config`: jsonargparse owns `--config` (a file of these options) and older versions refuse both.
        image_size: overrides the recipe's.
        batch_size: overrides the recipe's.
        variants: which of fp32, channels_last, bf16-mixed, compile, 1-thread to run (fp32 is the reference).
        steps: training steps per variant per repeat (after two warm-up steps, which also compile).
        repeats: round-robin repeats; the median is reported.
        classes: outputs of the classifier (176: the competition's).
        output: where the JSON report goes.
    """
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        raise SystemExit(f"error: unknown variants {unknown}; choose from {', '.join(VARIANTS)}")
    names = ", ".join(f"class_{i}" for i in range(classes))
    with tempfile.TemporaryDirectory() as nowhere:  # random tensors, no data: the class list is given
        data = [f"--data.data_dir={nowhere}", f"--data.class_names=[{names}]"]
        cli = build_cli(["--config", recipe, *data, "--model.pretrained=false"])  # random weights time the same
    size = image_size or cli.datamodule.image_size
    batch = batch_size or cli.datamodule.batch_size
    steppers = {}
    warmup = {}
    for name in variants:
        steppers[name] = _stepper(cli.model, name, batch, size)
        warmup[name] = steppers[name](2)[0]  # the first steps (and torch.compile's compilation)
    samples = round_robin({name: functools.partial(stepper, steps) for name, stepper in steppers.items()}, repeats)
    images = steps * batch
    rows = {
        name: {
            "img_per_s": images / statistics.median(wall for wall, _ in runs),
            "img_per_cpu_s": images / statistics.median(cpu for _, cpu in runs),
            "warmup_s": warmup[name],
        }
        for name, runs in samples.items()
    }
    reference = rows.get("fp32")
    report = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "setup": {
            "arch": cli.model.hparams.arch,
            "image_size": size,
            "batch_size": batch,
            "threads": torch.get_num_threads(),
            "device": describe_hardware(torch.device("cpu")),
            "torch": torch.__version__,
        },
        "variants": rows,
    }
    print(f"bench_step: {report['setup']}")
    print(f"{'variant':<15}{'img/s':>9}{'img/CPU-s':>11}{'x fp32 (wall)':>15}{'warm-up s':>11}")
    for name, row in rows.items():
        ratio = row["img_per_s"] / reference["img_per_s"] if reference else float("nan")
        print(f"{name:<15}{row['img_per_s']:>9.1f}{row['img_per_cpu_s']:>11.1f}{ratio:>15.2f}{row['warmup_s']:>11.1f}")
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    Path(output).write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    CLI(run, as_positional=False)
