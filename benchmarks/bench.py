"""Where the time goes: the data pipeline, fit and predict against their limits.

Every number comes from one run, on the same images and the same cores, with
the contenders measured in alternation (round-robin repeats, median reported),
so ratios stay meaningful on a machine that other jobs share. The model, the data
settings and the precision are built by the fit's own command line (`leaves fit
--config RECIPE`, not run), so the bench measures what `leaves fit` would run.
"""

from __future__ import annotations

import copy
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

import cv2
import lightning as L
import numpy as np
import torch
import torchvision
from lightning.pytorch.loggers import CSVLogger
from PIL import Image, ImageOps
from round_robin import round_robin
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms as T

from leaves.callbacks import Throughput
from leaves.data import LeavesDataModule, load_image
from leaves.inference import VIEWS, Predictor, SubmissionWriter, predict_trainer
from leaves.layout import RUNS_DIR
from leaves.models import LeavesModule
from leaves.utils.hardware import describe_hardware
from leaves.workflows import build_cli

D2L = "d2l-style (PIL, Resize, ToTensor)"


class D2lStyleDataset(Dataset):
    """The reference loader, as the d2l notes write it: PIL open, Resize, ToTensor per item."""

    def __init__(self, root: Path, names: list[str], targets: np.ndarray, image_size: int) -> None:
        self.root, self.names, self.targets = root, names, targets
        self.transform = T.Compose([T.Resize((image_size, image_size)), T.ToTensor()])

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        image = Image.open(self.root / self.names[i]).convert("RGB")
        return self.transform(image), int(self.targets[i])


def _median_rate(samples: list[float]) -> float:
    return statistics.median(samples)


# -- 0. decoders -------------------------------------------------------------------------------------------


def _decoders(size: int) -> dict[str, Callable[[Path], np.ndarray]]:
    """Ways to get an RGB uint8 array at `size` from a JPEG; each resizes with the same area filter."""

    def area(array: np.ndarray) -> np.ndarray:
        return cv2.resize(array, (size, size), interpolation=cv2.INTER_AREA)

    def pil(path: Path) -> np.ndarray:
        with Image.open(path) as img:
            return area(np.asarray(ImageOps.exif_transpose(img).convert("RGB")))

    def pil_draft(path: Path) -> np.ndarray:
        with Image.open(path) as img:
            img.draft("RGB", (size, size))
            return area(np.asarray(ImageOps.exif_transpose(img).convert("RGB")))

    def opencv(path: Path) -> np.ndarray:
        return area(cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB))

    def tv_decode_jpeg(path: Path) -> np.ndarray:
        data = torchvision.io.read_file(str(path))
        image = torchvision.io.decode_jpeg(data, mode=torchvision.io.ImageReadMode.RGB, apply_exif_orientation=True)
        return area(image.permute(1, 2, 0).numpy())

    return {
        "PIL": pil,
        "PIL + draft (DCT scaling)": pil_draft,
        "OpenCV imread": opencv,
        "torchvision decode_jpeg": tv_decode_jpeg,
        "leaves load_image (OpenCV + DCT scaling, PIL fallback)": lambda path: load_image(path, size),
    }


def bench_decoders(paths: list[Path], size: int, repeats: int) -> dict[str, Any]:
    """Single-process decode + resize to `size`, images/s; also checks all agree on the pixels."""
    decoders = _decoders(size)
    # Decoding at full size and at a DCT-scaled size are different downscalings, so each
    # decoder is compared with PIL doing the same.
    references = {
        scaled: [decoders["PIL + draft (DCT scaling)" if scaled else "PIL"](p) for p in paths[:50]]
        for scaled in (False, True)
    }
    max_diff = {
        name: int(max(np.abs(f(p).astype(np.int16) - r).max() for p, r in zip(paths[:50], references["DCT" in name])))
        for name, f in decoders.items()
    }

    def timed(decode: Callable[[Path], np.ndarray]) -> Callable[[], float]:
        def measure() -> float:
            start = time.perf_counter()
            for path in paths:
                decode(path)
            return len(paths) / (time.perf_counter() - start)

        return measure

    cv2_threads = cv2.getNumThreads()
    saved_threads = torch.get_num_threads()
    cv2.setNumThreads(0)
    torch.set_num_threads(1)
    try:
        rates = round_robin({name: timed(f) for name, f in decoders.items()}, repeats)
    finally:
        cv2.setNumThreads(cv2_threads)
        torch.set_num_threads(saved_threads)
    return {
        name: {"img_s": _median_rate(r), "samples": r, "max_abs_diff_vs_pil": max_diff[name]}
        for name, r in rates.items()
    }


# -- 1. loaders --------------------------------------------------------------------------------------------


