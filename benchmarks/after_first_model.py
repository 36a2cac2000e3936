"""After the first model: each of data cleaning, pseudo-labels, distillation and fitted ensemble weights,
measured against the same pipeline without it, on one data folder, one recipe and one seed.

Every fit is an ordinary `leaves fit` (through the fit's own CLI,
`leaves.workflows.recipes.run_one`: fit, then `leaves predict` of test.csv
with its best checkpoint), every k-fold an ordinary `leaves kfold`; each
submission is scored on the folder's answers.csv
(`leaves.inference.scoring.score_submission`), and test.csv's labels are used
for nothing else. One JSON row per technique goes to `rows.jsonl` in the
output folder, with the CPU minutes (this process and its children,
`os.times`) of the technique's own parts and of the parts it shares.

Parts, and what each costs in fits of the recipe (k = --folds, 3 by default;
a fold fit trains on (k-1)/k of train.csv):

    baseline        1 fit                       the pipeline without any technique
    kfold           k fold fits + 1 ensemble    out-of-fold probabilities (oof.csv) of the recipe, and the
                    prediction                  fold ensemble's test probabilities: the teacher of the next three
    clean           kfold + hashing + 1 fit     leaves clean on the oof.csv; drop the conflicting duplicates and
                                                the likeliest mislabels (see --clean_below, --clean_fraction);
                                                refit on the cleaned CSV: against baseline
    pseudo          kfold + 1 fit               refit with the fold ensemble's confident test images
                                                (--pseudo_threshold) as hard labels: against baseline
    distill         kfold + 1 fit               a student of the recipe on the k-fold teacher's soft targets
                                                (out-of-fold for train, ensemble for test): against baseline
    weights         kfold + k fits of           both k-fold runs as members, weights fitted on their
                    --second_recipe + 2         out-of-fold probabilities: against the same members at
                    ensemble predictions        equal weights
    tta             1 prediction                the baseline's best checkpoint predicted with the square's
                                                8 symmetries averaged (`leaves predict --config tta`):
                                                against baseline

Every other part predicts the image alone (`--tta [identity]`, for the predictions, the k-fold out-of-fold
passes and the ensembles), so each technique is measured on one view.

So the four of issue 19 cost 2k + 4 fits and 4 ensemble predictions (10 fits at k = 3); tta costs one
prediction of test.csv with 8 views.
Each part's result is kept in its folder (`result.json`): running the command
again skips finished parts and resumes an interrupted fit from its last.ckpt.
A benchmark, not a test: on the development folders it takes hours of CPU.

    python benchmarks/after_first_model.py --data_dir ../shared/data/swedish15 --seed 42 \\
        --args "--data.num_workers 1 --trainer.enable_progress_bar false"
"""

from __future__ import annotations

import json
import os
import shlex
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

import pandas as pd
import yaml
from jsonargparse import CLI

from leaves.data.table import read_table
from leaves.inference.scoring import score_submission
from leaves.layout import (
    ADDED_IMAGES_CSV,
    ANSWERS_CSV,
    BEST,
    KFOLD_DIR,
    OOF_CSV,
    RECIPE_RESULT,
    TRAIN_CSV,
    checkpoint_path,
    recipe_run_dir,
)
from leaves.utils.atomic import atomic_file, atomic_write_csv
from leaves.workflows.api import predict
from leaves.workflows.clean import clean_train, run_clean
from leaves.workflows.ensemble import run_ensemble
from leaves.workflows.kfold import run_kfold
from leaves.workflows.recipes import recipe_name, run_one

TECHNIQUES = ("clean", "pseudo", "distill", "weights", "tta")
ROWS = "rows.jsonl"
TEST_PROBS = "test_probs.csv"
#: The views every part but tta predicts with.
ONE_VIEW = ("identity",)


