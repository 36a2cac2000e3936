"""The table of benchmarks/after_first_model.py's rows over seeds: per data folder and technique, the mean
test accuracy with each seed's, the mean gain against what the technique is measured against, and a verdict
that calls a gain smaller than the spread between seeds no gain.

The spread is the larger of the two sides' ranges over seeds (max - min test accuracy of the technique,
and of what it is measured against): a gain inside it could be the seed. With one seed there is no spread
and every verdict is "one seed".

    python benchmarks/after_first_model_table.py --output runs/after_first_model
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
from after_first_model import ROWS
from jsonargparse import CLI

from leaves.layout import recipe_run_dir


def read_rows(output: str | Path) -> pd.DataFrame:
    """Every row of every (data, recipe, seed) under `output`."""
    rows = [
        json.loads(line)
        for f in sorted(Path(output).glob(str(recipe_run_dir("", "*", "*", "*") / ROWS)))
        for line in f.open()
    ]
    if not rows:
        raise SystemExit(f"error: no {ROWS} under {output}: run benchmarks/after_first_model.py first")
    return pd.DataFrame(rows)


def verdict(gains: pd.Series, spread: float) -> str:
    """`gain` or `loss` only when every seed agrees and the mean is beyond the seeds' spread."""
    if len(gains) < 2:
        return "one seed"
    mean = gains.mean()
    if mean > spread and (gains > 0).all():
        return "gain"
    if mean < -spread and (gains < 0).all():
        return "loss"
    return "no gain"


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """One line per (data, recipe, technique), in the order the benchmark writes them."""
    out: list[dict[str, Any]] = []
    for (data, recipe, technique), g in rows.groupby(["data", "recipe", "technique"], sort=False):
        g = g.sort_values("seed")
        line = {
            "data": data,
            "recipe": recipe,
            "technique": technique,
            "seeds": ", ".join(str(s) for s in g["seed"]),
            "test_acc": g["test_acc"].mean(),
            "per_seed": " / ".join(f"{a:.3f}" for a in g["test_acc"]),
            "against": g["against"].iloc[0],
            "cpu_min": g["cpu_minutes"].mean(),
            "shared_cpu_min": g["shared_cpu_minutes"].mean(),
        }
        if g["against"].notna().all():
            spread = max(
                g["test_acc"].max() - g["test_acc"].min(), g["against_test_acc"].max() - g["against_test_acc"].min()
            )
            line.update(
                against_acc=g["against_test_acc"].mean(),
                gain=g["gain"].mean(),
                gains=" / ".join(f"{x:+.3f}" for x in g["gain"]),
                spread=spread,
                verdict=verdict(g["gain"], spread),
            )
        out.append(line)
    return pd.DataFrame(out)


def markdown(table: pd.DataFrame) -> str:
    """The table as the docs print it."""
    head = "| data | technique | seeds | test acc (per seed) | against | gain (per seed) | seeds' spread | verdict "
    lines = [head + "| CPU min (own + shared) |", "| --- " * 9 + "|"]
    for r in table.itertuples():
        has = isinstance(r.against, str)
        against = f"{r.against} {r.against_acc:.3f}" if has else ""
        gain = f"{r.gain:+.3f} ({r.gains})" if has else ""
        spread = f"{r.spread:.3f}" if has else ""
        lines.append(
            f"| {r.data} | {r.technique} | {r.seeds} | {r.test_acc:.3f} ({r.per_seed}) | {against} | {gain} | "
            f"{spread} | {r.verdict if has else ''} | {r.cpu_min:.1f} + {r.shared_cpu_min:.1f} |"
        )
    return "\n".join(lines)


def main(output: str = "runs/after_first_model") -> pd.DataFrame:
    """Print the markdown table of every row under `output` (after_first_model.py's --output)."""
    table = summarise(read_rows(output))
    print(markdown(table))
    return table


if __name__ == "__main__":
    CLI(main, as_positional=False)
