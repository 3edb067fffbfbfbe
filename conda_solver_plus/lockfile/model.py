"""
What a lockfile is read into, the formats' names, and the one way lockfiles are written.

Every format module (:mod:`.explicit`, :mod:`.rattler_lock`, :mod:`.conda_lock`,
:mod:`.pixi`) reads into or writes from a :class:`LockedEnvironment`; this module imports
none of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rattler import RepoDataRecord

from ..exceptions import InvalidInputError
from ..records import record_name
from ..settings import SOLVE_STRATEGIES, SolveStrategy

__all__ = [
    "CONDA_LOCK",
    "EXPLICIT",
    "EXPLICIT_MARKER",
    "PIXI",
    "PIXI_STRATEGY",
    "LockedEnvironment",
    "lockfile_strategy",
    "lockfile_write_error",
    "write_text",
]

PIXI = "pixi"
CONDA_LOCK = "conda-lock"
EXPLICIT = "explicit"

#: the line that starts the package URLs of an explicit file
EXPLICIT_MARKER = "@EXPLICIT"

#: plus's solve strategies as pixi's lock format (rattler_lock's ``SolveOptions``) names
#: them in an environment's ``options: strategy:`` (``highest`` is the default, not written)
PIXI_STRATEGY = {"lowest": "lowest-version", "lowest-direct": "lowest-version-direct"}


def lockfile_strategy(value: str, source: str) -> SolveStrategy:
    """The solve strategy a lockfile records (plus's name or pixi's), as plus names it;
    anything else is an :class:`InvalidInputError` naming ``source``."""
    text = value.strip().strip("'\"").lower()
    text = {pixi: plus for plus, pixi in PIXI_STRATEGY.items()}.get(text, text)
    for strategy in SOLVE_STRATEGIES:
        if text == strategy:
            return strategy
    raise InvalidInputError(
        source,
        f"unknown solve strategy {value.strip()!r}",
        f"use one of {', '.join(SOLVE_STRATEGIES)}",
    )


@dataclass
class LockedEnvironment:
    """One environment on one platform of a lockfile, as records."""

    #: the file read (``None`` for an environment that only exists to be written)
    path: Path | None
    format: str
    #: the environment's name (``default`` for conda-lock and explicit files)
    environment: str
    #: the platform (conda subdir) these records are for
    platform: str
    records: list[RepoDataRecord]
    #: channels the lockfile lists for the environment, in priority order
    channels: list[str] = field(default_factory=list)
    #: name -> what could not be recovered for that record (not in any loaded channel)
    reconstructed: dict[str, str] = field(default_factory=dict)
    #: the solve strategy the file says the environment was solved with (``highest``
    #: when it says nothing: every format leaves the default out)
    strategy: SolveStrategy = "highest"

    def by_name(self) -> dict[str, RepoDataRecord]:
        return {record_name(record): record for record in self.records}


def lockfile_write_error(path: Path, exc: OSError) -> InvalidInputError:
    """The error a lockfile that cannot be written ends in, whatever its format."""
    return InvalidInputError(str(path), f"cannot write the lockfile ({exc.strerror})")


def write_text(path: Path, text: str) -> None:
    """Write a text lockfile (explicit, conda-lock)."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise lockfile_write_error(path, exc) from None
