"""Compare normalisation layers: `python scripts/norm_study.py DATA_DIR [--epochs 6 --image_size 64 ...]`."""

from jsonargparse import auto_cli

from leaves.study import run_study

if __name__ == "__main__":
    auto_cli(run_study)
