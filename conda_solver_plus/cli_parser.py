"""
The standalone command line's arguments: every command, option and default, as ``--help``
shows them (:mod:`conda_solver_plus.cli` runs what they ask).

Every option conda also has takes its default from conda's configuration
(:mod:`conda_solver_plus.condarc`), and ``--help`` says which value applies and where it
came from. The commands with modules of their own (``cache``, ``shard``, ``lock``) add
their arguments themselves.
"""

from __future__ import annotations

import argparse
from typing import NoReturn

from . import __version__, cache_command, lock_command
from .backends import CHANNEL_PRIORITIES, engine_names
from .condarc import CondaConfig, Value
from .settings import SOLVE_STRATEGIES

__all__ = ["build_parser"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _default(value: Value, shown: str | None = None) -> str:
    """``(default: flexible, conda's default)`` for a help text."""
    return f"(default: {value.describe(shown)})"


def _channels_shown(config: CondaConfig) -> str:
    channels = config.channels.value
    return ", ".join(channels) if channels else "none"


def _add_common_arguments(parser: argparse.ArgumentParser, config: CondaConfig) -> None:
    """The options of every subcommand: channels, platform, cache, output."""
    parser.add_argument(
        "-c",
        "--channel",
        dest="channels",
        action="append",
        default=[],
        metavar="CHANNEL",
        help="channel to search before the configured ones: a local directory, a file:// "
        "or http(s):// URL, or a name under conda.anaconda.org (repeatable; earlier "
        "channels have higher priority). The channels of .condarc follow "
        f"{_default(config.channels, _channels_shown(config))}",
    )
    parser.add_argument(
        "--override-channels",
        action="store_true",
        help="search only the -c channels, not those of .condarc (as conda's flag)",
    )
    parser.add_argument(
        "--channel-priority",
        default=config.channel_priority.value,
        choices=CHANNEL_PRIORITIES,
        help="strict: a package is taken only from the first channel that has it; "
        "flexible: a later channel may supply it when the first cannot; disabled: the "
        f"version decides, channel order only breaks ties {_default(config.channel_priority)}",
    )
    parser.add_argument(
        "--subdir",
        help="target platform, e.g. linux-64, osx-arm64 (default: this machine's); "
        "noarch is always searched too",
    )
    parser.add_argument(
        "--cache-dir",
        help="where remote repodata is cached (default: $CONDA_SOLVER_PLUS_CACHE, else "
        "~/.cache/conda-solver-plus)",
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="never touch the network: remote channels come from the cache only",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help='machine-readable output on stdout (errors too, as {"error": ...}); no progress',
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress bars (results and errors are still printed)",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log on stderr: -v what is done, -vv debug details (and a traceback for an "
        "internal error)",
    )


def _add_solve_arguments(parser: argparse.ArgumentParser, config: CondaConfig) -> None:
    parser.add_argument("specs", nargs="*", metavar="SPEC", help="match specs to install")
    _add_common_arguments(parser, config)
    parser.add_argument(
        "-p",
        "--prefix",
        help="existing environment to solve against: its packages, history and pins count, "
        "and the output shows what would change (nothing is written to it)",
    )
    parser.add_argument(
        "--backend",
        default=None,
        choices=["auto", *engine_names()],  # the registry: backends.ENGINES
        help="engine (default: CONDA_SOLVER_PLUS_BACKEND, else plus_backend in .condarc, "
        "else auto = libmamba where libmambapy imports, else rattler)",
    )
    parser.add_argument(
        "--virtual",
        action="append",
        default=[],
        metavar="NAME=VERSION",
        help="set a virtual package (e.g. __cuda=12.6, __glibc=2.28); NAME= removes it "
        "(default: detected on this machine, or CONDA_OVERRIDE_*)",
    )
    _add_mode_arguments(parser)
    pins = config.pinned_packages
    parser.add_argument(
        "--pin",
        action="append",
        default=[],
        metavar="SPEC",
        help="pin a package, in addition to pinned_packages of .condarc and the prefix's "
        f"conda-meta/pinned (repeatable) {_default(pins, ', '.join(pins.value) or 'none')}",
    )
    parser.add_argument(
        "--ignore-pinned",
        action="store_true",
        help="ignore every pin (--pin, pinned_packages, conda-meta/pinned)",
    )
    pip = config.add_pip_as_python_dependency
    parser.add_argument(
        "--add-pip",
        dest="add_pip",
        action="store_true",
        default=pip.value,
        help="python brings pip (and setuptools, wheel, packaging), as conda's "
        f"add_pip_as_python_dependency {_default(pip, 'yes' if pip.value else 'no')}",
    )
    parser.add_argument(
        "--no-add-pip",
        dest="add_pip",
        action="store_false",
        help="python without pip (add_pip_as_python_dependency: false)",
    )
    parser.add_argument(
        "--timeout",
        # checked by settings.resolve_timeout, with the same rule and error as the
        # environment variable (argparse's float() would accept nan and inf)
        default=None,
        metavar="SECONDS",
        help="stop the engine after this many seconds (default: CONDA_SOLVER_PLUS_TIMEOUT, "
        "else plus_timeout in .condarc, else no limit)",
    )
    parser.add_argument(
        "--strategy",
        default=None,
        # lower-cased before argparse checks it, as CONDA_SOLVER_PLUS_STRATEGY is
        type=str.lower,
        choices=SOLVE_STRATEGIES,
        help="which versions to prefer: highest; lowest (every package at its lowest "
        "version that works); lowest-direct (the requested packages at their lowest, "
        "their dependencies at their highest). Installed packages, pins and history "
        "still hold (default: CONDA_SOLVER_PLUS_STRATEGY, else plus_solve_strategy in "
        ".condarc, else highest)",
    )
    _add_lockfile_arguments(parser)
    _add_exclude_newer_arguments(parser, config)


def _add_mode_arguments(parser: argparse.ArgumentParser) -> None:
    """conda's commands and modifiers: install (default), update, remove."""
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--remove",
        action="store_true",
        help="conda remove: take SPECs out of the prefix (and what only they needed)",
    )
    mode.add_argument(
        "--update",
        action="store_true",
        help="conda update: SPECs must be installed and move to their newest version",
    )
    mods = parser.add_mutually_exclusive_group()
    mods.add_argument(
        "--update-all", action="store_true", help="conda update --all: update every package"
    )
    mods.add_argument(
        "--freeze-installed",
        action="store_true",
        help="keep every installed package exactly as it is",
    )
    mods.add_argument(
        "--update-deps",
        action="store_true",
        help="also update the dependencies of SPECs",
    )
    mods.add_argument(
        "--update-specs",
        action="store_true",
        help="update SPECs, changing installed packages only where needed "
        "(conda's default modifier)",
    )
    mods.add_argument(
        "--satisfied-skip-solve",
        action="store_true",
        help="do nothing when the prefix already satisfies SPECs",
    )
    deps = parser.add_mutually_exclusive_group()
    deps.add_argument(
        "--no-deps", action="store_true", help="only SPECs themselves, not their dependencies"
    )
    deps.add_argument(
        "--only-deps", action="store_true", help="only the dependencies of SPECs, not SPECs"
    )
    parser.add_argument(
        "--aggressive-update",
        action="append",
        default=[],
        metavar="NAME",
        help="always update NAME when solving (conda's aggressive_update_packages; repeatable)",
    )
    parser.add_argument(
        "--prune",
        action="store_true",
        help="remove installed packages nothing requested needs any more",
    )
    parser.add_argument(
        "--force-reinstall",
        action="store_true",
        help="reinstall SPECs even when the installed package would do",
    )


