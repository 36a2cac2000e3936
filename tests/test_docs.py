"""The README and docs/ name only what exists: files, links, commands, options, modules and presets.

Every page is read as a reader would use it: a path is opened, a link followed, a `leaves ...` line run,
a `leaves.x.y` name imported, a `--config NAME` applied. The options of each command come from its own
parser (its `--help`, built in this process; nothing is trained), so a renamed option fails here first.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib
import io
import re
import shlex
from pathlib import Path

import pytest

from leaves.commands import COMMANDS, run
from leaves.configs import presets

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
#: Top-level folders whose paths the pages name, relative to the repository root.
ROOTS = ("leaves", "tests", "benchmarks", "tools", "scripts", "docs", "notebooks")
PATH = re.compile(rf"(?<![\w/.<-])((?:{'|'.join(ROOTS)})/[\w.*/-]*)")
MODULE = re.compile(r"(?<![\w./-])leaves(?:\.[A-Za-z_]\w*)+")
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```(\w*)\s*$")
SPAN = re.compile(r"(?<!`)`([^`]+)`(?!`)")
OPTION = re.compile(r"^--[a-z_][\w.-]*")
SHELL_SPLIT = re.compile(r"\s(?:&&|\|\||\||;)\s")
#: The scripts that run as a leaves command.
SCRIPTS = {"scripts/fit.py": "fit", "scripts/predict.py": "predict"}


def page_id(path: Path) -> str:
    return str(path.relative_to(REPO))


def read(path: Path) -> tuple[str, list[tuple[str, str]]]:
    """A page's prose (fences removed) and its fenced lines, each with its fence's language; a line ending
    in a backslash is joined with the next, as the shell would."""
    prose, fenced, language = [], [], None
    for line in path.read_text().splitlines():
        fence = FENCE.match(line.strip())
        if fence:
            language = None if language is not None else fence.group(1)
            continue
        (prose if language is None else fenced).append((language, line))
    joined: list[tuple[str, str]] = []
    for language, line in fenced:
        if joined and joined[-1][1].endswith("\\") and joined[-1][0] == language:
            joined[-1] = (language, joined[-1][1][:-1] + " " + line.strip())
        else:
            joined.append((language, line))
    return "\n".join(line for _, line in prose), joined


def code(path: Path) -> list[tuple[str, str]]:
    """Every piece of code on a page: inline spans (as `inline`) and fenced lines (with their language)."""
    prose, fenced = read(path)
    spans = [("inline", " ".join(span.split())) for span in SPAN.findall(prose)]
    return spans + fenced


def shell_segments(path: Path) -> list[list[str]]:
    """The shell commands on a page, as argument lists: inline spans and fenced lines that are not
    Python, split at `&&`, `|` and `;`, comments dropped, a notebook's `!` and variable assignments
    in front stripped."""
    segments = []
    for language, text in code(path):
        if language in ("python", "yaml"):
            continue
        for part in SHELL_SPLIT.split(text.replace("\\|", "|")):
            try:
                words = shlex.split(part.strip().lstrip("!"), comments=True)
            except ValueError:  # an unbalanced quote in a fragment of prose
                words = part.split()
            while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
                words = words[1:]
            if words and words[0] == "srun":
                words = words[1:]
            if words:
                segments.append(words)
    return segments


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    prose, _ = read(path)
    return {slug(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", prose, re.M)}


@functools.cache
def accepted(command: str) -> frozenset[str]:
    """The options `leaves <command>` accepts, read from its own --help."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        run(command, ["--help"])
    return frozenset(re.findall(r"--[a-z_][\w.-]*", out.getvalue())) | {"--help"}


