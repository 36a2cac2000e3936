"""The model layer: norm layers (a registry, and BatchNorm written out), the timm network, the
LightningModule, BatchNorm tools, fine-tuning, MixUp/CutMix, EMA and test-time views."""

from leaves.models.batchnorm import BatchNorm
from leaves.models.bn_tools import count_batchnorms, fuse_bn, recalibrate_bn, with_torch_batchnorm
from leaves.models.ema import EMA
from leaves.models.finetune import FreezeBackbone, finetune_param_groups
from leaves.models.mixing import build_mixup
from leaves.models.module import LeavesModule
from leaves.models.net import create_net, load_weights
from leaves.models.norms import NORM_LAYERS, norm_layer
from leaves.models.tta import VIEWS, check_views, tta_probs

__all__ = [
    "EMA",
    "NORM_LAYERS",
    "VIEWS",
    "BatchNorm",
    "FreezeBackbone",
    "LeavesModule",
    "build_mixup",
    "check_views",
    "count_batchnorms",
    "create_net",
    "finetune_param_groups",
    "fuse_bn",
    "load_weights",
    "norm_layer",
    "recalibrate_bn",
    "tta_probs",
    "with_torch_batchnorm",
]
