"""
The conda boundary: the only modules of conda-solver-plus that import conda.

- :mod:`~conda_solver_plus.conda.plugin` — conda's entry point: registers the ``plus``
  solver and the ``conda plus`` subcommand (and its arguments);
- :mod:`~conda_solver_plus.conda.solver` — :class:`~conda_solver_plus.conda.solver.PlusSolver`,
  conda's ``Solver`` API answered by the core: conda's request, prefix and settings in,
  conda records out;
- :mod:`~conda_solver_plus.conda.subcommands` — ``conda plus explain|why|search|depends|
  whoneeds``;
- :mod:`~conda_solver_plus.conda.errors` — plus's errors as conda's exceptions.

Everything outside this package runs without conda, which is what lets the standalone
CLI and most of the test suite work in a plain virtual environment. The rule is enforced
twice: ruff's banned-api rule (``TID251``, configured in ``pyproject.toml``) and
``tests/test_layering.py``, which walks every module's imports.

Inside this package ``import conda`` still means conda itself, not this package: imports
are absolute (``from __future__ import annotations`` modules, Python 3), and the package's
own modules are always imported relatively (``from .solver import ...``).
"""
