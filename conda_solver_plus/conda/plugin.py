"""
conda's entry point: registers conda-solver-plus as the ``plus`` solver and the
``conda plus`` subcommand.

Select the solver with ``conda install --solver=plus``, ``solver: plus`` in ``.condarc``
or ``CONDA_SOLVER=plus``. The engine behind it is libmamba where ``libmambapy`` imports
and rattler otherwise; ``CONDA_SOLVER_PLUS_BACKEND`` (or ``plus_backend`` in ``.condarc``)
chooses one explicitly (:mod:`conda_solver_plus.settings`).

conda imports this module on *every* command it runs (``conda list`` too), and calls
:func:`configure_parser` whenever it builds its command line. So this module only
declares: the solver adapter (:mod:`conda_solver_plus.conda.solver`, which loads the core
and py-rattler) and the ``conda plus`` actions (:mod:`conda_solver_plus.conda.subcommands`)
are imported when conda first uses them, not before.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from conda import plugins
from conda.cli.helpers import add_parser_channels, add_parser_json, add_parser_prefix
from conda.plugins.types import CondaSolver, CondaSubcommand

from ..exceptions import CONDA_HINTS_ATTRIBUTE


@plugins.hookimpl
def conda_solvers() -> Iterator[CondaSolver]:
    """The ``plus`` solver (:class:`~conda_solver_plus.conda.solver.PlusSolver`)."""
    # imported on use, not at conda's start-up (see the module docstring)
    from .solver import PlusSolver

    # conda's type says classic's ``Solver``; any ``BaseSolver`` serves (conda only calls
    # the public solve_* methods), and plus derives from ``BaseSolver`` where it exists
    yield CondaSolver(name="plus", backend=PlusSolver)  # type: ignore[arg-type]


if hasattr(plugins.types, "CondaErrorHint"):  # the hook exists from conda 26.7 on

    @plugins.hookimpl
    def conda_error_hints(error) -> Iterator:
        """plus's hints for an error plus raised: each kind of culprit behind a conflict
        (a pin, a history spec, a virtual package, channel priority, ...) with what to do,
        under a stable ``hint_code`` (:func:`conda_solver_plus.conda.errors.culprit_hints`).
        conda prints them as "Next steps" and puts them in ``--json``."""
        for hint_code, text in getattr(error, CONDA_HINTS_ATTRIBUTE, ()):
            yield plugins.types.CondaErrorHint(text=text, hint_code=hint_code)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``conda plus explain|why|why-not|search|depends|whoneeds``: conda's own
    ``-n``/``-p``, channel and ``--json`` options, plus each action's own."""
    sub = parser.add_subparsers(dest="plus_command", metavar="COMMAND")
    sub.required = True

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        child = sub.add_parser(name, help=help_text, description=help_text)
        add_parser_prefix(child)
        add_parser_channels(child)
        add_parser_json(child)
        return child

    explain = add("explain", "Where every spec of a solve came from and why each package")
    explain.add_argument("specs", nargs="*", metavar="SPEC", help="specs to install")
    why = add("why", "Why a package is (or would be) in the environment")
    why.add_argument("package", metavar="NAME")
    why.add_argument("specs", nargs="*", metavar="SPEC", help="specs to install first")
    why_not = add(
        "why-not",
        "What keeps the environment from having SPEC, the newest version it could have as "
        "it is, and what to change to get SPEC (exit 0: possible, 1: not)",
    )
    why_not.add_argument("target", metavar="SPEC", help='match spec, e.g. "numpy>=2.1"')
    why_not.add_argument("specs", nargs="*", metavar="REQUEST", help="specs to install first")
    search = add("search", "Records in the channels matching a spec (the name may be a glob)")
    search.add_argument("query", metavar="SPEC")
    depends = add("depends", "Dependencies of the best record matching SPEC")
    depends.add_argument("query", metavar="SPEC")
    depends.add_argument("--tree", action="store_true", help="recursively, as a tree")
    whoneeds = add("whoneeds", "Packages in the channels that depend on NAME")
    whoneeds.add_argument("query", metavar="NAME")
    whoneeds.add_argument("--all-versions", action="store_true")


def execute(args: argparse.Namespace) -> int:
    """The ``conda plus`` action (:func:`conda_solver_plus.conda.subcommands.run`)."""
    # imported on use, not at conda's start-up (see the module docstring)
    from .subcommands import run

    return run(args)


@plugins.hookimpl
def conda_subcommands() -> Iterator[CondaSubcommand]:
    """``conda plus``."""
    yield CondaSubcommand(
        name="plus",
        summary="conda-solver-plus: explain a solve, why (not) a package, search/depends/whoneeds",
        action=execute,
        configure_parser=configure_parser,
    )
