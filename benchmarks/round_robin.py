"""Contenders measured in alternation, the one timing discipline every benchmark here uses.

Timing A's repeats and then B's lets a neighbour's load, CPU frequency or a
warming cache land on one side only; alternating them within each repeat puts
any such drift on both, so the ratio of the medians holds on a shared machine.
Imported by the scripts in this folder (each is run from here, so the folder is
on `sys.path`); not part of the installed package.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def round_robin(contenders: dict[str, Callable[[], T]], repeats: int) -> dict[str, list[T]]:
    """Call each contender in turn, `repeats` times; each one's results in call order."""
    results: dict[str, list[T]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, measure in contenders.items():
            results[name].append(measure())
    return results