def _epoch_rate(loader: DataLoader) -> Callable[[], float]:
    """Images/s over one pass of a persistent-worker loader (its workers started beforehand)."""

    def measure() -> float:
        start = time.perf_counter()
        n = sum(len(images) for images, _ in loader)
        return n / (time.perf_counter() - start)

    for _ in loader:  # start the workers and warm every cache once
        pass
    return measure


def bench_loaders(dm_files: LeavesDataModule, dm_cache: LeavesDataModule, repeats: int) -> dict[str, Any]:
    table = dm_files.train_table
    subset = dm_files.train_set
    names = [table["image"][i] for i in subset.indices]
    targets = subset.dataset.targets[subset.indices]
    d2l = DataLoader(
        D2lStyleDataset(dm_files.root, names, targets, dm_files.image_size),
        batch_size=dm_files.batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=dm_files.num_workers,
        persistent_workers=dm_files.num_workers > 0,
    )
    contenders = {
        D2L: _epoch_rate(d2l),
        "leaves, decoding JPEGs": _epoch_rate(dm_files.train_dataloader()),
        "leaves, cache": _epoch_rate(dm_cache.train_dataloader()),
    }
    rates = round_robin(contenders, repeats)
    return {name: {"img_s": _median_rate(r), "samples": r} for name, r in rates.items()}


# -- 2. fit ------------------------------------------------------------------------------------------------


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _autocast(precision: str, device: torch.device):
    dtype = {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}.get(str(precision))
    return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)


