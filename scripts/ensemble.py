"""Average checkpoints into one submission: `python scripts/ensemble.py "[a.ckpt, b.ckpt]" [--weights ...] [--tta ...]`.

The list may also come on stdin: `ls runs/kfold/fold_*/checkpoints/best.ckpt | python scripts/ensemble.py -`.
"""

from jsonargparse import auto_cli

from leaves.ensemble import predict_ensemble

if __name__ == "__main__":
    auto_cli(predict_ensemble)