def _add_lockfile_arguments(parser: argparse.ArgumentParser) -> None:
    lock = parser.add_argument_group("lockfiles")
    lock.add_argument(
        "--locked",
        metavar="FILE",
        help="start from a lockfile (pixi.lock, conda-lock.yml or an @EXPLICIT file): its "
        "packages are kept and preferred like installed ones, and the output shows what "
        "changes; its channels are used when no -c is given",
    )
    lock.add_argument(
        "--lock-env",
        metavar="NAME",
        help="environment of a multi-environment lockfile (default: 'default' or the only one)",
    )
    lock.add_argument(
        "--lock-out",
        metavar="FILE",
        help="write the result as a lockfile, in the format its name says (pixi.lock, "
        "*.yml conda-lock, anything else @EXPLICIT); the rest of the --locked file (other "
        "platforms, environments) is carried over",
    )


def _add_exclude_newer_arguments(parser: argparse.ArgumentParser, config: CondaConfig) -> None:
    newer = parser.add_argument_group("exclude-newer (cutoff: 7d, 3d12h, P7D, 2026-04-01, ...)")
    cutoff = config.exclude_newer
    newer.add_argument(
        "--exclude-newer",
        metavar="CUTOFF",
        help="ignore packages published after CUTOFF (a date counts whole; a duration is "
        f"back from now) {_default(cutoff, str(cutoff.value or 'none'))}",
    )
    per_channel = config.exclude_newer_channel
    newer.add_argument(
        "--exclude-newer-channel",
        action="append",
        default=[],
        metavar="CHANNEL=CUTOFF",
        help="cutoff for one channel (name, URL or URL glob); CUTOFF 'false' exempts it "
        "(repeatable; the last matching one wins) "
        + _default(per_channel, ", ".join(f"{c}={v}" for c, v in per_channel.value) or "none"),
    )
    per_package = config.exclude_newer_package
    newer.add_argument(
        "--exclude-newer-package",
        action="append",
        default=[],
        metavar="NAME=CUTOFF",
        help="cutoff for one package name, whatever its channel; 'false' exempts it "
        "(repeatable) "
        + _default(
            per_package, ", ".join(f"{n}={v}" for n, v in per_package.value.items()) or "none"
        ),
    )


