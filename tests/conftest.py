"""Shared test setup.

- Every solve in the test run checks its own answer for consistency (each package's
  dependencies present), see :mod:`conda_solver_plus.consistency`.
- ``backend``: a test that takes it runs once per engine (libmamba and rattler); an
  engine that cannot be used here is skipped with its reason, except in a real-stack run
  (:mod:`tests.engines`), where that is a failure.
- ``engine_name``: the same, as the name, for tests that select the engine through
  ``CONDA_SOLVER_PLUS_BACKEND`` (real conda in a subprocess).
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("CONDA_SOLVER_PLUS_VERIFY", "1")

from conda_solver_plus.backends import Backend, get_backend

from .corpus import package_root, write_channels
from .engines import engine_params


@pytest.fixture(params=engine_params())
def engine_name(request) -> str:
    return request.param


@pytest.fixture
def backend(engine_name: str) -> Backend:
    return get_backend(engine_name)


@pytest.fixture(scope="session")
def channels(tmp_path_factory):
    """conda's solver-test channels (channel-1 ... channel-N, from pytest-conda-solvers) as
    real channel directories: ``{name: path}``."""
    root = package_root()
    if root is None:
        pytest.skip("pytest-conda-solvers (conda's solver-test channels) is not installed")
    return write_channels(root, tmp_path_factory.mktemp("channels"))
