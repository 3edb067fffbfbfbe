"""
``conda-solver-plus lock``: one lockfile for every platform of an environment.

Teams lock an environment for the platforms its users run (``linux-64``, ``osx-arm64``,
``win-64``, ...). conda-lock runs a conda solve per platform, one after the other; pixi
solves them side by side. This command takes an ``environment.yml``
(:mod:`~conda_solver_plus.environment_file`) or specs, and:

1. **one solve per platform, in parallel processes** (at most one per core, ``--jobs``):
   each is ``conda-solver-plus solve --subdir PLATFORM`` with the platform's virtual
   packages — the very command a user would run for one platform, so a lock's platform
   and that command give the same records by construction. All of them share the one
   repodata cache (:mod:`~conda_solver_plus.repodata`), whose writers are safe side by side;
2. **the platform's virtual packages**: conda-lock's defaults
   (:data:`~conda_solver_plus.virtual.CONDA_LOCK_VIRTUAL_PACKAGES`), or a conda-lock
   ``--virtual-package-spec`` file, then ``--virtual [PLATFORM:]NAME=VERSION[=BUILD]``;
   nothing of the machine running the lock leaks in;
3. **re-locking keeps what still fits**: where the lockfile exists, each platform starts
   from its locked records as ``solve --locked`` does (kept and preferred), so re-locking
   an unchanged environment changes nothing; ``--update NAME`` frees NAME's locked
   record on every platform, so NAME moves and the rest moves only where NAME forces it;
4. **one failing platform** is reported with its conflict (the explanation ``solve``
   gives) under the platform's name; the others still finish and are reported; no
   lockfile is written (a lockfile missing a platform would be installed as if complete)
   and the exit status is 1;
5. **the lockfile** is written once, when every platform is solved, in the format its name
   says (``pixi.lock``, ``*.yml`` for conda-lock, anything else ``@EXPLICIT`` files — one
   per platform, with ``{platform}`` in the name).

On a terminal each platform has a line on stderr saying what it is doing; ``--json`` prints
one object with every platform's outcome instead.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from rattler import MatchSpec

from .environment_file import EnvironmentFile, read_environment_file
from .exceptions import InvalidInputError, SolverPlusError
from .lockfile import (
    CONDA_LOCK,
    EXPLICIT,
    PIXI,
    format_for_path,
    read_lockfile,
    write_lock_platforms,
)
from .records import dependency_closure, known_platform
from .settings import SOLVE_STRATEGIES, SolveStrategy
from .virtual import (
    CONDA_LOCK_VIRTUAL_PACKAGES,
    parse_virtual_setting,
    platform_virtual_packages,
    read_virtual_package_spec,
)

__all__ = ["DEFAULT_PLATFORMS", "HELP", "add_arguments", "run"]

HELP = "lock an environment (environment.yml or SPECs) for several platforms in one lockfile"

#: conda-lock 4.0.3's platforms when neither the command nor the file names any
#: (``conda_lock/src_parser/__init__.py``: ``DEFAULT_PLATFORMS``)
DEFAULT_PLATFORMS = ("linux-64", "osx-arm64", "osx-64", "win-64")
#: conda-lock's default output file
DEFAULT_LOCKFILE = "conda-lock.yml"
#: what the platform solves are told about the virtual packages they must not detect
_KNOWN_VIRTUAL = ("__unix", "__linux", "__glibc", "__osx", "__win", "__cuda", "__archspec")
#: a file name of each lockfile format (what :func:`format_for_path` reads it as)
_FORMAT_NAMES = {PIXI: "pixi.lock", CONDA_LOCK: "conda-lock.yml", EXPLICIT: "explicit.txt"}
#: how often a terminal's platform lines are redrawn while solves run
_REDRAW_SECONDS = 0.2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("specs", nargs="*", metavar="SPEC", help="match specs to lock")
    parser.add_argument(
        "-f",
        "--file",
        action="append",
        default=[],
        metavar="FILE",
        help="environment.yml to lock (name, channels, dependencies, platforms); repeatable",
    )
    parser.add_argument(
        "-p",
        "--platform",
        action="append",
        default=[],
        metavar="PLATFORM",
        help="platform to lock for (repeatable; default: the file's platforms:, else "
        f"conda-lock's {', '.join(DEFAULT_PLATFORMS)})",
    )
    parser.add_argument(
        "-c",
        "--channel",
        dest="channels",
        action="append",
        default=[],
        metavar="CHANNEL",
        help="channel to solve with, replacing the file's channels (repeatable; highest "
        "priority first; default: the file's, else .condarc's)",
    )
    parser.add_argument(
        "--lockfile",
        "--lock-out",
        dest="lockfile",
        default=DEFAULT_LOCKFILE,
        metavar="FILE",
        help="the lockfile, by name: pixi.lock, *.yml (conda-lock), else @EXPLICIT files "
        "with {platform} in the name; an existing one is the starting point "
        f"(default: {DEFAULT_LOCKFILE})",
    )
    parser.add_argument(
        "--update",
        action="append",
        default=[],
        metavar="NAME",
        help="re-lock NAME (and only what it forces) instead of keeping its locked version",
    )
    parser.add_argument(
        "--virtual-package-spec",
        metavar="FILE",
        help="conda-lock's virtual-packages.yaml: the virtual packages of each platform",
    )
    parser.add_argument(
        "--virtual",
        action="append",
        default=[],
        metavar="[PLATFORM:]NAME=VERSION",
        help="set a virtual package for every platform, or for PLATFORM only (e.g. "
        "linux-64:__cuda=12.4, __glibc=2.17); NAME= removes it",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="platforms solved at once (default: the number of cores)",
    )
    parser.add_argument("--backend", choices=("auto", "libmamba", "rattler"), help="engine")
    parser.add_argument("--strategy", choices=SOLVE_STRATEGIES, help="solve strategy")
    parser.add_argument(
        "--channel-priority", choices=("strict", "flexible", "disabled"), help="as for solve"
    )
    parser.add_argument("--timeout", type=float, help="seconds each platform's solve may take")
    parser.add_argument("--exclude-newer", metavar="CUTOFF", help="as for solve")
    parser.add_argument("--cache-dir", help="the repodata cache (shared by every platform)")
    parser.add_argument("--offline", action="store_true", help="read remote channels from cache")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="as for solve")


# -- what to lock ---------------------------------------------------------------------------


@dataclass
class LockPlan:
    """Everything the platform solves share, worked out before any starts."""

    specs: list[str]
    channels: list[str]
    platforms: list[str]
    lockfile: Path
    format: str
    #: platform -> virtual package name -> ``"VERSION=BUILD"`` (or ``None``: absent)
    virtual: dict[str, dict[str, str | None]]
    #: options handed to every platform's ``solve`` as they are
    passed: list[str]
    update: list[str] = field(default_factory=list)
    pip: list[str] = field(default_factory=list)


def _platforms(args: argparse.Namespace, files: list[EnvironmentFile]) -> list[str]:
    named = args.platform or [p for f in files for p in f.platforms] or list(DEFAULT_PLATFORMS)
    return list(dict.fromkeys(known_platform(name, f"--platform {name}") for name in named))


def _assumed_virtual(args: argparse.Namespace, platforms: list[str]) -> dict[str, dict[str, str]]:
    """conda-lock's defaults, or the ``--virtual-package-spec`` file (which must cover
    every platform locked)."""
    if not args.virtual_package_spec:
        return dict(CONDA_LOCK_VIRTUAL_PACKAGES)
    spec_file = Path(args.virtual_package_spec)
    assumed = read_virtual_package_spec(spec_file)
    if missing := [p for p in platforms if p not in assumed]:
        raise InvalidInputError(
            str(spec_file),
            f"has no virtual packages for {', '.join(missing)}",
            "add the platform under subdirs:, or lock fewer platforms",
        )
    return assumed


def _virtual_overrides(
    args: argparse.Namespace, platforms: list[str]
) -> dict[str, dict[str, str | None]]:
    """``--virtual [PLATFORM:]NAME=VERSION[=BUILD]``, per platform."""
    overrides: dict[str, dict[str, str | None]] = {p: {} for p in platforms}
    for text in args.virtual:
        target, colon, setting = text.partition(":")
        if not colon or target.startswith("_"):  # NAME=... (a version may hold ':')
            target, setting = "", text
        if target and target not in overrides:
            raise InvalidInputError(f"--virtual {text}", f"{target} is not a platform locked")
        name, value = parse_virtual_setting(setting)
        for platform_name in [target] if target else platforms:
            overrides[platform_name][name] = value
    return overrides


def _virtual_settings(
    args: argparse.Namespace, platforms: list[str]
) -> dict[str, dict[str, str | None]]:
    """Per platform, every virtual package it is solved with (``None`` for the names
    the solve must not detect on this machine)."""
    assumed = _assumed_virtual(args, platforms)
    overrides = _virtual_overrides(args, platforms)
    result: dict[str, dict[str, str | None]] = {}
    for platform_name in platforms:
        packages = platform_virtual_packages(
            platform_name, assumed.get(platform_name), overrides[platform_name]
        )
        settings: dict[str, str | None] = dict.fromkeys(_KNOWN_VIRTUAL)
        settings.update({name: f"{p.version}={p.build_string}" for name, p in packages.items()})
        result[platform_name] = settings
    return result


def _passed_options(args: argparse.Namespace) -> list[str]:
    passed: list[str] = []
    for flag, value in (
        ("--backend", args.backend),
        ("--strategy", args.strategy),
        ("--channel-priority", args.channel_priority),
        ("--timeout", args.timeout),
        ("--exclude-newer", args.exclude_newer),
        ("--cache-dir", args.cache_dir),
    ):
        if value is not None:
            passed += [flag, str(value)]
    if args.offline:
        passed.append("--offline")
    return passed


def _lockfile_format(lockfile: Path, platforms: list[str]) -> str:
    fmt = format_for_path(lockfile)
    if fmt == EXPLICIT and len(platforms) > 1 and "{platform}" not in lockfile.name:
        raise InvalidInputError(
            f"--lockfile {lockfile}",
            "an @EXPLICIT file holds one platform",
            "put {platform} in its name (explicit-{platform}.txt), or lock into "
            "conda-lock.yml or pixi.lock",
        )
    return fmt


def make_plan(args: argparse.Namespace) -> LockPlan:
    """The lock ``args`` ask for; bad input fails here, before any solve starts."""
    from .specs import parse_spec

    files = [read_environment_file(Path(path)) for path in args.file]
    specs = list(dict.fromkeys([*(s for f in files for s in f.specs), *args.specs]))
    if not specs:
        raise InvalidInputError(
            "lock", "nothing to lock", "give -f environment.yml or at least one SPEC"
        )
    for text in specs:
        parse_spec(text, ", ".join(args.file) or "command line")
    platforms = _platforms(args, files)
    lockfile = Path(args.lockfile)
    fmt = _lockfile_format(lockfile, platforms)
    if args.jobs < 1:
        raise InvalidInputError(f"--jobs {args.jobs}", "must be at least 1")
    return LockPlan(
        specs=specs,
        channels=list(args.channels) or list(dict.fromkeys(c for f in files for c in f.channels)),
        platforms=platforms,
        lockfile=lockfile,
        format=fmt,
        virtual=_virtual_settings(args, platforms),
        passed=_passed_options(args),
        update=list(args.update),
        pip=[requirement for f in files for requirement in f.pip],
    )


# -- one platform ----------------------------------------------------------------------------


@dataclass
class PlatformOutcome:
    """How one platform's solve ended."""

    platform: str
    exit_code: int
    seconds: float
    #: the records, read back from the solve's own lockfile (``exit_code == 0``)
    records: list = field(default_factory=list)
    #: the solve's error object (``--json``'s ``error``) when it failed
    error: dict = field(default_factory=dict)
    #: what the solve logged (warnings: a request handed to another engine, ...)
    log: list[str] = field(default_factory=list)
    #: the strategy the solve used (``--strategy``, else its environment and .condarc),
    #: as the lockfile it wrote records it
    strategy: SolveStrategy = "highest"


