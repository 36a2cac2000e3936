"""The house rules a newcomer relies on: layers without import cycles, short files, a small public API,
registries where a name picks an implementation."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import yaml
from conftest import make_leaves

import leaves
from leaves.configs import CONFIGS, presets
from leaves.data import AUGMENTS, train_transform
from leaves.models import NORM_LAYERS, LeavesModule, create_net

PACKAGE = Path(leaves.__file__).resolve().parent
LAYERS = (
    "errors",
    "layout",
    "lazy",
    "utils",
    "configs",
    "data",
    "models",
    "inference",
    "report",
    "callbacks",
    "kaggle",
    "workflows",
    "commands",
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Every module of the package and the package modules it imports (deferred imports too)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def test_no_module_imports_one_that_imports_it_back() -> None:
    graph = import_graph()
    cycles = []

    def visit(start: str, node: str, path: list[str]) -> None:
        for nxt in graph[node]:
            if nxt == start:
                cycles.append(" -> ".join([*path, start]))
            elif nxt not in path and nxt > start:
                visit(start, nxt, [*path, nxt])

    for module in sorted(graph):
        visit(module, module, [module])
    assert not cycles, cycles


def _layer(module: str) -> str:
    return module.split(".")[1] if "." in module else "leaves"


def test_layers_only_import_the_layers_below_them() -> None:
    """Each layer imports only the ones before it in LAYERS (the README's picture)."""
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    upward = [
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        for target in targets
        if _layer(module) in rank and _layer(target) in rank and rank[_layer(target)] > rank[_layer(module)]
    ]
    assert not upward, upward


def test_no_file_in_the_package_is_longer_than_400_lines() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > 400
    }
    assert not long, long


def test_benchmarks_are_not_part_of_the_installed_package() -> None:
    assert not any(p.name.startswith(("bench", "norm_study")) for p in PACKAGE.rglob("*.py"))


def test_the_public_api_is_importable_from_the_package() -> None:
    from leaves import BatchNorm, LeavesDataModule, LeavesModule, __version__, main, run  # noqa: F401

    assert isinstance(__version__, str) and __version__
    with pytest.raises(AttributeError):
        leaves.no_such_name  # noqa: B018


def test_importing_leaves_does_no_work() -> None:
    """`import leaves` loads neither torch nor Lightning: the names come on first use."""
    code = "import sys, leaves; print('torch' in sys.modules, 'lightning' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]


def test_a_new_norm_layer_is_one_registry_entry(monkeypatch) -> None:
    monkeypatch.setitem(NORM_LAYERS, "frozen", lambda groups: nn.Identity)
    net = create_net("resnet10t", num_classes=3, norm="frozen")
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())


def test_a_new_augmentation_preset_is_one_registry_entry(monkeypatch) -> None:
    import albumentations as A

    monkeypatch.setitem(AUGMENTS, "flips", lambda size: [A.Resize(size, size), A.HorizontalFlip(p=1.0)])
    transform = train_transform(8, "flips")
    import numpy as np

    image = np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3)
    assert (transform(image=image)["image"].permute(1, 2, 0).numpy() == image[:, ::-1]).all()


@pytest.mark.slow
@pytest.mark.parametrize(
    "script", ["bench.py", "bench_fuse.py", "bench_step.py", "norm_study.py", "checkpoint_rule.py", "d2l_reference.py"]
)
def test_the_benchmarks_still_run_from_their_folder(script: str) -> None:
    tool = PACKAGE.parent / "benchmarks" / script
    done = subprocess.run([sys.executable, str(tool), "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.slow
def test_the_step_benchmark_measures_each_variant_side_by_side(tmp_path) -> None:
    tool = PACKAGE.parent / "benchmarks" / "bench_step.py"
    out = tmp_path / "step.json"
    args = ["--recipe", "default", "--image_size", "16", "--batch_size", "2", "--steps", "1", "--repeats", "1"]
    args += ["--classes", "3"]
    args += ["--variants", "[fp32, 1-thread]", "--output", str(out)]
    done = subprocess.run([sys.executable, str(tool), *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(out.read_text())
    assert list(report["variants"]) == ["fp32", "1-thread"]
    assert all(row["img_per_s"] > 0 and row["img_per_cpu_s"] > 0 for row in report["variants"].values())
    assert "x fp32" in done.stdout


@pytest.fixture(scope="module")
def bench():
    """benchmarks/bench.py as a module (it imports round_robin from its own folder, as when run from there)."""
    folder = PACKAGE.parent / "benchmarks"
    sys.path.insert(0, str(folder))
    try:
        spec = importlib.util.spec_from_file_location("bench", folder / "bench.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(folder))
    return module


@pytest.mark.slow
@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("preset", presets())
def test_the_benchmark_measures_decode_loaders_fit_and_predict_of_every_preset(bench, preset, tmp_path) -> None:
    """bench.py's whole run (what `python benchmarks/bench.py --recipe PRESET` does), on tiny settings."""
    data = make_leaves(tmp_path / "data", per_class=3, test_per_class=1)
    out = tmp_path / "bench.json"
    report = bench.run(
        recipe=preset,
        data_dir=str(data),
        image_size=32,
        batch_size=2,
        num_workers=0,
        fit_batches=1,
        repeats=1,
        output=str(out),
    )
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    setup = report["setup"]
    model = (yaml.safe_load((CONFIGS / f"{preset}.yaml").read_text()) or {}).get("model", {})
    assert setup["arch"] == model.get("arch", inspect.signature(LeavesModule).parameters["arch"].default)
    assert (setup["image_size"], setup["batch_size"], setup["num_workers"]) == (32, 2, 0)
    resolved = {"32-true", "16-mixed", "bf16-mixed"} if torch.cuda.is_available() else {"32-true"}
    assert setup["precision"] in resolved  # precision auto resolved, as the fit resolves it
    sections = {name: report[name] for name in ("decode", "loader", "fit", "predict")}
    assert list(report["fit"]) == ["fit, decoding JPEGs", "fit, cache", "raw model step"]
    predicts = ["predict, decoding JPEGs", "predict, cache", "predict, decoding JPEGs, 8 views (--config tta)"]
    assert list(report["predict"]) == [*predicts, "raw inference (unfused)"]
    rates = [row["img_s"] for section in sections.values() for row in section.values()]
    assert all(math.isfinite(rate) and rate > 0 for rate in rates), sections
    assert all(row["max_abs_diff_vs_pil"] >= 0 for row in report["decode"].values()), report["decode"]
    assert len(report["ratios"]) == 6 and all(r["ratio"] > 0 for r in report["ratios"].values())
    assert "| fit, cache |" in bench.format_report(report)


def test_importing_the_data_layer_reaches_no_network() -> None:
    """albumentations asks PyPI for updates at import; the project's import of it must not (offline notebooks)."""
    code = (
        "import os, socket\n"
        "os.environ.pop('NO_ALBUMENTATIONS_UPDATE', None)\n"
        "tried = []\n"
        "real = socket.socket.connect\n"
        "def spy(self, address): tried.append(address); raise OSError('no network in this test')\n"
        "socket.socket.connect = spy\n"
        "import leaves.data.transforms, leaves.data.seeding\n"
        "print(tried)\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "NO_ALBUMENTATIONS_UPDATE"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, timeout=120
    )
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