@functools.cache
def script_options(script: str) -> frozenset[str]:
    """The options of a benchmark or tool, read from its source: the parameters of the function jsonargparse
    runs (`CLI(function)`), argparse's `add_argument("--x")` or a shell script's `case` patterns."""
    source = (REPO / script).read_text()
    if script.endswith(".sh"):
        return frozenset(re.findall(r"^\s+(--[\w-]+)(?:\|[-\w|]+)?\)", source, re.M)) | {"--help"}
    names = set(re.findall(r"add_argument\(\s*\"(--[\w-]+)\"", source))
    tree = ast.parse(source)
    runs = {
        node.args[0].id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "CLI" and node.args
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name in runs:
            names |= {f"--{a.arg}" for a in node.args.args + node.args.kwonlyargs}
    return frozenset(names) | {"--help", "--config", "--print_config"}


def options_of(words: list[str]) -> list[str]:
    """The option names in an argument list (`--a.b x`, `--a.b=x`; a group `--model.*` as `--model`)."""
    return [m.group(0).rstrip(".") for w in words if (m := OPTION.match(w)) and " " not in w]


def passed_on(words: list[str]) -> list[str]:
    """The options inside `--args '...'`, which `leaves recipes` passes to every fit and predict."""
    return [o for i, w in enumerate(words[1:], 1) if words[i - 1] == "--args" for o in options_of(shlex.split(w))]


def unknown(options: list[str], known: frozenset[str]) -> list[str]:
    """Options not in `known`; `--a.b.c` counts as known when `--a.b` is (a class's own init arguments,
    e.g. `--trainer.logger.project` after `--trainer.logger CLASS`)."""
    bad = []
    for option in options:
        parts = option.split(".")
        prefixes = {".".join(parts[:n]) for n in range(2, len(parts))}
        if option not in known and not prefixes & known:
            bad.append(option)
    return bad


def commands_named() -> list[tuple[str, str, list[str]]]:
    """(page, what runs, its options) for every command line on every page: `leaves CMD`, the scripts that
    alias one, the benchmarks and tools, and bare option lists (`--data.data_dir DIR ...`)."""
    found = []
    for page in PAGES:
        for words in shell_segments(page):
            head = words[0]
            if head == "torchrun":
                at = next((i for i, w in enumerate(words) if w in SCRIPTS), None)
                if at is not None:
                    found.append((page_id(page), SCRIPTS[words[at]], options_of(words[at + 1 :])))
            elif head == "leaves" and len(words) > 1 and not words[1].startswith("-") and not words[1].isupper():
                found.append((page_id(page), words[1], options_of(words[2:])))
                if passed_on(words):
                    found.append((page_id(page), "fit", passed_on(words)))
            elif head == "python" and len(words) > 1 and words[1].endswith(".py"):
                found.append((page_id(page), SCRIPTS.get(words[1], words[1]), options_of(words[2:])))
            elif head.startswith("tools/") and head.endswith(".sh"):
                found.append((page_id(page), head, options_of(words[1:])))
            elif OPTION.match(head):
                found.append((page_id(page), "any command", options_of(words)))
    return found


def test_every_path_and_link_exists() -> None:
    missing = []
    for page in PAGES:
        text = page.read_text()
        for path in {m.rstrip(".,:;") for m in PATH.findall(text)}:
            if re.search(r"\b[A-Z]{2,}\b", path):
                continue  # a placeholder: leaves/configs/NAME.yaml
            exists = any(REPO.glob(path)) if "*" in path else (REPO / path).exists()
            if not exists:
                missing.append(f"{page_id(page)}: {path}")
        prose, _ = read(page)
        for target in LINK.findall(prose):
            if re.match(r"[a-z]+:", target):
                continue
            file, _, anchor = target.partition("#")
            where = (page.parent / file).resolve() if file else page
            if not where.exists():
                missing.append(f"{page_id(page)}: link {target}")
            elif anchor and where.suffix == ".md" and anchor not in anchors(where):
                missing.append(f"{page_id(page)}: link {target} (no such heading)")
    assert not missing, missing


def test_every_leaves_command_named_exists() -> None:
    named = {(page, what) for page, what, _ in commands_named() if "/" not in what and what != "any command"}
    assert named, "the pages name no command: the parsing above is broken"
    wrong = sorted(f"{page}: leaves {what}" for page, what in named if what not in COMMANDS)
    assert not wrong, wrong


def test_every_option_given_is_accepted_by_its_command() -> None:
    tools = [f"{p.parent.name}/{p.name}" for p in [*(REPO / "benchmarks").glob("*.py"), *(REPO / "tools").glob("*.sh")]]
    every = frozenset().union(*(accepted(name) for name in COMMANDS), *(script_options(t) for t in tools))
    wrong = []
    for page, what, options in commands_named():
        if "/" in what:
            known = script_options(what)
        elif what == "any command":
            known = every
        elif what in COMMANDS:
            known = accepted(what)
        else:
            continue  # an unknown command: the test above names it
        wrong += [f"{page}: {what} {option}" for option in unknown(options, known)]
    assert not wrong, wrong


def test_every_module_and_name_imports() -> None:
    wrong = []
    for page in PAGES:
        for dotted in sorted({m for _, text in code(page) for m in MODULE.findall(text)}):
            parts = dotted.split(".")
            for n in range(len(parts), 0, -1):
                try:
                    target = importlib.import_module(".".join(parts[:n]))
                except ImportError:
                    continue
                try:
                    for attr in parts[n:]:
                        target = getattr(target, attr)
                except AttributeError:
                    wrong.append(f"{page_id(page)}: {dotted}")
                break
    assert not wrong, wrong


def presets_named(page: Path) -> set[str]:
    """Every preset a page applies (`--config NAME`, `--recipe NAME`, `config=[...]`, `leaves recipes "[...]"`)
    or lists (the first column of a table headed `preset`)."""
    names = set()
    for words in shell_segments(page):
        for i, word in enumerate(words[:-1]):
            if word in ("--config", "-c", "--recipe"):
                names.add(words[i + 1])
        names |= {w.split("=", 1)[1] for w in words if w.startswith(("--config=", "--recipe="))}
        if words[:2] == ["leaves", "recipes"] and len(words) > 2 and words[2].startswith("["):
            names |= {n.strip() for n in words[2].strip("[]").split(",")}
    for _, text in code(page):
        for group in re.findall(r"config=\[([^\]]*)\]", text):
            names |= set(re.findall(r"\"([^\"]+)\"", group))
        names |= set(re.findall(r"config=\"([^\"]+)\"", text))
    in_table = False
    for line in page.read_text().splitlines():
        if line.startswith("| preset"):
            in_table = True
        elif not line.startswith("|"):
            in_table = False
        elif in_table:
            names |= set(re.findall(r"`([^`]+)`", line.split("|")[1]))
    return {n for n in names if n and "/" not in n and not n.endswith((".yaml", ".yml")) and not n.isupper()}


def test_every_preset_named_exists_and_every_preset_is_listed() -> None:
    shipped = set(presets())
    wrong = sorted(f"{page_id(page)}: {name}" for page in PAGES for name in presets_named(page) - shipped)
    assert not wrong, wrong
    for page in (REPO / "README.md", REPO / "docs" / "recipes.md"):
        unlisted = shipped - {"default"} - presets_named(page)
        assert not unlisted, f"{page_id(page)} does not list the presets {sorted(unlisted)}"


def test_the_checks_above_catch_what_they_look_for() -> None:
    """The parsers are not vacuous: they find the commands, options, modules and presets the pages use."""
    named = commands_named()
    assert {"fit", "predict", "kfold", "ensemble", "weights"} <= {what for _, what, _ in named}
    assert any("--tta" in options for _, what, options in named if what == "predict")
    assert unknown(["--model.tta"], accepted("predict")) == ["--model.tta"]
    assert unknown(["--trainer.logger.project"], accepted("fit")) == []
    assert "classify-leaves" in presets_named(REPO / "README.md")
    assert "leaves.utils.ResumableCSVLogger" in {m for p in PAGES for _, t in code(p) for m in MODULE.findall(t)}
