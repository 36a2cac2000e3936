"""Batch normalisation written out (d2l's `batch_norm`), behaving exactly like torch's BatchNorm1d/2d.

It exists to make the textbook algorithm a verified, swappable part of the
model (`--model.norm scratch`): per-channel batch statistics in training,
moving averages in evaluation, learnable scale and shift. The state_dict keys
are torch's, so checkpoints move freely between `norm: scratch` and
`norm: batch`.
"""

from __future__ import annotations

from typing import Any, Optional

import torch
import torch.nn as nn

_LOW_PRECISION = (torch.float16, torch.bfloat16)


class BatchNorm(nn.Module):
    """BatchNorm over (N, C), (N, C, L) or (N, C, H, W) input.

    Same arguments and semantics as `torch.nn.BatchNorm1d/2d`: the batch is
    normalised with its biased variance; the running variance takes the
    unbiased one; `momentum=None` makes the running statistics a cumulative
    average over `num_batches_tracked` batches. Which statistics are used
    depends on `self.training` only (not on grad mode), as in torch.
    """

    _version = 2  # torch's: checkpoints from before num_batches_tracked load too

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: Optional[float] = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Optional[torch.dtype] = None,
    ) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = nn.Parameter(torch.ones(num_features, **factory))
            self.bias = nn.Parameter(torch.zeros(num_features, **factory))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features, **factory))
            self.register_buffer("running_var", torch.ones(num_features, **factory))
            self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            nn.init.ones_(self.weight)
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() not in (2, 3, 4) or x.shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm({self.num_features}) expects (N, C), (N, C, L) or (N, C, H, W) input with "
                f"C={self.num_features}; got shape {tuple(x.shape)}"
            )
        dims = [0, *range(2, x.dim())]  # every axis but the channel one
        shape = [1, self.num_features] + [1] * (x.dim() - 2)
        # Half-precision activations (autocast) are normalised in float32, as torch's kernels do.
        xf = x.float() if x.dtype in _LOW_PRECISION else x
        use_batch_stats = self.training or not self.track_running_stats
        if use_batch_stats:
            count = x.numel() // self.num_features
            if count == 1:  # torch refuses too, whenever it would use batch statistics
                raise ValueError(f"Expected more than 1 value per channel when training, got input size {x.shape}")
            mean = xf.mean(dim=dims)
            var = xf.var(dim=dims, unbiased=False)  # the batch is normalised with the biased variance
            if self.training and self.track_running_stats:
                self._update_running_stats(mean, var, count)
        else:
            mean, var = self.running_mean.to(xf.dtype), self.running_var.to(xf.dtype)
        y = (xf - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.to(y.dtype).view(shape) + self.bias.to(y.dtype).view(shape)
        return y.to(x.dtype)

    @torch.no_grad()
    def _update_running_stats(self, mean: torch.Tensor, var: torch.Tensor, count: int) -> None:
        self.num_batches_tracked.add_(1)
        m = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        unbiased = var * (count / (count - 1))
        self.running_mean.mul_(1 - m).add_(mean.to(self.running_mean.dtype), alpha=m)
        self.running_var.mul_(1 - m).add_(unbiased.to(self.running_var.dtype), alpha=m)

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
    ):
        # As torch: a checkpoint older than num_batches_tracked gets 0 rather than a missing-key error.
        version = local_metadata.get("version", None)
        key = prefix + "num_batches_tracked"
        if (version is None or version < 2) and self.track_running_stats and key not in state_dict:
            state_dict[key] = torch.tensor(0, dtype=torch.long)
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"track_running_stats={self.track_running_stats}"
        )
