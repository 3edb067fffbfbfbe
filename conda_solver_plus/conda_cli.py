"""
``conda plus``: explanations and repoquery inside conda.

The standalone CLI (``python -m conda_solver_plus``) takes channels and a prefix as
arguments. Inside conda the same answers should come from conda's own configuration —
``.condarc`` channels, ``-n``/``-p`` environments, pins, virtual packages — so this module
registers one conda subcommand, ``plus``, whose actions build the request exactly as a
``conda install --solver=plus`` would (through :class:`~conda_solver_plus.solver.PlusSolver`)
and then print:

- ``conda plus explain [SPEC...]`` — the provenance of every spec handed to the engine and
  why each package of the result is there (or, when it cannot be solved, the explanation);
- ``conda plus why NAME [SPEC...]`` — the chain that brings ``NAME`` into the environment;
- ``conda plus search SPEC``, ``conda plus depends SPEC [--tree]``, ``conda plus whoneeds
  NAME`` — queries over the channels' repodata (the name ``repoquery`` belongs to
  conda-libmamba-solver, so these live under ``plus``).

It also holds the two conda-facing helpers the adapter uses: the ``-v`` report of a normal
solve (:func:`report_provenance`) and the "did you mean" addition to conda's
``PackagesNotFoundError`` (:func:`add_suggestions`). Only this module, ``solver.py`` and
``plugin.py`` import conda.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .state import SolverInputState, SolverOutputState


def configure_parser(parser: argparse.ArgumentParser) -> None:
    from conda.cli.helpers import add_parser_channels, add_parser_json, add_parser_prefix

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
    search = add("search", "Records in the channels matching a spec (the name may be a glob)")
    search.add_argument("query", metavar="SPEC")
    depends = add("depends", "Dependencies of the best record matching SPEC")
    depends.add_argument("query", metavar="SPEC")
    depends.add_argument("--tree", action="store_true", help="recursively, as a tree")
    whoneeds = add("whoneeds", "Packages in the channels that depend on NAME")
    whoneeds.add_argument("query", metavar="NAME")
    whoneeds.add_argument("--all-versions", action="store_true")


def _solver(specs: list[str]):
    from conda.base.context import context
    from conda.models.match_spec import MatchSpec

    from .solver import PlusSolver

    return PlusSolver(
        context.target_prefix,
        context.channels,
        context.subdirs,
        specs_to_add=[MatchSpec(spec) for spec in specs],
        command="install",
    )


def _solve(specs: list[str]):
    """The core's input and output state for ``conda install SPEC...`` in the target
    environment, built the way :class:`~conda_solver_plus.solver.PlusSolver` builds it."""
    from conda.auxlib import NULL

    from .backends import get_backend
    from .core import solve
    from .solver import _configured_backend_name

    solver = _solver(specs)
    sis = solver._input_state(NULL, NULL, NULL, NULL, NULL)
    index = solver._load_index()
    backend = get_backend(_configured_backend_name())
    out = solve(sis, index, backend, _options(solver))
    return sis, out, backend


def _options(solver):
    from conda.base.context import context

    from .core import SolveOptions
    from .solver import _PRIORITY, _timeout

    cutoff = getattr(solver, "_exclude_newer_cutoff", lambda: None)()
    return SolveOptions(
        channel_priority=_PRIORITY.get(context.channel_priority, "flexible"),
        add_pip_as_python_dependency=context.add_pip_as_python_dependency,
        timeout=_timeout(),
        exclude_newer=cutoff,
    )


def execute(args: argparse.Namespace) -> int:
    """The ``conda plus`` action."""
    from conda.base.context import context
    from conda.exceptions import CondaError

    from . import exceptions as plus_errors

    command = args.plus_command
    try:
        if command in ("search", "depends", "whoneeds"):
            return _query(args, context.json)
        specs = list(getattr(args, "specs", []) or [])
        sis, out, backend = _solve(specs)
    except plus_errors.SolverPlusError as exc:
        if context.json:
            print(json.dumps({"error": exc.to_json()}, indent=2))
            return exc.exit_code
        raise CondaError(str(exc)) from None
    if command == "why":
        from .explain import why_package

        chain = why_package(args.package, sis, out)
        if context.json:
            print(json.dumps({"package": args.package, "chain": chain}, indent=2))
        elif chain:
            print("\n".join(f"{'  ' * depth}{line}" for depth, line in enumerate(chain)))
        else:
            print(f"{args.package} is not in the environment", file=sys.stderr)
        return 0 if chain else 1
    from .explain import render_provenance, spec_provenance

    if context.json:
        payload = {
            "backend": backend.name,
            "input": sis.summary(),
            "provenance": spec_provenance(sis, out),
            "why": out.why,
        }
        print(json.dumps(payload, indent=2))
    else:
        print(f"engine: {backend.name}")
        print(render_provenance(sis, out))
    return 0


def _query(args: argparse.Namespace, as_json: bool) -> int:
    from conda.base.context import context

    from . import query
    from .credentials import redact_url
    from .records import record_to_json

    solver = _solver([])
    index = solver._load_index()
    priority = _options(solver).channel_priority
    if args.plus_command == "search":
        records = query.search(index, args.query, "flexible")
        if as_json:
            print(json.dumps({"records": [record_to_json(r) for r in records]}, indent=2))
        elif records:
            print(query.render_records(records))
        else:
            # the channels as configured may carry a token or password: never echo those
            channels = ", ".join(redact_url(channel) for channel in context.channels)
            print(f"no records match {args.query!r} in {channels}")
        return 0 if records else 1
    if args.plus_command == "depends":
        root = query.depends(index, args.query, tree=args.tree, channel_priority=priority)
        print(
            json.dumps(root.to_json(), indent=2)
            if as_json
            else query.render_depends(root, args.tree)
        )
        return 0
    dependents = query.whoneeds(index, args.query, all_versions=args.all_versions)
    if as_json:
        print(json.dumps({"dependents": [d.to_json() for d in dependents]}, indent=2))
    elif dependents:
        print(query.render_dependents(dependents))
    else:
        print(f"nothing in the channels depends on {args.query}")
    return 0


def report_provenance(sis: SolverInputState, out: SolverOutputState) -> None:
    """``conda install -v``: print the provenance of the solve to stderr (conda's ``-v``
    is "detailed output"; logging only starts at ``-vv``), and log it at debug level."""
    import logging

    from conda.base.context import context

    from .explain import render_provenance

    log = logging.getLogger("conda.conda_solver_plus")
    if context.verbosity >= 1 and not context.json and not context.quiet:
        print("\nconda-solver-plus: " + render_provenance(sis, out), file=sys.stderr)
    elif log.isEnabledFor(logging.DEBUG):
        log.debug("%s", render_provenance(sis, out))


def add_suggestions(error, exc) -> None:
    """Append the core's "did you mean" and the subdirs searched to conda's
    ``PackagesNotFoundError`` text (conda's message lists only the channels)."""
    lines = []
    for spec, close in getattr(exc, "suggestions", {}).items():
        lines.append(f"  - {spec}: did you mean {', '.join(close)}?")
    if lines:
        lines.insert(0, "\nClose package names in these channels:")
    if getattr(exc, "subdirs", None):
        lines.append(f"\nSubdirs searched: {', '.join(exc.subdirs)}")
    if lines:
        error.message = error.message.rstrip("\n") + "\n" + "\n".join(lines).replace("%", "%%")


def packages_not_found(specs, channels: list[str], exc):
    """conda's error for requested packages no channel has, naming the channels, with
    the core's "did you mean" and subdirs added (conda >= 26 would otherwise turn the
    generic error into ``PackagesNotFoundInChannelsError`` and drop our additions)."""
    try:
        from conda.exceptions import PackagesNotFoundInChannelsError as Error
    except ImportError:  # conda < 26
        from conda.exceptions import PackagesNotFoundError as Error
    error = Error(specs, channels)
    add_suggestions(error, exc)
    return error


def attach_guidance(error, explanation) -> None:
    """conda >= 26 renders an error as its message, a "Cause:" and "Next steps:". Put the
    culprits there — each with its concrete hint — instead of conda's generic advice, and
    keep our message as the headline."""
    try:
        from conda._private.exception_guidance import ErrorGuidance, GuidanceHint
    except ImportError:  # older conda: the message already lists culprits and hints
        return
    culprits = explanation.culprits
    if not culprits:
        return
    cause = "; ".join(f"{c.spec} ({c.kind}, from {c.origin})" for c in culprits)
    hints = tuple(
        GuidanceHint(f"{c.name}: {c.hint}", "plus_" + c.kind.replace("-", "_")) for c in culprits
    )
    error._guidance = ErrorGuidance(cause=cause, hints=hints)