@dataclass
class PlatformRequest:
    """What one platform's ``solve`` is asked: from scratch, every spec is requested; from
    an existing lockfile, its records are the starting point, kept and preferred, the specs
    they already meet only have to keep holding (``--pin``), and only the specs they do
    not meet (new or changed in the environment file) and the ``--update`` names are
    requested — so an unchanged environment re-locks to the same records."""

    specs: list[str]
    pins: list[str] = field(default_factory=list)
    start: Path | None = None


def platform_request(plan: LockPlan, platform_name: str, scratch: Path) -> PlatformRequest:
    """The request for ``platform_name``, from the lockfile as it is on disk."""
    locked = _locked_platform(plan, platform_name)
    if locked is None:
        return PlatformRequest(list(plan.specs))
    freed = set(plan.update)
    wanted = _still_needed(locked.by_name(), plan.specs)
    kept = [r for r in locked.records if r.name.normalized in wanted - freed]
    by_name = {r.name.normalized: r for r in kept}
    specs: list[str] = []
    pins: list[str] = []
    for text in plan.specs:
        spec = MatchSpec(text, strict=False)
        record = by_name.get(spec.name.normalized) if spec.name is not None else None
        (pins if record is not None and spec.matches(record) else specs).append(text)
    named = {MatchSpec(text, strict=False).name.normalized for text in specs}
    specs += [name for name in plan.update if name not in named]
    if len(kept) == len(locked.records):
        return PlatformRequest(specs, pins, locked.path)
    # the lockfile without the freed records and those no spec needs any more, in its own
    # format: conda-lock and explicit records are partial, and the solve completes them
    # from the channels only then
    start = scratch / f"start-{platform_name}" / _FORMAT_NAMES[locked.format]
    start.parent.mkdir(parents=True)
    source = dataclasses.replace(locked, path=None, records=[])
    write_lock_platforms(start, {platform_name: kept}, source)
    return PlatformRequest(specs, pins, start)


