"""
The standalone command line: solve and explain without conda.

``python -m conda_solver_plus solve SPEC... -c CHANNEL`` runs exactly the code path the
conda plugin runs — prefix state, index, engine, conda's rules — and prints the final
environment. It is the contract other tools and checks rely on:

- exit 0: the solution (``--json``: ``{"records": [...]}``);
- exit 1: the request cannot be met; a readable explanation on stderr (``--json``: an
  ``{"error": {"type", "message", ...}}`` object on stdout);
- exit 2: bad input (missing channel, malformed repodata, invalid spec): one line on
  stderr naming the file or spec, never a traceback.

``explain`` takes the same arguments and prints where every spec handed to the engine came
from and how the solve loop changed it, and why each record of the result is there;
``why NAME`` (same arguments after the name) prints the chain that brought ``NAME`` in.

``search SPEC``, ``depends SPEC [--tree]`` and ``whoneeds NAME`` query the channels without
solving (:mod:`conda_solver_plus.query`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from . import __version__
from .backends import CHANNEL_PRIORITIES
from .exceptions import InvalidInputError, SolverPlusError
from .exclude_newer import ExcludeNewer
from .records import KNOWN_SUBDIRS, record_to_json
from .session import SolveSession
from .settings import Settings, key_value, resolve_backend, resolve_timeout

log = logging.getLogger("conda_solver_plus")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _add_channel_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--channel",
        dest="channels",
        action="append",
        default=[],
        metavar="CHANNEL",
        help="channel: local directory, file:// or http(s):// URL, or a name (repeatable; "
        "earlier channels have higher priority)",
    )
    parser.add_argument("--subdir", help="target platform, e.g. linux-64 (default: this machine)")
    parser.add_argument("--cache-dir", help="where remote repodata is cached")
    parser.add_argument("--offline", action="store_true", help="never touch the network")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("-v", "--verbose", action="count", default=0)


def _add_solve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("specs", nargs="*", metavar="SPEC", help="match specs to install")
    _add_channel_arguments(parser)
    parser.add_argument("-p", "--prefix", help="existing environment to solve against")
    parser.add_argument(
        "--backend",
        default=None,
        choices=["auto", "rattler", "libmamba"],
        help="engine (default: auto = libmamba where libmambapy imports, else rattler; "
        "or CONDA_SOLVER_PLUS_BACKEND)",
    )
    parser.add_argument("--channel-priority", default="strict", choices=CHANNEL_PRIORITIES)
    parser.add_argument(
        "--virtual",
        action="append",
        default=[],
        metavar="NAME=VERSION",
        help="set a virtual package (e.g. __cuda=12.6); NAME= removes it",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--remove", action="store_true", help="remove SPECs from the prefix")
    mode.add_argument("--update", action="store_true", help="conda update semantics")
    mods = parser.add_mutually_exclusive_group()
    mods.add_argument("--update-all", action="store_true")
    mods.add_argument("--freeze-installed", action="store_true")
    mods.add_argument("--update-deps", action="store_true")
    mods.add_argument("--update-specs", action="store_true")
    mods.add_argument("--satisfied-skip-solve", action="store_true")
    deps = parser.add_mutually_exclusive_group()
    deps.add_argument("--no-deps", action="store_true")
    deps.add_argument("--only-deps", action="store_true")
    parser.add_argument(
        "--pin", action="append", default=[], metavar="SPEC", help="extra pinned spec"
    )
    parser.add_argument("--ignore-pinned", action="store_true")
    parser.add_argument("--aggressive-update", action="append", default=[], metavar="NAME")
    parser.add_argument("--prune", action="store_true")
    parser.add_argument("--force-reinstall", action="store_true")
    parser.add_argument("--add-pip", action="store_true", help="add pip to python's depends")
    parser.add_argument(
        "--timeout",
        # checked by settings.resolve_timeout, with the same rule and error as the
        # environment variable (argparse's float() would accept nan and inf)
        default=None,
        metavar="SECONDS",
        help="stop the engine after this many seconds (default: CONDA_SOLVER_PLUS_TIMEOUT)",
    )
    lock = parser.add_argument_group("lockfiles")
    lock.add_argument(
        "--locked",
        metavar="FILE",
        help="start from a lockfile (pixi.lock, conda-lock.yml or an @EXPLICIT file): its "
        "packages are kept and preferred like installed ones",
    )
    lock.add_argument(
        "--lock-env",
        metavar="NAME",
        help="environment of a multi-environment lockfile (default: 'default' or the only one)",
    )
    lock.add_argument(
        "--lock-out",
        metavar="FILE",
        help="write the result as a lockfile, in the format of --locked (else from the "
        "name: pixi.lock, *.yml conda-lock, anything else @EXPLICIT)",
    )
    newer = parser.add_argument_group("exclude-newer (cutoff: 7d, 3d12h, P7D, 2026-04-01, ...)")
    newer.add_argument(
        "--exclude-newer",
        metavar="CUTOFF",
        help="ignore packages published after CUTOFF (a date counts whole; a duration is "
        "back from now)",
    )
    newer.add_argument(
        "--exclude-newer-channel",
        action="append",
        default=[],
        metavar="CHANNEL=CUTOFF",
        help="cutoff for one channel (name, URL or URL glob); CUTOFF 'false' exempts it "
        "(repeatable; the last matching one wins)",
    )
    newer.add_argument(
        "--exclude-newer-package",
        action="append",
        default=[],
        metavar="NAME=CUTOFF",
        help="cutoff for one package name, whatever its channel; 'false' exempts it (repeatable)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m conda_solver_plus",
        description="Solve conda environments without conda (conda-solver-plus core).",
    )
    parser.add_argument("--version", action="version", version=f"conda-solver-plus {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    solve = sub.add_parser("solve", help="print the final environment for a request")
    _add_solve_arguments(solve)
    explain = sub.add_parser(
        "explain", help="like solve, plus where every spec came from and why each record"
    )
    _add_solve_arguments(explain)
    why = sub.add_parser("why", help="solve, then show why NAME is in the result")
    why.add_argument("package", metavar="NAME", help="package to explain")
    _add_solve_arguments(why)
    search = sub.add_parser("search", help="records in the channels matching a spec")
    search.add_argument("query", metavar="SPEC", help="match spec; the name may be a glob")
    _add_channel_arguments(search)
    search.add_argument("--channel-priority", default="flexible", choices=CHANNEL_PRIORITIES)
    depends = sub.add_parser("depends", help="dependencies of the best record matching SPEC")
    depends.add_argument("query", metavar="SPEC")
    depends.add_argument("--tree", action="store_true", help="recursively, as a tree")
    _add_channel_arguments(depends)
    depends.add_argument("--channel-priority", default="strict", choices=CHANNEL_PRIORITIES)
    whoneeds = sub.add_parser("whoneeds", help="packages in the channels that depend on NAME")
    whoneeds.add_argument("query", metavar="NAME")
    whoneeds.add_argument(
        "--all-versions", action="store_true", help="every version, not only the newest"
    )
    _add_channel_arguments(whoneeds)
    whoneeds.add_argument("--channel-priority", default="flexible", choices=CHANNEL_PRIORITIES)
    return parser


QUERY_COMMANDS = ("search", "depends", "whoneeds")


def run_query(args: argparse.Namespace) -> int:
    """``search``/``depends``/``whoneeds``: load the index and print the answer."""
    from . import query
    from .index import load_index
    from .virtual import native_subdir

    if not args.channels:
        raise InvalidInputError("channels", "no channel given", "pass at least one -c CHANNEL")
    index = load_index(
        list(args.channels),
        [args.subdir or native_subdir()],
        cache_dir=Path(args.cache_dir).expanduser() if args.cache_dir else None,
        offline=args.offline,
    )
    priority = args.channel_priority
    if args.command == "search":
        records = query.search(index, args.query, priority)
        if args.json:
            print(json.dumps({"records": [record_to_json(r) for r in records]}, indent=2))
        elif records:
            print(query.render_records(records))
        else:
            print(f"no records match {args.query!r}", file=sys.stderr)
        return 0 if records else 1
    if args.command == "depends":
        root = query.depends(index, args.query, tree=args.tree, channel_priority=priority)
        if args.json:
            print(json.dumps(root.to_json(), indent=2))
        else:
            print(query.render_depends(root, args.tree))
        return 0
    dependents = query.whoneeds(
        index, args.query, all_versions=args.all_versions, channel_priority=priority
    )
    if args.json:
        print(json.dumps({"dependents": [d.to_json() for d in dependents]}, indent=2))
    elif dependents:
        print(query.render_dependents(dependents))
    else:
        print(f"nothing in the channels depends on {args.query}", file=sys.stderr)
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
    """``--subdir`` must be a platform conda knows (conda's ``--subdir`` has the same
    choices); a typo would otherwise load only ``noarch`` and report every package as
    missing."""
    if args.subdir is None:
        return None
    subdir = args.subdir.strip()
    if subdir not in KNOWN_SUBDIRS or subdir == "noarch":
        known = ", ".join(sorted(KNOWN_SUBDIRS - {"noarch"}))
        raise InvalidInputError(
            f"--subdir {args.subdir!r}", "unknown platform", f"use one of: {known}"
        )
    return subdir


def _exclude_newer(args: argparse.Namespace) -> ExcludeNewer | None:
    """``--exclude-newer``, ``--exclude-newer-channel CHANNEL=CUTOFF`` and
    ``--exclude-newer-package NAME=CUTOFF`` as one policy; ``None`` when none is given."""
    if not (args.exclude_newer or args.exclude_newer_channel or args.exclude_newer_package):
        return None
    channels = [key_value(t, "--exclude-newer-channel") for t in args.exclude_newer_channel]
    packages = dict(key_value(t, "--exclude-newer-package") for t in args.exclude_newer_package)
    return ExcludeNewer.from_values(args.exclude_newer, packages, channels)


def _settings(args: argparse.Namespace) -> Settings:
    """The solve's settings from the command line, over the environment variables."""
    return Settings(
        backend=resolve_backend(args.backend),
        timeout=resolve_timeout(args.timeout),
        channel_priority=args.channel_priority,
        add_pip_as_python_dependency=args.add_pip,
        exclude_newer=_exclude_newer(args),
        cache_dir=Path(args.cache_dir).expanduser() if args.cache_dir else None,
    )


