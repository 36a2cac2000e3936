"""One source of truth: the recipe `leaves fit` trains is the classes' own defaults, every artifact name is
spelled in `leaves/layout.py` only, and the commands only parse and call the library."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest
import yaml

import leaves
from leaves import layout
from leaves.commands import COMMANDS, run
from leaves.data.datamodule import LeavesDataModule
from leaves.models.module import LeavesModule
from leaves.workflows import build_cli

PACKAGE = Path(leaves.__file__).resolve().parent
PROJECT = PACKAGE.parent


def _defaults(cls: type) -> dict:
    return {
        name: p.default
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def _same(a: object, b: object) -> bool:
    """Equal as configs compare: tuples and lists alike."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return list(a) == list(b)
    return a == b


def test_leaves_fit_trains_the_defaults_of_the_classes(capsys) -> None:
    with pytest.raises(SystemExit):
        run("fit", ["--print_config"])
    printed = yaml.safe_load(capsys.readouterr().out)
    for section, cls in (("model", LeavesModule), ("data", LeavesDataModule)):
        differ = {
            key: (printed[section][key], default)
            for key, default in _defaults(cls).items()
            if key in printed[section] and not _same(printed[section][key], default)
        }
        assert not differ, f"{section}: leaves fit's value vs the signature's: {differ}"
        assert set(_defaults(cls)) - {"class_names"} <= set(printed[section]), section


def test_a_module_and_datamodule_built_in_python_are_what_leaves_fit_builds(leaves_dir: Path) -> None:
    cli = build_cli(["--data.data_dir", str(leaves_dir)])  # the fit's objects, not run
    data = LeavesDataModule(str(leaves_dir))
    model = LeavesModule(data.class_names)
    assert {k: v for k, v in cli.datamodule.hparams.items() if not k.startswith("_")} == dict(data.hparams)
    assert {k: v for k, v in cli.model.hparams.items() if not k.startswith("_")} == dict(model.hparams)
    assert type(cli.model.net) is type(model.net)
    assert cli.model.net is not None and len(cli.model.class_names) == 3  # whole from its constructor


# ------------------------------------------------------------------------------------------ one home per name


def _names() -> list[str]:
    """The layout's names that cannot be prose: files (a dot), folders with a slash, names with an underscore."""
    values = [v for k, v in vars(layout).items() if k.isupper() and isinstance(v, str)]
    names = [v for v in values if any(c in v for c in "./_")]
    return sorted({*names, layout.checkpoint_file(layout.BEST), layout.checkpoint_file(layout.LAST)})


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def spelled_names(path: Path) -> list[str]:
    """Every string in the code of `path` (not its docstrings or comments) that spells a layout name, as
    `file:line: name`; dotted module paths (leaves.callbacks.checkpoints) are not names."""
    tree = ast.parse(path.read_text())
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or id(node) in skip:
            continue
        if re.fullmatch(r"leaves(\.\w+)+", node.value):
            continue
        for name in _names():
            if re.search(rf"(?<![\w.]){re.escape(name)}(?![\w])", node.value):
                found.append(f"{path.relative_to(PROJECT)}:{node.lineno}: {name!r}")
    return found


def test_no_artifact_name_is_spelled_outside_the_layout_module() -> None:
    files = [p for p in PACKAGE.rglob("*.py") if p.name != "layout.py"]
    files += list((PROJECT / "benchmarks").glob("*.py")) + list((PROJECT / "scripts").glob("*.py"))
    spelled = [hit for path in files for hit in spelled_names(path)]
    assert not spelled, "\n".join(spelled)


def test_the_default_config_spells_no_artifact_name() -> None:
    text = (PACKAGE / "configs" / "default.yaml").read_text()
    values = [line.split("#")[0] for line in text.splitlines()]
    hits = [v for v in values for name in [*_names(), layout.MONITOR, layout.SUBMISSIONS_DIR] if name in v]
    assert not hits, hits


def test_the_name_check_finds_a_spelled_name() -> None:
    bad = PROJECT / "benchmarks" / "_spelled.py"  # inside the project, as a real offender would be
    bad.write_text(
        '"""A docstring may say best.ckpt."""\n\nimport leaves.callbacks.checkpoints\n\nBEST = "best.ckpt"\n'
    )
    try:
        assert spelled_names(bad) == ["benchmarks/_spelled.py:5: 'best.ckpt'"]
    finally:
        bad.unlink()


# ------------------------------------------------------------------------------------------ thin commands

#: The commands package's plumbing: the table and dispatch, the one runner, the shared option groups.
PLUMBING = ("__init__.py", "runner.py", "options.py")


def test_command_modules_only_parse_and_call() -> None:
    """A command module defines its command functions and their option dataclasses, and neither loops
    nor builds anything itself: what a command does, a notebook can call from the library."""
    functions = {module.rpartition(".")[2] + ".py": set() for module, _, _ in COMMANDS.values()}
    for module, function, _ in COMMANDS.values():
        functions[module.rpartition(".")[2] + ".py"].add(function)
    problems = []
    for path in sorted((PACKAGE / "commands").glob("*.py")):
        if path.name in PLUMBING:
            continue
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name not in functions.get(path.name, set()):
                problems.append(f"{path.name}: defines {node.name}(), which is no command")
            if isinstance(node, ast.ClassDef) and not any(
                getattr(d, "id", getattr(d, "func", None) and getattr(d.func, "id", "")) == "dataclass"
                for d in node.decorator_list
            ):
                problems.append(f"{path.name}: defines class {node.name}, which is no option group")
        for node in ast.walk(tree):
            if isinstance(node, (ast.For, ast.While, ast.comprehension)):
                problems.append(f"{path.name}:{node.lineno}: a loop (library work)")
    assert not problems, problems


def test_the_commands_run_library_functions_a_notebook_can_call() -> None:
    for name in ("fit", "predict", "kfold", "recipes", "predict_ensemble", "download_competition", "submit"):
        assert callable(getattr(leaves, name)), name
