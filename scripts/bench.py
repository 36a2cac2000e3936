"""Benchmark the data path, fit and predict against their limits:
`python scripts/bench.py [--data_dir ../shared/data/swedish15] [--image_size 224]`."""

from pathlib import Path

from jsonargparse import CLI

from leaves.bench import run

if __name__ == "__main__":
    CLI(run, as_positional=False, set_defaults={"defaults": str(Path(__file__).resolve().parents[1] / "configs" / "default.yaml")})