_DESCRIPTION = """\
Solve conda environments without conda: the same solver as `conda install --solver=plus`.
Defaults come from where conda takes them: .condarc files and CONDA_* variables
(channels, channel_priority, pinned_packages, add_pip_as_python_dependency,
exclude_newer), else conda's own defaults. Results go to stdout, diagnostics and progress
to stderr. Exit status: 0 done, 1 the request cannot be met (or nothing matched),
2 bad input, 3 internal error."""


def build_parser(config: CondaConfig | None = None) -> argparse.ArgumentParser:
    """The command line, with defaults (and their help) from ``config`` (conda's)."""
    config = config or CondaConfig()
    files = ", ".join(str(f) for f in config.files) or "none found"
    parser = _Parser(
        prog="conda-solver-plus",
        description=_DESCRIPTION,
        epilog=f"configuration files read: {files}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"conda-solver-plus {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    solve = sub.add_parser(
        "solve",
        help="print the environment for a request (and, with --prefix/--locked/--remove, "
        "the transaction)",
    )
    _add_solve_arguments(solve, config)
    explain = sub.add_parser(
        "explain", help="like solve, plus where every spec came from and why each record"
    )
    _add_solve_arguments(explain, config)
    why = sub.add_parser("why", help="solve, then show why NAME is in the result")
    why.add_argument("package", metavar="NAME", help="package to explain")
    _add_solve_arguments(why, config)
    why_not = sub.add_parser(
        "why-not",
        help="what keeps the environment from having SPEC, and what would get it",
        description="What keeps the environment of REQUEST (and --prefix/--locked) from "
        "having SPEC: the chain of requested specs, pins, history, virtual packages or "
        "channel priority that excludes it; the newest version it could have as it is; "
        "and what to change. Exit 0 when SPEC is possible, 1 when it is not.",
    )
    why_not.add_argument(
        "target", metavar="SPEC", help='match spec to ask about, e.g. "numpy>=2.1"'
    )
    _add_solve_arguments(why_not, config)
    search = sub.add_parser("search", help="records in the channels matching a spec")
    search.add_argument("query", metavar="SPEC", help="match spec; the name may be a glob")
    _add_common_arguments(search, config)
    depends = sub.add_parser("depends", help="dependencies of the best record matching SPEC")
    depends.add_argument("query", metavar="SPEC", help="match spec of the package")
    depends.add_argument("--tree", action="store_true", help="recursively, as a tree")
    _add_common_arguments(depends, config)
    whoneeds = sub.add_parser("whoneeds", help="packages in the channels that depend on NAME")
    whoneeds.add_argument("query", metavar="NAME", help="package name")
    whoneeds.add_argument(
        "--all-versions", action="store_true", help="every version, not only the newest"
    )
    _add_common_arguments(whoneeds, config)
    from . import shard_command

    shard_command.add_arguments(sub.add_parser("shard", help=shard_command.HELP))
    cache_command.add_arguments(sub.add_parser("cache", help=cache_command.HELP))
    lock_command.add_arguments(
        sub.add_parser(
            "lock",
            help=lock_command.HELP,
            description=lock_command.HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
    )
    return parser
