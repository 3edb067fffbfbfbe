"""
Engines: the SAT solvers that turn a request into records, behind one small protocol.

The core (:mod:`conda_solver_plus.core`) decides *what* to ask — conda's semantics of
history, pins, freezing and update modifiers — and phrases it as a declarative
:class:`EngineRequest`:

- ``specs`` — every name that must be in the result, with its constraint;
- ``constraints`` — conditions that hold *if* a name ends up in the result (pins);
- ``locked`` — records to prefer (the installed ones), changed only when needed;
- ``pinned`` — records that must not change (frozen installed packages);
- ``installed`` — the prefix's records, for engines that solve from a starting point;
- the virtual packages, channel priority, time limit and a few flags.

An engine answers with the list of records of the final environment, or raises
:class:`EngineUnsolvable` carrying its own report and the package names it found in
conflict. That is the whole contract; adding an engine is one more module here with a
class that has ``name`` and ``solve()``, registered in :data:`ENGINES`.
"""

from __future__ import annotations

import datetime
import importlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rattler import GenericVirtualPackage, MatchSpec, RepoDataRecord

    from ..exceptions import ConflictChain
    from ..index import Index

log = logging.getLogger(__name__)

CHANNEL_PRIORITIES = ("strict", "flexible", "disabled")


@dataclass
class EngineRequest:
    specs: list[MatchSpec]
    constraints: list[MatchSpec] = field(default_factory=list)
    locked: list[RepoDataRecord] = field(default_factory=list)
    pinned: list[RepoDataRecord] = field(default_factory=list)
    #: the prefix as it is; ``locked``/``pinned`` already say what to keep, so a declarative
    #: engine ignores it, a transactional one (libsolv) needs it as its starting point
    installed: list[RepoDataRecord] = field(default_factory=list)
    virtual_packages: list[GenericVirtualPackage] = field(default_factory=list)
    channel_priority: str = "strict"
    timeout: float | None = None
    exclude_newer: datetime.datetime | None = None
    add_pip_as_python_dependency: bool = False
    #: names of packages whose installed record must stay a candidate even when its
    #: channel no longer lists it (removed, marked broken, channel dropped)
    keep_candidates: Sequence[str] = ()


class EngineUnsolvable(Exception):
    """The engine proved the request has no solution.

    Besides its own report (``message``), an engine says which package names took part
    (``names``, for the core's retry loop), which specs had no candidate at all
    (``missing``) and, as far as its report allows, the paths from the requested specs to
    the clash (``chains``, :class:`~conda_solver_plus.exceptions.ConflictChain`), which
    :mod:`conda_solver_plus.explain` deduplicates and matches against the user's state.
    """

    def __init__(
        self,
        message: str,
        names: set[str] | None = None,
        missing: Sequence[str] = (),
        chains: Sequence[ConflictChain] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        #: package names the engine's report mentions
        self.names = names or set()
        #: specs for which no candidate exists at all
        self.missing = list(missing)
        #: paths from requested specs to the problem, in the engine's order
        self.chains = list(chains)


class EngineTimeout(Exception):
    """The engine hit ``EngineRequest.timeout``."""


class Backend(Protocol):
    name: str

    def solve(self, index: Index, request: EngineRequest) -> list[RepoDataRecord]: ...


#: engine name -> "module:Class"; ``auto`` picks the first that imports
ENGINES = {
    "libmamba": "conda_solver_plus.backends.libmamba:LibMambaBackend",
    "rattler": "conda_solver_plus.backends.rattler:RattlerBackend",
}


def _load(name: str) -> Backend:
    module_name, _, class_name = ENGINES[name].partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, class_name)()


def available_backends() -> list[str]:
    names = []
    for name in ENGINES:
        try:
            _load(name)
        except ImportError:
            continue
        names.append(name)
    return names


def get_backend(name: str | None = None) -> Backend:
    """The engine called ``name``; ``None``/``auto`` honours ``CONDA_SOLVER_PLUS_BACKEND``
    and otherwise prefers libmamba where ``libmambapy`` imports."""
    from ..exceptions import InvalidInputError

    name = (name or "auto").lower()
    if name == "auto":
        name = os.environ.get("CONDA_SOLVER_PLUS_BACKEND", "auto").lower() or "auto"
    if name == "auto":
        for candidate in ENGINES:
            try:
                backend = _load(candidate)
            except ImportError as exc:
                log.debug("engine %s unavailable: %s", candidate, exc)
                continue
            log.info("conda-solver-plus: using the %s engine", candidate)
            return backend
        raise InvalidInputError("backend", "no engine available", "install py-rattler")
    if name not in ENGINES:
        raise InvalidInputError(
            f"backend {name!r}", "unknown engine", f"choose one of auto, {', '.join(ENGINES)}"
        )
    try:
        backend = _load(name)
    except ImportError as exc:
        raise InvalidInputError(
            f"backend {name!r}",
            f"engine cannot be imported ({exc})",
            "install it or use --backend auto",
        ) from None
    log.info("conda-solver-plus: using the %s engine", name)
    return backend
