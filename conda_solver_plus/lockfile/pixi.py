"""
Writing ``pixi.lock``: the solved environment and platform replaced, everything else the
file held carried over — the other environments and platforms, their channels, their
pypi packages and each platform's recorded virtual packages. pixi's source packages
cannot be rebuilt from what py-rattler exposes; they are left out with a warning.

Each environment's solve strategy (``options: strategy:``) is not part of what
py-rattler 0.28 lets a new ``LockFile`` hold: it is written into the text afterwards
(:func:`with_strategies`), the solved environment's from the solve and every other one's
as the file had it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from rattler import LockChannel, LockFile, LockPlatform, RepoDataRecord

from .model import PIXI_STRATEGY, LockedEnvironment, lockfile_write_error
from .rattler_lock import original_lock, pixi_strategies

__all__ = ["with_strategies", "write_pixi"]

log = logging.getLogger(__name__)


def write_pixi(
    path: Path, records: list[RepoDataRecord], source: LockedEnvironment, channels: list[str]
) -> None:
    """Write ``records`` as ``source.environment`` on ``source.platform`` of the pixi
    file ``path``, with the rest of the file ``source`` was read from."""
    original = original_lock(source)
    environments: dict[str, Any] = dict(original.environments()) if original else {}
    platform_names = {p.name for p in original.platforms()} if original else set()
    platform_names.add(source.platform)
    lock = _new_pixi_lock(original, platform_names)
    dropped: list[str] = []
    for env_name in dict.fromkeys([*environments, source.environment]):
        env = environments.get(env_name)
        if env_name == source.environment:
            lock.set_channels(env_name, [LockChannel(c) for c in channels])
            dropped += _fill_environment(lock, env_name, env, (source.platform, records))
        elif env is not None:  # always: every other name is one of the file's
            lock.set_channels(env_name, [LockChannel(str(c)) for c in env.channels()])
            dropped += _fill_environment(lock, env_name, env)
    if dropped:
        log.warning(
            "%s: pixi source packages cannot be carried over and were left out: %s",
            path,
            ", ".join(dropped),
        )
    strategies: dict[str, str] = {}
    if original is not None and source.path is not None:
        strategies.update(pixi_strategies(source.path))
    strategies[source.environment] = source.strategy
    try:
        lock.to_path(path)
        if any(strategy != "highest" for strategy in strategies.values()):
            text = path.read_text(encoding="utf-8")
            path.write_text(with_strategies(text, strategies), encoding="utf-8")
    except OSError as exc:
        raise lockfile_write_error(path, exc) from None


def with_strategies(text: str, strategies: dict[str, str]) -> str:
    """pixi.lock ``text`` (as py-rattler writes it: no ``options`` yet) with ``options:
    strategy:`` in each environment whose strategy is not ``highest`` (pixi's names,
    :data:`PIXI_STRATEGY`), before its ``packages``."""
    out: list[str] = []
    section = None  # the top-level key the line is in
    pending = None  # the environment whose options are still to be written
    for line in text.splitlines():
        stripped = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        ends_block = indent <= 2 or (indent == 4 and stripped == "packages:")
        if stripped and pending is not None and ends_block:
            out += _options(strategies[pending])
            pending = None
        if stripped and indent == 0:
            section = stripped.partition(":")[0]
        elif stripped and indent == 2 and section == "environments":
            name = stripped.partition(":")[0].strip("'\"")
            pending = name if strategies.get(name, "highest") != "highest" else None
        out.append(line)
    if pending is not None:
        out += _options(strategies[pending])
    return "\n".join(out) + "\n"


def _options(strategy: str) -> list[str]:
    return ["    options:", f"      strategy: {PIXI_STRATEGY[strategy]}"]


def _fill_environment(
    lock: LockFile,
    env_name: str,
    env: Any,
    solved: tuple[str, list[RepoDataRecord]] | None = None,
) -> list[str]:
    """Add ``env``'s packages (``None``: a new environment) to ``env_name`` of ``lock``,
    platform by platform; ``solved`` is (platform, records), the solve's answer, which
    takes that platform's place. Returns the packages that could not be carried over."""
    platforms = {p.name: p for p in env.platforms()} if env is not None else {}
    names = set(platforms) if solved is None else {*platforms, solved[0]}
    owned = {p.name: p for p in lock.platforms()}
    dropped: list[str] = []
    for platform_name in sorted(names):
        if solved is not None and platform_name == solved[0]:
            for record in solved[1]:
                lock.add_conda_package(env_name, owned[platform_name], record)
        else:
            dropped += _carry_over(lock, env_name, env, platforms[platform_name], owned)
    return dropped


def _carry_over(
    lock: LockFile, env_name: str, env: Any, lock_platform: Any, owned: dict[str, Any]
) -> list[str]:
    """Copy ``env``'s conda and pypi packages of ``lock_platform`` into ``lock``; the
    packages that cannot be copied (pixi source packages), as ``env/platform/name``."""
    target = owned[lock_platform.name]
    for record in env.conda_repodata_records_for_platform(lock_platform) or []:
        lock.add_conda_package(env_name, target, record)
    dropped: list[str] = []
    for package in env.packages(lock_platform) or []:
        kind = type(package).__name__
        if kind == "PypiLockedPackage":
            lock.add_pypi_package(
                env_name, target, package.name, str(package.version), package.location
            )
        elif kind != "CondaLockedBinaryPackage":
            dropped.append(f"{env_name}/{lock_platform.name}/{package.name}")
    return dropped


def _new_pixi_lock(original: LockFile | None, platform_names: set[str]) -> LockFile:
    """An empty lock for ``platform_names``, keeping each platform's recorded virtual
    packages and subdir where ``original`` had them."""
    known = {p.name: p for p in original.platforms()} if original else {}
    return LockFile([known.get(name) or LockPlatform(name) for name in sorted(platform_names)])
