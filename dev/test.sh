#!/usr/bin/env bash
# Set up a virtual environment in .venv (if needed) and run the linters and the test suite.
# This is the command the README gives and the one CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
.venv/bin/python -m ruff check conda_solver_plus tests
.venv/bin/python -m pytest "$@"