def _fit_rate(model: LeavesModule, dm: LeavesDataModule, precision: str, batches: int, workdir: Path) -> float:
    """Images/s of the second epoch of a real `Trainer.fit` of a copy of `model` (the first epoch starts
    workers and warms up)."""
    timer = Throughput()
    trainer = L.Trainer(
        accelerator="auto",
        devices=1,
        precision=precision,
        max_epochs=2,
        limit_train_batches=batches,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        logger=CSVLogger(workdir, name="fit"),
        callbacks=[timer],
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(copy.deepcopy(model), datamodule=dm)
    return timer.rates("train")[-1]


def _raw_step_rate(
    model: LeavesModule, batch_size: int, image_size: int, batches: int, precision: str, device: torch.device
) -> float:
    """The limit: forward, loss, backward, optimizer step on normalised tensors already on the device."""
    module = copy.deepcopy(model).to(device).train()
    class_names = module.class_names
    hp = module.hparams
    optimizer = module.create_optimizer()
    memory_format = torch.channels_last if hp.channels_last else torch.contiguous_format
    x = torch.randn(batch_size, 3, image_size, image_size, device=device).contiguous(memory_format=memory_format)
    y = torch.randint(0, len(class_names), (batch_size,), device=device)

    def step() -> None:
        with _autocast(precision, device):
            loss = module.loss(module.net(x), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    for _ in range(2):  # warm-up
        step()
    _sync(device)
    start = time.perf_counter()
    for _ in range(batches):
        step()
    _sync(device)
    return batches * batch_size / (time.perf_counter() - start)


# -- 3. predict --------------------------------------------------------------------------------------------


def _predict_rate(predictor: Predictor, dm: LeavesDataModule, precision: str, workdir: Path) -> dict[str, Any]:
    """A real `Trainer.predict` writing a submission; steady state excludes the first batch (worker start)."""
    timer = Throughput(skip_first_batch=True)
    writer = SubmissionWriter(output_dir=str(workdir / "submissions"))
    trainer = predict_trainer(precision=precision, callbacks=[timer, writer])
    trainer.predict(predictor, datamodule=dm, return_predictions=False)
    (seconds, images), (first_s, first_images) = timer.epochs["predict"][-1], timer.startup["predict"][-1]
    total_s, total_images = seconds + first_s, images + first_images
    # The Predictor folds BN into a copy of each network (--fuse_bn); module.net itself stays unfused.
    return {"img_s": images / seconds, "img_s_with_startup": total_images / total_s, "bn_folded": predictor.fuse_bn}


def _raw_inference_rate(
    module: LeavesModule, batch_size: int, image_size: int, n_images: int, precision: str, device: torch.device
) -> float:
    """The limit: the unfused network on normalised tensors already on the device, first batch excluded."""
    net = module.net.to(device).eval()
    memory_format = torch.channels_last if module.hparams.channels_last else torch.contiguous_format
    x = torch.randn(batch_size, 3, image_size, image_size, device=device).contiguous(memory_format=memory_format)
    batches = max(-(-n_images // batch_size) - 1, 1)
    with torch.inference_mode(), _autocast(precision, device):
        net(x).float().softmax(dim=1)
        _sync(device)
        start = time.perf_counter()
        for _ in range(batches):
            net(x).float().softmax(dim=1)
        _sync(device)
    return batches * batch_size / (time.perf_counter() - start)


def _bench_model(
    model: LeavesModule,
    dm_files: LeavesDataModule,
    dm_cache: LeavesDataModule,
    fit_batches: int,
    repeats: int,
    precision: str,
    device: torch.device,
    workdir: Path,
) -> dict[str, Any]:
    """Fit and predict, with and without the cache, against the raw model in round-robin."""
    size, bs = dm_files.image_size, dm_files.batch_size
    fit_dms = {"fit, decoding JPEGs": dm_files, "fit, cache": dm_cache}
    contenders: dict[str, Callable[[], float]] = {
        name: (lambda dm=dm: _fit_rate(model, dm, precision, fit_batches, workdir)) for name, dm in fit_dms.items()
    }
    contenders["raw model step"] = lambda: _raw_step_rate(model, bs, size, fit_batches, precision, device)
    rates = round_robin(contenders, repeats)
    fit = {name: {"img_s": _median_rate(r), "samples": r} for name, r in rates.items()}

    dm_cache.setup("predict")
    predict_dms = {
        "predict, decoding JPEGs": (dm_files, None),
        "predict, cache": (dm_cache, None),
        "predict, decoding JPEGs, 8 views (--config tta)": (dm_files, list(VIEWS)),
    }
    predictions: dict[str, list] = {name: [] for name in [*predict_dms, "raw inference (unfused)"]}
    for _ in range(repeats):
        for name, (dm, tta) in predict_dms.items():
            predictor = Predictor([copy.deepcopy(model)], tta=tta)
            predictions[name].append(_predict_rate(predictor, dm, precision, workdir))
        raw_module = copy.deepcopy(model)
        predictions["raw inference (unfused)"].append(
            {"img_s": _raw_inference_rate(raw_module, bs, size, len(dm_files.predict_set), precision, device)}
        )
    predict = {
        name: {
            "img_s": _median_rate([r["img_s"] for r in runs]),
            "samples": [r["img_s"] for r in runs],
            **(
                {
                    "img_s_with_startup": _median_rate([r["img_s_with_startup"] for r in runs]),
                    "bn_folded": runs[-1]["bn_folded"],
                }
                if name in predict_dms
                else {}
            ),
        }
        for name, runs in predictions.items()
    }
    return {"fit": fit, "predict": predict}


# -- the run -----------------------------------------------------------------------------------------------


def run(
    recipe: str = "default",
    data_dir: Optional[str] = None,
    image_size: Optional[int] = None,
    batch_size: Optional[int] = None,
    num_workers: Optional[int] = None,
    fit_batches: int = 15,
    repeats: int = 3,
    torch_threads: Optional[int] = None,
    only_data: bool = False,
    output: str = f"{RUNS_DIR}/bench.json",
) -> dict[str, Any]:
    """Measure decoders, loaders, fit and predict on one folder and write a JSON report.

    Args:
        recipe: a shipped preset's name or a config file, resolved as `leaves fit --config` resolves it (on
            top of default.yaml): its model, data settings and precision are measured.
        data_dir: a Kaggle-layout folder of real photos; unset means the demo data.
        image_size: overrides the config's `data.image_size`.
        batch_size: overrides the config's `data.batch_size`.
        num_workers: loader processes for every loader; unset means one per usable core.
        fit_batches: training batches per fit epoch (two epochs, the second is timed) and per raw-step run.
        repeats: round-robin repeats of each comparison (the median is reported).
        torch_threads: intra-op threads of this process for fit, raw step, predict and raw
            inference alike; unset keeps torch's default (one per core). On a CPU that
            other jobs share, 1 avoids OpenMP threads waiting on each other's time slices.
        only_data: measure decoders and loaders only (fit and predict at 224 px take long on a CPU).
        output: where the JSON report goes.
    """
    given = {"data_dir": data_dir, "num_workers": num_workers, "image_size": image_size, "batch_size": batch_size}
    options = [f"--data.{key}={value}" for key, value in given.items() if value is not None]
    # The fit's objects (precision auto resolved), not run; random weights time as ImageNet ones do, and need no hub.
    cli = build_cli(["--config", recipe, *options, "--model.pretrained=false"])
    model, precision = cli.model, str(cli.trainer.precision)
    data_cfg = {k: v for k, v in cli.datamodule.hparams.items() if not k.startswith("_")}
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if torch_threads is not None:
        torch.set_num_threads(torch_threads)
    report: dict[str, Any] = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds")}

    with tempfile.TemporaryDirectory(prefix="leaves-bench-") as tmp:
        workdir = Path(tmp)
        dm_files = LeavesDataModule(**{**data_cfg, "cache": False})
        dm_files.prepare_data()
        dm_files.setup("fit")
        dm_files.setup("predict")
        size, bs, workers = dm_files.image_size, dm_files.batch_size, dm_files.num_workers
        report["setup"] = {
            "data": str(dm_files.root),
            "train_images": len(dm_files.train_set),
            "test_images": len(dm_files.predict_set),
            "image_size": size,
            "batch_size": bs,
            "num_workers": workers,
            "arch": model.hparams.arch,
            "precision": precision,
            "device": describe_hardware(device),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
        }
        print(f"bench: {report['setup']}", flush=True)

        paths = [dm_files.root / name for name in dm_files.train_table["image"]]
        report["decode"] = bench_decoders(paths, size, repeats)

        dm_cache = LeavesDataModule(**{**data_cfg, "cache": True, "cache_dir": str(workdir / "cache")})
        start = time.perf_counter()
        dm_cache.prepare_data()
        report["cache_build_img_s"] = len(dm_files.train_table) / (time.perf_counter() - start)
        dm_cache.setup("fit")
        report["loader"] = bench_loaders(dm_files, dm_cache, repeats)

        if not only_data:
            report.update(_bench_model(model, dm_files, dm_cache, fit_batches, repeats, precision, device, workdir))

    report["ratios"] = _ratios(report)
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    Path(output).write_text(json.dumps(report, indent=2))
    print(format_report(report))
    print(f"wrote {output}")
    return report


def _ratio(section: dict[str, Any], name: str, limit: str, target: float) -> dict[str, float]:
    """Median over rounds of the ratio within each round: contenders measured back to back
    share the machine's load of the moment, which drifts between rounds."""
    per_round = [a / b for a, b in zip(section[name]["samples"], section[limit]["samples"])]
    return {"ratio": statistics.median(per_round), "per_round": per_round, "target": target}


def _ratios(report: dict[str, Any]) -> dict[str, dict[str, float]]:
    ratios = {
        f"loader, {kind} / d2l-style": _ratio(report["loader"], f"leaves, {kind}", D2L, 3.0)
        for kind in ("decoding JPEGs", "cache")
    }
    if "fit" in report:
        for kind in ("decoding JPEGs", "cache"):
            ratios[f"fit, {kind} / raw step"] = _ratio(report["fit"], f"fit, {kind}", "raw model step", 0.9)
        for kind in ("decoding JPEGs", "cache"):
            ratios[f"predict, {kind} / raw inference"] = _ratio(
                report["predict"], f"predict, {kind}", "raw inference (unfused)", 0.9
            )
    return ratios


def format_report(report: dict[str, Any]) -> str:
    """The report as Markdown tables (what the README shows)."""
    s = report["setup"]
    lines = [
        f"{s['train_images']} train / {s['test_images']} test images from {s['data']}, {s['image_size']} px, "
        f"batch {s['batch_size']}, {s['num_workers']} workers, {s['torch_threads']} torch threads, "
        f"{s['arch']}, {s['precision']}, "
        f"{s['device']}, torch {s['torch']}, {report['date']}",
        "",
        "| decoder (1 process, decode + area resize) | img/s | max abs pixel diff vs PIL at the same decode scale |",
        "| --- | ---: | ---: |",
        *(f"| {k} | {v['img_s']:.0f} | {v['max_abs_diff_vs_pil']} |" for k, v in report["decode"].items()),
        "",
        "| measurement | img/s |",
        "| --- | ---: |",
        f"| cache build (once, {s['num_workers']} processes) | {report['cache_build_img_s']:.0f} |",
        *(f"| loader: {k} | {v['img_s']:.0f} |" for k, v in report["loader"].items()),
        *(f"| {k} | {v['img_s']:.1f} |" for k, v in report.get("fit", {}).items()),
        *(
            f"| {k} (first batch excluded; {v['img_s_with_startup']:.1f} img/s including it) | {v['img_s']:.1f} |"
            if "img_s_with_startup" in v
            else f"| {k} | {v['img_s']:.1f} |"
            for k, v in report.get("predict", {}).items()
        ),
        "",
        "| ratio | measured | target | met |",
        "| --- | ---: | ---: | --- |",
        *(
            f"| {k} | {v['ratio']:.2f} | >= {v['target']} | {'yes' if v['ratio'] >= v['target'] else 'NO'} |"
            for k, v in report["ratios"].items()
        ),
    ]
    folded = report.get("predict", {}).get("predict, decoding JPEGs", {}).get("bn_folded")
    if folded is not None:
        lines.append(
            "\npredict "
            + ("folded BatchNorm into the convolutions (--fuse_bn)" if folded else "ran unfused (--fuse_bn false)")
        )
    return "\n".join(lines)


if __name__ == "__main__":
    from jsonargparse import CLI

    CLI(run, as_positional=False)