def _cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def part(folder: Path, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The result of one part: kept from an earlier run (its result.json), or worked out now and kept, with
    its CPU and wall minutes."""
    done = folder / RECIPE_RESULT
    if done.is_file():
        print(f"{folder}: done earlier, kept")
        return json.loads(done.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    cpu, wall = _cpu_seconds(), time.perf_counter()
    result = work()
    result.update(cpu_minutes=(_cpu_seconds() - cpu) / 60, wall_minutes=(time.perf_counter() - wall) / 60)
    with atomic_file(done, "w") as f:
        f.write(json.dumps(result, indent=1))
    return result


class Driver:
    """The parts of one (data folder, recipe, seed), in `root`."""

    def __init__(self, data_dir: str, recipe: str, seed: int, root: Path, folds: int, common: list[str]) -> None:
        self.data_dir, self.recipe, self.seed, self.root, self.folds = data_dir, recipe, seed, root, folds
        # Every part predicts the image alone (as leaves predict does by default), so the techniques are
        # measured on one view, and the tta part measures the views.
        self.common = [f"--data.data_dir={data_dir}", f"--tta={json.dumps(list(ONE_VIEW))}", *common]
        self.answers = Path(data_dir) / ANSWERS_CSV
        self.predict_options = _predict_options(common)

    def fit(self, name: str, fit_only: list[str] = (), recipe: Optional[str] = None) -> dict[str, Any]:
        """One `leaves fit` + `leaves predict` of test.csv, scored."""
        folder = self.root / name
        return part(folder, lambda: run_one(recipe or self.recipe, self.seed, self.common, list(fit_only), folder))

    def tta(self, name: str, baseline: str) -> dict[str, Any]:
        """`leaves predict` of test.csv with the baseline's best checkpoint and all 8 views averaged, scored."""
        folder = self.root / name
        ckpt = checkpoint_path(self.root / baseline, BEST)

        def work() -> dict[str, Any]:
            args = ["--config", self.recipe, *self.common, "--ckpt_path", str(ckpt), "--config", "tta"]
            done = predict([*args, "--trainer.callbacks.init_args.output_dir", str(folder / "submission")])
            return {"test_acc": self.score(done.submission), "submission": str(done.submission)}

        return part(folder, work)

    def kfold(self, name: str, recipe: str, seed: int) -> dict[str, Any]:
        """`leaves kfold` of a recipe, then its fold ensemble's prediction of test.csv (probabilities kept)."""
        folder = self.root / name

        def work() -> dict[str, Any]:
            args = ["--config", recipe, *self.common, "--seed_everything", str(seed)]
            cv = run_kfold([*args, "--data.num_folds", str(self.folds), "--runs_dir", str(folder)])
            probs = folder / TEST_PROBS
            probs.unlink(missing_ok=True)  # a prediction interrupted before its result was kept
            done = run_ensemble(
                [folder / KFOLD_DIR], save_probs=str(probs), output_dir=str(folder / "submission"),
                **self.predict_options,
            )  # fmt: skip
            return {"cv_acc": cv, "test_acc": self.score(done.submission), "submission": str(done.submission)}

        return part(folder, work)

    def score(self, submission: Path | str) -> float:
        return score_submission(submission, self.answers)


def _predict_options(common: list[str]) -> dict[str, Any]:
    """The options of `common` that an ensemble prediction takes too (workers, accelerator, views)."""
    options: dict[str, Any] = {"tta": list(ONE_VIEW)}
    for arg in common:
        key, _, value = arg.lstrip("-").partition("=")
        if key == "data.num_workers":
            options["num_workers"] = int(value)
        elif key == "trainer.accelerator":
            options["accelerator"] = value
        elif key == "tta":
            options["tta"] = yaml.safe_load(value)
    return options


def _split_equals(args: list[str]) -> list[str]:
    """`--key value` pairs as `--key=value`, so options can be read one argument at a time."""
    out, i = [], 0
    while i < len(args):
        if args[i].startswith("--") and "=" not in args[i] and i + 1 < len(args) and not args[i + 1].startswith("--"):
            out.append(f"{args[i]}={args[i + 1]}")
            i += 2
        else:
            out.append(args[i])
            i += 1
    return out


def cleaning_decisions(
    driver: Driver, oof: Path, clean_below: float, clean_fraction: float, folder: Path
) -> tuple[Path, dict[str, Any]]:
    """leaves clean on the folder and the recipe's oof.csv, and the rows to drop: both images of every
    train.csv pair with conflicting labels, and the suspects whose own label got less than `clean_below`
    out-of-fold probability while the models prefer another, at most `clean_fraction` of train.csv."""
    report = run_clean(driver.data_dir, oof=str(oof), output_dir=str(folder / "report"), suspects=None)
    train_rows = len(read_table(Path(driver.data_dir) / TRAIN_CSV, ("image", "label")))
    conflicts = report.conflicts
    conflicted = set(conflicts["image_a"]) | set(conflicts["image_b"])
    suspects = report.suspects
    chosen = suspects[(suspects["label_prob"] < clean_below) & (suspects["suggested"] != suspects["label"])]
    chosen = chosen.head(int(clean_fraction * train_rows))
    drop = sorted(conflicted | set(chosen["image"]))
    path = folder / "drop.csv"
    atomic_write_csv(pd.DataFrame({"image": drop}), path)
    return path, {
        "pairs": len(report.pairs),
        "conflicting_pairs": len(conflicts),
        "suspects_dropped": len(chosen),
        "dropped": len(drop),
        "report": str(report.page),
    }


def run(
    data_dir: str,
    recipe: str = "default",
    seed: int = 42,
    folds: int = 3,
    second_recipe: str = "seed",
    techniques: list[str] = list(TECHNIQUES),  # noqa: B006  (jsonargparse shows the default)
    pseudo_threshold: float = 0.9,
    distill_weight: float = 0.5,
    temperature: float = 2.0,
    clean_below: float = 0.05,
    clean_fraction: float = 0.02,
    output: str = "runs/after_first_model",
    args: str = "",
) -> list[dict[str, Any]]:
    """Measure each technique against the same pipeline without it; write one JSON row per technique.

    Args:
        data_dir: a data folder with train.csv, test.csv, images/ and answers.csv (the labels of test.csv).
        recipe: a shipped preset's name or a config file: the pipeline every technique is added to.
        seed: the training seed of every fit (the split seed is the recipe's).
        folds: k of the k-fold runs.
        second_recipe: the other member of the fitted-weights ensemble (a k-fold run of it, same seed).
        techniques: which of clean, pseudo, distill, weights, tta to measure (the baseline always runs).
        pseudo_threshold: the top probability a test image needs to be pseudo-labelled.
        distill_weight: the soft loss's share for the student (MixUp/CutMix are switched off for it).
        temperature: the distillation temperature.
        clean_below: drop suspects whose own label got less out-of-fold probability than this...
        clean_fraction: ... but at most this share of train.csv.
        output: results go to output/<data folder name>/<recipe>/seed_<seed>/ (one folder per part).
        args: more options for every fit and predict, as one string ("--data.num_workers 1").
    """
    unknown = sorted(set(techniques) - set(TECHNIQUES))
    if unknown:
        raise SystemExit(f"error: unknown techniques {unknown}; choose from {', '.join(TECHNIQUES)}")
    if not (Path(data_dir) / ANSWERS_CSV).is_file():
        raise SystemExit(f"error: {Path(data_dir) / ANSWERS_CSV} not found: the techniques are scored on it")
    root = recipe_run_dir(output, Path(data_dir).name, recipe_name(recipe), seed)
    d = Driver(data_dir, recipe, seed, root, folds, _split_equals(shlex.split(args)))
    base = d.fit("baseline")
    rows = [_row("baseline", d, base, None, base, [])]
    if "tta" in techniques:
        rows.append(_row("tta", d, d.tta("tta", "baseline"), "baseline", base, [base]))
    techniques = [t for t in techniques if t != "tta"]
    if not techniques:
        return _write(root, rows)
    teacher = d.kfold(f"kfold_{recipe_name(recipe)}", recipe, seed)
    rows.append(_row("kfold-ensemble", d, teacher, "baseline", base, [teacher]))
    oof = root / f"kfold_{recipe_name(recipe)}" / KFOLD_DIR / OOF_CSV
    probs = root / f"kfold_{recipe_name(recipe)}" / TEST_PROBS

    if "clean" in techniques:
        folder = root / "clean"

        def decisions() -> dict[str, Any]:
            drop, details = cleaning_decisions(d, oof, clean_below, clean_fraction, folder)
            cleaned = folder / "train-clean.csv"
            if details["dropped"] and not cleaned.is_file():
                clean_train(data_dir, write_train=str(cleaned), drop=str(drop))
            return {**details, "train_csv": str(cleaned.resolve()) if details["dropped"] else None}

        found = part(folder / "decisions", decisions)
        if found["train_csv"]:
            fitted = d.fit("clean/fit", [f"--data.train_csv={found['train_csv']}"])
        else:  # nothing to drop: the cleaned fit would be the baseline's
            fitted = {"test_acc": base["test_acc"], "cpu_minutes": 0.0}
        rows.append(_row("clean", d, {**fitted, **_only(found)}, "baseline", base, [teacher], [found]))
    if "pseudo" in techniques:
        fitted = d.fit(
            "pseudo", [f"--data.pseudo_labels={probs.resolve()}", f"--data.pseudo_threshold={pseudo_threshold}"]
        )
        details = {"pseudo_labelled": len(pd.read_csv(root / "pseudo" / ADDED_IMAGES_CSV))}
        rows.append(_row("pseudo", d, {**fitted, **details}, "baseline", base, [teacher]))
    if "distill" in techniques:
        soft = f"--data.soft_targets=[{oof.resolve()}, {probs.resolve()}]"
        student = [soft, f"--model.distill_weight={distill_weight}", f"--model.temperature={temperature}"]
        student += ["--model.mixup_alpha=0", "--model.cutmix_alpha=0"]
        rows.append(_row("distill", d, d.fit("distill", student), "baseline", base, [teacher]))
    if "weights" in techniques:
        other = d.kfold(f"kfold_{recipe_name(second_recipe)}_second", second_recipe, seed)
        members = [
            root / f"kfold_{recipe_name(r)}{s}" / KFOLD_DIR for r, s in ((recipe, ""), (second_recipe, "_second"))
        ]

        def ensembles() -> dict[str, Any]:
            folder = root / "weights"
            equal = run_ensemble(members, output_dir=str(folder / "equal"), **d.predict_options)
            fitted = run_ensemble(members, fit_weights=True, output_dir=str(folder / "fitted"), **d.predict_options)
            fit = fitted.fit
            return {
                "test_acc": d.score(fitted.submission),
                "equal_test_acc": d.score(equal.submission),
                "cv_equal": fit.equal,
                "cv_fitted": fit.fitted,
                "weights": fit.weights,
                "mcnemar_p": fit.test.p_value,
            }

        done = part(root / "weights", ensembles)
        equal = {"test_acc": done["equal_test_acc"], "cpu_minutes": 0.0}
        rows.append(_row("weights", d, done, "equal-weights ensemble", equal, [teacher, other]))
    return _write(root, rows)


def _only(found: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in found.items() if k not in ("cpu_minutes", "wall_minutes")}


def _row(
    technique: str,
    d: Driver,
    result: dict[str, Any],
    against: Optional[str],
    reference: dict[str, Any],
    shared: list[dict[str, Any]],
    own_extra: list[dict[str, Any]] = (),
) -> dict[str, Any]:
    own = result.get("cpu_minutes", 0.0) + sum(x.get("cpu_minutes", 0.0) for x in own_extra)
    keep = ("cv_acc", "cv_equal", "cv_fitted", "weights", "mcnemar_p", "pseudo_labelled", "dropped",
            "conflicting_pairs", "suspects_dropped", "pairs", "equal_test_acc")  # fmt: skip
    return {
        "technique": technique,
        "data": Path(d.data_dir).name,
        "recipe": recipe_name(d.recipe),
        "seed": d.seed,
        "test_acc": result["test_acc"],
        "against": against,
        "against_test_acc": reference["test_acc"] if against else None,
        "gain": result["test_acc"] - reference["test_acc"] if against else None,
        "cpu_minutes": own,
        "shared_cpu_minutes": sum(x.get("cpu_minutes", 0.0) for x in shared),
        **{k: result[k] for k in keep if k in result},
    }


def _write(root: Path, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """All rows of this (data, recipe, seed), one JSON object a line (rewritten: a rerun adds no duplicates)."""
    with atomic_file(root / ROWS, "w") as f:
        f.write("".join(json.dumps(row) + "\n" for row in rows))
    table = pd.DataFrame(rows)[["technique", "test_acc", "against", "gain", "cpu_minutes", "shared_cpu_minutes"]]
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print(f"Rows: {root / ROWS}")
    return rows


if __name__ == "__main__":
    CLI(run, as_positional=False)
