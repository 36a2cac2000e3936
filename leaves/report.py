"""The run report: one self-contained HTML page showing what a fit learned and where it fails.

Written into the run folder when a fit ends (`RunReport` callback) and on demand
for any checkpoint (`python scripts/report.py --ckpt_path ...`). Everything the
page shows comes from the checkpoint (weights, classes, data settings, training
throughput and hardware), the run folder (metrics.csv, config.yaml) and a fresh
pass over the validation split, so a report can be rebuilt at any time.
Figures and thumbnails are embedded as base64 PNG: the file can be mailed or
archived alone.
"""

from __future__ import annotations

import base64
import html
import io
import platform
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

import lightning as L
import numpy as np
import pandas as pd
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn
from PIL import Image, ImageOps
from torchmetrics.classification import MulticlassConfusionMatrix

from leaves.atomic import atomic_file
from leaves.data import LeavesDataModule, usable_cores
from leaves.module import LeavesModule
from leaves.runs import find_checkpoint, run_dir_of
from leaves.table import read_table


def describe_hardware(device: torch.device, world_size: int = 1) -> str:
    """One line naming the devices a run used, for comparing throughputs across machines."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        memory = torch.cuda.get_device_properties(device).total_memory / 2**30
        what = f"{world_size} x {name} ({memory:.0f} GiB)" if world_size > 1 else f"{name} ({memory:.0f} GiB)"
    else:
        what = f"{device.type.upper()}: {platform.processor() or platform.machine()}, {usable_cores()} usable cores"
        if world_size > 1:
            what = f"{world_size} processes on {what}"
    return f"{what}; torch {torch.__version__}, {platform.node()}"


class RunReport(Callback):
    """Measures training throughput during a fit and writes `report.html` into the
    run folder when it ends (rank 0 only), for the best checkpoint.

    Throughput is images per second over each training epoch, from its first
    batch to its last (data loading included, validation excluded), summed over
    devices. It and the hardware are kept in the checkpoints, so a report built
    later for any checkpoint still shows them.

    Args:
        gallery: at most this many misclassified validation images are shown.
        matrix_classes: at most this many classes in the confusion matrix.
    """

    def __init__(self, gallery: int = 48, matrix_classes: int = 12) -> None:
        self.gallery = gallery
        self.matrix_classes = matrix_classes
        self.hardware = ""
        self.throughput: list[float] = []
        self._start = 0.0
        self._last = 0.0
        self._samples = 0

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage == "fit":
            hardware = describe_hardware(trainer.strategy.root_device, trainer.world_size)
            self.hardware = f"{hardware}; precision {trainer.precision}"

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = time.perf_counter()
        self._samples = 0

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self._samples += len(batch[0])
        if batch_idx + 1 >= trainer.num_training_batches and pl_module.device.type == "cuda":
            torch.cuda.synchronize(pl_module.device)  # the epoch's work is queued, not done, until here
        self._last = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._samples and self._last > self._start and not trainer.sanity_checking:
            self.throughput.append(self._samples * trainer.world_size / (self._last - self._start))

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.global_rank != 0:
            return
        best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
        if not best:
            rank_zero_info("No best checkpoint was saved, so no run report was written")
            return
        device = pl_module.device
        try:
            path = write_report(
                best,
                datamodule=trainer.datamodule,
                accelerator=device.type if device.type in ("cuda", "mps") else "cpu",
                devices=[device.index or 0] if device.type == "cuda" else 1,
                precision=str(trainer.precision),
                training=self.state_dict(),
                gallery=self.gallery,
                matrix_classes=self.matrix_classes,
            )
        except Exception as err:  # the checkpoints are saved: a report problem must not fail the fit
            rank_zero_warn(
                f"No run report ({type(err).__name__}: {err}); retry with python scripts/report.py --ckpt_path {best}"
            )
            return
        rank_zero_info(f"Run report: {path}")

    def state_dict(self) -> dict[str, Any]:
        return {"hardware": self.hardware, "throughput": list(self.throughput)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.hardware = state_dict.get("hardware", "")
        self.throughput = list(state_dict.get("throughput", []))


@dataclass
class Evaluation:
    """Predictions of a model over the validation split."""

    probs: torch.Tensor  # (images, classes)
    targets: torch.Tensor  # (images,)
    images: list[str]  # paths relative to root
    root: Path
    class_names: list[str]
    seconds: float

    @property
    def preds(self) -> torch.Tensor:
        return self.probs.argmax(dim=1)


def evaluate(
    module: LeavesModule,
    datamodule: LeavesDataModule,
    accelerator: str = "auto",
    devices: Any = 1,
    precision: str = "32-true",
) -> Evaluation:
    """Run `module` over the validation split with a single-device Trainer (device
    placement, precision and normalisation as in training)."""
    trainer = L.Trainer(
        accelerator=accelerator, devices=devices, precision=precision, logger=False, callbacks=[],
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
    )
    start = time.perf_counter()
    outputs = trainer.predict(module, dataloaders=datamodule.val_dataloader())
    seconds = time.perf_counter() - start
    return Evaluation(
        probs=torch.cat([o["probs"] for o in outputs]).float().cpu(),
        # A labelled set yields the label where the test set yields its row.
        targets=torch.cat([o["rows"] for o in outputs]).cpu(),
        images=list(datamodule.val_images),
        root=datamodule.root,
        class_names=module.class_names,
        seconds=seconds,
    )


# ---------------------------------------------------------------- tables


def per_class_table(confmat: torch.Tensor, class_names: list[str]) -> pd.DataFrame:
    """Validation accuracy of each class, worst first, with the class it is most often mistaken for."""
    counts = confmat.sum(dim=1)
    correct = confmat.diagonal()
    off = confmat.clone()
    off.fill_diagonal_(0)
    worst_count, worst_pred = off.max(dim=1)
    table = pd.DataFrame({
        "class": class_names,
        "images": counts.tolist(),
        "correct": correct.tolist(),
        "accuracy": (correct / counts.clamp(min=1)).tolist(),
        "mistaken for": [
            f"{class_names[p]} ({n})" if n > 0 else "" for p, n in zip(worst_pred.tolist(), worst_count.tolist())
        ],
    })
    table = table[table["images"] > 0]
    return table.sort_values(["accuracy", "images", "class"], ascending=[True, False, True], kind="stable")


def confused_pairs(confmat: torch.Tensor, class_names: list[str], top: int = 15) -> pd.DataFrame:
    """The (true, predicted) pairs with the most validation mistakes, most first."""
    off = confmat.clone()
    off.fill_diagonal_(0)
    t, p = off.nonzero(as_tuple=True)
    pairs = pd.DataFrame({
        "true": [class_names[i] for i in t.tolist()],
        "predicted": [class_names[i] for i in p.tolist()],
        "images": off[t, p].tolist(),
        "share of true class": (off[t, p] / confmat.sum(dim=1)[t]).tolist(),
        "_t": t.tolist(),
        "_p": p.tolist(),
    })
    return pairs.sort_values(["images", "_t", "_p"], ascending=[False, True, True]).head(top).reset_index(drop=True)


def matrix_classes(pairs: pd.DataFrame, limit: int) -> list[int]:
    """Classes of the most confused pairs, in order of first appearance, at most `limit`."""
    chosen: list[int] = []
    for t, p in zip(pairs["_t"], pairs["_p"]):
        for c in (int(t), int(p)):
            if c not in chosen and len(chosen) < limit:
                chosen.append(c)
    return chosen


def load_history(run_dir: Path, checkpoint: dict[str, Any]) -> pd.DataFrame:
    """Per-epoch metrics (epoch 1-based): the CSV logger's metrics.csv, else the LearningCurves history."""
    csv = run_dir / "metrics.csv"
    if csv.is_file():
        raw = pd.read_csv(csv)
        if "epoch" in raw:
            # LearningRateMonitor rows carry only a step: they belong to the epoch that follows.
            raw["epoch"] = raw["epoch"].bfill().ffill()
            return raw.drop(columns=["step"], errors="ignore").groupby("epoch").last().reset_index().assign(
                epoch=lambda t: t["epoch"].astype(int) + 1)
    for key, state in checkpoint.get("callbacks", {}).items():
        if key.startswith("LearningCurves") and state.get("history"):
            return pd.DataFrame(state["history"]).assign(epoch=lambda t: t["epoch"].astype(int) + 1)
    return pd.DataFrame({"epoch": []})


