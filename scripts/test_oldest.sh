#!/usr/bin/env bash
# The test suite on the oldest supported versions (requirements/oldest.txt) and the Python of
# Slicer 5.10 and later (3.12), in .venv-oldest. No PyTorch and no slicer-core there: the tests
# that need them skip and say so; CI runs them in the main environment (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
# pyenv's shim for python3.12 exists even when 3.12 is not the selected version: prefer the
# interpreter itself.
PY="${PYTHON312:-$(ls -d "$HOME"/.pyenv/versions/3.12*/bin/python3.12 2>/dev/null | tail -1)}"
PY="${PY:-$(command -v python3.12 || true)}"
[ -n "$PY" ] || { echo "Python 3.12 not found (set PYTHON312)"; exit 1; }
[ -x .venv-oldest/bin/python ] || "$PY" -m venv .venv-oldest
.venv-oldest/bin/python -m pip install --quiet --upgrade "pip==25.3"
.venv-oldest/bin/python -m pip install --quiet -c requirements/oldest.txt -e ".[test]"
.venv-oldest/bin/python -m pytest Testing -q -p no:cacheprovider "$@"
