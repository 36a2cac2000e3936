"""Precise BN on a checkpoint: `python scripts/precise_bn.py runs/version_0/checkpoints/best.ckpt [--num_batches 100]`."""

from jsonargparse import auto_cli

from leaves.recalibrate import precise_bn_checkpoint

if __name__ == "__main__":
    auto_cli(precise_bn_checkpoint)
