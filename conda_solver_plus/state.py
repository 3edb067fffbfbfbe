"""
The solver's state: what it was asked, what the environment already says, and what it
decided — each with the reason it is there.

A conda solve is never just "install these specs". conda promises users that an
environment *remembers*: packages they asked for before (the *history*) stay; packages
installed as dependencies stay as they are unless something forces a change (*freezing*);
*pins* (``conda-meta/pinned`` and the ``pinned_packages`` setting) are never violated;
some packages are always updated (*aggressive updates*, and ``conda`` itself in the base
environment with ``auto_update_conda``); ``python`` does not jump minor versions unless asked.
Update modifiers (``--freeze-installed``, ``--update-deps``, ``--update-all``,
``--update-specs``, ``specs_satisfied_skip_solve``) and deps modifiers (``--no-deps``,
``--only-deps``) bend those rules.

This module holds that state in two objects, following conda-libmamba-solver's design:

- :class:`SolverInputState` — read-only facts: requested specs, installed records read from
  ``<prefix>/conda-meta``, history specs, pins, aggressive updates, virtual packages and the
  modifiers. It imports neither conda nor an engine; the conda adapter and the standalone
  CLI both build one.
- :class:`SolverOutputState` — what the solve loop builds and learns: the specs handed to
  the engine (and why), the *conflicts* learnt from failed attempts (installed packages
  that must be allowed to change), the resulting records, the specs to record in history
  and the *neutered* history specs (history specs the result no longer satisfies, relaxed
  so the next solve does not fall into the same conflict).

Every mapping is a :class:`TrackedMap`: a dict that logs each set, update and removal with
a reason. When a user asks "why is this spec here?" or "why did it pick that?", the log
is the answer (``python -m conda_solver_plus explain``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Generic, TypeVar

from rattler import GenericVirtualPackage, MatchSpec, RepoDataRecord

from .exceptions import InvalidInputError, PackagesNotFoundError
from .feature_names import removal_matches
from .prefix import PrefixState, read_prefix
from .records import toposort
from .specs import exact_spec_for, parse_spec, spec_name

log = logging.getLogger(__name__)

K = TypeVar("K")
V = TypeVar("V")


class UpdateModifier(str, Enum):
    """conda's update modifiers (same values as ``conda.base.constants.UpdateModifier``)."""

    SPECS_SATISFIED_SKIP_SOLVE = "specs_satisfied_skip_solve"
    FREEZE_INSTALLED = "freeze_installed"
    UPDATE_DEPS = "update_deps"
    UPDATE_SPECS = "update_specs"
    UPDATE_ALL = "update_all"


class DepsModifier(str, Enum):
    """conda's deps modifiers (same values as ``conda.base.constants.DepsModifier``)."""

    NOT_SET = "not_set"
    NO_DEPS = "no_deps"
    ONLY_DEPS = "only_deps"


#: packages conda never removes implicitly (conda-libmamba-solver's list)
DO_NOT_REMOVE = ("anaconda", "conda", "conda-build", "python.app", "console_shortcut")


@dataclass(frozen=True)
class Change:
    """One entry of a :class:`TrackedMap` log."""

    action: str  # set | update | pop | clear
    key: Any
    old: Any
    new: Any
    reason: str
    #: the part of the user's state the value repeats as it is there (``requested``,
    #: ``history``), if it does: what provenance folds together, known without
    #: reading ``reason``
    source: str | None = None


#: the reason :meth:`SolverOutputState.reset_request` clears the engine's specs with: in a
#: map's log, a new solve attempt starts there
NEW_ATTEMPT = "new attempt"

_MISSING = object()


