"""
conda's entry point: registers conda-solver-plus as the ``plus`` solver.

Select it with ``conda install --solver=plus``, ``solver: plus`` in ``.condarc`` or
``CONDA_SOLVER=plus``. The engine behind it is libmamba where ``libmambapy`` imports and
rattler otherwise; ``CONDA_SOLVER_PLUS_BACKEND`` (or ``plus_backend`` in ``.condarc``)
chooses one explicitly.

It also registers the ``conda plus`` subcommand (``explain``, ``why``, ``search``,
``depends``, ``whoneeds``; see :mod:`conda_solver_plus.conda_cli`).
"""

from __future__ import annotations

from conda import plugins
from conda.plugins.types import CondaSolver, CondaSubcommand


@plugins.hookimpl
def conda_solvers():
    from .solver import PlusSolver

    yield CondaSolver(name="plus", backend=PlusSolver)


def _plus_parser(parser) -> None:
    from .conda_cli import configure_parser

    configure_parser(parser)


def _plus_action(args) -> int:
    from .conda_cli import execute

    return execute(args)


@plugins.hookimpl
def conda_subcommands():
    yield CondaSubcommand(
        name="plus",
        summary="conda-solver-plus: explain a solve, why a package, search/depends/whoneeds",
        action=_plus_action,
        configure_parser=_plus_parser,
    )
