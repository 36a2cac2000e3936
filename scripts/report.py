"""Write a run's report.html: `python scripts/report.py [--ckpt_path runs/version_N/checkpoints/best.ckpt] [--data.data_dir ...]`."""

from leaves.command import command
from leaves.report import report

if __name__ == "__main__":
    command(report)
