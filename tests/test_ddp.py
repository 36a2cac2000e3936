"""Lightning DDP on two CPU processes (gloo): one split, synchronised metrics, files written once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]

# Run exactly as a user would (scripts/fit.py's main, then scripts/predict.py's), once per rank: Lightning's
# `ddp` strategy starts the second process by re-running this script. Each rank reports what it saw.
SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from leaves.workflows.cli import run_lightning

    config, data_dir = sys.argv[1], sys.argv[2]
    common = [f"--data.data_dir={data_dir}", "--data.image_size=32", "--data.num_workers=0", "--data.batch_size=4",
              "--data.val_fraction=0.34", "--model.arch=resnet10t", "--trainer.accelerator=cpu",
              "--model.pretrained=false", "--model.frozen_stages=0",
              "--trainer.strategy=ddp", "--trainer.devices=2", "--trainer.enable_progress_bar=false",
              "--trainer.enable_model_summary=false"]
    fit = run_lightning("fit", default_config=Path(config), args=[*common, "--trainer.max_epochs=2"])
    predict = run_lightning("predict", default_config=Path(config), args=common)
    rank = fit.trainer.global_rank
    Path(f"rank{rank}.json").write_text(json.dumps({
        "world_size": fit.trainer.world_size,
        "train": fit.datamodule.train_images,
        "val": fit.datamodule.val_images,
        "metrics": {k: float(v) for k, v in fit.trainer.callback_metrics.items()},
        "predicted_with": str(predict.config.predict.ckpt_path),
    }))
    """
)


@pytest.mark.slow
def test_ddp_on_two_cpu_processes_shares_the_split_and_metrics_and_writes_each_file_once(
    tmp_path: Path, leaves_dir: Path
) -> None:
    script = tmp_path / "ddp_fit.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, str(script), str(ROOT / "leaves" / "configs" / "default.yaml"), str(leaves_dir)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]

    assert all(r["world_size"] == 2 for r in ranks)
    assert ranks[0]["train"] == ranks[1]["train"] and ranks[0]["val"] == ranks[1]["val"], "one split on every rank"
    for key in ("val_acc", "val_loss", "train_loss", "train_acc"):
        assert ranks[0]["metrics"][key] == ranks[1]["metrics"][key], f"{key} synchronised across processes"

    runs = tmp_path / "runs"
    # One run folder with checkpoints, not one per rank (predict's logger adds a folder with only hparams.yaml).
    assert [p.parent.name for p in runs.glob("*/checkpoints")] == ["version_0"]
    assert sorted(p.name for p in (runs / "version_0" / "checkpoints").iterdir()) == ["best.ckpt", "last.ckpt"]
    assert (runs / "version_0" / "learning_curves.png").is_file()
    metrics = pd.read_csv(runs / "version_0" / "metrics.csv").dropna(subset=["val_acc"])
    assert metrics["val_acc"].iloc[-1] == ranks[0]["metrics"]["val_acc"]

    submissions = sorted(p.name for p in (tmp_path / "submissions").iterdir())
    assert len(submissions) == 2 and "submission.csv" in submissions, "one submission and its one timestamped copy"
    submission = pd.read_csv(tmp_path / "submissions" / "submission.csv")
    test = pd.read_csv(leaves_dir / "test.csv")
    assert submission["image"].tolist() == test["image"].tolist(), "every test row once, in order, from both ranks"
    assert ranks[0]["predicted_with"].endswith("version_0/checkpoints/best.ckpt")
