"""
conda's entry point: registers conda-solver-plus as the ``plus`` solver.

Select it with ``conda install --solver=plus``, ``solver: plus`` in ``.condarc`` or
``CONDA_SOLVER=plus``. The engine behind it is libmamba where ``libmambapy`` imports and
rattler otherwise; ``CONDA_SOLVER_PLUS_BACKEND`` (or ``plus_backend`` in ``.condarc``)
chooses one explicitly.
"""

from __future__ import annotations

from conda import plugins
from conda.plugins.types import CondaSolver


@plugins.hookimpl
def conda_solvers():
    from .solver import PlusSolver

    yield CondaSolver(name="plus", backend=PlusSolver)
