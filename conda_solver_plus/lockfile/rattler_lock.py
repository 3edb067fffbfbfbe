"""
pixi and conda-lock files, read through py-rattler's ``LockFile``.

``pixi.lock`` (versions 4-7; pixi writes 6 or 7) holds several named environments, each
with its channels and, per platform, a list of package URLs; the full repodata record of
every package is stored once in a shared ``packages`` list. ``conda-lock.yml`` (version
1) holds one environment whose ``dependencies`` are a name -> spec map, without
``constrains``, build numbers or timestamps: its records stay marked as reconstructed
until a channel fills them in (:mod:`.metadata`).

Writing goes through the format's own module (:mod:`.pixi`, :mod:`.conda_lock`); both
carry over what :func:`original_lock` reads back.

The solve strategy an environment was solved with is recorded in both formats (pixi:
``environments.<env>.options.strategy``, rattler_lock's ``SolveOptions``, e.g.
``lowest-version-direct``; conda-lock: ``metadata.custom_metadata.solve_strategy``), but
py-rattler 0.28's ``LockFile`` does not expose it: :func:`yaml_scalar` reads it from the
file's text (the block style both writers use).
"""

from __future__ import annotations

import logging
from pathlib import Path

from rattler import LockFile

from ..exceptions import InvalidInputError
from ..records import record_name
from ..settings import SolveStrategy
from ..virtual import native_subdir
from .model import CONDA_LOCK, LockedEnvironment, lockfile_strategy

__all__ = ["load_lock", "original_lock", "pixi_strategies", "read_rattler_lock", "yaml_scalar"]

log = logging.getLogger(__name__)


def load_lock(path: Path) -> LockFile:
    """``path`` parsed by py-rattler; a file it cannot parse is bad input naming it."""
    try:
        return LockFile.from_path(path)
    except Exception as exc:
        message = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        raise InvalidInputError(str(path), f"cannot parse the lockfile ({message})") from None


def _yaml_lines(text: str):
    """(indent, key path, value) of each ``key: value`` line of block-style YAML; list
    items (``- ...``) are levels without a key, so nothing below one matches a path."""
    stack: list[tuple[int, str | None]] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if stripped.startswith("-"):
            stack.append((indent, None))
            continue
        key, sep, value = stripped.partition(":")
        if not sep:
            continue
        path = (*(k for _, k in stack), key.strip().strip("'\""))
        yield indent, path, value.strip()
        stack.append((indent, path[-1]))


def yaml_scalar(text: str, keys: tuple[str, ...]) -> str | None:
    """The scalar at ``keys`` in block-style YAML ``text`` (``None`` when absent)."""
    for _, path, value in _yaml_lines(text):
        if path == keys and value:
            return value.strip("'\"")
    return None


def pixi_strategies(path: Path) -> dict[str, SolveStrategy]:
    """Environment -> the solve strategy (plus's name) a ``pixi.lock`` records for it;
    environments without one are left out (``highest``)."""
    strategies = {}
    for _, keys, value in _yaml_lines(path.read_text(encoding="utf-8")):
        if len(keys) == 4 and keys[0] == "environments" and keys[2:] == ("options", "strategy"):
            strategies[keys[1]] = lockfile_strategy(value, f"{path} ({'.'.join(keys)})")
    return strategies


def _recorded_strategy(path: Path, fmt: str, environment: str) -> SolveStrategy:
    if fmt == CONDA_LOCK:
        keys = ("metadata", "custom_metadata", "solve_strategy")
        value = yaml_scalar(path.read_text(encoding="utf-8"), keys)
        return lockfile_strategy(value, f"{path} ({'.'.join(keys)})") if value else "highest"
    return pixi_strategies(path).get(environment, "highest")


def original_lock(source: LockedEnvironment) -> LockFile | None:
    """The parsed file ``source`` was read from, to carry its other contents over."""
    if source.path is None or not source.path.exists():
        return None
    return load_lock(source.path)


def _pick_environment(lock, path: Path, name: str | None):
    environments = dict(lock.environments())
    if name is None:
        if "default" in environments and environments["default"].platforms():
            name = "default"
        else:
            filled = [n for n, env in environments.items() if env.platforms()]
            if not filled:
                raise InvalidInputError(
                    str(path),
                    "holds no environment with packages (its 'environments' are empty)",
                    "lock an environment into it first (pixi lock, or --lock-out FILE)",
                )
            if len(filled) != 1:
                raise InvalidInputError(
                    str(path),
                    f"holds several environments ({', '.join(sorted(filled))})",
                    "choose one with --lock-env NAME",
                )
            name = filled[0]
    if name not in environments:
        raise InvalidInputError(
            str(path),
            f"has no environment {name!r} (it has {', '.join(sorted(environments))})",
            "check --lock-env",
        )
    return name, environments[name]


def _pick_platform(path: Path, available: list[str], platform: str | None, env: str) -> str:
    if platform is None:
        if len(available) == 1:
            return available[0]
        platform = native_subdir()
        if platform not in available:
            raise InvalidInputError(
                str(path),
                f"environment {env!r} is locked for {', '.join(sorted(available))}",
                "choose one with --subdir",
            )
    if platform not in available:
        raise InvalidInputError(
            str(path),
            f"environment {env!r} has no packages for {platform} "
            f"(it has {', '.join(sorted(available)) or 'none'})",
            "choose another --subdir or --lock-env",
        )
    return platform


def rattler_lock_platforms(path: Path, environment: str | None) -> list[str]:
    """The platforms one environment of a pixi or conda-lock file locks."""
    _name, env = _pick_environment(load_lock(path), path, environment)
    return sorted(p.name for p in env.platforms())


def read_rattler_lock(
    path: Path, fmt: str, environment: str | None, platform: str | None
) -> LockedEnvironment:
    """The records of one environment and platform of a pixi or conda-lock file."""
    lock = load_lock(path)
    name, env = _pick_environment(lock, path, environment)
    platforms = {p.name: p for p in env.platforms()}
    chosen = _pick_platform(path, list(platforms), platform, name)
    lock_platform = platforms[chosen]
    records = env.conda_repodata_records_for_platform(lock_platform) or []
    skipped = [
        package.name
        for package in env.packages(lock_platform) or []
        if type(package).__name__ != "CondaLockedBinaryPackage"
    ]
    if skipped:
        # pypi packages and pixi source builds are not conda records: not solved here
        log.info("%s: not solved (not conda binary packages): %s", path, ", ".join(skipped))
    locked = LockedEnvironment(
        path=path,
        format=fmt,
        environment=name,
        platform=chosen,
        records=list(records),
        channels=[str(channel).rstrip("/") for channel in env.channels()],
        strategy=_recorded_strategy(path, fmt, name),
    )
    if fmt == CONDA_LOCK:
        # conda-lock keeps depends as a name -> spec map and no constrains, build
        # number or timestamp: until a channel fills them in, the records are partial
        for record in locked.records:
            locked.reconstructed[record_name(record)] = (
                "conda-lock stores no constrains, build number or timestamp"
            )
    return locked
