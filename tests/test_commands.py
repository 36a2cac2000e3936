"""The `leaves` command: every subcommand behind one entry point, the same option names, and a
user's mistake answered with one error line, never a traceback."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from conftest import NOT_ABOUT_THE_RUN
from conftest import TINY as TINY_OPTIONS

from leaves.commands import COMMANDS, main, run
from leaves.configs import config_path, presets

SUBCOMMANDS = [
    "fit",
    "validate",
    "predict",
    "kfold",
    "recipes",
    "ensemble",
    "check",
    "clean",
    "report",
    "precise-bn",
    "weights",
    "download",
    "submit",
]
TINY = [*TINY_OPTIONS, "--trainer.max_epochs=1"]


def test_fit_and_predict_say_only_what_is_about_the_run(leaves_dir, tmp_path, monkeypatch, capfd, caplog, recwarn):
    """What a newcomer reads is their run: no advertisement, no foreign deprecation, nothing that reads
    like a fault (the whole scripts/ path, in other processes, is the slow tier's). Stages are frozen, as
    in the default recipe, whose BatchNorm layers are in eval mode on purpose."""
    monkeypatch.chdir(tmp_path)
    assert main(["fit", "--data.data_dir", str(leaves_dir), *TINY, "--model.frozen_stages=1"]) == 0
    assert main(["predict", "--data.data_dir", str(leaves_dir), *TINY_OPTIONS]) == 0
    printed = capfd.readouterr()
    said = "\n".join([printed.out, printed.err, caplog.text, *(str(w.message) for w in recwarn)])
    assert "Best checkpoint:" in said and "Wrote submissions/submission.csv" in said
    assert [message for message in NOT_ABOUT_THE_RUN if message in said] == []


def test_leaves_help_lists_every_subcommand(capsys) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(f"  {name} " in out for name in SUBCOMMANDS)
    assert list(COMMANDS) == SUBCOMMANDS


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_every_subcommand_has_help(name: str, capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        run(name, ["--help"])
    assert stop.value.code in (0, None)
    # Every command that reads data names the folder the same way; `weights` reads none, and names the model so.
    option = "--model.arch" if name == "weights" else "--data.data_dir"
    assert option in capsys.readouterr().out, "the same option has the same name everywhere"


@pytest.mark.slow
def test_the_installed_command_works_from_any_folder(tmp_path: Path) -> None:
    leaves = shutil.which("leaves")
    assert leaves, "pip install -e . installs the leaves command"
    done = subprocess.run([leaves, "check", "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "--data.data_dir" in done.stdout


def test_an_unknown_subcommand_or_option_is_refused_with_the_choices(capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["fitt"])
    assert "unknown command 'fitt'" in str(stop.value.code) and "fit, validate, predict" in str(stop.value.code)
    with pytest.raises(SystemExit) as stop:
        run("report", ["--data.data_dri", "x"])
    assert stop.value.code == 2


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("fit", ["--data.data_dir", "/no/such/folder"], "data_dir /no/such/folder does not exist"),
        ("predict", ["--runs_dir", "nowhere"], "no best.ckpt under nowhere/"),
        ("report", ["--ckpt_path", "missing.ckpt"], "checkpoint missing.ckpt not found"),
        ("precise-bn", ["--ckpt_path", "last", "--runs_dir", "nowhere"], "no last.ckpt under nowhere/"),
        ("ensemble", ["[missing.ckpt]"], "checkpoint(s) not found: missing.ckpt"),
        ("check", ["--data.data_dir", "/no/such/folder"], "2 problem(s) listed above"),
        ("fit", ["--budget", "soon"], "--budget 'soon': write a time such as 45m"),
        (
            "fit",
            ["--model.norm", "batch", "--model.arch", "resnet_nope"],
            "model.arch 'resnet_nope' is not a timm model",
        ),
    ],
)
def test_a_user_mistake_is_one_error_line_and_a_failing_exit(tmp_path, monkeypatch, name, args, message, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        run(name, [*(TINY if name == "fit" else []), *args])
    text = str(stop.value.code)
    assert text.startswith("error: ") and message in text


def test_config_takes_a_shipped_preset_by_name_from_any_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert {"default", "classify-leaves", "seed"} <= set(presets())
    assert Path(config_path("classify-leaves")).is_file()
    assert config_path("configs/classify-leaves.yaml") == config_path("classify-leaves"), "the old spelling works"
    (tmp_path / "mine.yaml").write_text("model:\n  lr: 0.1\n")
    assert config_path("mine.yaml") == "mine.yaml", "a file of the user's wins"


@pytest.mark.slow
def test_the_run_folder_does_not_depend_on_the_logger(tmp_path, monkeypatch, leaves_dir) -> None:
    """Without any logger, the fit still writes runs/version_N with its checkpoints and curves,
    and predict and resume find them."""
    monkeypatch.chdir(tmp_path)
    data = ["--data.data_dir", str(leaves_dir)]
    run("fit", [*TINY, *data, "--trainer.logger=false"])
    run_dir = tmp_path / "runs" / "version_0"
    assert (run_dir / "checkpoints" / "best.ckpt").is_file() and (run_dir / "learning_curves.png").is_file()
    run("fit", [*TINY, *data, "--trainer.logger=false", "--trainer.max_epochs=2", "--ckpt_path=last"])
    assert not (tmp_path / "runs" / "version_1").exists(), "resumed in its own folder"
    cli = run("predict", [*TINY, *data])
    assert cli.config.predict.ckpt_path.endswith("version_0/checkpoints/best.ckpt")
    assert len(pd.read_csv(tmp_path / "submissions" / "submission.csv")) == len(pd.read_csv(leaves_dir / "test.csv"))
