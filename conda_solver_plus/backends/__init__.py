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
- the virtual packages, channel priority, time limit, the names the user asked for, the
  solve ``strategy`` and a few flags.

An engine answers with the list of records of the final environment, or raises
:class:`EngineUnsolvable` carrying its own report and the package names it found in
conflict. That is the whole contract; adding an engine is one more module here with a
class that has ``name`` and ``solve()``, and one entry in :data:`ENGINES` — nothing else
names the engines (tests/test_engine_registry.py adds one that way).
"""

from __future__ import annotations

import datetime
import importlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from rattler import Version, VersionSpec

from ..exceptions import InvalidInputError
from ..settings import CHANNEL_PRIORITIES as CHANNEL_PRIORITIES  # re-exported: the engine API
from ..settings import ChannelPriority as ChannelPriority
from ..settings import SolveStrategy as SolveStrategy
from ..settings import resolve_backend

if TYPE_CHECKING:
    from rattler import GenericVirtualPackage, MatchSpec, RepoDataRecord

    from ..exceptions import ConflictChain
    from ..repodata.model import Index

log = logging.getLogger(__name__)


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
    channel_priority: ChannelPriority = "strict"
    timeout: float | None = None
    exclude_newer: datetime.datetime | None = None
    add_pip_as_python_dependency: bool = False
    #: the names the user asked for (conda's ``specs_to_add``): classic maximises their
    #: versions before anything else, legacy features included (:mod:`..features`)
    requested_names: frozenset[str] = frozenset()
    #: which version of a name the engine prefers among those the request leaves open:
    #: ``highest``; ``lowest``; ``lowest-direct``, lowest for ``requested_names`` and
    #: highest for every other name (``specs`` also holds history and installed names,
    #: which are not what the user asked for). Locked records stay preferred and pinned
    #: ones kept under every strategy
    strategy: SolveStrategy = "highest"
    #: what a transactional engine starts from (its installed repo): the prefix records
    #: conda's channel-priority rule lets stay; ``None``: all of ``locked``, ``pinned`` and
    #: ``installed``. Set by :mod:`conda_solver_plus.solving.engine_rules`, like ``repairs``;
    #: a declarative engine ignores both
    starting_point: list[RepoDataRecord] | None = None
    #: dependencies of the starting point that nothing in the prefix meets, to be asked for
    #: so that a broken installed package is repaired rather than carried along
    repairs: list[str] = field(default_factory=list)


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


class EngineUnusable(ImportError):
    """An engine's library is installed but cannot be used (a version outside the supported
    range, a broken install). ``auto`` warns and takes the next engine; asking for this
    engine by name is an error."""


#: the libmambapy releases the libmamba engine is tested with (pyproject's ``libmamba``
#: extra and recipe/meta.yaml say the same; tests/test_recipe.py checks they agree)
LIBMAMBAPY_SUPPORTED = ">=2.8.1,<3"


def libmambapy_version_supported(version: str) -> bool:
    """Whether ``version`` (libmambapy's ``__version__``) is in :data:`LIBMAMBAPY_SUPPORTED`,
    compared with conda's version ordering (py-rattler's)."""
    try:
        return VersionSpec(LIBMAMBAPY_SUPPORTED).matches(Version(version))
    except Exception:  # not a version at all: a broken install
        return False


class Backend(Protocol):
    """What the core needs from an engine (the seam tests use: tests/fake_engine.py).

    An engine holds no state between solves that changes an answer: the same ``index``
    and ``request`` give the same records. See docs/adding-a-backend.md."""

    #: the name users select it by (``CONDA_SOLVER_PLUS_BACKEND``, ``--backend``), the key
    #: of :data:`ENGINES`, shown in ``-v`` output and errors
    name: str
    # optional: ``library``, the distribution that provides it (:func:`engine_library`);
    # ``cache_dir``, set by SolveSession to the cache directory for files of its own

    def solve(self, index: Index, request: EngineRequest) -> list[RepoDataRecord]:
        """The records of the final environment for ``request`` over ``index``'s repos
        (their order is the channel priority order): every spec satisfied, every
        constraint held, pinned records kept, locked ones preferred, virtual packages
        taken as installed.

        Raises :class:`EngineUnsolvable` when it proves there is no solution (with its
        report, the names in conflict and the specs without candidates),
        :class:`EngineTimeout` when ``request.timeout`` runs out, and
        :class:`~conda_solver_plus.exceptions.InvalidInputError` for repodata it cannot
        read."""
        ...


#: the registry: engine name -> "module:Class", in ``auto``'s order of preference (it picks
#: the first that can be used). One entry is all an engine needs: ``--backend``'s choices,
#: ``CONDA_SOLVER_PLUS_BACKEND``/``plus_backend``, the conda plugin's user agent and
#: :class:`~conda_solver_plus.session.SolveSession` all read it from here
ENGINES = {
    "libmamba": "conda_solver_plus.backends.libmamba:LibMambaBackend",
    "rattler": "conda_solver_plus.backends.rattler:RattlerBackend",
}


def engine_names() -> list[str]:
    """The registered engines' names, in :data:`ENGINES` order (``--backend``'s choices
    besides ``auto``)."""
    return list(ENGINES)


def engine_library(backend: Backend) -> str:
    """The distribution whose version identifies ``backend`` in a user agent: its
    ``library`` attribute (``libmambapy``, ``py-rattler``), else its name."""
    return str(getattr(backend, "library", "") or backend.name)


def _load(name: str) -> Backend:
    module_name, _, class_name = ENGINES[name].partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, class_name)()


@dataclass(frozen=True)
class Unavailable:
    """Why an engine cannot be used here."""

    reason: str
    #: its library is installed but unusable (worth a warning), not simply absent
    installed: bool


def _load_or_explain(name: str) -> Backend | Unavailable:
    """The engine, or why it cannot be used. A library that is simply not installed is a
    normal set-up (the rattler engine is the embedded default) and says so quietly; one that
    is installed but unusable is worth a warning (:class:`EngineUnusable`)."""
    try:
        return _load(name)
    except EngineUnusable as exc:
        return Unavailable(str(exc), installed=True)
    except ModuleNotFoundError as exc:
        if exc.name and "." not in exc.name:  # the library itself, not a part of it
            return Unavailable(f"{exc.name} is not installed", installed=False)
        return Unavailable(f"the {name} engine does not import ({exc})", installed=True)
    except Exception as exc:  # a broken native library fails in many ways
        reason = f"the {name} engine does not import ({type(exc).__name__}: {exc})"
        return Unavailable(reason, installed=True)


def engine_problem(name: str) -> str | None:
    """Why the engine ``name`` cannot be used here, or ``None`` when it can."""
    loaded = _load_or_explain(name)
    return loaded.reason if isinstance(loaded, Unavailable) else None


def available_backends() -> list[str]:
    return [name for name in ENGINES if engine_problem(name) is None]


def get_backend(name: str | None = None) -> Backend:
    """The engine called ``name``; ``None``/``auto`` honours ``CONDA_SOLVER_PLUS_BACKEND``
    (:func:`conda_solver_plus.settings.resolve_backend`) and otherwise prefers libmamba
    where ``libmambapy`` imports."""
    name = resolve_backend(name)
    if name == "auto":
        return _first_usable_engine()
    if name not in ENGINES:
        raise InvalidInputError(
            f"backend {name!r}",
            "unknown engine",
            f"choose one of auto, {', '.join(engine_names())}",
        )
    backend = _load_or_explain(name)
    if isinstance(backend, Unavailable):
        raise InvalidInputError(
            f"backend {name!r}",
            f"engine cannot be used: {backend.reason}",
            "install a supported release (see docs/backends.md) or use --backend auto",
        )
    log.info("conda-solver-plus: using the %s engine", name)
    return backend


def _first_usable_engine() -> Backend:
    """``auto``: the first engine of :data:`ENGINES` that can be used. An installed but
    unusable library is warned about once per process, naming its version and the engine
    used instead."""
    unusable: list[Unavailable] = []
    for candidate in ENGINES:
        backend = _load_or_explain(candidate)
        if isinstance(backend, Unavailable):
            log.debug("engine %s unavailable: %s", candidate, backend.reason)
            unusable.append(backend)
            continue
        for skipped in unusable:
            if skipped.installed and skipped.reason not in _WARNED:
                _WARNED.add(skipped.reason)
                log.warning(
                    "conda-solver-plus: %s; using the %s engine", skipped.reason, candidate
                )
        log.info("conda-solver-plus: using the %s engine", candidate)
        return backend
    reasons = "; ".join(skipped.reason for skipped in unusable)
    raise InvalidInputError("backend", f"no engine available ({reasons})", "install py-rattler")


_WARNED: set[str] = set()
