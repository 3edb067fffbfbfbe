"""
conda's rules around every engine call, so that an engine only has to translate.

An engine answers "which records satisfy this request?" in its own terms. Some of what
conda promises is no SAT question at all, and where an engine's own behaviour differs from
conda's, the rule is applied here, once, for every engine, by :class:`RuledEngine` — the
engine the attempt loop (:mod:`~conda_solver_plus.solving.attempts`) hands to everything
that solves: each attempt, the pin diagnosis, the legacy-feature solves, ``--update-deps``:

- **the starting point** (:func:`starting_point`, ``EngineRequest.starting_point``): what
  a transactional engine may keep of the prefix. Under strict channel priority nothing
  from a channel outranked for its name stays (:func:`outranked`); under flexible priority
  what the core left free moves to the first channel that has it; and nothing stays whose
  dependency only a leaving record met (:func:`installed_without`);
- **repairs** (:func:`repairs`, ``EngineRequest.repairs``): the dependencies of kept
  records that nothing in the prefix meets (``conda remove --force`` leaves such
  prefixes): asked for, so the package is repaired rather than carried along broken;
- **what the environment is** (:func:`needed_records`): the records the requested specs
  need through ``depends`` (pip with python under ``add_pip_as_python_dependency``,
  a conditional dependency only where its condition holds). A package nothing needs any
  more is not part of the answer.

libsolv (the libmamba engine) starts from an installed repository and keeps whatever is in
it unless a job forces a change, and it never re-checks an installed package that is
already broken ("dontfix"): it needs all three. resolvo (the rattler engine) is
declarative: it is given what must be in the result, ranks a locked record of an
outranked channel out by itself, re-checks every record it keeps and returns only what
the specs need. For it the starting point and the repairs are left unused on purpose —
handing resolvo the repairs as specs would *force* a missing dependency in where resolvo
may rightly answer with another build of the broken package instead, a different answer
— and :func:`needed_records` finds nothing to drop (its answers hold only what the specs
need), so the rules are applied to both engines alike and change no rattler answer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING

from rattler import MatchSpec, RepoDataRecord

from ..backends import Backend, EngineRequest
from ..conditions import (
    Spec,
    holds,
    parse_condition,
    split_conditional,
    virtual_records,
    virtual_truth,
)
from ..consistency import unmet_dependencies
from ..records import dependency_name, record_name

if TYPE_CHECKING:
    from ..repodata.model import Index

__all__ = [
    "RuledEngine",
    "installed_without",
    "needed_records",
    "outranked",
    "repairs",
    "starting_point",
    "with_conda_rules",
]


class RuledEngine:
    """An engine with conda's rules around each of its calls (see the module); it has the
    engine's ``name`` and answers through the engine's ``solve``."""

    def __init__(self, engine: Backend) -> None:
        self.engine = engine
        self.name = engine.name

    def solve(self, index: Index, request: EngineRequest) -> list[RepoDataRecord]:
        start = starting_point(index, request)
        ruled = dataclasses.replace(request, starting_point=start, repairs=repairs(request, start))
        return needed_records(self.engine.solve(index, ruled), request)


def with_conda_rules(engine: Backend) -> Backend:
    """``engine`` with conda's rules around its calls (itself when it already has them)."""
    return engine if isinstance(engine, RuledEngine) else RuledEngine(engine)


# -- the starting point ---------------------------------------------------------------------


def prefix_records(request: EngineRequest) -> dict[str, RepoDataRecord]:
    """The prefix as the request has it, by URL: locked, pinned, then installed records."""
    by_url: dict[str, RepoDataRecord] = {}
    for record in [*request.locked, *request.pinned, *request.installed]:
        by_url.setdefault(record.url, record)
    return by_url


def starting_point(index: Index, request: EngineRequest) -> list[RepoDataRecord]:
    """What a transactional engine may keep of the prefix (see the module): the prefix
    records less those channel priority moves and, with them, their dependents."""
    by_url = prefix_records(request)
    if request.channel_priority == "disabled":
        return list(by_url.values())
    # strict: nothing from an outranked channel stays; flexible: what the core left free
    # moves to the first channel that has it (classic and resolvo do)
    pinned = {record.url for record in request.pinned}
    keep = set(pinned)
    if request.channel_priority == "flexible":
        keep |= {record.url for record in request.locked}
    leaving = outranked(index, by_url.values()) - keep
    return list(installed_without(by_url, leaving, pinned).values())