def _still_needed(locked: dict, specs: list[str]) -> set[str]:
    """The locked names the environment's specs still reach through the locked records'
    depends (a spec removed from the file takes what only it needed along), with pip
    where python is (conda adds it to python's depends, as the locked pip shows)."""
    roots = {
        spec.name.normalized
        for spec in (MatchSpec(text, strict=False) for text in specs)
        if spec.name is not None
    }
    needed = roots | dependency_closure(locked, roots)
    if "python" in needed and "pip" in locked:
        needed |= {"pip"} | dependency_closure(locked, ["pip"])
    return needed & set(locked)


def _locked_platform(plan: LockPlan, platform_name: str):
    """``platform_name``'s records in the existing lockfile; ``None`` when there is no
    lockfile or it does not lock that platform yet."""
    existing = _platform_path(plan, platform_name)
    if not existing.is_file():
        return None
    from .lockfile import locked_platforms

    if platform_name not in locked_platforms(existing):
        return None
    return read_lockfile(existing, platform=platform_name)


def _platform_path(plan: LockPlan, platform_name: str) -> Path:
    return plan.lockfile.with_name(plan.lockfile.name.replace("{platform}", platform_name))


def solve_command(
    plan: LockPlan, platform_name: str, request: PlatformRequest, out: Path
) -> list[str]:
    """``conda-solver-plus solve`` for one platform of the lock."""
    command = [sys.executable, "-m", "conda_solver_plus", "solve", "--json", "-q"]
    command += ["--subdir", platform_name, *plan.passed]
    if plan.channels:
        command.append("--override-channels")
    for channel in plan.channels:
        command += ["-c", channel]
    for name, value in plan.virtual[platform_name].items():
        command += ["--virtual", f"{name}={value or ''}"]
    if request.start is not None:
        # the locked records are kept and preferred, as installed ones are: they move only
        # where a requested spec (a changed one, a freed --update NAME) forces them
        command += ["--locked", str(request.start)]
    for pin in request.pins:
        command += ["--pin", pin]
    return [*command, "--lock-out", str(out), *request.specs]


