"""The model layer: norm layers (a registry, and BatchNorm written out), the networks (timm's, d2l's
ResNet-18) and their pretrained weights (hub, file, packaged sources), the training LightningModule,
precise BN, the backbone learning rate and MixUp/CutMix."""

from leaves.lazy import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "BatchNorm": "leaves.models.batchnorm",
        "count_batchnorms": "leaves.models.bn_tools",
        "recalibrate_bn": "leaves.models.bn_tools",
        "D2LResNet18": "leaves.models.d2l",
        "finetune_param_groups": "leaves.models.finetune",
        "head_of": "leaves.models.finetune",
        "INITS": "leaves.models.init",
        "init_weights": "leaves.models.init",
        "build_mixup": "leaves.models.mixing",
        "LeavesModule": "leaves.models.module",
        "load_module": "leaves.models.module",
        "check_arch": "leaves.models.net",
        "check_pretrained": "leaves.models.net",
        "create_net": "leaves.models.net",
        "load_weights": "leaves.models.net",
        "pretrained_net": "leaves.models.net",
        "save_weights": "leaves.models.net",
        "NORM_LAYERS": "leaves.models.norms",
        "norm_layer": "leaves.models.norms",
        "SOURCES": "leaves.models.sources",
        "WeightSource": "leaves.models.sources",
        "source_state_dict": "leaves.models.sources",
    },
)
