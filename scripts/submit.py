"""Check and submit: `python scripts/submit.py [--file submissions/submission.csv] [--message ...]`."""

from leaves.command import command
from leaves.kaggle import submit

if __name__ == "__main__":
    command(submit)
