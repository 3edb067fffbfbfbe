"""Which real parts a test run has, and what a missing one means.

A user's checkout may lack conda and libmambapy (neither is on PyPI): tests that need them
skip there, each with the reason. A run that promises the whole stack — ``dev/test.sh``
beside ``../shared/wheels``, and so every CI run — sets ``CONDA_SOLVER_PLUS_TEST_REAL_STACK=1``,
and then a missing part **fails** the test instead: a broken install can never hide behind
a skip.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType

import pytest

from conda_solver_plus.backends import ENGINES, engine_problem

#: set by dev/test.sh when ../shared/wheels provides conda, libmambapy and
#: conda-libmamba-solver
REAL_STACK = os.environ.get("CONDA_SOLVER_PLUS_TEST_REAL_STACK") == "1"

#: every engine, libmamba first (the default wherever libmambapy imports)
ENGINE_NAMES = tuple(ENGINES)


def engine_params() -> list:
    """``pytest.param`` per engine: each one that cannot be used here is skipped with the
    reason — or, in a real-stack run, left to fail."""
    params = []
    for name in ENGINE_NAMES:
        problem = engine_problem(name)
        # skipped where the run may lack the engine; in a real-stack run it stays and
        # fails on its own, loudly
        reason = f"the {name} engine cannot be used: {problem}"
        marks = [pytest.mark.skipif(not REAL_STACK, reason=reason)] if problem else []
        params.append(pytest.param(name, id=name, marks=marks))
    return params


def require_module(name: str, why: str) -> ModuleType:
    """``name`` imported; skipped where it does not import, failed in a real-stack run."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        if REAL_STACK:
            pytest.fail(f"{name} must import in a real-stack run ({why}): {exc}")
        pytest.skip(f"{name} does not import here ({why})", allow_module_level=True)


#: the checkout under test: conda subprocesses import plus from here
REPO_ROOT = Path(__file__).resolve().parents[1]


def conda_subprocess_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    """The environment of a conda subprocess that must load this checkout's plus: it on
    ``PYTHONPATH``, conda's package cache in ``tmp_path/pkgs``, no channel notices and no
    self-update chatter, then ``settings`` (``CONDA_*`` and ``CONDA_SOLVER_PLUS_*``)."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
        "CONDA_PKGS_DIRS": str(tmp_path / "pkgs"),
        "CONDA_NUMBER_CHANNEL_NOTICES": "0",
        "CONDA_AUTO_UPDATE_CONDA": "false",
        **settings,
    }


def plus_conda_env(tmp_path: Path, engine: str, **settings: str) -> dict[str, str]:
    """:func:`conda_subprocess_env` for a conda that solves with plus on ``engine`` for
    linux-64, with its own ``.condarc`` path and plus cache in ``tmp_path`` (so calls of
    one test share them, as a user's commands in a row do), then ``settings``."""
    return conda_subprocess_env(
        tmp_path,
        CONDARC=str(tmp_path / "condarc"),
        CONDA_SOLVER_PLUS_CACHE=str(tmp_path / "plus-cache"),
        CONDA_SOLVER_PLUS_BACKEND=engine,
        CONDA_SUBDIR="linux-64",
        **settings,
    )
