"""
Provenance: where each spec of a solve came from, and why each package is in its result.

A solve hands its engine specs that users never typed: a history spec from a year ago, a
pin, the installed version of a package kept in place, python held to its minor version.
Every one is set in a :class:`~conda_solver_plus.state.TrackedMap` with its reason, and
the answer's records arrive without one. This module turns both into what ``explain``
and ``why`` print (and their ``--json``):

- :func:`spec_provenance` — each spec handed to the engine in the last attempt: its
  reason, where the user's state names the package (request, history, pins, the
  installed environment or a lockfile, aggressive updates, virtual packages), and how the
  solve loop changed it between attempts;
- :func:`explain_records` — why each record of the result is there: requested (or in the
  history, pinned, always updated), else a dependency of the first record that names it,
  breadth first from those roots;
- :func:`why_package` — the chain from a root to one package, following those reasons.

:mod:`conda_solver_plus.explain` is the other half: why a request has *no* answer.
"""

from __future__ import annotations

import functools
import json
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from .records import dependency_name
from .specs import spec_name
from .state import NEW_ATTEMPT, Change, RecordReason

if TYPE_CHECKING:
    from .state import SolverInputState, SolverOutputState

__all__ = [
    "SpecProvenance",
    "downgrades_payload",
    "explain_records",
    "print_why",
    "record_reasons",
    "render_downgrades",
    "render_failed_provenance",
    "render_provenance",
    "spec_provenance",
    "strategy_line",
    "why_package",
]

#: what each solve strategy other than the default prefers, as ``explain`` says it
_STRATEGY_MEANING = {
    "lowest": "the lowest version of every package that works",
    "lowest-direct": "the lowest versions of the requested packages, "
    "the highest of their dependencies",
}


def strategy_line(strategy: str) -> str:
    """``explain``'s line for a solve strategy other than ``highest`` (installed, locked
    and pinned packages keep their meaning under each, which the specs below show)."""
    return f"strategy: {strategy} ({_STRATEGY_MEANING.get(strategy, 'the highest versions')})"


def record_reasons(sis: SolverInputState, out: SolverOutputState) -> dict[str, RecordReason]:
    """Why each record of the result is there: requested (or in the history, pinned,
    always updated), else the first record that depends on it, with the ``depends``
    entry that pulled it in (breadth first, so the shortest chain from a root)."""
    records = dict(out.records.items())
    why: dict[str, RecordReason] = {}
    for name in records:
        root = _root_reason(sis, name)
        if root is not None:
            why[name] = RecordReason(root)
    _explain_dependencies(records, why, list(why))
    if "pip" in records and "pip" not in why and "python" in why:
        why["pip"] = _PIP_WITH_PYTHON
        _explain_dependencies(records, why, ["pip"])
    for name in records:
        if name not in why:
            why[name] = RecordReason(_kept_reason(sis, name))
    return why


def explain_records(sis: SolverInputState, out: SolverOutputState) -> dict[str, str]:
    """:func:`record_reasons` as the text users read."""
    return {name: reason.text for name, reason in record_reasons(sis, out).items()}


def _root_reason(sis: SolverInputState, name: str) -> str | None:
    """Why ``name`` is in the result on its own account (requested, in the history,
    pinned, always updated), or ``None`` when nothing of the user's asks for it."""
    if name in sis.requested:
        return f"requested as {sis.requested[name]}"
    if name in sis.history:
        return f"in history as {sis.history[name]} ({sis.history.reason(name)})"
    if name in sis.pinned:
        return f"pinned as {sis.pinned[name]} ({sis.pinned.reason(name)})"
    if name in sis.aggressive_updates:
        return "aggressive_update_packages setting"
    return None


def _kept_reason(sis: SolverInputState, name: str) -> str:
    """Why a record neither asked for nor needed by one that is is there."""
    if name in sis.locked:
        return "kept from the lockfile"
    if name in sis.installed:
        return "kept from the installed environment"
    return "added by the engine (a run_constrained or feature record)"


#: why ``pip`` is in an environment nothing asked it for (conda's
#: ``add_pip_as_python_dependency``, on by default)
_PIP_WITH_PYTHON = RecordReason(
    "dependency of python (conda adds pip to python: add_pip_as_python_dependency)",
    parent="python",
)


