"""
No surprise downgrades: an installed package moves to a lower version only when the
request needs it, and the answer says what needs it.

An engine asked to install ``matplotlib`` into an environment with icu 78.3 may answer
with icu 75.1: the newest matplotlib there is comes with a Qt built against icu 75. That
is a fair trade, but the user sees ``DOWNGRADED`` and no reason. An engine may also trade
a downgrade nobody needed for an upgrade elsewhere, or downgrade a requested package that
was already the newest (conda-libmamba-solver #71: ``conda update flask`` proposing flask
2.2.1 over the installed 2.2.2). conda's own rules only cover ``conda update``
(:func:`~conda_solver_plus.solving.request.never_downgrade_on_update`) and packages being
updated (``--update-all``); everything else is only *preferred* as installed, and a
preference can be traded away.

The rule, after the engine answers (:func:`guard`):

1. the *downgrades* are the installed packages the answer keeps at a lower version (the
   same version in another build is conda's REVISED, not a downgrade, and is left alone;
   so are removals, which are conda's own rules for what nobody needs any more). None:
   nothing more happens — the usual solve pays nothing;
2. a downgrade the user's own spec asks for (``install "numpy<2"`` over numpy 2.1, a pin,
   a history spec the installed version does not meet) is *asked*, and one conda's channel
   priority makes (an installed record from a channel outranked for its name, which
   conda moves to the first channel that has the name) is *channel*: nothing to check;
3. for the others the same request is solved again, requiring every installed package of
   the engine's answer at its installed version or newer (a downgrade the user asked for
   at the engine's version): required, not only constrained, so that no package is kept
   by dropping it, and no other package gets worse than in the engine's answer. When that
   has an answer that gives no requested package a lower version, the engine downgraded
   without need and that answer is taken (*avoided*). When it gives the requested
   packages lower versions, that is what keeping the downgraded packages would cost
   (``pytorch 2.5.1 -> 2.4.0``), and it is reported;
4. otherwise each one is tried on its own, with the requested packages held at the
   versions the engine gave them (``pytorch >=2.5.1``) and everything else where the
   engine's answer has it: with no answer it is *forced* (by the request, a pin or the
   history); with one, it is kept at its installed version or newer, later checks keep
   it too, and the last such answer is taken. They are tried dependencies first, and one
   whose every version at least as new as installed needs a forced one at its installed
   version or newer is forced without an engine call (libsqlite 3.53.4 needs icu >=78.3).
   At most :data:`MAX_SINGLE_CHECKS` engine calls try one at a time, the rest together.

Every engine call gets what is left of the solve's time limit; when it runs out, the
engine's answer stands and the downgrades not checked yet say so (*unchecked*).

:func:`explain` then says, as data (:class:`~conda_solver_plus.state.DowngradeCause`),
why each downgrade of the final result happens: the user's spec, or the record of the
answer whose dependency excludes the installed version and the chain from a requested,
pinned or history package to it (``matplotlib 3.10.3 -> pyside6 6.7.2 -> qt6-main 6.7.2
needs icu >=75.1,<76.0a0``), or the other downgraded package an installed build needs
(libsqlite 3.53.4 needs icu >=78.3). The CLI's plan, ``explain`` and conda's ``-v`` print
it; ``--json`` has the fields.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping

from rattler import MatchSpec, RepoDataRecord

from ..backends import Backend, EngineRequest, EngineTimeout, EngineUnsolvable
from ..records import canonical_channel_name, dependency_name, record_name, toposort
from ..repodata.model import Index
from ..specs import spec_name
from ..state import (
    DowngradeCause,
    DowngradeCheck,
    SolverInputState,
    SolverOutputState,
)
from .candidates import matching_records
from .engine_rules import outranked, with_conda_rules
from .options import SolveOptions
from .request import build_request
from .transforms import solve_on_engine

__all__ = ["MAX_SINGLE_CHECKS", "downgrades_of", "explain", "guard", "settle"]

log = logging.getLogger(__name__)

#: at most this many downgrades are tried one at a time; the rest are judged together
MAX_SINGLE_CHECKS = 12

Downgrades = dict[str, tuple[RepoDataRecord, RepoDataRecord]]


def downgrades_of(
    installed: Mapping[str, RepoDataRecord], records: Iterable[RepoDataRecord]
) -> Downgrades:
    """name -> (installed, new) for each installed package ``records`` keep at a lower
    version (virtual packages are none)."""
    found: Downgrades = {}
    for record in records:
        name = record_name(record)
        old = installed.get(name)
        if old is not None and not name.startswith("__") and record.version < old.version:
            found[name] = (old, record)
    return found


def guard(
    backend: Backend,
    index: Index,
    sis: SolverInputState,
    out: SolverOutputState,
    options: SolveOptions,
    records: list[RepoDataRecord],
) -> list[RepoDataRecord]:
    """The engine's answer ``records``, or one without the downgrades it made without
    need (see the module's docstring); records what it learnt in
    ``out.downgrade_checks``."""
    if sis.is_removing:
        return records
    found = downgrades_of(sis.installed, records)
    if not found:
        return records
    asked = {name for name in found if _user_spec_excluding(sis, found[name][0])}
    for name in asked:
        out.downgrade_checks[name] = DowngradeCheck(name, "asked", str(found[name][1].version))
    moved = _moved_by_channel_priority(index, out, options, found) - asked
    for name in moved:
        out.downgrade_checks[name] = DowngradeCheck(name, "channel", str(found[name][1].version))
    suspects = sorted(set(found) - asked - moved)
    if not suspects:
        return records
    # what channel priority moved stays where the engine put it: no answer may keep the
    # outranked record by way of a floor on something else
    held = {name: found[name][1] for name in moved}
    checker = _Checker(with_conda_rules(backend), index, sis, out, options, records, held)
    try:
        return checker.run(records, {name: found[name] for name in suspects})
    except EngineTimeout:
        for name in suspects:
            if name not in out.downgrade_checks:
                proposed = str(found[name][1].version)
                out.downgrade_checks[name] = DowngradeCheck(name, "unchecked", proposed)
        log.info("time limit reached: downgrades not checked: %s", ", ".join(suspects))
        return checker.best


def _moved_by_channel_priority(
    index: Index, out: SolverOutputState, options: SolveOptions, found: Downgrades
) -> set[str]:
    """The downgrades conda's channel priority makes (:func:`.engine_rules.outranked`):
    under strict priority an installed record from a channel outranked for its name
    leaves, under flexible priority one the request left free (not locked) moves to the
    first channel that has the name — a lower version there is what the priority asks
    for, not a downgrade to avoid (conda's test_priority_1)."""
    if options.channel_priority == "disabled":
        return set()
    olds = {name: old for name, (old, _new) in found.items()}
    leaving = outranked(index, olds.values())
    if options.channel_priority == "flexible":
        locked = {record.url for record in out.locked.values()}
        leaving -= locked
    return {name for name, old in olds.items() if old.url in leaving}


def _user_spec_excluding(sis: SolverInputState, installed: RepoDataRecord) -> bool:
    """Does a spec of the user's — requested, pinned, history — exclude the installed
    record? Then the downgrade is what they asked for."""
    name = record_name(installed)
    specs = [s for s in sis.requested_specs if spec_name(s) == name]
    for mapping in (sis.pinned, sis.history):
        if name in mapping:
            specs.append(mapping[name])
    return any(not spec.matches(installed) for spec in specs)


class _Checker:
    """The engine calls of the guard: the last attempt's request again, with floors."""

    def __init__(
        self,
        backend: Backend,
        index: Index,
        sis: SolverInputState,
        out: SolverOutputState,
        options: SolveOptions,
        records: list[RepoDataRecord],
        held: Mapping[str, RepoDataRecord],
    ) -> None:
        self.backend = backend
        self.index = index
        self.sis = sis
        self.out = out
        self.options = options
        # the successful attempt's request, rebuilt on a scratch state so that the solve's
        # own record of its attempts (explain's) is not touched
        scratch = SolverOutputState(sis)
        scratch.conflicts = out.conflicts.copy()
        scratch.attempts = out.attempts
        self.request: EngineRequest = build_request(sis, scratch, index, options)
        #: the answer to return so far: the engine's, or one that avoided downgrades
        self.best = records
        #: downgrades found forced without an engine call (:meth:`needs_forced`)
        self.implied = 0
        self.calls = 0
        #: packages held at the engine's record (moved by channel priority)
        self.held = held

    def solve(self, floors: Mapping[str, str]) -> list[RepoDataRecord] | None:
        """The request with ``name >=version`` required for each of ``floors``, or
        ``None`` when it has no answer. Required, not merely constrained: an answer that
        keeps a package by dropping it is no answer."""
        extra = [
            MatchSpec(f"{name} >={version}", strict=False)
            for name, version in floors.items()
            if name not in self.held
        ]
        extra += [
            MatchSpec(f"{name} =={record.version} {record.build}", strict=False)
            for name, record in self.held.items()
        ]
        request = dataclasses.replace(self.request, specs=[*self.request.specs, *extra])
        self.calls += 1
        try:
            return solve_on_engine(self.backend, self.index, request, self.options)
        except EngineUnsolvable:
            return None

    def lowered(self, before: list[RepoDataRecord], after: list[RepoDataRecord]) -> list[str]:
        """Requested packages ``after`` gives worse versions than ``before``: lower, or
        higher under the ``lowest`` strategies, which ask for the lowest."""
        old = {record_name(r): r for r in before}
        new = {record_name(r): r for r in after}
        highest = self.options.strategy == "highest"
        return [
            f"{name} {old[name].version} -> {new[name].version}"
            for name in sorted(self.sis.requested)
            if name in old
            and name in new
            and (new[name].version < old[name].version) == highest
            and new[name].version != old[name].version
        ]

    def run(self, records: list[RepoDataRecord], suspects: Downgrades) -> list[RepoDataRecord]:
        """Every suspect kept at once; else one at a time (:meth:`one_by_one`)."""
        # what the engine's answer already gives may not get worse: every installed package
        # it keeps stays at its installed version or newer, or at the engine's choice
        base = {}
        for record in records:
            name = record_name(record)
            old = self.sis.installed.get(name)
            if old is not None and not name.startswith("__"):
                base[name] = str(min(old.version, record.version))
        answer = self.solve({**base, **_floors(suspects)})
        cost: tuple[str, ...] = ()
        if answer is not None:
            cost = tuple(self.lowered(records, answer))
            if not cost:
                for name, (_old, new) in suspects.items():
                    check = DowngradeCheck(name, "avoided", str(new.version))
                    self.out.downgrade_checks[name] = check
                log.info("kept without need of a downgrade: %s", ", ".join(sorted(suspects)))
                self.best = answer
                return answer
        # the requested packages keep the versions the engine gave them
        held = {
            record_name(r): str(r.version) for r in records if record_name(r) in self.sis.requested
        }
        return self.one_by_one({**base, **held}, suspects, cost)

    def one_by_one(
        self, floors: dict[str, str], suspects: Downgrades, cost: tuple[str, ...]
    ) -> list[RepoDataRecord]:
        """Each downgrade on its own, dependencies first, everything else held where the
        engine's answer (or a better one found so far) has it: without answer it is
        forced, else it is kept. One whose every version at least as new as installed
        needs a forced one at its installed version or newer is forced without asking
        (:meth:`needs_forced`)."""
        forced: list[str] = []
        kept: list[str] = []
        together: list[str] = []
        for record in toposort(old for old, _new in suspects.values()):
            name = record_name(record)
            needed = self.needs_forced(record, forced, suspects)
            if needed is not None:
                log.debug("%s is forced: kept, it would keep %s, which is forced", name, needed)
                self.verdict([name], "forced", suspects, cost)
                forced.append(name)
            elif len(forced) + len(kept) - self.implied >= MAX_SINGLE_CHECKS:
                together.append(name)
            elif self.keep([name], floors, suspects, cost):
                kept.append(name)
            else:
                forced.append(name)
        if together and self.keep(together, floors, suspects, cost):
            kept.extend(together)
        log.info(
            "downgrades: forced %s; kept %s (%d extra engine calls)",
            ", ".join(n for n in sorted(suspects) if n not in kept) or "none",
            ", ".join(sorted(kept)) or "none",
            self.calls,
        )
        return self.best

    def keep(
        self, names: list[str], floors: dict[str, str], suspects: Downgrades, cost: tuple[str, ...]
    ) -> bool:
        """Try ``names`` at their installed versions or newer: kept (later tries keep them
        too, the answer becomes the best so far) or forced."""
        trial = {name: str(suspects[name][0].version) for name in names}
        answer = self.solve({**floors, **trial})
        self.verdict(names, "forced" if answer is None else "avoided", suspects, cost)
        if answer is None:
            return False
        floors.update(trial)
        self.best = answer
        return True

    def verdict(
        self, names: list[str], verdict: str, suspects: Downgrades, cost: tuple[str, ...]
    ) -> None:
        for name in names:
            proposed = str(suspects[name][1].version)
            self.out.downgrade_checks[name] = DowngradeCheck(name, verdict, proposed, cost)

    def needs_forced(
        self, old: RepoDataRecord, forced: list[str], suspects: Downgrades
    ) -> str | None:
        """Does every record of the package at its installed version or newer (in the
        channels, and the installed one) depend on a forced package at a version its
        channels only have at or above that package's installed version? Then keeping it
        would keep the forced one, which has no answer: it is forced too, without an
        engine call (libsqlite 3.53.4 needs icu >=78.3, and icu has to go below 78.3).
        Returns that forced package's name, or ``None``."""
        name = record_name(old)
        newer = MatchSpec(f"{name} >={old.version}", strict=False)
        candidates = [old, *matching_records(self.index, newer)]
        for other in forced:
            floor = suspects[other][0].version
            below = MatchSpec(f"{other} <{floor}", strict=False)
            lower = matching_records(self.index, below)
            if all(_excludes_all(record, other, lower) for record in candidates):
                self.implied += 1
                return other
        return None


def _excludes_all(record: RepoDataRecord, name: str, lower: list[RepoDataRecord]) -> bool:
    """Does ``record`` depend on ``name`` with a spec none of ``lower`` matches?"""
    return any(
        dependency_name(dep) == name
        and not any(MatchSpec(dep, strict=False).matches(other) for other in lower)
        for dep in record.depends
    )


def _floors(downgrades: Downgrades) -> dict[str, str]:
    return {name: str(old.version) for name, (old, _new) in downgrades.items()}


# -- why: the causes of the final result's downgrades ---------------------------------------


def explain(sis: SolverInputState, out: SolverOutputState) -> None:
    """Fill ``out.downgrades``: why each installed package the answer moves to a lower
    version does so (what the guard proved is in ``out.downgrade_checks``). Run on the
    engine's answer, before ``--only-deps``/``--prune`` drop the records that need the
    change; :func:`settle` keeps what the final result still has."""
    out.downgrades = {}
    if not sis.is_removing:
        out.downgrades = _causes(sis, out, downgrades_of(sis.installed, out.records.values()))


def settle(sis: SolverInputState, out: SolverOutputState) -> None:
    """After post-processing: the causes of the downgrades the final result still has,
    and one for any it has that the engine's answer did not (worked out on the result)."""
    if sis.is_removing:
        return
    final = downgrades_of(sis.installed, out.records.values())
    kept = {name: cause for name, cause in out.downgrades.items() if name in final}
    new = {name: final[name] for name in final if name not in kept}
    out.downgrades = dict(sorted({**kept, **_causes(sis, out, new, final)}.items()))
    for name, cause in out.downgrades.items():
        log.info("%s %s -> %s: %s", name, cause.installed, cause.chosen, cause.text)


def _causes(
    sis: SolverInputState,
    out: SolverOutputState,
    found: Downgrades,
    every: Downgrades | None = None,
) -> dict[str, DowngradeCause]:
    """The cause of each of ``found`` in ``out.records`` (``every``: all the downgrades
    there, which a ``follows`` cause names)."""
    causes: dict[str, DowngradeCause] = {}
    if not found:
        return causes
    paths = _paths(sis, out)
    for name in sorted(found):
        check = out.downgrade_checks.get(name)
        cause = _cause(sis, out, paths, found[name], every or found)
        causes[name] = dataclasses.replace(
            cause,
            cost=check.cost if check else (),
            proven=bool(check and check.verdict == "forced"),
        )
    return causes


def _label(record: RepoDataRecord) -> str:
    return f"{record.version}-{record.build}"


#: the user's specs a downgrade is traced to, in the order they are preferred as its root
_ROOTS = ("requested", "pinned", "history")


def _cause(
    sis: SolverInputState,
    out: SolverOutputState,
    paths: Mapping[str, tuple[str, ...]],
    change: tuple[RepoDataRecord, RepoDataRecord],
    found: Downgrades,
) -> DowngradeCause:
    """The user's spec that excludes the installed record; else the record of the answer
    whose dependency does, with the chain from its root; else the dependency of the
    installed record that the answer no longer meets."""
    old, new = change
    name = record_name(old)
    base = DowngradeCause(name, _label(old), _label(new), "unexplained")
    user = _user_root(sis, name, lambda spec: not spec.matches(old))
    if user is not None:
        kind, spec, origin = user
        return dataclasses.replace(base, kind=kind, spec=spec, origin=origin)
    excluding = _excluding_records(sis, out, paths, old)
    if excluding:
        record, dependency = excluding[0]
        path = paths.get(record_name(record), (record_name(record),))
        kind, spec, origin = _user_root(sis, path[0], lambda spec: True) or ("installed", "", "")
        labels = tuple(f"{n} {out.records[n].version}" for n in path)
        return dataclasses.replace(
            base, kind=kind, spec=spec, origin=origin, path=labels, dependency=dependency
        )
    if canonical_channel_name(old.channel or "") != canonical_channel_name(new.channel or ""):
        channel = canonical_channel_name(new.channel or "")
        return dataclasses.replace(base, kind="channel", via=channel)
    for dep in old.depends:
        other = out.records.get(dependency_name(dep))
        if other is not None and not MatchSpec(dep, strict=False).matches(other):
            moved = "downgraded" if record_name(other) in found else "moved"
            via = f"{record_name(other)} ({moved} to {other.version})"
            return dataclasses.replace(base, kind="follows", dependency=dep, via=via)
    return base


def _user_root(sis: SolverInputState, name: str, applies) -> tuple[str, str, str] | None:
    """The user's spec for ``name`` that ``applies``: requested, pinned or history."""
    for kind, mapping in zip(_ROOTS, (sis.requested, sis.pinned, sis.history), strict=True):
        if name in mapping and applies(mapping[name]):
            return kind, str(mapping[name]), mapping.reason(name) or ""
    return None


def _paths(sis: SolverInputState, out: SolverOutputState) -> dict[str, tuple[str, ...]]:
    """name -> the names from a root down to it through ``depends``: breadth first from
    the requested packages, then the pinned ones, the history, and last any other record
    (sorted within each), so the chain shown is the shortest from the most direct of the
    user's specs, whatever order the engine listed its answer in."""
    records = dict(out.records.items())
    tiers = [sorted(n for n in mapping if n in records) for mapping in _root_maps(sis)]
    tiers.append(sorted(records))
    paths: dict[str, tuple[str, ...]] = {}
    for tier in tiers:
        queue = [name for name in tier if name not in paths]
        paths.update((name, (name,)) for name in queue)
        for parent in queue:  # grows while it is walked: breadth first
            for dep in records[parent].depends:
                child = dependency_name(dep)
                if child in records and child not in paths:
                    paths[child] = (*paths[parent], child)
                    queue.append(child)
    return paths


def _root_maps(sis: SolverInputState) -> tuple[Mapping[str, MatchSpec], ...]:
    return (sis.requested, sis.pinned, sis.history)


def _excluding_records(
    sis: SolverInputState,
    out: SolverOutputState,
    paths: Mapping[str, tuple[str, ...]],
    old: RepoDataRecord,
) -> list[tuple[RepoDataRecord, str]]:
    """Records of the answer whose ``depends``/``constrains`` on the package exclude its
    installed record: those a requested package brings first (then pinned, history, the
    rest), the shortest chain first, then by name."""
    name = record_name(old)
    hits = []
    for record in out.records.values():
        for dep in [*record.depends, *record.constrains]:
            if dependency_name(dep) == name and not MatchSpec(dep, strict=False).matches(old):
                hits.append((record, dep))
                break

    def rank(hit: tuple[RepoDataRecord, str]) -> tuple[int, int, str]:
        path = paths.get(record_name(hit[0]), (record_name(hit[0]),))
        root = path[0]
        tier = next(
            (i for i, mapping in enumerate(_root_maps(sis)) if root in mapping), len(_ROOTS)
        )
        return tier, len(path), record_name(hit[0])

    return sorted(hits, key=rank)
