"""
Lockfiles: a solved environment written down, read back as the state to solve from.

A *lockfile* pins every package of an environment to one file (URL and hash), per
platform, so the environment can be recreated exactly. Three formats are in common use:

- **pixi** ``pixi.lock`` (versions 4-7; pixi writes 6 or 7): several named environments,
  each with its channels and, per platform, a list of package URLs; the full repodata
  record of every package (``depends``, ``constrains``, hashes, timestamp, ...) is stored
  once in a shared ``packages`` list;
- **conda-lock** ``conda-lock.yml`` (version 1): one environment, a flat ``package`` list
  with ``name``, ``version``, ``platform``, ``url``, ``hash`` and ``dependencies`` as a
  name -> spec map (so no ``constrains``, and no build number or timestamp);
- **explicit** files (``conda list --explicit``, ``conda-lock --kind explicit``): a
  ``@EXPLICIT`` marker followed by one package URL per line, optionally ending in
  ``#<md5>`` or ``#sha256:<hex>``. They carry no metadata at all.

Each format records the solve strategy an environment was solved with when it is not
``highest`` (pixi: ``options: strategy: lowest-version-direct``; conda-lock:
``custom_metadata: solve_strategy``; explicit: a ``# solve strategy:`` comment), read
back into :attr:`LockedEnvironment.strategy`; a solve from the file without a strategy
of its own takes it.

Solving *from* a lockfile ("lockfile in, minimal change out") treats the locked records
like installed ones: every locked package is kept and its record preferred, so re-solving
with nothing changed gives the same set back, and asking for one update changes only what
that update forces. Locked records stay candidates even when their channel no longer lists
them (removed, labelled broken): the engines get them as ``locked``/``installed``.

What a format does not store is filled in from the channels: a locked file that the
index serves under the same channel name, subdir and file name (and, where the lockfile
has one, the same hash) takes the channel's metadata while keeping the lockfile's URL. A
record no channel has is rebuilt from what the lockfile says — for explicit files only
name, version, build (and a build number read off the build string), so its
dependencies are unknown — and :attr:`LockedEnvironment.reconstructed` says so.

:func:`write_lockfile` writes a solve's result back in the format it was read from; the
other environments and platforms of the file are carried over unchanged.

One module per format, around a model none of them owns: :mod:`.model`
(:class:`LockedEnvironment`, the format names), :mod:`.explicit` (reading and writing
explicit files), :mod:`.rattler_lock` (reading pixi and conda-lock files through
py-rattler), :mod:`.pixi` and :mod:`.conda_lock` (writing them) and :mod:`.metadata`
(filling records in from the channels). This module picks the format and is what the
rest of the package imports.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from rattler import RepoDataRecord

from ..exceptions import InvalidInputError
from ..records import record_name
from ..settings import SolveStrategy
from .conda_lock import conda_lock_document, conda_lock_text
from .explicit import build_number_from_build, explicit_text, read_explicit, record_from_url
from .metadata import complete_records, find_in_index
from .model import (
    CONDA_LOCK,
    EXPLICIT,
    EXPLICIT_MARKER,
    PIXI,
    LockedEnvironment,
    lockfile_write_error,
    write_text,
)
from .pixi import write_pixi
from .rattler_lock import rattler_lock_platforms, read_rattler_lock

if TYPE_CHECKING:
    from ..repodata.model import Index

__all__ = [
    "CONDA_LOCK",
    "EXPLICIT",
    "EXPLICIT_MARKER",
    "PIXI",
    "LockedEnvironment",
    "build_number_from_build",
    "complete_records",
    "detect_format",
    "find_in_index",
    "format_for_path",
    "locked_platforms",
    "read_lockfile",
    "record_from_url",
    "write_lock_platforms",
    "write_lockfile",
]


# -- format detection -------------------------------------------------------------------


def detect_format(path: Path) -> str:
    """``pixi``, ``conda-lock`` or ``explicit``, from the content (names vary too much)."""
    try:
        with open(path, encoding="utf-8") as handle:
            head = handle.read(65536)
    except FileNotFoundError:
        raise InvalidInputError(str(path), "lockfile does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(str(path), f"cannot read the lockfile ({exc})") from None
    lines = [line.strip() for line in head.splitlines()]
    if EXPLICIT_MARKER in lines:
        return EXPLICIT
    for line in lines:
        if not line or line.startswith("#"):
            continue
        match = re.match(r"^version:\s*['\"]?(\d+)", line)
        if match:
            return CONDA_LOCK if match.group(1) == "1" else PIXI
        break
    raise InvalidInputError(
        str(path),
        "not a lockfile this solver reads",
        "expected a pixi.lock, a conda-lock.yml (version: 1) or an @EXPLICIT file",
    )


def format_for_path(path: str | Path) -> str:
    """The format to write a lockfile in, from its name: ``pixi.lock`` (and names ending
    in it: ``ci-pixi.lock``) is pixi, ``*.yml``/``*.yaml`` conda-lock, anything else
    (``*.txt``, ``explicit``) an @EXPLICIT file."""
    name = Path(path).name.lower()
    if name.endswith("pixi.lock"):
        return PIXI
    if name.endswith((".yml", ".yaml")):
        return CONDA_LOCK
    return EXPLICIT


# -- reading and writing ---------------------------------------------------------------


def read_lockfile(
    path: str | Path,
    *,
    environment: str | None = None,
    platform: str | None = None,
    index: Index | None = None,
) -> LockedEnvironment:
    """The records of one environment and platform of a lockfile.

    ``environment`` picks one of a pixi file's environments (default: ``default``, or the
    only one); ``platform`` defaults to the only platform locked, else this machine's.
    With ``index``, records are completed from the channels (:func:`complete_records`).
    """
    path = Path(path)
    fmt = detect_format(path)
    if fmt == EXPLICIT:
        if environment not in (None, "default"):
            raise InvalidInputError(
                str(path), "an @EXPLICIT file has a single environment", "drop --lock-env"
            )
        locked = read_explicit(path, platform)
    else:
        locked = read_rattler_lock(path, fmt, environment, platform)
    names: dict[str, RepoDataRecord] = {}
    for record in locked.records:
        name = record_name(record)
        if name in names:
            raise InvalidInputError(
                str(path),
                f"locks {name} twice ({names[name].file_name} and {record.file_name}) for "
                f"{locked.platform}",
                "an environment holds one build per package; fix the lockfile",
            )
        names[name] = record
    if index is not None:
        complete_records(locked, index)
    return locked


def locked_platforms(path: str | Path, *, environment: str | None = None) -> list[str]:
    """The platforms ``environment`` of the lockfile ``path`` locks."""
    path = Path(path)
    if detect_format(path) == EXPLICIT:
        return [read_explicit(path, None).platform]
    return rattler_lock_platforms(path, environment)


def write_lockfile(
    path: str | Path,
    records: Iterable[RepoDataRecord],
    source: LockedEnvironment,
    *,
    channels: list[str] | None = None,
    strategy: SolveStrategy | None = None,
) -> None:
    """Write ``records`` as ``source.environment`` on ``source.platform`` in
    ``source.format``, solved with ``strategy`` (default: what ``source`` records);
    everything else ``source.path`` holds is carried over."""
    path = Path(path)
    if strategy is not None:
        source = dataclasses.replace(source, strategy=strategy)
    records = [r for r in records if not record_name(r).startswith("__")]
    channels = list(channels if channels is not None else source.channels)
    if source.format == EXPLICIT:
        text = explicit_text(records, source.platform, source.strategy)
    elif source.format == CONDA_LOCK:
        text = conda_lock_text(records, source, channels)
    else:
        write_pixi(path, records, source, channels)
        return
    write_text(path, text)


def write_lock_platforms(
    path: str | Path,
    by_platform: dict[str, list[RepoDataRecord]],
    source: LockedEnvironment,
    *,
    strategy: SolveStrategy | None = None,
) -> None:
    """Write ``source.environment`` with the records of several platforms at once (the
    ``lock`` command), in ``source.format``, from ``source.channels``: a new file holding
    exactly these platforms — nothing is carried over. It is written beside ``path`` and
    renamed into place, so a reader never sees half a lockfile. An explicit file holds
    one platform."""
    path = Path(path)
    if strategy is not None:
        source = dataclasses.replace(source, strategy=strategy)
    cleaned = {
        name: [r for r in records if not record_name(r).startswith("__")]
        for name, records in sorted(by_platform.items())
    }
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        if source.format == EXPLICIT:
            ((platform, records),) = cleaned.items()
            write_text(partial, explicit_text(records, platform, source.strategy))
        elif source.format == CONDA_LOCK:
            text = conda_lock_document(cleaned, list(source.channels), source.strategy)
            write_text(partial, text)
        else:
            written: Path | None = None
            for platform, records in cleaned.items():
                step = dataclasses.replace(source, path=written, platform=platform)
                write_pixi(partial, records, step, list(source.channels))
                written = partial
        os.replace(partial, path)
    except OSError as exc:
        raise lockfile_write_error(path, exc) from None
    finally:
        partial.unlink(missing_ok=True)