# ---------------------------------------------------------------- figures


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def curves_figure(history: pd.DataFrame, best_epoch: Optional[int]) -> Optional[str]:
    """Loss, accuracy and learning rate per epoch, side by side, the best epoch marked."""
    if history.empty:
        return None
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), dpi=100)
    lr_columns = [c for c in history.columns if c.startswith("lr-")]
    panels = (
        ("loss", ["train_loss", "val_loss"]),
        ("accuracy", ["train_acc", "val_acc"]),
        ("learning rate", lr_columns[:1]),
    )
    for ax, (title, columns) in zip(axes, panels):
        for column in columns:
            if column in history and history[column].notna().any():
                points = history[["epoch", column]].dropna()
                label = "at epoch start" if column.startswith("lr-") else column.replace("_", " ")
                ax.plot(points["epoch"], points[column], marker="o", markersize=3, label=label)
        if best_epoch is not None:
            ax.axvline(best_epoch, color="grey", linestyle=":", label=f"best epoch ({best_epoch})")
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    axes[1].set_ylim(0, 1.02)
    fig.tight_layout()
    return _png(fig)


def matrix_figure(confmat: torch.Tensor, classes: list[int], class_names: list[str]) -> Optional[str]:
    """Counts among `classes` (true rows, predicted columns) plus a column for every other prediction."""
    if not classes:
        return None
    plt = _pyplot()
    index = torch.tensor(classes)
    sub = confmat[index][:, index]
    other = confmat[index].sum(dim=1) - sub.sum(dim=1)
    counts = torch.cat([sub, other[:, None]], dim=1).numpy()
    names = [class_names[c] for c in classes]
    n = len(classes)
    fig, ax = plt.subplots(figsize=(2.5 + 0.45 * (n + 1), 2 + 0.4 * n), dpi=100)
    ax.imshow(counts / counts.sum(axis=1, keepdims=True).clip(min=1), cmap="Blues", vmin=0, vmax=1)
    for (i, j), value in np.ndenumerate(counts):
        if value:
            share = value / max(counts[i].sum(), 1)
            ax.text(j, i, str(int(value)), ha="center", va="center", fontsize=9,
                    color="white" if share > 0.6 else "black")
    ax.set_xticks(range(n + 1), [*names, "any other"], rotation=45, ha="right", fontsize=9)
    ax.set_yticks(range(n), names, fontsize=9)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.tight_layout()
    return _png(fig)