class TrackedMap(MutableMapping, Generic[K, V]):
    """A dict that records why each key was set, changed or removed.

    >>> pins = TrackedMap("pins")
    >>> pins.set("python", "python 3.12.*", reason="conda-meta/pinned:1")
    >>> pins.reasons("python")
    ['conda-meta/pinned:1']

    Plain ``m[k] = v`` works too (reason ``"unspecified"``) so it can stand in for a dict.
    """

    def __init__(
        self,
        name: str = "",
        data: Mapping[K, V] | None = None,
        reason: str = "initial",
    ) -> None:
        self.name = name
        self._data: dict[K, V] = {}
        self.log: list[Change] = []
        if data:
            self.update(data, reason=reason)

    # -- Mapping protocol -------------------------------------------------------------
    def __getitem__(self, key: K) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __setitem__(self, key: K, value: V) -> None:
        self.set(key, value, reason="unspecified")

    def __delitem__(self, key: K) -> None:
        self.pop(key, reason="unspecified")

    def __repr__(self) -> str:
        return f"TrackedMap({self.name!r}, {self._data!r})"

    # -- tracked operations -----------------------------------------------------------
    def set(
        self,
        key: K,
        value: V,
        *,
        reason: str,
        overwrite: bool = True,
        source: str | None = None,
    ) -> None:
        """Set ``key``; with ``overwrite=False`` an existing value is kept (and that is
        logged too, so the log shows what was *not* applied). ``source`` names the part
        of the user's state the value repeats, if it does (see :attr:`Change.source`)."""
        old = self._data.get(key, _MISSING)
        if old is not _MISSING and not overwrite:
            self.log.append(Change("kept", key, old, value, reason, source))
            return
        self._data[key] = value
        action = "set" if old is _MISSING else "update"
        previous = None if old is _MISSING else old
        self.log.append(Change(action, key, previous, value, reason, source))
        log.debug("%s[%r] %s -> %r (%s)", self.name, key, action, value, reason)

    # MutableMapping.update takes keys as keywords; here the keywords are ``reason`` and
    # ``overwrite`` (every change is logged with why), so the signature differs on purpose
    def update(  # type: ignore[override]
        self, other: Mapping[K, V] | Iterable[tuple[K, V]] = (), /, **kwargs: Any
    ) -> None:
        reason = kwargs.pop("reason", "unspecified")
        overwrite = kwargs.pop("overwrite", True)
        items = other.items() if isinstance(other, Mapping) else other
        for key, value in items:
            self.set(key, value, reason=reason, overwrite=overwrite)
        for key, value in kwargs.items():
            self.set(key, value, reason=reason, overwrite=overwrite)  # type: ignore[arg-type]

    def pop(self, key: K, default: Any = _MISSING, *, reason: str = "unspecified") -> V:
        if key not in self._data:
            if default is _MISSING:
                raise KeyError(key)
            return default
        value = self._data.pop(key)
        self.log.append(Change("pop", key, value, None, reason))
        return value

    def clear(self, *, reason: str = "unspecified") -> None:
        for key in list(self._data):
            self.pop(key, reason=reason)

    def copy(self) -> TrackedMap[K, V]:
        clone: TrackedMap[K, V] = TrackedMap(self.name)
        clone._data = dict(self._data)
        clone.log = list(self.log)
        return clone

    # -- queries ------------------------------------------------------------------------
    def history_of(self, key: K) -> list[Change]:
        """Every logged change of ``key``, oldest first."""
        return [change for change in self.log if change.key == key]

    def reasons(self, key: K) -> list[str]:
        return [change.reason for change in self.history_of(key) if change.action != "kept"]

    def reason(self, key: K) -> str | None:
        """The reason of the change that produced the current value of ``key``."""
        change = self._current_change(key)
        return None if change is None else change.reason

    def source(self, key: K) -> str | None:
        """The part of the user's state the current value of ``key`` repeats, if any."""
        change = self._current_change(key)
        return None if change is None else change.source

    def _current_change(self, key: K) -> Change | None:
        """The change that produced the current value of ``key`` (``None`` when it has
        none: never set, or popped)."""
        for change in reversed(self.log):
            if change.key == key and change.action != "kept":
                return change if change.action in ("set", "update") else None
        return None


def _as_enum(enum: type[Enum], value: Any, default: Enum) -> Any:
    if value is None:
        return default
    if isinstance(value, enum):
        return value
    text = getattr(value, "value", value)
    try:
        return enum(str(text).lower())
    except ValueError:
        raise InvalidInputError(
            f"{enum.__name__} {text!r}",
            "unknown value",
            f"choose one of {', '.join(m.value for m in enum)}",
        ) from None


