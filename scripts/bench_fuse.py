"""Inference speed with and without BatchNorm folding: `python scripts/bench_fuse.py [--arch resnet50d --image_size 224]`."""

from jsonargparse import auto_cli

from leaves.bn import benchmark_fusion

if __name__ == "__main__":
    auto_cli(benchmark_fusion)
