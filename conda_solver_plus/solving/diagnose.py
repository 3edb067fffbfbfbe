"""
Diagnosis: turning "cannot be solved" into the error conda would raise, naming the cause.

Before the engine runs, two checks fail fast the way conda does:

- :func:`check_requested_exist` — a requested spec no channel (nor the prefix) has is
  conda's ``PackagesNotFoundError``, with close names suggested for a typo;
- :func:`check_pins` — a request that contradicts a pin is conda's
  ``SpecsConfigurationConflictError``, naming the request and the pin.

After the last attempt failed, :func:`raise_for_failure` decides which error the user
gets: a configuration conflict when dropping the pins the engine's report names makes
the request solvable (one more engine call, within what is left of the solve's time
limit: when that runs out first, the request stays unsatisfiable, which the attempts
proved), ``PackagesNotFoundError`` when the only
problem is a requested package without candidates, and otherwise ``UnsatisfiableError``
carrying the engine's report and what in the user's state is behind it
(:func:`conda_solver_plus.explain.build_explanation`).
"""

from __future__ import annotations

import datetime
import difflib
from typing import NoReturn

from rattler import MatchSpec, PackageName

from ..backends import Backend, EngineTimeout, EngineUnsolvable
from ..exceptions import (
    PackagesNotFoundError,
    SpecsConfigurationConflictError,
    UnsatisfiableError,
    sort_versions,
)
from ..explain import build_explanation
from ..feature_names import feature_of
from ..repodata.model import Index
from ..specs import is_name_only, spec_name
from ..state import SolverInputState, SolverOutputState
from .candidates import matching_records
from .options import SolveOptions
from .request import bind_spec_channel, build_request
from .transforms import solve_on_engine

__all__ = ["check_pins", "check_request", "check_requested_exist", "raise_for_failure"]


def check_request(
    sis: SolverInputState, index: Index, cutoff: datetime.datetime | None = None
) -> None:
    """The checks conda makes before solving an install (a removal has none); ``cutoff``
    is the global exclude-newer cutoff the engines apply themselves."""
    if sis.is_removing:
        return
    bound = [bind_spec_channel(spec, index) for spec in sis.requested_specs]
    check_requested_exist(sis, index, bound, cutoff)
    check_pins(sis, index)


def check_requested_exist(
    sis: SolverInputState,
    index: Index,
    specs: list[MatchSpec],
    cutoff: datetime.datetime | None = None,
) -> None:
    """conda's PackagesNotFoundError: a requested spec no channel (nor the prefix) has.

    Several specs for one name are merged the way conda merges them (all must hold), so
    ``numpy 1.5*`` with ``numpy 1.6*`` is "not found", not a conflict. A record published
    after the global exclude-newer ``cutoff`` is not there (the engines drop it; classic
    conda never loads it), so a cutoff hiding every version is "not found" on every engine.
    """
    by_name: dict[str, list[MatchSpec]] = {}
    for spec in specs:
        by_name.setdefault(spec_name(spec), []).append(spec)
    missing: list[str] = []
    suggestions: dict[str, list[str]] = {}
    available: dict[str, list[str]] = {}
    names: list[str] | None = None
    for name, group in by_name.items():
        if not _from_channels(name) or _can_be_met(sis, index, name, group, cutoff):
            continue
        text = ", ".join(str(spec) for spec in group)
        missing.append(text)
        if names is None:
            names = sorted(index.package_names())
        if name not in names:  # a typo, not a missing version: suggest close names
            close = difflib.get_close_matches(name, names, n=3, cutoff=0.75)
            if close:
                suggestions[text] = close
        else:  # the package exists: say which versions do
            available[text] = versions_available(index, name)
    if missing:
        raise PackagesNotFoundError(
            missing,
            channels=[channel.name for channel in index.channels],
            subdirs=index.subdirs,
            suggestions=suggestions,
            available=available,
        )


def _from_channels(name: str) -> bool:
    """Is ``name`` one channels serve? Virtual packages, globs and features (``mkl@``)
    are not."""
    return not (name.startswith("__") or "*" in name or feature_of(name) is not None)


def _can_be_met(
    sis: SolverInputState,
    index: Index,
    name: str,
    group: list[MatchSpec],
    cutoff: datetime.datetime | None,
) -> bool:
    """Does a record published by ``cutoff`` (or the installed one) match every spec of
    ``group``, the requested specs for ``name``?"""
    candidates = [
        record
        for record in matching_records(index, group[0])
        if cutoff is None or record.timestamp is None or record.timestamp <= cutoff
    ]
    installed = sis.installed.get(name)
    if installed is not None:
        candidates.append(installed)
    return any(all(spec.matches(record) for spec in group) for record in candidates)


