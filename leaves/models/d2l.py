"""The d2l course's ResNet-18, layer for layer, so the seed recipe (`--config seed`) is the network the course trains.

timm's `resnet18` differs from it in ways that matter from scratch with plain
SGD: its convolutions have no bias, its shortcut convolutions are followed by
BatchNorm, and the last BatchNorm of every block starts at zero (each block
starts as the identity). d2l's `Residual` (chapter "Residual Networks") has
biased convolutions, a bare 1x1 shortcut convolution and BatchNorm at torch's
initialisation; its stem is a biased 7x7 convolution, BatchNorm, ReLU and a
3x3 max-pool. Layers are registered convolution then its norm, so BatchNorm
folding (`leaves.models.bn_tools.fuse_bn`) finds each pair.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F


class Residual(nn.Module):
    """d2l's residual block: two biased 3x3 convolutions with norms, and a 1x1 convolution on the
    shortcut when the shape changes."""

    def __init__(self, in_channels: int, channels: int, norm: Callable[[int], nn.Module], stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, kernel_size=3, padding=1, stride=stride)
        self.bn1 = norm(channels)
        self.conv2 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.bn2 = norm(channels)
        shortcut = stride != 1 or in_channels != channels
        self.conv3 = nn.Conv2d(in_channels, channels, kernel_size=1, stride=stride) if shortcut else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        if self.conv3 is not None:
            x = self.conv3(x)
        return F.relu(y + x)


class D2LResNet18(nn.Module):
    """d2l's `resnet18` at ImageNet-style resolution: 7x7 stem, max-pool, four stages of two blocks
    (64, 128, 256, 512 channels), global average pooling and one linear layer.

    It answers the parts of timm's model interface the project uses (`pretrained_cfg`,
    `get_classifier`); its input normalisation is none, as d2l feeds `ToTensor()`'s 0-1 values.
    """

    def __init__(self, num_classes: int, norm: Callable[[int], nn.Module] = nn.BatchNorm2d, drop_rate: float = 0.0):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3),
            norm(64),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        )
        stages, channels = [], 64
        for i, width in enumerate((64, 128, 256, 512)):
            stride = 1 if i == 0 else 2
            stages.append(nn.Sequential(Residual(channels, width, norm, stride), Residual(width, width, norm)))
            channels = width
        self.stages = nn.Sequential(*stages)
        self.drop = nn.Dropout(drop_rate)
        self.fc = nn.Linear(512, num_classes)
        self.pretrained_cfg = {"architecture": "d2l_resnet18", "mean": (0.0, 0.0, 0.0), "std": (1.0, 1.0, 1.0)}

    def get_classifier(self) -> nn.Module:
        return self.fc

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(self.stem(x))
        return self.fc(self.drop(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)))


#: Architectures timm does not have, by `--model.arch` name: `f(num_classes, norm_layer, drop_rate)`.
D2L_ARCHS: dict[str, Callable[[int, Callable[[int], nn.Module], float], nn.Module]] = {
    "d2l_resnet18": D2LResNet18,
}