def outranked(index: Index, records: Iterable[RepoDataRecord]) -> set[str]:
    """URLs of installed records that strict channel priority rules out: a channel listed
    before the record's own has the name. resolvo drops such records as candidates even
    when they are locked; libsolv always keeps an installed package as a candidate, so
    they are left out of its starting point (the solve then takes the name from the
    first channel that has it, as conda's strict priority promises)."""
    rank = {
        channel.url: position
        for position, tier in enumerate(index.priority_tiers())
        for channel in tier
    }
    records = list(records)
    # only the records' names: a repo lists up to ~90k (and a subset's list is read lazily)
    names = {record_name(record) for record in records}
    first_channel: dict[str, int] = {}
    for repo in index.repos if names else ():
        position = rank[repo.channel.url]
        for name in names & repo.names:
            first_channel.setdefault(name, position)
    out: set[str] = set()
    for record in records:
        own = index.channel_for_url(record.url)
        first = first_channel.get(record_name(record))
        if own is not None and first is not None and first < rank[own.url]:
            out.add(record.url)
    return out


def installed_without(
    installed: dict[str, RepoDataRecord], leaving: set[str], pinned: set[str]
) -> dict[str, RepoDataRecord]:
    """The installed records (by URL) once the records at the ``leaving`` URLs are out,
    with no record left behind whose dependency only a leaving record met.

    libsolv never repairs an installed package that is broken when the solve starts
    ("dontfix"): a ``numpy`` built for the python that left would stay while python
    changes. So such dependents leave too (the solve re-installs them against the python
    it picks, the same record where nothing changed); only a pinned dependent keeps what
    it needs in the repo instead."""
    leaving = set(leaving)
    while leaving:
        staying = {url: r for url, r in installed.items() if url not in leaving}
        dependents_out: set[str] = set()
        providers_back: set[str] = set()
        # what stays and lacks a dependency; only a leaving record can have met it (one
        # broken before the solve has no provider here: the repairs fix it)
        for record, dep in unmet_dependencies(staying.values()):
            spec = MatchSpec(dep, strict=False)
            providers = {url for url in leaving if spec.matches(installed[url])}
            if not providers:
                continue
            if record.url in pinned:
                providers_back |= providers
            else:
                dependents_out.add(record.url)
        if not dependents_out and not providers_back:
            return staying
        pinned = pinned | providers_back  # what comes back stays back: no oscillation
        leaving = (leaving | dependents_out) - pinned
    return dict(installed)


def repairs(request: EngineRequest, start: Iterable[RepoDataRecord]) -> list[str]:
    """The dependencies of the ``start`` records that nothing in the prefix meets (a
    dependency an installed record satisfies is met even if channel priority moves that
    record away), sorted."""
    prefix = list(prefix_records(request).values())
    unmet = unmet_dependencies(prefix, request.virtual_packages, of=start)
    return sorted({dependency for _, dependency in unmet})


# -- what the environment is ----------------------------------------------------------------


def needed_records(records: list[RepoDataRecord], request: EngineRequest) -> list[RepoDataRecord]:
    """The records of an engine's answer that ``request.specs`` need through ``depends``
    (see the module). A conditional dependency (or spec) needs its package only when its
    condition holds in the answer."""
    by_name = {record_name(record): record for record in records}
    machine = virtual_records(request.virtual_packages)

    def present(spec: Spec) -> bool:
        truth = virtual_truth(spec, machine)
        if truth is not None:
            return truth
        record = by_name.get(spec.name)
        return record is not None and MatchSpec(spec.text, strict=False).matches(record)

    def needed(dependency: str) -> bool:
        conditional = split_conditional(dependency)
        return conditional is None or holds(conditional[1], present)

    todo = [
        spec.name.normalized
        for spec in request.specs
        if spec.name is not None
        and (spec.condition is None or holds(parse_condition(spec.condition), present))
    ]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen or name not in by_name:
            continue
        seen.add(name)
        todo.extend(dependency_name(dep) for dep in by_name[name].depends if needed(dep))
        if name == "python" and request.add_pip_as_python_dependency:
            todo.append("pip")
    return [record for name, record in by_name.items() if name in seen]