def versions_available(index: Index, name: str) -> list[str]:
    """The versions of ``name`` in the index (every channel and subdir), newest first."""
    versions = {
        str(record.version)
        for repo in index.repos
        if name in repo.names
        for record in repo.sparse.load_records(PackageName(name))
    }
    return sort_versions(versions)


def check_pins(sis: SolverInputState, index: Index) -> None:
    """A request that contradicts a pin fails before solving, naming both
    (conda's SpecsConfigurationConflictError)."""
    for name in set(sis.requested).intersection(sis.pinned):
        requested = sis.requested[name]
        pin = sis.pinned[name]
        installed = sis.installed.get(name)
        if is_name_only(pin):
            conflict = installed is not None and not requested.matches(installed)
        else:
            conflict = not any(pin.matches(r) for r in matching_records(index, requested))
        if conflict:
            raise SpecsConfigurationConflictError(
                sorted(str(s) for s in sis.requested.values()),
                _pinned_specs(sis),
                origin=sis.pinned.reason(name) or "",
            )


def _pinned_specs(sis: SolverInputState) -> list[str]:
    """Every pin as conda prints it in a configuration conflict: a name-only pin of an
    installed package as the exact record it holds."""
    pinned_specs = []
    for pin_name, pin_spec in sorted(sis.pinned.items()):
        if is_name_only(pin_spec) and pin_name in sis.installed:
            record = sis.installed[pin_name]
            pinned_specs.append(f"{pin_name}=={record.version}={record.build}")
        else:
            pinned_specs.append(str(pin_spec))
    return pinned_specs


def raise_for_failure(
    error: EngineUnsolvable,
    sis: SolverInputState,
    out: SolverOutputState,
    index: Index,
    backend: Backend,
    options: SolveOptions,
) -> NoReturn:
    """Raise the error conda would for a request whose last attempt failed with
    ``error``."""
    raise_for_pins(error, sis, out, index, backend, options)
    raise_not_found_or_unsatisfiable(error, sis, out, index, options)


def raise_for_pins(
    error: EngineUnsolvable,
    sis: SolverInputState,
    out: SolverOutputState,
    index: Index,
    backend: Backend,
    options: SolveOptions,
) -> None:
    """conda reports a request that only fails because of pins as a configuration
    conflict (SpecsConfigurationConflictError) naming the pins, not as unsatisfiable.
    The pins named in the engine's report are dropped for one more attempt; if that
    solves, those pins are the cause. That attempt gets what is left of the solve's
    deadline (``options.deadline``), not a time limit of its own."""
    pins = {name for name in error.names if name in sis.pinned}
    if not pins or sis.is_removing:
        return
    request = build_request(sis, out, index, options)
    request.constraints = [
        spec for spec in out.constraints.values() if spec_name(spec) not in pins
    ]
    request.pinned = [record for name, record in out.frozen.items() if name not in pins]
    try:
        solve_on_engine(backend, index, request, options)
    except (EngineUnsolvable, EngineTimeout):
        return
    raise SpecsConfigurationConflictError(
        sorted(str(s) for s in sis.requested_specs),
        sorted(str(sis.pinned[name]) for name in pins),
        origin=", ".join(sorted({sis.pinned.reason(name) or "" for name in pins})),
    )


def raise_not_found_or_unsatisfiable(
    error: EngineUnsolvable,
    sis: SolverInputState,
    out: SolverOutputState,
    index: Index,
    options: SolveOptions,
) -> NoReturn:
    """``PackagesNotFoundError`` when every spec the engine found no candidate for was
    requested; otherwise ``UnsatisfiableError`` with the explanation."""
    requested_names = {spec_name(s) for s in sis.requested_specs}
    missing_requested = [m for m in error.missing if m.split()[0].lower() in requested_names]
    if missing_requested and len(missing_requested) == len(error.missing):
        available = {m: versions_available(index, m.split()[0].lower()) for m in missing_requested}
        raise PackagesNotFoundError(
            missing_requested,
            channels=[c.name for c in index.channels],
            subdirs=index.subdirs,
            available={spec: versions for spec, versions in available.items() if versions},
        )
    explanation = build_explanation(error, sis, out, index, options.channel_priority)
    explanation.engine = out.engine or ""  # the report below is this engine's
    raise UnsatisfiableError(explanation, [str(s) for s in sis.requested_specs])
