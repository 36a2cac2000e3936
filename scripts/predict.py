"""Predict test.csv into submissions/submission.csv: `python scripts/predict.py [--ckpt_path ...]`."""

from pathlib import Path

from leaves.cli import main

if __name__ == "__main__":
    main("predict", default_config=Path(__file__).resolve().parents[1] / "configs" / "default.yaml")
