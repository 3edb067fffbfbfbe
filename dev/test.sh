#!/usr/bin/env bash
# Set up a virtual environment in .venv (if needed) and run the linters and the test suite,
# including the docs build (warnings as errors) and the packaging checks.
# This is the command the README gives and the one CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash dev/setup.sh --extras test,docs
.venv/bin/python -m ruff check conda_solver_plus tests
.venv/bin/python -m ruff format --check conda_solver_plus tests
.venv/bin/python -m pytest "$@"
