#!/usr/bin/env bash
# Set up a virtual environment in .venv (if needed) and run the linters and the test suite,
# including the docs build (warnings as errors) and the packaging checks.
# This is the command the README gives and the one CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash dev/setup.sh --extras test,docs
if [ -d ../shared/wheels ]; then
    # dev/setup.sh installed real conda, libmambapy and conda-libmamba-solver: a test that
    # finds one of them missing fails instead of skipping (tests/engines.py)
    export CONDA_SOLVER_PLUS_TEST_REAL_STACK=1
fi
.venv/bin/python -m ruff check conda_solver_plus tests
.venv/bin/python -m ruff format --check conda_solver_plus tests
.venv/bin/python -m mypy  # pyproject's [tool.mypy]: the package, default mode
# the architecture: import-linter's contracts (pyproject's [tool.importlinter]: layers, conda
# only in the adapter, no cycles) and radon's complexity limits
.venv/bin/lint-imports pyproject.toml --no-cache
.venv/bin/python dev/complexity.py conda_solver_plus
# spread over the machine's cores; `bash dev/test.sh -n0 tests/test_x.py` runs in one process.
# loadgroup keeps each xdist_group on one worker (tests/test_conda_corpus.py: one conda
# corpus run per engine, not one per worker and engine)
.venv/bin/python -m pytest -n auto --dist loadgroup "$@"
if [ $# -eq 0 ] && [ -x .venv-conda-main/bin/python ]; then
    # the conda-facing tests again, against conda's main branch (dev/setup.sh): where it
    # differs from the release (exclude-newer, the solver class and its flags, shards)
    .venv-conda-main/bin/python -m conda --version
    .venv-conda-main/bin/python -m pytest -n auto -m conda_main tests
fi
