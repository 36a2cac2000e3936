"""Cross-validate: `python scripts/kfold.py --data.num_folds 5 [fit options]`; run again to resume."""

import sys
from pathlib import Path

from leaves.kfold import run_kfold

if __name__ == "__main__":
    run_kfold(sys.argv[1:], default_config=Path(__file__).resolve().parents[1] / "configs" / "default.yaml")