def _explain_dependencies(records, why: dict[str, RecordReason], queue: list[str]) -> None:
    """Breadth first from ``queue``: each record not explained yet is there as a
    dependency of the first explained record that names it."""
    while queue:
        parent = queue.pop(0)
        for dep in records[parent].depends:
            name = dependency_name(dep)
            if name in records and name not in why:
                why[name] = (
                    _PIP_WITH_PYTHON
                    if (parent, name) == ("python", "pip")
                    else RecordReason(f"dependency of {parent} via '{dep}'", parent=parent)
                )
                queue.append(name)


def _attempts(changes: list[Change]) -> list[list[Change]]:
    """A TrackedMap log split into solve attempts (each starts by clearing the map)."""
    attempts: list[list[Change]] = [[]]
    for change in changes:
        if change.action == "pop" and change.reason == NEW_ATTEMPT:
            if attempts[-1]:
                attempts.append([])
            continue
        attempts[-1].append(change)
    return [attempt for attempt in attempts if attempt]


class SpecProvenance(TypedDict):
    """One spec handed to the engine, as ``explain`` shows it (and ``--json`` prints it)."""

    name: str
    #: the spec, or ``None`` for a name that was only constrained
    spec: str | None
    reason: str | None
    #: where the user's state mentions the name
    sources: list[str]
    #: how the solve loop changed it
    changes: list[str]


@dataclass(frozen=True)
class _Source:
    """One place of the user's state that names a package (``requested: numpy (requested
    on the command line)``), as data."""

    #: which place: ``requested``, ``history``, ``pinned``, ``the lockfile``,
    #: ``installed``, ``aggressive_update_packages setting``, ``virtual package``
    kind: str
    #: what the place says of the package (empty where naming it is all it does)
    detail: str = ""
    #: the spec the place asks for, as written there (requests, history, pins)
    spec: str | None = None
    #: where that spec was found (the command line, a history file's line, a pins file)
    origin: str = ""

    @classmethod
    def of_spec(cls, kind: str, spec: object, origin: str | None) -> _Source:
        return cls(kind, f"{spec} ({origin})", str(spec), f"{origin}")

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}" if self.detail else self.kind


@dataclass(frozen=True)
class _SpecOrigins:
    """One spec handed to the engine with its provenance, as data: what
    :class:`SpecProvenance` and the ``explain`` text are made from."""

    name: str
    spec: str | None
    reason: str | None
    #: the place of the user's state the spec repeats as written there, if it does
    #: (:meth:`~conda_solver_plus.state.TrackedMap.source`)
    reason_source: str | None
    sources: list[_Source]
    changes: list[str]

    def to_json(self) -> SpecProvenance:
        return SpecProvenance(
            name=self.name,
            spec=self.spec,
            reason=self.reason,
            sources=[str(source) for source in self.sources],
            changes=self.changes,
        )


def spec_provenance(sis: SolverInputState, out: SolverOutputState) -> list[SpecProvenance]:
    """For each spec handed to the engine in the last attempt: where it came from (the
    user's state: request, history, pins, the installed environment, aggressive updates,
    virtual packages) and how the solve loop changed it (relaxed after a conflict,
    released, frozen, locked, neutered, constrained)."""
    return [item.to_json() for item in _spec_origins(sis, out)]


def _spec_origins(sis: SolverInputState, out: SolverOutputState) -> list[_SpecOrigins]:
    names = list(out.specs)
    for spec in out.constraints.values():
        name = spec_name(spec)
        if name not in names:
            names.append(name)
    return [
        _SpecOrigins(
            name=name,
            spec=str(out.specs[name]) if name in out.specs else None,
            reason=_spec_reason(sis, out, name),
            reason_source=out.specs.source(name),
            sources=_spec_sources(sis, name),
            changes=_spec_changes(sis, out, name),
        )
        for name in names
    ]


def _spec_reason(sis: SolverInputState, out: SolverOutputState, name: str) -> str | None:
    if name not in out.specs:
        return "constraint only"
    reason = out.specs.reason(name)
    return None if reason is None else _lockfile_wording(sis, name, reason)


def _lockfile_wording(sis: SolverInputState, name: str, text: str) -> str:
    """A record from ``--locked`` is kept like an installed one, but the user knows it as
    the lockfile's: "installed (kept)" reads "from the lockfile (kept)"."""
    return text.replace("installed", "from the lockfile") if name in sis.locked else text


