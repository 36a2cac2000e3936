"""Train: `python scripts/fit.py [--config configs/classify-leaves.yaml] [--data.data_dir ...]`."""

from pathlib import Path

from leaves.cli import main

if __name__ == "__main__":
    main("fit", default_config=Path(__file__).resolve().parents[1] / "configs" / "default.yaml")
