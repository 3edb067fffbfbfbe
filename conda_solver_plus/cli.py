"""
The standalone command line: solve and explain without conda.

``conda-solver-plus solve SPEC... -c CHANNEL`` (or ``python -m conda_solver_plus``) runs
exactly the code path the conda plugin runs — prefix state, index, engine, conda's rules —
and prints the final environment. It is the contract other tools and checks rely on:

- **defaults are conda's**: every option conda also has takes its default from conda's
  configuration (:mod:`conda_solver_plus.condarc`: ``.condarc`` files and ``CONDA_*``
  variables), else from conda's own defaults — flexible channel priority, pip added to
  python. ``--help`` shows each default and where it came from;
- exit 0: the solution as ``conda list`` prints it, and for a solve against a prefix, a
  lockfile or a removal conda's package plan (:mod:`conda_solver_plus.output`);
  ``--json``: ``{"records": [...], "transaction": {...}}``;
- exit 1: the request cannot be met; a readable explanation on stderr (``--json``: an
  ``{"error": {"type", "message", ...}}`` object on stdout);
- exit 2: bad input (missing channel, malformed repodata, invalid spec, a ``.condarc``
  conda would refuse): one line on stderr naming the file or spec, never a traceback;
- results on stdout, diagnostics on stderr; a progress bar on stderr while repodata is
  fetched or a cache built, only on a terminal and never with ``--json`` or ``-q``
  (:mod:`conda_solver_plus.progress`).

``explain`` takes the same arguments and prints where every spec handed to the engine came
from and how the solve loop changed it, and why each record of the result is there (for a
request that fails: the request's provenance, then the error); ``why NAME`` (same
arguments after the name) prints the chain that brought ``NAME`` in. ``why-not SPEC``
(same arguments after SPEC, every one optional) asks the opposite: what keeps the
environment of the request, the prefix or the lockfile from having SPEC — the chains and
the culprits in the user's setup, the newest version it could have as it is, and what to
change; exit 0 when SPEC is possible, 1 when it is not (:mod:`conda_solver_plus.why_not`).

``search SPEC``, ``depends SPEC [--tree]`` and ``whoneeds NAME`` query the channels without
solving (:mod:`conda_solver_plus.query`).
``cache info`` and ``cache clean [--older-than DAYS]`` show and empty plus's cache
directory (:mod:`conda_solver_plus.cache_command`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import cache_command, lock_command, progress
from .cli_parser import build_parser
from .condarc import DEFAULT_CHANNELS, CondaConfig, load_config
from .exceptions import InvalidInputError, SolverPlusError, UnsatisfiableError
from .exclude_newer import ExcludeNewer
from .records import known_platform, record_to_json
from .repodata import cache_files
from .repodata.model import ChannelRef
from .session import SolveSession
from .settings import (
    Settings,
    SolveStrategy,
    default_cache_dir,
    key_value,
    resolve_backend,
    resolve_strategy,
    resolve_timeout,
)

if TYPE_CHECKING:
    from rattler import GenericVirtualPackage, MatchSpec

    from .repodata.model import Index
    from .state import SolverInputState

log = logging.getLogger("conda_solver_plus")


QUERY_COMMANDS = ("search", "depends", "whoneeds")


def _cache_dir(args: argparse.Namespace) -> Path:
    """``--cache-dir``, else the default (``$CONDA_SOLVER_PLUS_CACHE``, ...)."""
    return Path(args.cache_dir).expanduser() if args.cache_dir else default_cache_dir()


def _channels(
    args: argparse.Namespace, config: CondaConfig
) -> list[str | os.PathLike | ChannelRef]:
    """The channels to search, as conda orders them: ``-c`` channels, then those of
    ``.condarc`` (unless ``--override-channels``); ``defaults`` expands to conda's
    default channels. None at all is bad input (conda 26 has no default channel either)."""
    given: list[str] = list(args.channels)
    if not args.override_channels:
        given += [c for c in config.channels.value if c not in given]
    if not given:
        raise InvalidInputError(
            "channels",
            "no channel given",
            "pass -c CHANNEL, or set channels in ~/.condarc as for conda",
        )
    channels: list[str | os.PathLike | ChannelRef] = []
    for channel in given:
        if channel == "defaults":
            channels.extend(_default_channels(config))
        else:
            channels.append(channel)
    return channels


def _default_channels(config: CondaConfig) -> list[ChannelRef]:
    """conda's ``defaults`` multichannel: ``default_channels`` of ``.condarc``, else
    conda's (``pkgs/main`` and ``pkgs/r`` on repo.anaconda.com), one priority tier."""
    from .repodata.channels import resolve_channel

    members = config.raw.get("default_channels") or list(DEFAULT_CHANNELS)
    return [
        dataclasses.replace(resolve_channel(str(member)), multichannel="defaults")
        for member in members
    ]