def _spec_items(
    specs: Iterable[str | MatchSpec], source: str
) -> Iterator[tuple[str, MatchSpec, str]]:
    for item in specs:
        if isinstance(item, MatchSpec):
            spec, text = item, str(item)
        else:
            text = str(item)
            spec = parse_spec(text, source)
        yield spec_name(spec), spec, text


class SolverInputState:
    """Read-only facts a solve starts from.

    Parameters mirror conda's ``Solver`` and ``context``; strings are accepted for the
    modifiers. ``prefix`` may be ``None`` or a directory that does not exist yet
    (``conda create``). ``installed``/``history`` override what is read from the prefix
    (used by the conda adapter when conda already read the prefix).

    ``locked`` are records from a lockfile (:mod:`conda_solver_plus.lockfile`): they
    join the installed records — replacing a prefix's record of the same name — so the
    solve keeps and prefers them exactly like installed packages. ``locked_source``
    names the file in the reasons.
    """

    def __init__(
        self,
        prefix: str | Path | None = None,
        requested: Iterable[str | MatchSpec] = (),
        *,
        command: str = "install",
        update_modifier: UpdateModifier | str | None = None,
        deps_modifier: DepsModifier | str | None = None,
        pinned_packages: Iterable[str | MatchSpec] = (),
        aggressive_update_packages: Iterable[str | MatchSpec] = (),
        auto_update_conda: bool = False,
        is_root_prefix: bool = False,
        virtual_packages: Mapping[str, GenericVirtualPackage] | None = None,
        ignore_pinned: bool = False,
        force_reinstall: bool = False,
        force_remove: bool = False,
        prune: bool = False,
        installed: Mapping[str, RepoDataRecord] | None = None,
        history: Mapping[str, str | MatchSpec] | None = None,
        pinned_source: str = "pinned_packages setting",
        also_remove: Iterable[str | MatchSpec] = (),
        locked: Mapping[str, RepoDataRecord] | None = None,
        locked_source: str = "lockfile",
    ) -> None:
        self.prefix = Path(prefix) if prefix is not None else None
        self.command = command
        self.update_modifier: UpdateModifier = _as_enum(
            UpdateModifier, update_modifier, UpdateModifier.UPDATE_SPECS
        )
        self.deps_modifier: DepsModifier = _as_enum(
            DepsModifier, deps_modifier, DepsModifier.NOT_SET
        )
        self.ignore_pinned = bool(ignore_pinned)
        self.force_reinstall = bool(force_reinstall)
        self.force_remove = bool(force_remove)
        self.prune = bool(prune)
        self.auto_update_conda = bool(auto_update_conda)
        self.is_root_prefix = bool(is_root_prefix)

        on_disk = read_prefix(self.prefix)
        self.prefix_exists = on_disk.exists
        self.installed: TrackedMap[str, RepoDataRecord] = self._installed(on_disk, installed)
        #: records read from a lockfile (also in ``installed``)
        self.locked: TrackedMap[str, RepoDataRecord] = TrackedMap("locked")
        for name, record in (locked or {}).items():
            self.locked.set(name, record, reason=f"locked in {locked_source}")
            self.installed.set(name, record, reason=f"locked in {locked_source}")
        self.history: TrackedMap[str, MatchSpec] = self._history(on_disk, history)

        self.requested: TrackedMap[str, MatchSpec] = TrackedMap("requested")
        #: every requested spec, also several for one name (``numpy>=1.5`` ``numpy<2``)
        self.requested_specs: list[MatchSpec] = []
        for name, spec, _ in _spec_items(requested, "command line"):
            self.requested.set(name, spec, reason="requested on the command line")
            self.requested_specs.append(spec)

        #: installed packages an install/update must also remove (conda's Solver accepts
        #: ``specs_to_add`` and ``specs_to_remove`` together)
        self.also_remove: TrackedMap[str, MatchSpec] = TrackedMap("also_remove")
        for name, spec, _ in _spec_items(also_remove, "command line"):
            self.also_remove.set(name, spec, reason="removal requested with an install")

        self.pinned: TrackedMap[str, MatchSpec] = self._pinned(
            on_disk, pinned_packages, pinned_source
        )
        self.aggressive_updates: TrackedMap[str, MatchSpec] = TrackedMap("aggressive_updates")
        for name, spec, _ in _spec_items(
            aggressive_update_packages, "aggressive_update_packages setting"
        ):
            self.aggressive_updates.set(name, spec, reason="aggressive_update_packages setting")

        self.virtual: dict[str, GenericVirtualPackage] = dict(virtual_packages or {})

    def _installed(
        self, on_disk: PrefixState, given: Mapping[str, RepoDataRecord] | None
    ) -> TrackedMap[str, RepoDataRecord]:
        """The installed records: the caller's, else those in ``conda-meta``."""
        installed: TrackedMap[str, RepoDataRecord] = TrackedMap("installed")
        if given is not None:
            installed.update(given, reason="given by caller")
        else:
            for name, record in on_disk.installed.items():
                installed.set(name, record, reason=f"{self.prefix}/conda-meta")
        return installed

    def _history(
        self, on_disk: PrefixState, given: Mapping[str, str | MatchSpec] | None
    ) -> TrackedMap[str, MatchSpec]:
        """The history specs of installed packages: the caller's, else the prefix's
        ``conda-meta/history`` (conda forgets those of packages not installed)."""
        history: TrackedMap[str, MatchSpec] = TrackedMap("history")
        if given is not None:
            for name, spec, _ in _spec_items(given.values(), "history"):
                if name in self.installed:
                    history.set(name, spec, reason="history given by caller")
        else:
            for name, (spec, origin) in on_disk.history.items():
                if name in self.installed:
                    history.set(name, spec, reason=origin)
        return history

    def _pinned(
        self, on_disk: PrefixState, configured: Iterable[str | MatchSpec], source: str
    ) -> TrackedMap[str, MatchSpec]:
        """``conda-meta/pinned``, then the configured pins (none with ``ignore_pinned``)."""
        pinned: TrackedMap[str, MatchSpec] = TrackedMap("pinned")
        if self.ignore_pinned:
            return pinned
        for spec, origin in on_disk.pinned:
            pinned.set(spec_name(spec), spec, reason=origin)
        for name, spec, _ in _spec_items(configured, source):
            pinned.set(name, spec, reason=source)
        return pinned

    # -- derived views ------------------------------------------------------------------
    @property
    def is_removing(self) -> bool:
        return self.command == "remove"

    @property
    def is_updating(self) -> bool:
        return self.command == "update"

    @property
    def do_not_remove(self) -> set[str]:
        return {name for name in DO_NOT_REMOVE if name in self.installed}

    @property
    def always_update(self) -> TrackedMap[str, MatchSpec]:
        """Installed packages to update on this solve, and why."""
        result: TrackedMap[str, MatchSpec] = TrackedMap("always_update")
        for name in self.aggressive_updates:
            if name in self.installed:
                result.set(name, MatchSpec(name), reason="aggressive_update_packages")
        if self.auto_update_conda and self.is_root_prefix and "conda" in self.installed:
            result.set("conda", MatchSpec("conda"), reason="auto_update_conda in base")
        if self.update_modifier is UpdateModifier.UPDATE_ALL:
            for name in self.installed:
                if name not in self.pinned:
                    result.set(name, MatchSpec(name), reason="--update-all", overwrite=False)
        return result

    def summary(self) -> dict[str, Any]:
        return {
            "prefix": str(self.prefix) if self.prefix else None,
            "command": self.command,
            "requested": [str(s) for s in self.requested_specs],
            "installed": len(self.installed),
            "locked": len(self.locked),
            "history": {k: str(v) for k, v in self.history.items()},
            "pinned": {k: str(v) for k, v in self.pinned.items()},
            "aggressive_updates": list(self.aggressive_updates),
            "virtual": {
                k: f"{v.version}={v.build_string}" for k, v in sorted(self.virtual.items())
            },
            "update_modifier": self.update_modifier.value,
            "deps_modifier": self.deps_modifier.value,
        }


