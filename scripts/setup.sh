#!/usr/bin/env bash
# Create .venv and install the Lib (editable) with the developer extras, every version pinned by
# requirements/constraints.txt (torch 2.13.0, the CPU build).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade "pip==25.3"
.venv/bin/python -m pip install --quiet -c requirements/constraints.txt -e ".[dev]"