def run_query(args: argparse.Namespace, config: CondaConfig) -> int:
    """``search``/``depends``/``whoneeds``: load the index and print the answer."""
    from .repodata.gateway import load_index
    from .repodata.roots import query_roots
    from .virtual import native_subdir

    settings = Settings(cache_dir=_cache_dir(args))  # the environment read once, here
    index = load_index(
        _channels(args, config),
        [_subdir(args) or native_subdir()],
        cache_dir=settings.cache_dir,
        offline=args.offline,
        fetch_timeout=settings.fetch_timeout,
        roots=query_roots(args.command, args.query),
    )
    if args.command == "search":
        return _run_search(args, index)
    if args.command == "depends":
        return _run_depends(args, index)
    return _run_whoneeds(args, index)


def _run_search(args: argparse.Namespace, index) -> int:
    """conda search: the matching records; nothing matching is exit 1 (as conda)."""
    from . import query

    records = query.search(index, args.query, args.channel_priority)
    if not records:
        raise query.not_found(index, args.query)
    if args.json:
        print(json.dumps({"records": [record_to_json(r) for r in records]}, indent=2))
    else:
        print(query.render_records(records))
    return 0


def _run_depends(args: argparse.Namespace, index) -> int:
    from . import query

    root = query.depends(index, args.query, tree=args.tree, channel_priority=args.channel_priority)
    if args.json:
        print(json.dumps(root.to_json(), indent=2))
    else:
        print(query.render_depends(root, args.tree))
    return 0


def _run_whoneeds(args: argparse.Namespace, index) -> int:
    """Packages depending on NAME; none is an answer (exit 0), said on stderr."""
    from . import query

    dependents = query.whoneeds(
        index, args.query, all_versions=args.all_versions, channel_priority=args.channel_priority
    )
    if args.json:
        print(json.dumps({"dependents": [d.to_json() for d in dependents]}, indent=2))
    elif dependents:
        print(query.render_dependents(dependents))
    else:
        print(f"Nothing in the channels depends on {args.query}", file=sys.stderr)
    return 0


def _update_modifier(args: argparse.Namespace) -> str | None:
    for flag, value in (
        ("update_all", "update_all"),
        ("freeze_installed", "freeze_installed"),
        ("update_deps", "update_deps"),
        ("update_specs", "update_specs"),
        ("satisfied_skip_solve", "specs_satisfied_skip_solve"),
    ):
        if getattr(args, flag):
            return value
    return None


def _subdir(args: argparse.Namespace) -> str | None:
    """``--subdir`` must be a platform conda knows (:func:`.records.known_platform`)."""
    if args.subdir is None:
        return None
    return known_platform(args.subdir, f"--subdir {args.subdir!r}")


def _exclude_newer(args: argparse.Namespace, config: CondaConfig) -> ExcludeNewer | None:
    """``--exclude-newer``, ``--exclude-newer-channel CHANNEL=CUTOFF`` and
    ``--exclude-newer-package NAME=CUTOFF`` as one policy, each over its ``.condarc``
    counterpart (``exclude_newer``, ``channel_settings``, ``exclude_newer_package``);
    ``None`` when nothing sets a cutoff."""
    cutoff = args.exclude_newer or config.exclude_newer.value
    channels = [key_value(t, "--exclude-newer-channel") for t in args.exclude_newer_channel]
    if not channels:
        channels = list(config.exclude_newer_channel.value)
    packages = dict(key_value(t, "--exclude-newer-package") for t in args.exclude_newer_package)
    if not packages:
        packages = dict(config.exclude_newer_package.value)
    if not (cutoff or channels or packages):
        return None
    return ExcludeNewer.from_values(str(cutoff) if cutoff else None, packages, channels)


