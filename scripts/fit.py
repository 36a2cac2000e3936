"""Train: `python scripts/fit.py [options]`, the same as `leaves fit [options]`."""

import sys

from leaves.commands import run

if __name__ == "__main__":
    run("fit", sys.argv[1:])