@dataclass(frozen=True)
class RecordReason:
    """Why one record is in a solve's result: the sentence users read and, for a record
    a dependency brought in, the record whose ``depends`` names it — the link ``why``
    follows from a package back to what the user asked for."""

    text: str
    #: the record that pulled this one in as a dependency (``None`` for a root: requested,
    #: in the history, pinned, updated, kept)
    parent: str | None = None

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class DowngradeCheck:
    """What the no-surprise-downgrade guard (:mod:`conda_solver_plus.solving.downgrades`)
    learnt of one installed package the engine's answer moved to a lower version."""

    name: str
    #: ``asked``: the user's own spec (request, pin, history) excludes the installed
    #: version; ``channel``: conda's channel priority moves it to a channel that has only
    #: a lower version; ``forced``: no answer keeps it at its installed version or newer
    #: while the requested packages keep the versions this answer gives them; ``avoided``:
    #: one does, and it was taken; ``unchecked``: the solve's time limit ran out first
    verdict: str
    #: the version the engine first chose (``avoided``: the downgrade that did not happen)
    proposed: str = ""
    #: what keeping every such package would have cost the requested packages
    #: (``pytorch 2.5.1 -> 2.4.0``): why their newest versions win
    cost: tuple[str, ...] = ()


@dataclass(frozen=True)
class DowngradeCause:
    """Why one installed package moves to a lower version, as data: the user's spec that
    roots it (requested, pinned, history, or the installed package a dependency came
    with), the records from that root to the one whose dependency excludes the installed
    version, and that dependency. The plan, ``explain`` and ``-v`` render it; ``--json``
    has the fields."""

    name: str
    installed: str
    chosen: str
    #: ``requested``, ``pinned``, ``history``, ``installed`` (no spec of the user's reaches
    #: it), ``follows`` (the installed build needs a package that moves: ``via``),
    #: ``channel`` (it moves to the channel ``via``, by channel priority) or
    #: ``unexplained`` (no record of the answer excludes it: the engine's choice)
    kind: str
    #: the user's spec at the root, as written (``matplotlib``, ``icu <76``)
    spec: str = ""
    #: where that spec comes from (``requested on the command line``, a pins file)
    origin: str = ""
    #: ``name version`` of each record from the root to the one that needs the change
    path: tuple[str, ...] = ()
    #: the ``depends``/``constrains`` entry that excludes the installed version
    dependency: str = ""
    #: ``follows``: the package the installed build needs, as the result has it;
    #: ``channel``: the channel it moves to
    via: str = ""
    #: what keeping it would cost the requested packages (:attr:`DowngradeCheck.cost`)
    cost: tuple[str, ...] = ()
    #: the engine showed that no answer keeps it (False: not checked, or the user's spec)
    proven: bool = False

    @property
    def text(self) -> str:
        """One line: ``forced by matplotlib (requested on the command line): matplotlib
        3.10.3 -> pyside6 6.7.2 -> libxml2 2.13.9 needs icu >=75.1,<76.0a0``."""
        if self.kind in ("requested", "pinned", "history") and not self.path:
            return f"{self.kind} as {self.spec} ({self.origin})"
        if self.kind == "follows":
            text = f"the installed build needs {self.dependency}, which {self.via} is not"
        elif self.kind == "channel":
            text = f"it now comes from {self.via}, which has no version as new (channel priority)"
        elif self.kind == "unexplained":
            text = "the engine's choice: no record of the answer excludes the installed one"
        else:
            text = f"forced by {self._root()}: {' -> '.join(self.path)} needs {self.dependency}"
        if self.cost:
            text += f"; keeping it would move {', '.join(self.cost)}"
        return text

    def _root(self) -> str:
        """``libglib (requested on the command line)``, ``numpy (history: <file>:54)``."""
        if not self.spec:
            return "an installed package"
        where = self.origin if self.kind in self.origin else f"{self.kind}: {self.origin}"
        return f"{self.spec} ({where})"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "spec": self.spec,
            "origin": self.origin,
            "path": list(self.path),
            "dependency": self.dependency,
            "via": self.via,
            "cost": list(self.cost),
            "proven": self.proven,
            "text": self.text,
        }