def _settings(args: argparse.Namespace, config: CondaConfig) -> Settings:
    """The solve's settings: the command line, over the environment variables, over
    ``.condarc``, over conda's defaults."""
    return Settings(
        backend=resolve_backend(args.backend, config.raw),
        timeout=resolve_timeout(args.timeout, config.raw),
        strategy=resolve_strategy(args.strategy, config.raw, default=_locked_strategy(args)),
        channel_priority=args.channel_priority,
        add_pip_as_python_dependency=args.add_pip,
        exclude_newer=_exclude_newer(args, config),
        cache_dir=_cache_dir(args),
    )


def _locked_strategy(args: argparse.Namespace) -> SolveStrategy:
    """The strategy the ``--locked`` file was solved with (``highest`` without one): a
    solve from it that sets no strategy of its own keeps the file's."""
    locked = getattr(args, "lockfile", None)
    return locked.strategy if locked is not None else "highest"


def _pins(args: argparse.Namespace, config: CondaConfig) -> tuple[list[str], str]:
    """``pinned_packages`` of ``.condarc`` and ``--pin``, and where they came from."""
    configured = list(config.pinned_packages.value)
    sources = []
    if args.pin:
        sources.append("--pin")
    if configured:
        sources.append(f"pinned_packages ({config.pinned_packages.source})")
    return [*configured, *args.pin], " and ".join(sources) or "--pin"


def _virtual(args: argparse.Namespace, subdir: str | None):
    from .virtual import parse_virtual_setting, virtual_packages

    return virtual_packages(subdir, dict(parse_virtual_setting(text) for text in args.virtual))


def _read_locked(args: argparse.Namespace):
    """``--locked FILE``: the lockfile's environment; its platform and channels stand in
    for ``--subdir`` and ``-c`` when those are not given."""
    from .lockfile import read_lockfile

    if args.lock_env and not args.locked:
        raise InvalidInputError("--lock-env", "only makes sense with --locked FILE")
    if not args.locked:
        return None
    locked = read_lockfile(args.locked, environment=args.lock_env, platform=args.subdir)
    if not args.subdir:
        args.subdir = locked.platform
    if not args.channels and locked.channels:
        args.channels = list(locked.channels)
        args.override_channels = True  # the lockfile's channels, not .condarc's
    return locked


def request_roots(
    specs: Iterable[object],
    prefix: str | os.PathLike | None = None,
    pins: Iterable[str] = (),
    locked: Iterable[Any] = (),
    aggressive: Iterable[str] = (),
) -> set[str]:
    """The package names a standalone solve starts from (:func:`.repodata.roots.root_names`):
    the requested specs and ``--pin`` specs, what the prefix has installed, its history and
    pinned specs, locked records, aggressive updates, and ``pip``."""
    from .prefix import read_prefix
    from .records import record_name
    from .repodata.roots import root_names

    state = read_prefix(None if prefix is None else Path(prefix))
    records = [*state.installed.values(), *locked]
    return root_names(
        specs=[*specs, *pins, *(spec for spec, _source in state.pinned)],
        installed=[(record_name(record), record.depends) for record in records],
        history=state.history,
        aggressive=aggressive,
    )