def solve_platform(plan: LockPlan, platform_name: str, scratch: Path) -> PlatformOutcome:
    """Solve one platform in a process of its own; its records come back through the
    pixi.lock the solve writes (every field of every record)."""
    started = time.monotonic()
    try:
        request = platform_request(plan, platform_name, scratch)
    except SolverPlusError as exc:
        return PlatformOutcome(platform_name, exc.exit_code, 0.0, error=exc.to_json())
    out = scratch / platform_name / "pixi.lock"
    out.parent.mkdir(parents=True)
    proc = subprocess.run(
        solve_command(plan, platform_name, request, out),
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    seconds = time.monotonic() - started
    log = [line for line in proc.stderr.splitlines() if line.strip()]
    if proc.returncode != 0:
        try:
            error = json.loads(proc.stdout)["error"]
        except (ValueError, KeyError, TypeError):
            error = {"type": "InternalError", "message": "\n".join(log) or proc.stdout}
        return PlatformOutcome(platform_name, proc.returncode, seconds, error=error, log=log)
    solved = read_lockfile(out, platform=platform_name)
    return PlatformOutcome(
        platform_name, 0, seconds, records=solved.records, log=log, strategy=solved.strategy
    )


# -- all platforms ---------------------------------------------------------------------------


class PlatformLines:
    """One line per platform on a terminal (stderr), redrawn in place while solves run."""

    def __init__(self, platforms: Sequence[str], stream) -> None:
        self.stream = stream
        self.started = time.monotonic()
        self.states = {p: "waiting" for p in platforms}
        self.width = max(len(p) for p in platforms)
        self.lock = threading.Lock()
        self.drawn = False

    def set(self, platform_name: str, state: str) -> None:
        with self.lock:
            self.states[platform_name] = state
            self._draw()

    def tick(self) -> None:
        with self.lock:
            self._draw()

    def _draw(self) -> None:
        elapsed = time.monotonic() - self.started
        lines = []
        for platform_name, state in self.states.items():
            shown = f"solving ({elapsed:.0f} s)" if state == "solving" else state
            lines.append(f"{platform_name:<{self.width}}  {shown}")
        up = f"\x1b[{len(lines)}F" if self.drawn else ""
        self.stream.write(up + "".join(f"\x1b[2K{line}\n" for line in lines))
        self.stream.flush()
        self.drawn = True


def _outcome_line(outcome: PlatformOutcome) -> str:
    if outcome.exit_code == 0:
        return f"{len(outcome.records)} packages ({outcome.seconds:.1f} s)"
    return f"failed ({outcome.error.get('type', 'error')}, {outcome.seconds:.1f} s)"


def solve_platforms(
    plan: LockPlan, jobs: int, lines: PlatformLines | None
) -> list[PlatformOutcome]:
    """Every platform's outcome, in the plan's order; at most ``jobs`` solves at once."""
    with tempfile.TemporaryDirectory(prefix="plus-lock-") as scratch_dir:
        scratch = Path(scratch_dir)

        def one(platform_name: str) -> PlatformOutcome:
            if lines is not None:
                lines.set(platform_name, "solving")
            outcome = solve_platform(plan, platform_name, scratch)
            if lines is not None:
                lines.set(platform_name, _outcome_line(outcome))
            return outcome

        with ThreadPoolExecutor(max_workers=min(jobs, len(plan.platforms))) as pool:
            futures = [pool.submit(one, p) for p in plan.platforms]
            while lines is not None and not all(f.done() for f in futures):
                time.sleep(_REDRAW_SECONDS)
                lines.tick()
            return [future.result() for future in futures]


def write_lock(plan: LockPlan, outcomes: list[PlatformOutcome]) -> list[Path]:
    """Write the lockfile (or, for explicit files, one per platform); returns the paths."""
    from .lockfile import LockedEnvironment

    by_platform = {o.platform: o.records for o in outcomes}
    source = LockedEnvironment(
        path=None,
        format=plan.format,
        environment="default",
        platform=plan.platforms[0],
        records=[],
        channels=plan.channels,
        strategy=outcomes[0].strategy,  # every platform's solve had the same settings
    )
    if plan.format != EXPLICIT:
        write_lock_platforms(plan.lockfile, by_platform, source)
        return [plan.lockfile]
    paths = []
    for platform_name, records in by_platform.items():
        path = _platform_path(plan, platform_name)
        write_lock_platforms(path, {platform_name: records}, source)
        paths.append(path)
    return paths


def _report(plan: LockPlan, outcomes: list[PlatformOutcome], written: list[Path], as_json: bool):
    if as_json:
        document = {
            "lockfiles": [str(p) for p in written],
            "pip_not_locked": plan.pip,
            "platforms": {
                o.platform: (
                    {"packages": len(o.records), "seconds": round(o.seconds, 3)}
                    if o.exit_code == 0
                    else {"error": o.error, "seconds": round(o.seconds, 3)}
                )
                for o in outcomes
            },
        }
        print(json.dumps(document, indent=2))
        return
    for outcome in outcomes:
        if outcome.exit_code == 0:
            print(f"{outcome.platform}: {_outcome_line(outcome)}", flush=True)
    for outcome in outcomes:
        for line in outcome.log:
            print(f"{outcome.platform}: {line}", file=sys.stderr)
        if outcome.exit_code != 0:
            message = outcome.error.get("message", "").rstrip()
            print(f"{outcome.platform}: cannot be locked\n{message}\n", file=sys.stderr)
    failed = [o.platform for o in outcomes if o.exit_code != 0]
    if failed:
        print(
            f"no lockfile written: {len(failed)} of {len(outcomes)} platforms failed "
            f"({', '.join(failed)})",
            file=sys.stderr,
        )
        return
    print(f"wrote {', '.join(str(p) for p in written)}")


def run(args: argparse.Namespace) -> int:
    """``lock``: solve every platform, write the lockfile when all succeed."""
    plan = make_plan(args)
    if plan.pip and not args.json:
        print(
            f"note: {len(plan.pip)} pip requirement(s) of the environment file are not "
            "locked (a conda solver solves conda packages; lock PyPI packages with pip's "
            "tools): " + ", ".join(plan.pip),
            file=sys.stderr,
        )
    lines = None
    if sys.stderr.isatty() and not (args.json or args.quiet):
        lines = PlatformLines(plan.platforms, sys.stderr)
    outcomes = solve_platforms(plan, args.jobs, lines)
    written: list[Path] = []
    codes = {o.exit_code for o in outcomes}
    if codes == {0}:
        written = write_lock(plan, outcomes)
    _report(plan, outcomes, written, args.json)
    for code in (2, 3, 1):  # bad input first: it is the user's to fix before anything else
        if code in codes:
            return code
    return 0
