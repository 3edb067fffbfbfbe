"""Shared test setup: every solve in the test run checks its own answer for consistency
(each package's dependencies present), see :mod:`conda_solver_plus.consistency`."""

from __future__ import annotations

import os

os.environ.setdefault("CONDA_SOLVER_PLUS_VERIFY", "1")