def prepare_solve(
    args: argparse.Namespace,
    config: CondaConfig,
    *,
    extra_specs: Sequence[MatchSpec] = (),
    require_specs: bool = True,
) -> tuple[SolverInputState, Index, SolveSession, str]:
    """Build the settings and the state and load the index (reading what
    ``extra_specs`` reach too: ``why-not``'s SPEC). Returns (input, index, session,
    subdir)."""
    from .lockfile import complete_records
    from .repodata.gateway import load_index
    from .specs import parse_spec
    from .virtual import native_subdir

    locked = _read_locked(args)
    args.lockfile = locked
    channels = _channels(args, config)
    if require_specs and not args.specs and not (args.update_all or args.prefix or locked):
        raise InvalidInputError("specs", "nothing to solve", "give at least one SPEC")
    specs = [parse_spec(text, "command line") for text in args.specs]
    subdir = _subdir(args)
    virtual = _virtual(args, subdir)
    subdir = subdir or native_subdir()
    session = SolveSession(_settings(args, config))
    channels.extend(_spec_channels([*specs, *extra_specs]))
    locked_records = locked.records if locked is not None else []
    roots = request_roots(
        [*specs, *extra_specs],
        args.prefix,
        _pins(args, config)[0],
        locked_records,
        args.aggressive_update,
    )
    index = load_index(
        channels,
        [subdir],
        cache_dir=session.settings.cache_dir,
        offline=args.offline,
        roots=roots,
        fetch_timeout=session.settings.fetch_timeout,
    )
    if locked is not None:
        complete_records(locked, index)
    return _input_state(args, config, specs, virtual), index, session, subdir


def run_solve(args: argparse.Namespace, config: CondaConfig | None = None):
    """Build the settings and the state, load the index, run the pipeline
    (:class:`~conda_solver_plus.session.SolveSession`). Returns (input, output, index,
    engine)."""
    config = config or CondaConfig()
    sis, index, session, subdir = prepare_solve(args, config)
    args.solve_input = (sis, index, session)  # explain shows it when the solve fails
    out = session.solve(sis, index)
    if args.lock_out:
        _write_lock_out(args, out, index, subdir)
    return sis, out, index, session.backend


def run_why_not(args: argparse.Namespace, config: CondaConfig) -> int:
    """``why-not SPEC [REQUEST...]``: what keeps the environment of the request (and
    ``--prefix``/``--locked``) from having SPEC (:mod:`conda_solver_plus.why_not`)."""
    from .why_not import parse_target, print_why_not, standalone_command, why_not

    target = parse_target(args.target)  # a bad SPEC is bad input before any loading
    sis, index, session, _subdir = prepare_solve(
        args, config, extra_specs=[target], require_specs=False
    )
    location = args.prefix or (f"{args.locked} (lockfile)" if args.locked else "")
    answer = why_not(
        args.target,
        sis,
        index,
        session,
        install_command=lambda specs: standalone_command(
            specs,
            prefix=args.prefix,
            locked=args.locked,
            channels=args.channels,
            ignore_pinned=args.ignore_pinned,
        ),
        location=location,
    )
    return print_why_not(answer, as_json=args.json)


def _command(args: argparse.Namespace) -> str:
    """conda's command the solve stands for: ``remove``, ``update`` or ``install``."""
    if args.remove:
        return "remove"
    return "update" if args.update or args.update_all else "install"


def _spec_channels(specs: list[MatchSpec]) -> list[str]:
    """The channels named in specs (``conda-forge::numpy``), which conda searches too."""
    return [
        str(spec).split("::", 1)[0]
        for spec in specs
        if spec.channel is not None and "::" in str(spec)
    ]


def _input_state(
    args: argparse.Namespace,
    config: CondaConfig,
    specs: list[MatchSpec],
    virtual: dict[str, GenericVirtualPackage],
) -> SolverInputState:
    """The solve's input state from the command line: the specs, the prefix (or the
    lockfile read into ``args.lockfile``), pins, modifiers and virtual packages."""
    from .state import SolverInputState

    pins, pins_source = _pins(args, config)
    locked = args.lockfile
    return SolverInputState(
        args.prefix,
        specs,
        command=_command(args),
        update_modifier=_update_modifier(args),
        deps_modifier="no_deps" if args.no_deps else "only_deps" if args.only_deps else None,
        pinned_packages=pins,
        pinned_source=pins_source,
        aggressive_update_packages=args.aggressive_update,
        virtual_packages=virtual,
        ignore_pinned=args.ignore_pinned,
        force_reinstall=args.force_reinstall,
        prune=args.prune,
        locked=locked.by_name() if locked is not None else None,
        locked_source=str(args.locked),
    )


