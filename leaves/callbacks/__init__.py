"""Side concerns of a fit, as Lightning callbacks: safe checkpoints, stopping on a NaN loss, learning
curves, throughput, the run report, a time budget, the learning-rate finder, EMA, a frozen backbone and
precise BN."""

from leaves.lazy import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "TimeBudget": "leaves.callbacks.budget",
        "AtomicCheckpointIO": "leaves.callbacks.checkpoints",
        "BestCheckpoint": "leaves.callbacks.checkpoints",
        "InterruptCheckpoint": "leaves.callbacks.checkpoints",
        "LastCheckpoint": "leaves.callbacks.checkpoints",
        "LearningCurves": "leaves.callbacks.curves",
        "EMA": "leaves.callbacks.ema",
        "StopOnNonFiniteLoss": "leaves.callbacks.finite",
        "FreezeBackbone": "leaves.callbacks.freeze",
        "FindLR": "leaves.callbacks.lr_find",
        "PreciseBN": "leaves.callbacks.precise_bn",
        "precise_bn": "leaves.callbacks.precise_bn",
        "RunReport": "leaves.callbacks.run_report",
        "Throughput": "leaves.callbacks.throughput",
    },
)
