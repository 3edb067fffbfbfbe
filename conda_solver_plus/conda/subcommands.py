"""
``conda plus``: explanations and repoquery inside conda.

The standalone CLI (``python -m conda_solver_plus``) takes channels and a prefix as
arguments. Inside conda the same answers should come from conda's own configuration —
``.condarc`` channels, ``-n``/``-p`` environments, pins, virtual packages — so the
``plus`` subcommand builds its request exactly as ``conda install --solver=plus`` would:
a :class:`~conda_solver_plus.conda.solver.PlusSolver` gives the input state, the index
and the settings, and the shared pipeline (:class:`~conda_solver_plus.session.SolveSession`)
solves. Then it prints:

- ``conda plus explain [SPEC...]`` — the provenance of every spec handed to the engine and
  why each package of the result is there (or, when it cannot be solved, the explanation);
- ``conda plus why NAME [SPEC...]`` — the chain that brings ``NAME`` into the environment;
- ``conda plus why-not SPEC [SPEC...]`` — what keeps the environment from having ``SPEC``
  (the chain, the culprits in pins, history, virtual packages, channel priority), the
  newest version it could have as it is, and what to change
  (:mod:`conda_solver_plus.why_not`);
- ``conda plus search SPEC``, ``conda plus depends SPEC [--tree]``, ``conda plus whoneeds
  NAME`` — queries over the channels' repodata (the name ``repoquery`` belongs to
  conda-libmamba-solver, so these live under ``plus``).

The arguments are declared in :func:`conda_solver_plus.conda.plugin.configure_parser`
(conda builds every subcommand's parser on each start; this module loads only for
``conda plus``).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence

from conda.base.context import context
from conda.exceptions import CondaError
from conda.models.match_spec import MatchSpec

from .. import exceptions as plus_errors
from .. import query
from ..backends import Backend
from ..explain import print_why, render_provenance, spec_provenance
from ..provenance import strategy_line
from ..records import record_to_json
from ..repodata.cache_files import in_use
from ..repodata.roots import query_roots
from ..session import SolveSession
from ..settings import default_cache_dir
from ..specs import spec_name
from ..state import SolverInputState, SolverOutputState
from ..why_not import parse_target, print_why_not, why_not
from .solver import PlusSolver

QUERY_COMMANDS = ("search", "depends", "whoneeds")


def target_solver(specs: list[str]) -> PlusSolver:
    """The solver ``conda install SPEC...`` would use in the target environment
    (``-n``/``-p``), with conda's configured channels and subdirs."""
    # conda hands a solver its shard traversal when `repodata_use_shards` is on (conda
    # 26.7+, plugins/manager.py), and plus takes that as the switch to read shards; here
    # the subcommand is the one building the solver, so it follows the same setting
    use_shards = bool(getattr(context, "repodata_use_shards", False))
    return PlusSolver(
        context.target_prefix,
        context.channels,
        context.subdirs,
        specs_to_add=[MatchSpec(spec) for spec in specs],
        command="install",
        build_repodata_subset=_shards_on if use_shards else None,
    )


def _shards_on(*_args: object, **_kwargs: object) -> None:
    """What ``build_repodata_subset`` stands for in plus: "read sharded channels" (plus
    reads conda's shard caches itself and never calls it)."""
    raise NotImplementedError("plus reads shards itself")


def solve_specs(specs: list[str]) -> tuple[SolverInputState, SolverOutputState, Backend]:
    """The core's input and output state for ``conda install SPEC...`` in the target
    environment, through the same settings and pipeline as ``solve_final_state``."""
    sis, out, session = _solve_in_session(specs)
    return sis, out, session.backend


def _solve_in_session(
    specs: list[str],
) -> tuple[SolverInputState, SolverOutputState, SolveSession]:
    """:func:`solve_specs`, with the session that solved (its settings: the strategy)."""
    solver = target_solver(specs)
    sis = solver.input_state()
    index = solver.load_index()
    session = SolveSession(solver.settings())
    return sis, session.solve(sis, index), session