def _write_lock_out(args: argparse.Namespace, out, index, subdir: str) -> None:
    from .lockfile import EXPLICIT, LockedEnvironment, format_for_path, write_lockfile

    fmt = format_for_path(args.lock_out)
    source = args.lockfile
    if source is not None and source.format != fmt:
        # converted: pixi and conda-lock files both hold several platforms, so the rest of
        # the --locked file comes along; an explicit file holds one
        carried = source.path if EXPLICIT not in (source.format, fmt) else None
        source = dataclasses.replace(source, format=fmt, path=carried)
    if source is None:
        source = LockedEnvironment(
            path=None,
            format=fmt,
            environment="default",
            platform=subdir,
            records=[],
            channels=[channel.given for channel in index.channels],
        )
    strategy = args.solve_input[2].settings.strategy
    write_lockfile(Path(args.lock_out), out.current_solution, source, strategy=strategy)


def _changes_an_environment(args: argparse.Namespace) -> bool:
    """A solve against a prefix or a lockfile (or a removal) changes an existing
    environment: the output shows the transaction as well as the result."""
    return bool(args.prefix or args.locked or args.remove)


def _print_solution(args: argparse.Namespace, sis, out) -> None:
    """The result: ``conda list``'s table, and conda's package plan for a solve that
    changes an existing environment; with ``--json`` both as one object."""
    from .output import render_plan, render_table, transaction

    after = {record.name.normalized: record for record in out.current_solution}
    change = transaction(dict(sis.installed.items()), after)
    change.downgrade_causes = out.downgrades  # each downgrade says what forces it
    if args.json:
        payload = {
            "records": [record_to_json(r) for r in out.current_solution],
            "transaction": change.to_json(),
        }
        print(json.dumps(payload, indent=2))
        return
    print(render_table(out.current_solution, empty="# No packages: the environment is empty"))
    if not _changes_an_environment(args):
        return
    location = args.prefix or (f"{args.locked} (lockfile)" if args.locked else "")
    specs = [str(spec) for spec in sis.requested_specs]
    print()
    print(
        render_plan(
            change,
            location=location,
            added=[] if args.remove else specs,
            removed=specs if args.remove else [],
        )
    )


def _explain_payload(sis, out, backend, strategy: str = "highest") -> dict[str, Any]:
    def changes(mapping) -> dict[str, list[dict[str, str]]]:
        result: dict[str, list[dict[str, str]]] = {}
        for change in mapping.log:
            result.setdefault(str(change.key), []).append(
                {
                    "action": change.action,
                    "value": str(change.new if change.new is not None else change.old),
                    "reason": change.reason,
                }
            )
        return result

    from .provenance import downgrades_payload, spec_provenance

    return {
        "backend": backend.name,
        "strategy": strategy,
        "input": sis.summary(),
        "provenance": spec_provenance(sis, out),
        "attempts": out.attempts,
        "specs": {
            name: {"spec": str(spec), "reason": out.specs.reason(name)}
            for name, spec in out.specs.items()
        },
        "constraints": {
            name: {"spec": str(spec), "reason": out.constraints.reason(name)}
            for name, spec in out.constraints.items()
        },
        "locked": {n: out.locked.reason(n) for n in out.locked},
        "frozen": {n: out.frozen.reason(n) for n in out.frozen},
        "conflicts": changes(out.conflicts),
        "neutered": {n: str(s) for n, s in out.neutered.items()},
        **downgrades_payload(out),
        "records": [
            {**record_to_json(r), "why": out.why.get(r.name.normalized, "")}
            for r in out.current_solution
        ],
    }


def _print_explain(sis, out, backend, as_json: bool, strategy: str = "highest") -> None:
    from .explain import render_provenance
    from .provenance import strategy_line

    if as_json:
        print(json.dumps(_explain_payload(sis, out, backend, strategy), indent=2))
        return
    print(f"engine: {backend.name}")
    if strategy != "highest":  # the default goes without saying, as in the lockfiles
        print(strategy_line(strategy))
    print(render_provenance(sis, out))


