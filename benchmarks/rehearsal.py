"""A competition-scale rehearsal: the whole path on a synthetic folder as large as Classify Leaves.

Kaggle's Classify Leaves has 176 classes, 18,353 train and 8,800 test images
(224x224 JPEG) and uneven classes (about 50 to 350 images each). Tests run on
tiny folders; this script checks that nothing breaks, slows down
quadratically or grows in memory at the real scale. It generates such a
folder once (random species from `leaves.data.demo.random_species`, class
sizes from a seeded skewed draw; a process pool), then runs each stage as
its own `leaves` process and prints its wall time and peak RSS:

    python benchmarks/rehearsal.py --root /tmp/rehearsal            # generate (once) + every stage
    python benchmarks/rehearsal.py --root /tmp/rehearsal --only generate

Stages: data check, cache build, one short fit at a small size, predict with
the self-check (and once without, to show its cost), report, a 5-fold split,
a fit of fold 0 at another size, the default recipe as a CPU user would run it on
the competition (`leaves fit --budget 45m`, then predict: `--match recipe` runs
just those two), an ensemble of the two short fits' checkpoints. Times are
the work itself (imports excluded) and with process start; peak RSS is the
stage process's and its largest child's (forked loader workers count the
parent's shared pages too).
A benchmark, not a test: it takes minutes.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from leaves.layout import ANSWERS_CSV, BEST, TEST_CSV, TRAIN_CSV, checkpoint_path

#: This checkout, so every stage runs its `leaves`, not whichever one is installed.
REPO = Path(__file__).resolve().parents[1]
CLASSES, TRAIN, TEST = 176, 18_353, 8_800
SMALLEST, LARGEST = 50, 350


def class_sizes(total: int, classes: int, seed: int, low: int = SMALLEST, high: int = LARGEST) -> np.ndarray:
    """Skewed class sizes (lognormal: most classes small, a few large) in [low, high], summing to `total`."""
    rng = np.random.default_rng(seed)
    raw = rng.lognormal(mean=0.0, sigma=0.6, size=classes)
    sizes = np.clip(np.round(low + (raw - raw.min()) / (raw.max() - raw.min()) * (high - low)), low, high)
    sizes = sizes.astype(int)
    while sizes.sum() != total:  # nudge one class at a time towards the total, within the bounds
        step = 1 if sizes.sum() < total else -1
        movable = np.flatnonzero((sizes < high) if step > 0 else (sizes > low))
        sizes[rng.choice(movable)] += step
    return sizes


@functools.lru_cache(maxsize=1)
def _species(seed: int) -> tuple:
    from leaves.data.demo import random_species

    return random_species(CLASSES, seed)


def _draw(job: tuple[int, int, int, str]) -> None:
    from leaves.data.demo import draw_leaf

    species_index, image_seed, species_seed, path = job
    species = _species(species_seed)[species_index]
    draw_leaf(species, np.random.default_rng(image_seed), 224).save(path, quality=90)


def generate(root: Path, seed: int, workers: int) -> None:
    """The folder in the Kaggle layout plus answers.csv; skipped when complete."""
    if (root / ANSWERS_CSV).is_file():
        print(f"{root}: already generated")
        return
    from leaves.data.demo import random_species

    species = random_species(CLASSES, seed)
    train_sizes = class_sizes(TRAIN, CLASSES, seed)
    # The test set follows the train distribution (as Kaggle's split does), rounded to exactly TEST rows.
    test_sizes = np.floor(train_sizes * TEST / TRAIN).astype(int)
    test_sizes[np.argsort(-(train_sizes * TEST / TRAIN - test_sizes))[: TEST - test_sizes.sum()]] += 1
    labels = np.concatenate([np.repeat(np.arange(CLASSES), train_sizes), np.repeat(np.arange(CLASSES), test_sizes)])
    is_test = np.concatenate([np.zeros(TRAIN, bool), np.ones(TEST, bool)])
    order = np.random.default_rng(seed).permutation(len(labels))
    labels, is_test = labels[order], is_test[order]
    (root / "images").mkdir(parents=True, exist_ok=True)
    names = [f"images/{i}.jpg" for i in range(len(labels))]
    jobs = [(int(k), seed * 1_000_003 + i, seed, str(root / n)) for i, (k, n) in enumerate(zip(labels, names))]
    start = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        for done, _ in enumerate(pool.map(_draw, jobs, chunksize=64), 1):
            if done % 2000 == 0:
                print(f"  {done:,}/{len(jobs):,} images, {time.perf_counter() - start:.0f} s", flush=True)
    table = pd.DataFrame({"image": names, "label": [species[k].name for k in labels]})
    table[~is_test].to_csv(root / TRAIN_CSV, index=False)
    table[is_test][["image"]].to_csv(root / TEST_CSV, index=False)
    table[is_test].to_csv(root / ANSWERS_CSV, index=False)
    print(f"generated {len(table):,} images in {time.perf_counter() - start:.0f} s ({workers} processes)")


def stages(root: Path) -> dict[str, list[str]]:
    """Each stage as `leaves` arguments (or an in-process step, `@name`), in order."""
    data, runs = root / "data", root / "runs"
    small = ["--model.arch=resnet10t", "--data.batch_size=64", "--data.cache=true", "--trainer.max_epochs=1"]
    fit = [*small, f"--data.data_dir={data}", f"--runs_dir={runs}", "--trainer.limit_train_batches=100"]
    a, b = checkpoint_path(runs / "a", BEST), checkpoint_path(runs / "b", BEST)
    return {
        f"data check ({TRAIN_CSV} + {TEST_CSV}, every image)": ["check", f"--data.data_dir={data}", "--workers=2"],
        f"cache build ({TRAIN_CSV}, 64 px)": ["@cache", str(data), "64"],
        "fit, 100 batches of 64 at 64 px + full validation": ["fit", *fit, "--data.image_size=64", "--run_name=a"],
        "predict 8,800 test images + self-check": [
            "predict",
            f"--data.data_dir={data}",
            f"--ckpt_path={a}",
            "--data.cache=true",
            "--data.batch_size=64",
        ],
        "predict again, --self_check false (what the self-check costs)": [
            "predict",
            f"--data.data_dir={data}",
            f"--ckpt_path={a}",
            "--data.cache=true",
            "--data.batch_size=64",
            "--self_check=false",
        ],
        "report (176 classes)": ["report", f"--ckpt_path={a}", "--data.batch_size=64"],
        f"5-fold split of {TRAIN_CSV}": ["@folds", str(data), "5"],
        "fit fold 0 of 5 at 48 px, 100 batches": [
            "fit",
            *fit,
            "--data.image_size=48",
            "--data.num_folds=5",
            "--data.fold=0",
            "--run_name=b",
        ],
        "recipe: leaves fit --budget 45m, the default recipe at its own size": [
            "fit",
            f"--data.data_dir={data}",
            f"--runs_dir={runs}",
            "--data.cache=true",
            "--budget=45m",
            "--run_name=recipe",
        ],
        "recipe: predict 8,800 test images + self-check": [
            "predict",
            f"--data.data_dir={data}",
            f"--ckpt_path={checkpoint_path(runs / 'recipe', BEST)}",
            "--data.cache=true",
        ],
        "ensemble of the two (64 px + 48 px) + self-checks": [
            "ensemble",
            str([str(a), str(b)]),
            f"--data.data_dir={data}",
            "--data.batch_size=64",
            f"--output_dir={root / 'sub-ensemble'}",
        ],
    }


def _in_process(step: list[str]) -> None:
    """The stages that are not a `leaves` command."""
    name, data = step[0], Path(step[1])
    if name == "@cache":
        from leaves.data.datamodule import LeavesDataModule

        LeavesDataModule(data_dir=str(data), image_size=int(step[2]), cache=True, num_workers=2).prepare_data()
    elif name == "@folds":
        from leaves.data.splits import fold_split

        labels = pd.read_csv(data / TRAIN_CSV)["label"]
        for fold in range(int(step[2])):
            fold_split(labels, int(step[2]), fold, 42)


def run_stage(step: list[str]) -> None:
    """Run one stage in this process, then print its peak memory (this process, and its children) as JSON."""
    from leaves.commands import run  # imported before the clock starts: the table times the work, not imports

    start = time.perf_counter()
    if step[0].startswith("@"):
        _in_process(step)
    else:
        run(step[0], step[1:])
    seconds = time.perf_counter() - start
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        "RSS "
        + json.dumps({"seconds": seconds, "self_mib": own.ru_maxrss / 1024, "children_mib": children.ru_maxrss / 1024})
    )


def run_stages(root: Path, match: str = "") -> None:
    """Every stage (whose name contains `match`) in its own process, so peak memory is per stage;
    a table of wall time and peak RSS."""
    rows = []
    for name, step in stages(root).items():
        if match not in name:
            continue
        start = time.perf_counter()
        log = root / "logs" / (name.split(" ")[0] + f"-{len(rows)}.log")
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "w") as out:
            done = subprocess.run(
                [sys.executable, __file__, "--root", str(root), "--stage", json.dumps(step)],
                cwd=root,
                env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])},
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
        seconds = time.perf_counter() - start
        rss = [json.loads(line[4:]) for line in log.read_text().splitlines() if line.startswith("RSS {")]
        memory = f"{rss[-1]['self_mib']:,.0f} / {rss[-1]['children_mib']:,.0f}" if rss else "n/a"
        work = f"{rss[-1]['seconds']:,.1f}" if rss else "n/a"
        status = "ok" if done.returncode == 0 else f"exit {done.returncode} (see {log})"
        rows.append((name, work, f"{seconds:,.1f}", memory, status))
        print(f"{name}: {work} s of work, {seconds:.1f} s with start-up, peak RSS {memory} MiB, {status}", flush=True)
    print(
        "\n| stage | time (s) | with process start (s) | peak RSS, process / largest child (MiB) | status |\n"
        "|---|---:|---:|---:|---|"
    )
    for row in rows:
        print("| " + " | ".join(row) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path("/tmp/rehearsal"), help="data and runs go here")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes drawing images")
    parser.add_argument("--only", choices=["generate", "stages"], help="one part only (default: both)")
    parser.add_argument("--match", default="", help="only the stages whose name contains this text")
    parser.add_argument("--stage", help=argparse.SUPPRESS)  # internal: run one stage (JSON list) in this process
    args = parser.parse_args()
    if args.stage:
        run_stage(json.loads(args.stage))
        return
    if args.only in (None, "generate"):
        generate(args.root / "data", args.seed, args.workers)
    if args.only in (None, "stages"):
        run_stages(args.root, args.match)


if __name__ == "__main__":
    main()
