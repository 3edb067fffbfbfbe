#!/usr/bin/env bash
# Set up a virtual environment in .venv (if needed) and solve a small environment from the
# demo channel shipped in tests/data: as a table, explained, why pip is there, and a search.
set -euo pipefail
cd "$(dirname "$0")/.."
bash dev/setup.sh --extras ""
set -x
.venv/bin/python -m conda_solver_plus solve "python=3.12" numpy pip \
    -c tests/data/demo-channel --subdir linux-64
.venv/bin/python -m conda_solver_plus explain "python=3.12" numpy pip \
    -c tests/data/demo-channel --subdir linux-64
.venv/bin/python -m conda_solver_plus why pip "python=3.12" numpy \
    -c tests/data/demo-channel --subdir linux-64
.venv/bin/python -m conda_solver_plus search "numpy>=1.26" \
    -c tests/data/demo-channel --subdir linux-64