def _print_failed_provenance(args: argparse.Namespace) -> None:
    """``explain`` of a request that cannot be met: where each spec of the request came
    from (stdout), before the error (stderr). The request is built again, without an
    engine call, from the same input."""
    from .core import build_request
    from .explain import render_failed_provenance
    from .state import SolverOutputState

    solve_input = getattr(args, "solve_input", None)
    if solve_input is None:  # failed before the request existed (bad input)
        return
    sis, index, session = solve_input
    out = SolverOutputState(sis)
    try:
        build_request(sis, out, index, session.options)
    except SolverPlusError:
        return  # the request itself is what fails: the error says why
    print(render_failed_provenance(sis, out))
    print()
    sys.stdout.flush()


def _one_line(message: str) -> str:
    """Bad-input errors are one line on stderr (engines and parsers sometimes add more)."""
    return "; ".join(line.strip() for line in message.splitlines() if line.strip())


def main(argv: Sequence[str] | None = None) -> int:
    try:
        config = load_config()
    except InvalidInputError as exc:  # a broken .condarc: conda refuses it too
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    parser = build_parser(config)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(levelname)s %(name)s: %(message)s",
    )
    previous = progress.set_reporter(progress.terminal_reporter(json=args.json, quiet=args.quiet))
    try:
        code = _run(args, config)
        sys.stdout.flush()  # a closed pipe shows up here rather than at interpreter exit
        return code
    except BrokenPipeError:
        # the reader went away (`... | head`): not an error of ours, and no traceback
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 141  # 128 + SIGPIPE, as a shell reports it
    finally:
        progress.set_reporter(previous)


def _report_error(args: argparse.Namespace, exc: SolverPlusError) -> int:
    """An expected failure: with ``--json`` the error object on stdout; bad input as one
    line on stderr, a failed request's explanation on stderr (without ``--json``)."""
    if args.json:
        print(json.dumps({"error": exc.to_json()}, indent=2))
    if exc.exit_code == 2:
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
    elif args.json:
        pass
    elif isinstance(exc, UnsatisfiableError) and args.verbose:
        print(exc.explanation.render(full_report=True), file=sys.stderr)
    else:
        print(exc, file=sys.stderr)
    return exc.exit_code


def _run_command(args: argparse.Namespace, config: CondaConfig) -> int:
    """The commands that print their own result: the cache's and shards' tools, ``lock``
    (each platform's solve is a process that takes the cache lock itself), the queries
    and ``why-not``; the solving commands go on in :func:`_run`."""
    if args.command == "shard":
        from . import shard_command

        return shard_command.run(args)
    if args.command == "cache":
        return cache_command.run(args)
    if args.command == "lock":
        return lock_command.run(args)
    # held while the cache is read and written: `cache clean` waits for it
    with cache_files.in_use(_cache_dir(args)):
        if args.command in QUERY_COMMANDS:
            return run_query(args, config)
        return run_why_not(args, config)


#: the commands :func:`_run_command` runs
_OWN_RESULT_COMMANDS = ("shard", "cache", "lock", "why-not", *QUERY_COMMANDS)


def _run(args: argparse.Namespace, config: CondaConfig) -> int:
    try:
        if args.command in _OWN_RESULT_COMMANDS:
            return _run_command(args, config)
        with cache_files.in_use(_cache_dir(args)):
            sis, out, _index, backend = run_solve(args, config)
    except SolverPlusError as exc:
        if args.command == "explain" and not args.json and exc.exit_code == 1:
            _print_failed_provenance(args)
        return _report_error(args, exc)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        raise  # handled by main
    except Exception as exc:
        if args.verbose:
            raise
        print(
            f"internal error in conda-solver-plus: {type(exc).__name__}: "
            f"{_one_line(str(exc))} (rerun with -v for a traceback and please report it)",
            file=sys.stderr,
        )
        return 3
    if args.command == "explain":
        _print_explain(sis, out, backend, args.json, args.solve_input[2].settings.strategy)
    elif args.command == "why":
        from .explain import print_why

        return print_why(args.package, sis, out, as_json=args.json, where="the result")
    else:
        _print_solution(args, sis, out)
    return 0