def _spec_sources(sis: SolverInputState, name: str) -> list[_Source]:
    """Where the user's state mentions ``name``: request, history, pins, the installed
    environment, aggressive updates, virtual packages."""
    sources = []
    if name in sis.requested:
        sources.append(
            _Source.of_spec("requested", sis.requested[name], sis.requested.reason(name))
        )
    if name in sis.history:
        sources.append(_Source.of_spec("history", sis.history[name], sis.history.reason(name)))
    if name in sis.pinned:
        sources.append(_Source.of_spec("pinned", sis.pinned[name], sis.pinned.reason(name)))
    if name in sis.locked:
        record = sis.locked[name]
        detail = f"{record.version} {record.build} ({sis.locked.reason(name)})"
        sources.append(_Source("the lockfile", detail))
    elif name in sis.installed:
        record = sis.installed[name]
        sources.append(_Source("installed", f"{record.version} {record.build}"))
    if name in sis.aggressive_updates:
        sources.append(_Source("aggressive_update_packages setting"))
    if name in sis.virtual:
        package = sis.virtual[name]
        sources.append(_Source("virtual package", f"{package.version}={package.build_string}"))
    return sources


def _spec_changes(sis: SolverInputState, out: SolverOutputState, name: str) -> list[str]:
    """How the solve loop changed the spec of ``name``: between attempts, constrained,
    released, frozen or locked, neutered for next time."""
    worded = functools.partial(_lockfile_wording, sis, name)
    changes = [worded(text) for text in _attempt_changes(out, name)]
    changes += [
        worded(f"constrained to {spec} ({out.constraints.reason(key)})")
        for key, spec in out.constraints.items()
        if spec_name(spec) == name
    ]
    if name in out.conflicts:
        changes.append(worded(f"released: may change ({out.conflicts.reason(name)})"))
    if name in out.frozen:
        changes.append(worded(f"frozen as installed ({out.frozen.reason(name)})"))
    elif name in out.locked:
        changes.append(_preferred(sis, out, name))
    if name in out.neutered:
        changes.append(worded(f"history spec relaxed to {out.neutered[name]} for next time"))
    return changes


def _attempt_changes(out: SolverOutputState, name: str) -> list[str]:
    """The spec of ``name`` in each attempt, when it changed between attempts."""
    handed = [
        (number, change)
        for number, attempt in enumerate(_attempts(out.specs.history_of(name)), 1)
        for change in attempt
        if change.action in ("set", "update")
    ]
    if len({(str(change.new), change.reason) for _, change in handed}) < 2:
        return []
    return [f"attempt {number}: {change.new} ({change.reason})" for number, change in handed]


def _preferred(sis: SolverInputState, out: SolverOutputState, name: str) -> str:
    """The installed record of ``name`` is preferred (a ``--locked`` one, the user knows
    as the lockfile's)."""
    if name in sis.locked:
        return "locked version preferred, as an installed one would be"
    return f"installed version preferred ({out.locked.reason(name)})"


def render_provenance(sis: SolverInputState, out: SolverOutputState) -> str:
    """:func:`spec_provenance` and :func:`explain_records` as text."""
    engine = f"the {out.engine} engine" if out.engine else "the engine"
    lines = [f"Specs handed to {engine} (attempts: {out.attempts}):"]
    lines.extend(_render_specs(_spec_origins(sis, out)))
    if not out.current_solution:
        return "\n".join(lines)
    why = out.record_reasons or record_reasons(sis, out)
    lines.append("")
    lines.append("Why each package of the result is there:")
    for record in sorted(out.current_solution, key=lambda r: r.name.normalized):
        label = f"{record.name.normalized}-{record.version}-{record.build}"
        reason = why.get(record.name.normalized)
        lines.append(f"  {label:<50} {reason.text if reason else ''}")
    lines.extend(render_downgrades(out))
    return "\n".join(lines)


