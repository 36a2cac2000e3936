#!/usr/bin/env bash
# Prove the dependency floors in pyproject.toml: install the LOWEST version of every direct dependency
# that pyproject allows into a fresh venv and run the test suite against it.
#
#   tools/check_floors.sh [VENV_DIR] [pytest args...]     (default venv: $TMPDIR/leaves-floors-venv, outside the
#   checkout so ruff and pytest never walk into it; it is recreated on every run)
#
# Needs network access to the package index (a full torch wheel: several GB, a few minutes) and uv
# (pip install uv). Prints the resolved versions before the tests.
set -euo pipefail
export NO_ALBUMENTATIONS_UPDATE=1   # no update check over the network during the tests
cd "$(dirname "$0")/.."
venv="${1:-${TMPDIR:-/tmp}/leaves-floors-venv}"
shift || true
command -v uv >/dev/null || python -m pip install uv
if [ -e "$venv" ] && [ ! -f "$venv/pyvenv.cfg" ]; then
    echo "error: $venv exists and is not a venv; not removing it" >&2
    exit 1
fi
rm -rf "$venv"
uv venv --seed --python "${FLOORS_PYTHON:-python}" "$venv"   # --seed: pip and setuptools, for the packaging test
uv pip install --python "$venv/bin/python" --resolution lowest-direct -e ".[test]"
echo "== resolved (lowest allowed) versions =="
uv pip list --python "$venv/bin/python" | grep -iE \
    '^(torch|torchvision|lightning|torchmetrics|jsonargparse|timm|albumentations|opencv-python-headless|numpy|pandas|pillow|matplotlib|pyyaml|tqdm|safetensors|pytest|nbclient|nbformat|ipykernel|tensorboard) '
# The tests check Ctrl-C handling: restore Python's SIGINT handler, which a background job inherits as ignored.
"$venv/bin/python" -c 'import signal, sys, pytest
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", *sys.argv[1:]]))' "$@"
