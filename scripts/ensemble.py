"""Average several checkpoints into one submission: `python scripts/ensemble.py --checkpoints a.ckpt b.ckpt [--tta ...]`."""

from jsonargparse import auto_cli

from leaves.ensemble import predict_ensemble

if __name__ == "__main__":
    auto_cli(predict_ensemble)
