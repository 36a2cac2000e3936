"""Download and verify the competition: `python scripts/download.py [--dest data/classify-leaves]`."""

from leaves.command import command
from leaves.kaggle import download_competition

if __name__ == "__main__":
    command(download_competition)
