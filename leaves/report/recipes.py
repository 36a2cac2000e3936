"""The recipe table: one row per recipe, its seeds' figures summarised (means, spreads, each seed)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any, Optional

from leaves.layout import VAL_ACC


def _spread(values: list[float]) -> tuple[Optional[float], Optional[float]]:
    if not values:
        return None, None
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summarise(results: Sequence[dict[str, Any]], data_name: str, budget: Optional[str]) -> dict[str, Any]:
    """One table row for a recipe's per-seed results (as `leaves recipes` records them): means, sample
    standard deviations and the per-seed test accuracies, so a reader sees the noise beside the mean."""
    val_mean, val_sd = _spread([r[VAL_ACC] for r in results if r[VAL_ACC] is not None])
    test_mean, test_sd = _spread([r["test_acc"] for r in results if r["test_acc"] is not None])
    rates = [r["img_per_s"] for r in results if r["img_per_s"]]
    return {
        "data": data_name,
        "recipe": results[0]["recipe"],
        "budget": budget or "recipe's epochs",
        "image_size": results[0]["image_size"],
        "epochs": "/".join(str(r["epochs"]) for r in results),
        "seeds": "/".join(str(r["seed"]) for r in results),
        VAL_ACC: val_mean,
        "val_sd": val_sd,
        "test_acc": test_mean,
        "test_sd": test_sd,
        "test_per_seed": "/".join(f"{r['test_acc']:.3f}" for r in results if r["test_acc"] is not None),
        "fit_min": statistics.fmean(r["fit_minutes"] for r in results),
        "cpu_min": statistics.fmean(r.get("fit_cpu_minutes", float("nan")) for r in results),
        "img_per_s": statistics.fmean(rates) if rates else None,
    }