def downgrades_payload(out: SolverOutputState) -> dict[str, dict[str, dict[str, Any]]]:
    """``explain --json``'s view of the downgrades: why each happens, and what the guard
    checked of each the engine proposed (``forced``, ``avoided``, ``asked``,
    ``unchecked``)."""
    return {
        "downgrades": {
            name: {"from": cause.installed, "to": cause.chosen, **cause.to_json()}
            for name, cause in out.downgrades.items()
        },
        "downgrade_checks": {
            name: {"verdict": check.verdict, "proposed": check.proposed, "cost": list(check.cost)}
            for name, check in out.downgrade_checks.items()
        },
    }


def render_downgrades(out: SolverOutputState) -> list[str]:
    """What the no-surprise-downgrade guard did (:mod:`conda_solver_plus.solving.downgrades`):
    each installed package the result moves to a lower version, with what forces it, and
    the downgrades the engine proposed without need, which were not made."""
    lines: list[str] = []
    if out.downgrades:
        lines += ["", "Downgrades, and what forces each:"]
        for name, cause in sorted(out.downgrades.items()):
            lines.append(f"  {name} {cause.installed} --> {cause.chosen}: {cause.text}")
    avoided = sorted(n for n, c in out.downgrade_checks.items() if c.verdict == "avoided")
    avoided = [n for n in avoided if n not in out.downgrades]
    if avoided:
        lines += ["", "Downgrades the engine proposed without need (kept instead):"]
        for name in avoided:
            check = out.downgrade_checks[name]
            record = out.records.get(name)
            kept = f"kept at {record.version}" if record is not None else "not kept"
            lines.append(f"  {name}: the engine proposed {check.proposed}, {kept}")
    unchecked = sorted(n for n, c in out.downgrade_checks.items() if c.verdict == "unchecked")
    if unchecked:
        lines += ["", f"Downgrades not checked (the time limit ran out): {', '.join(unchecked)}"]
    return lines


def _render_specs(provenance: list[_SpecOrigins]) -> list[str]:
    """One line per spec with its reason, then where else the user's state names it and
    how the solve changed it. A source that only repeats the reason (``requested:
    numpy (requested on the command line)`` under ``<- requested``) is folded into it."""
    lines = []
    for item in provenance:
        spec = item.spec or f"({item.name})"
        reason = item.reason or ""
        sources = []
        for source in item.sources:
            if source.kind == item.reason_source and source.spec == item.spec:
                if reason == source.kind:  # the bare kind: the source says where from
                    reason = source.origin
                continue
            sources.append(source)
        lines.append(f"  {spec:<36} <- {reason}")
        lines.extend(f"      from {source}" for source in sources)
        lines.extend(f"      {change}" for change in item.changes)
    return lines


def render_failed_provenance(sis: SolverInputState, out: SolverOutputState) -> str:
    """For a request that cannot be met: the specs the first attempt handed to the engine
    and where each came from (``out`` holds that request, built again after the
    failure), so the error that follows can be read against them."""
    lines = ["Specs handed to the engine (the request failed; the error follows):"]
    lines.extend(_render_specs(_spec_origins(sis, out)))
    return "\n".join(lines)


def why_package(name: str, sis: SolverInputState, out: SolverOutputState) -> list[str]:
    """The chain from a root (requested, history, pinned) to ``name`` in the result:
    ``["numpy: requested as numpy", "libblas: dependency of numpy via 'libblas >=3.9'",
    ...]``, or an empty list when ``name`` is not in the result. Each step follows the
    record that pulled the previous one in (:attr:`RecordReason.parent`)."""
    why = out.record_reasons or record_reasons(sis, out)
    chain: list[str] = []
    seen: set[str] = set()
    current: str | None = name.lower()
    while current in why and current not in seen:
        seen.add(current)
        reason = why[current]
        chain.append(f"{current}: {reason.text}")
        current = reason.parent
    return list(reversed(chain))


def print_why(
    name: str, sis: SolverInputState, out: SolverOutputState, *, as_json: bool, where: str
) -> int:
    """``why NAME`` (the CLI's and ``conda plus why``): the chain that brings ``NAME`` in,
    indented, or as JSON; "not in ``where``" on stderr and 1 when it is not in."""
    chain = why_package(name, sis, out)
    if as_json:
        print(json.dumps({"package": name, "chain": chain}, indent=2))
    elif chain:
        print("\n".join(f"{'  ' * depth}{line}" for depth, line in enumerate(chain)))
    else:
        print(f"{name} is not in {where}", file=sys.stderr)
    return 0 if chain else 1
