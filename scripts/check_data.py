"""Check a data folder before training: `python scripts/check_data.py data/classify-leaves`.

Lists every unusable image (file and CSV line) and every image that will be
converted; exits with status 1 when training or prediction could not use it.
"""

import sys

from jsonargparse import CLI

from leaves.check import print_report

if __name__ == "__main__":
    sys.exit(0 if CLI(print_report) else 1)
