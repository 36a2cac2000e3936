"""Predict test.csv into submissions/submission.csv: `python scripts/predict.py [options]`, as `leaves predict`."""

import sys

from leaves.commands import run

if __name__ == "__main__":
    run("predict", sys.argv[1:])
