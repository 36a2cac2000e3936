"""Side concerns of a fit, as Lightning callbacks: safe checkpoints, stopping on a NaN loss,
learning curves, throughput and the run report."""

from leaves.callbacks.budget import TimeBudget
from leaves.callbacks.checkpoints import AtomicCheckpointIO, InterruptCheckpoint
from leaves.callbacks.curves import LearningCurves
from leaves.callbacks.finite import StopOnNonFiniteLoss
from leaves.callbacks.run_report import RunReport
from leaves.callbacks.throughput import Throughput

__all__ = [
    "AtomicCheckpointIO",
    "InterruptCheckpoint",
    "LearningCurves",
    "RunReport",
    "StopOnNonFiniteLoss",
    "Throughput",
    "TimeBudget",
]