def thumbnail(path: Path, size: int = 128) -> str:
    """A base64 PNG no larger than `size` pixels a side, orientation as the model saw it."""
    with Image.open(path) as img:
        img = ImageOps.exif_transpose(img).convert("RGB")
        img.thumbnail((size, size))
        buffer = io.BytesIO()
        img.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


# ---------------------------------------------------------------- HTML

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1200px;margin:24px auto;padding:0 16px;
color:#222;line-height:1.4}
h1{font-size:1.6em;margin-bottom:0}h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:36px}
.sub{color:#666;margin-top:4px}table{border-collapse:collapse;font-size:14px}
th,td{padding:3px 10px;border-bottom:1px solid #eee;text-align:left}td.num,th.num{text-align:right}
th{background:#f4f4f4}.bar{display:inline-block;height:10px;background:#4a7fb5;vertical-align:middle}
.gallery{display:flex;flex-wrap:wrap;gap:10px}.gallery figure{margin:0;width:136px;font-size:12px}
.gallery img{width:128px;height:128px;object-fit:contain;background:#eee;border:2px solid #c33}
.gallery .p{color:#c33}.gallery .t{color:#2a7a2a}pre{background:#f6f6f6;padding:10px;overflow:auto;font-size:12px}
img.fig{max-width:100%}details summary{cursor:pointer;color:#245;margin:8px 0}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _table(frame: pd.DataFrame, formats: dict[str, str]) -> str:
    head = "".join(
        f'<th class="{"num" if pd.api.types.is_numeric_dtype(frame[c]) else ""}">{_e(c)}</th>' for c in frame.columns
    )
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, record):
            if column in formats:
                cells.append(f'<td class="num">{formats[column].format(value)}</td>')
            elif isinstance(value, (int, float)):
                cells.append(f'<td class="num">{_e(value)}</td>')
            else:
                cells.append(f"<td>{_e(value)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _figure(data: Optional[str], alt: str) -> str:
    if data is None:
        return "<p>Nothing to show.</p>"
    return f'<img class="fig" alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _per_class_html(table: pd.DataFrame, shown: int = 25) -> str:
    def render(part: pd.DataFrame) -> str:
        part = part.copy()
        part["accuracy"] = [
            f'<span class="bar" style="width:{round(a * 100)}px"></span> {a:.0%}' for a in part["accuracy"]
        ]
        return _table(part, {"accuracy": "{}"})

    out = render(table.head(shown))
    if len(table) > shown:
        out += f"<details><summary>all {len(table)} classes</summary>{render(table.iloc[shown:])}</details>"
    return out


def _gallery_html(evaluation: Evaluation, limit: int) -> str:
    preds = evaluation.preds
    wrong = (preds != evaluation.targets).nonzero().flatten()
    if not len(wrong):
        return "<p>No validation image is misclassified.</p>"
    confidence = evaluation.probs[wrong, preds[wrong]]
    order = wrong[confidence.argsort(descending=True)][:limit]
    names = evaluation.class_names
    figures = []
    for i in order.tolist():
        t, p = int(evaluation.targets[i]), int(preds[i])
        image = evaluation.images[i]
        figures.append(
            f'<figure><img alt="{_e(image)}" src="data:image/png;base64,{thumbnail(evaluation.root / image)}">'
            f'<figcaption><span class="t">true: {_e(names[t])}</span> ({evaluation.probs[i, t]:.0%})<br>'
            f'<span class="p">predicted: {_e(names[p])}</span> ({evaluation.probs[i, p]:.0%})<br>'
            f"<small>{_e(image)}</small></figcaption></figure>"
        )
    note = (f"<p>{len(wrong)} of {len(preds)} validation images are misclassified; the {len(order)} the model "
            "was most confident about are shown, with the probability it gave each label.</p>")
    return note + f'<div class="gallery">{"".join(figures)}</div>'


def _dl(items: list[tuple[str, str]]) -> str:
    return "<table>" + "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in items) + "</table>"


def render_report(
    evaluation: Evaluation,
    history: pd.DataFrame,
    summary: list[tuple[str, str]],
    config_text: str,
    best_epoch: Optional[int],
    gallery: int = 48,
    matrix_limit: int = 12,
) -> str:
    """The whole page as a string; every value taken from data is escaped."""
    names = evaluation.class_names
    confmat = MulticlassConfusionMatrix(num_classes=len(names))(evaluation.preds, evaluation.targets)
    pairs = confused_pairs(confmat, names)
    chosen = matrix_classes(pairs, matrix_limit)
    accuracy = float(confmat.diagonal().sum() / confmat.sum().clamp(min=1))
    summary = [("validation accuracy (this pass)", f"{accuracy:.4f} on {len(evaluation.targets):,} images"), *summary]
    if len(pairs):
        confusions = (
            _table(pairs.drop(columns=["_t", "_p"]), {"share of true class": "{:.0%}"})
            + f"<p>Confusion matrix of the {len(chosen)} classes in these pairs (rows: true class, columns: "
            "prediction, with every other class in the last column; colour: share of the row).</p>"
            + _figure(matrix_figure(confmat, chosen, names), "confusion matrix")
        )
    else:
        confusions = "<p>No mistakes on the validation split.</p>"
    sections = [
        ("summary", "Summary", _dl(summary)),
        ("curves", "Learning curves", _figure(curves_figure(history, best_epoch), "learning curves")),
        ("per-class", "Validation accuracy per class (worst first)", _per_class_html(per_class_table(confmat, names))),
        ("confusions", "Most confused classes", confusions),
        ("gallery", "Misclassified validation images", _gallery_html(evaluation, gallery)),
        ("config", "Config", f"<pre>{_e(config_text)}</pre>"),
    ]
    body = "".join(f'<section id="{sid}"><h2>{_e(title)}</h2>{content}</section>' for sid, title, content in sections)
    title = dict(summary).get("run", "run")
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Run report: {_e(title)}</title>'
        f"<style>{STYLE}</style></head><body><h1>Run report: {_e(title)}</h1>"
        f'<p class="sub">generated {_e(datetime.now().strftime("%Y-%m-%d %H:%M"))}</p>{body}</body></html>'
    )


def _best_epoch(history: pd.DataFrame, checkpoint: dict[str, Any]) -> tuple[Optional[int], str]:
    """The epoch of the highest val_acc (the first, on ties, as ModelCheckpoint keeps it) and a line saying so."""
    if "val_acc" in history and history["val_acc"].notna().any():
        best = history.loc[history["val_acc"].idxmax()]
        return int(best["epoch"]), f"{int(best['epoch'])} (val_acc {best['val_acc']:.4f})"
    if checkpoint.get("epoch") is not None:
        return int(checkpoint["epoch"]) + 1, f"{int(checkpoint['epoch']) + 1} (no val_acc logged)"
    return None, "unknown"


def _training_state(checkpoint: dict[str, Any]) -> dict[str, Any]:
    for key, state in checkpoint.get("callbacks", {}).items():
        if key.startswith("RunReport"):
            return state
    return {}


def write_report(
    ckpt_path: str | Path,
    datamodule: Optional[LeavesDataModule] = None,
    data_overrides: Optional[dict[str, Any]] = None,
    accelerator: str = "auto",
    devices: Any = 1,
    precision: str = "32-true",
    training: Optional[dict[str, Any]] = None,
    gallery: int = 48,
    matrix_classes: int = 12,
) -> Path:
    """Evaluate a checkpoint on its run's validation split and write the report beside its run.

    The data settings (folder, split fraction and seed, image size) come from the
    checkpoint unless `datamodule` is given or `data_overrides` changes them, so
    the validation split is the one the run held out. The page is `report.html`
    for best.ckpt and `report-<name>.html` for any other checkpoint.
    """
    ckpt_path = Path(ckpt_path)
    if not ckpt_path.is_file():
        raise FileNotFoundError(f"checkpoint {ckpt_path} not found")
    checkpoint = torch.load(ckpt_path, map_location="cpu", weights_only=False, mmap=True)
    if datamodule is None:
        if "datamodule_hyper_parameters" not in checkpoint:
            raise FileNotFoundError(f"{ckpt_path} holds no data settings: it was not written by scripts/fit.py")
        datamodule = LeavesDataModule.load_from_checkpoint(ckpt_path, **(data_overrides or {}))
        datamodule.prepare_data()
        datamodule.setup("validate")
    module = LeavesModule.load_from_checkpoint(ckpt_path, map_location="cpu")
    evaluation = evaluate(module, datamodule, accelerator, devices, precision)

    run_dir = run_dir_of(ckpt_path)
    history = load_history(run_dir, checkpoint)
    training = training if training is not None else _training_state(checkpoint)
    checkpoint_epoch = int(checkpoint["epoch"]) + 1
    best_epoch, best_line = _best_epoch(history, checkpoint)
    epochs = int(history["epoch"].max()) if len(history) else checkpoint_epoch
    test_csv = datamodule.root / "test.csv"
    test_rows = f"{len(read_table(test_csv, ('image',))):,}" if test_csv.is_file() else "no test.csv"
    throughput = training.get("throughput", [])
    # The first epoch pays for warm-up (allocator, cuDNN autotuning, worker start): report the later ones.
    steady = sorted(throughput[1:] or throughput)
    parameters = sum(p.numel() for p in module.parameters()) / 1e6
    summary = [
        ("run", str(run_dir)),
        ("checkpoint", f"{ckpt_path} (end of epoch {checkpoint_epoch})"),
        ("best epoch", f"{best_line} of {epochs}"),
        ("model", f"{module.hparams.arch}, norm {module.hparams.norm}, {parameters:.1f} M parameters"),
        ("data", f"{datamodule.root}" + (" (synthetic demo data)" if datamodule.is_demo else "")),
        ("images", f"train.csv {len(datamodule.train_table):,} ({len(datamodule.train_set):,} train / "
                   f"{len(datamodule.val_set):,} validation); test.csv {test_rows}"),
        ("classes", str(len(module.class_names))),
        ("image size", f"{datamodule.image_size} px"),
        ("training throughput", f"{steady[len(steady) // 2]:,.0f} img/s (median over {len(steady)} epoch(s))"
         if steady else "not measured (add leaves.report.RunReport to the callbacks)"),
        ("training hardware", training.get("hardware") or "not recorded"),
        ("evaluation throughput", f"{len(evaluation.targets) / evaluation.seconds:,.0f} img/s for this report "
                                  f"(data loading included)"),
        ("report hardware", describe_hardware(torch.device(_device_type(accelerator)))),
    ]
    config_file = run_dir / "config.yaml"
    config_text = config_file.read_text() if config_file.is_file() else (
        f"# no {config_file}; hyperparameters in the checkpoint:\n{module.hparams}")
    page = render_report(evaluation, history, summary, config_text, best_epoch, gallery, matrix_classes)
    out = run_dir / ("report.html" if ckpt_path.stem == "best" else f"report-{ckpt_path.stem}.html")
    with atomic_file(out, "w", encoding="utf-8") as f:
        f.write(page)
    return out


def _device_type(accelerator: str) -> str:
    if accelerator == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return "cuda" if accelerator == "gpu" else accelerator


@dataclass(frozen=True)
class DataOverrides:
    """Data settings to change from the checkpoint's (say, the data moved).

    Args:
        data_dir: the competition folder, if no longer where the run read it.
        demo_dir: the demo data folder, for runs on the demo data.
        batch_size: images per evaluation batch.
        num_workers: loader processes.
    """

    data_dir: Optional[str] = None
    demo_dir: Optional[str] = None
    batch_size: Optional[int] = None
    num_workers: Optional[int] = None


def report(
    ckpt_path: str = "best",
    data: DataOverrides = DataOverrides(),
    runs_root: str = "runs",
    accelerator: str = "auto",
    precision: str = "32-true",
) -> Path:
    """Write the run report for a checkpoint into its run folder.

    Args:
        ckpt_path: a .ckpt file, or best/last: that checkpoint of the latest run under runs_root.
        data: data settings to change from the checkpoint's (--data.data_dir when the folder moved).
        runs_root: where fits write their runs.
        accelerator: cpu, gpu or auto.
        precision: e.g. 32-true, bf16-mixed.
    """
    path = Path(ckpt_path) if ckpt_path not in ("best", "last") else find_checkpoint(runs_root, ckpt_path)
    overrides = {k: v for k, v in vars(data).items() if v is not None}
    out = write_report(path, data_overrides=overrides, accelerator=accelerator, precision=precision)
    print(f"Run report: {out}")
    return out