def run(args: argparse.Namespace) -> int:
    """The ``conda plus`` action: the exit status of ``args.plus_command``."""
    command = args.plus_command
    try:
        # plus's cache held while it is read and written: `cache clean` waits for it
        with in_use(default_cache_dir()):
            if command in QUERY_COMMANDS:
                return _query(args, context.json)
            if command == "why-not":
                return _why_not(args)
            sis, out, session = _solve_in_session(list(getattr(args, "specs", []) or []))
    except plus_errors.SolverPlusError as exc:
        if context.json:
            print(json.dumps({"error": exc.to_json()}, indent=2))
            return exc.exit_code
        raise CondaError(str(exc)) from None
    if command == "why":
        return print_why(
            args.package, sis, out, as_json=bool(context.json), where="the environment"
        )
    _print_explain(sis, out, session.backend, session.settings.strategy)
    return 0


def _why_not(args: argparse.Namespace) -> int:
    """``conda plus why-not SPEC [SPEC...]``: what keeps the target environment (with the
    specs to install first) from having SPEC (:mod:`conda_solver_plus.why_not`)."""
    target = parse_target(args.target)  # a bad SPEC is bad input before any loading
    solver = target_solver(list(args.specs or []))
    sis = solver.input_state()
    # the index reaches SPEC's package too, as for `conda install SPEC`
    index = solver.load_index(roots=solver.root_names() | {spec_name(target)})
    answer = why_not(
        args.target,
        sis,
        index,
        SolveSession(solver.settings()),
        install_command=lambda specs: _conda_install_command(args, specs),
        location=str(context.target_prefix),
    )
    return print_why_not(answer, as_json=bool(context.json))


def _conda_install_command(args: argparse.Namespace, specs: Sequence[str]) -> str:
    """``conda install -n NAME SPEC...`` (or ``-p PREFIX``, as the environment was named)."""
    target = (
        f"-n {shlex.quote(args.name)}"
        if getattr(args, "name", None)
        else (f"-p {shlex.quote(str(context.target_prefix))}")
    )
    return f"conda install {target} {' '.join(shlex.quote(spec) for spec in specs)}"


def _print_explain(
    sis: SolverInputState, out: SolverOutputState, backend: Backend, strategy: str
) -> None:
    """``conda plus explain``: the engine (and the solve strategy, when it is not
    ``highest``), each spec's provenance, why each package."""
    if context.json:
        payload = {
            "backend": backend.name,
            "strategy": strategy,
            "input": sis.summary(),
            "provenance": spec_provenance(sis, out),
            "why": out.why,
        }
        print(json.dumps(payload, indent=2))
    else:
        print(f"engine: {backend.name}")
        if strategy != "highest":
            print(strategy_line(strategy))
        print(render_provenance(sis, out))


def _query(args: argparse.Namespace, as_json: bool) -> int:
    """``conda plus search|depends|whoneeds`` over conda's configured channels."""
    solver = target_solver([])
    # what the query reads, from every repodata form a solve reads (shards-only channels
    # included): a name and what it reaches, the names a glob matches, or every record
    index = solver.load_index(roots=query_roots(args.plus_command, args.query))
    priority = solver.settings().channel_priority
    if args.plus_command == "search":
        records = query.search(index, args.query, "flexible")
        if not records:  # conda's PackagesNotFoundError, with the versions that do exist
            raise query.not_found(index, args.query)
        if as_json:
            print(json.dumps({"records": [record_to_json(r) for r in records]}, indent=2))
        else:
            print(query.render_records(records))
        return 0
    if args.plus_command == "depends":
        root = query.depends(index, args.query, tree=args.tree, channel_priority=priority)
        print(
            json.dumps(root.to_json(), indent=2)
            if as_json
            else query.render_depends(root, args.tree)
        )
        return 0
    dependents = query.whoneeds(
        index, args.query, all_versions=args.all_versions, channel_priority=priority
    )
    if as_json:
        print(json.dumps({"dependents": [d.to_json() for d in dependents]}, indent=2))
    elif dependents:
        print(query.render_dependents(dependents))
    else:  # an answer, not an error: said on stderr so stdout stays the result
        print(f"Nothing in the channels depends on {args.query}", file=sys.stderr)
    return 0