def run_solve(args: argparse.Namespace):
    """Build the settings and the state, load the index, run the pipeline
    (:class:`~conda_solver_plus.session.SolveSession`). Returns (input, output, index,
    engine)."""
    from .index import load_index
    from .lockfile import complete_records, read_lockfile
    from .specs import parse_spec
    from .state import SolverInputState
    from .virtual import parse_virtual_setting, virtual_packages

    if args.lock_env and not args.locked:
        raise InvalidInputError("--lock-env", "only makes sense with --locked FILE")
    locked = None
    if args.locked:
        locked = read_lockfile(args.locked, environment=args.lock_env, platform=args.subdir)
        if not args.subdir:
            args.subdir = locked.platform
        if not args.channels:
            args.channels = list(locked.channels)
    args.lockfile = locked
    if not args.channels:
        raise InvalidInputError("channels", "no channel given", "pass at least one -c CHANNEL")
    if not args.specs and not (args.update_all or args.prefix or locked):
        raise InvalidInputError("specs", "nothing to solve", "give at least one SPEC")
    specs = [parse_spec(text, "command line") for text in args.specs]
    settings: dict[str, str | None] = {}
    for text in args.virtual:
        name, version, build = parse_virtual_setting(text)
        settings[name] = None if version is None else f"{version}={build}"
    subdir = _subdir(args)
    virtual = virtual_packages(subdir, settings)
    from .virtual import native_subdir

    subdir = subdir or native_subdir()
    session = SolveSession(_settings(args))
    command = (
        "remove" if args.remove else "update" if args.update or args.update_all else "install"
    )
    deps_modifier = "no_deps" if args.no_deps else "only_deps" if args.only_deps else None
    channels = list(args.channels)
    for spec in specs:  # conda adds channels named in specs (channel::pkg)
        if spec.channel is not None and "::" in str(spec):
            channels.append(str(spec).split("::", 1)[0])
    index = load_index(
        channels, [subdir], cache_dir=session.settings.cache_dir, offline=args.offline
    )
    if locked is not None:
        complete_records(locked, index)
    sis = SolverInputState(
        args.prefix,
        specs,
        command=command,
        update_modifier=_update_modifier(args),
        deps_modifier=deps_modifier,
        pinned_packages=args.pin,
        pinned_source="--pin",
        aggressive_update_packages=args.aggressive_update,
        virtual_packages=virtual,
        ignore_pinned=args.ignore_pinned,
        force_reinstall=args.force_reinstall,
        prune=args.prune,
        locked=locked.by_name() if locked is not None else None,
        locked_source=str(args.locked),
    )
    out = session.solve(sis, index)
    if args.lock_out:
        _write_lock_out(args, out, index, subdir)
    return sis, out, index, session.backend