class SolverOutputState:
    """What the solve loop builds: engine specs (with reasons), learnt conflicts, records,
    history updates and neutered specs."""

    def __init__(self, solver_input_state: SolverInputState) -> None:
        sis = solver_input_state
        self.solver_input_state = sis
        #: final records by name; starts as the installed state
        self.records: TrackedMap[str, RepoDataRecord] = TrackedMap(
            "records", sis.installed, reason="installed"
        )
        #: the engine that answered (``libmamba``, ``rattler``), once one was asked
        self.engine: str | None = None
        #: specs handed to the engine in the last attempt, by name
        self.specs: TrackedMap[str, MatchSpec] = TrackedMap("specs")
        #: constraints handed to the engine (pins, python minor pin, no-downgrade)
        self.constraints: TrackedMap[str, MatchSpec] = TrackedMap("constraints")
        #: installed records the engine should prefer (locked) or keep (frozen)
        self.locked: TrackedMap[str, RepoDataRecord] = TrackedMap("locked")
        self.frozen: TrackedMap[str, RepoDataRecord] = TrackedMap("frozen")
        #: names found in conflict in earlier attempts: their installed state may change
        self.conflicts: TrackedMap[str, MatchSpec] = TrackedMap("conflicts")
        #: specs to write to the history file after this transaction
        self.for_history: TrackedMap[str, MatchSpec] = TrackedMap(
            "for_history", sis.requested, reason="requested"
        )
        #: history specs relaxed because the result no longer satisfies them
        self.neutered: TrackedMap[str, MatchSpec] = TrackedMap("neutered")
        #: why each record of the result is there (filled after a solve)
        self.record_reasons: dict[str, RecordReason] = {}
        #: requested packages that stayed at their installed version although a channel
        #: has a newer one (something in the environment holds them back), with that version
        self.held_back: dict[str, str] = {}
        #: what the no-surprise-downgrade guard learnt, per downgraded name
        #: (:mod:`conda_solver_plus.solving.downgrades`)
        self.downgrade_checks: dict[str, DowngradeCheck] = {}
        #: why each installed package the result moves to a lower version does so
        self.downgrades: dict[str, DowngradeCause] = {}
        self.attempts = 0

    def reset_request(self) -> None:
        for mapping in (self.specs, self.constraints, self.locked, self.frozen):
            mapping.clear(reason=NEW_ATTEMPT)

    @property
    def why(self) -> dict[str, str]:
        """Why each record of the result is there, as users read it (``explain``,
        ``--json``): :attr:`record_reasons` as text."""
        return {name: reason.text for name, reason in self.record_reasons.items()}

    @property
    def current_solution(self) -> list[RepoDataRecord]:
        """The result in conda's order (dependencies first)."""
        return toposort(self.records.values())

    def early_exit(self) -> list[RepoDataRecord] | None:
        """Answer without an engine when conda would: ``remove --force`` and
        ``specs_satisfied_skip_solve`` with every request already satisfied."""
        sis = self.solver_input_state
        if sis.is_removing:
            missing = [
                str(spec)
                for spec in sis.requested.values()
                if not any(removal_matches(spec, record) for record in sis.installed.values())
            ]
            if missing:
                raise PackagesNotFoundError(
                    missing,
                    reason=f"They are not installed in {sis.prefix}, so they cannot be removed.",
                )
            if sis.force_remove:
                for name, spec in sis.requested.items():
                    for record_name, record in list(self.records.items()):
                        if removal_matches(spec, record):
                            self.records.pop(record_name, reason=f"remove --force {name}")
                return self.current_solution
        elif sis.update_modifier is UpdateModifier.SPECS_SATISFIED_SKIP_SOLVE and all(
            name in sis.installed and spec.matches(sis.installed[name])
            for name, spec in sis.requested.items()
        ):
            return self.current_solution
        return None

    def neuter_history(self) -> None:
        """History specs the result violates are replaced by ``name version`` (conda's
        "neutered specs") so later solves do not keep fighting them."""
        sis = self.solver_input_state
        for name, spec in sis.history.items():
            record = self.records.get(name)
            if record is not None and name not in sis.requested and not spec.matches(record):
                self.neutered.set(
                    name,
                    MatchSpec(f"{name} {record.version}.*", strict=False),
                    reason=f"history spec {spec} no longer satisfied by {record.version}",
                )

    def frozen_spec(self, name: str) -> MatchSpec:
        record = self.solver_input_state.installed[name]
        return exact_spec_for(name, str(record.version), str(record.build))