def _write_lock_out(args: argparse.Namespace, out, index, subdir: str) -> None:
    from .lockfile import LockedEnvironment, format_for_path, write_lockfile

    source = args.lockfile
    if source is None:
        source = LockedEnvironment(
            path=None,
            format=format_for_path(args.lock_out),
            environment="default",
            platform=subdir,
            records=[],
            channels=[channel.given for channel in index.channels],
        )
    write_lockfile(Path(args.lock_out), out.current_solution, source)


def _print_records(out, as_json: bool) -> None:
    records = out.current_solution
    if as_json:
        print(json.dumps({"records": [record_to_json(r) for r in records]}, indent=2))
        return
    width = max((len(r.name.normalized) for r in records), default=0)
    for record in records:
        data = record_to_json(record)
        print(
            f"{data['name']:<{width}}  {data['version']:<14} {data['build']:<24} "
            f"{data['channel']}/{data['subdir']}"
        )


def _explain_payload(sis, out, backend) -> dict[str, Any]:
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

    from .explain import spec_provenance

    return {
        "backend": backend.name,
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
        "records": [
            {**record_to_json(r), "why": out.why.get(r.name.normalized, "")}
            for r in out.current_solution
        ],
    }


def _print_explain(sis, out, backend, as_json: bool) -> None:
    from .explain import render_provenance

    if as_json:
        print(json.dumps(_explain_payload(sis, out, backend), indent=2))
        return
    print(f"engine: {backend.name}")
    print(render_provenance(sis, out))


def _one_line(message: str) -> str:
    """Bad-input errors are one line on stderr (engines and parsers sometimes add more)."""
    return "; ".join(line.strip() for line in message.splitlines() if line.strip())


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        code = _run(args)
        sys.stdout.flush()  # a closed pipe shows up here rather than at interpreter exit
        return code
    except BrokenPipeError:
        # the reader went away (`... | head`): not an error of ours, and no traceback
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 141  # 128 + SIGPIPE, as a shell reports it


def _run(args: argparse.Namespace) -> int:
    try:
        if args.command in QUERY_COMMANDS:
            return run_query(args)
        sis, out, _index, backend = run_solve(args)
    except SolverPlusError as exc:
        if args.json:
            print(json.dumps({"error": exc.to_json()}, indent=2))
        if exc.exit_code == 2:
            print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        elif not args.json:
            print(exc, file=sys.stderr)
        return exc.exit_code
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
        _print_explain(sis, out, backend, args.json)
    elif args.command == "why":
        from .explain import print_why

        return print_why(args.package, sis, out, as_json=args.json, where="the result")
    else:
        _print_records(out, args.json)
    return 0
