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

import json
import sys
from typing import TYPE_CHECKING, TypedDict

from .records import dependency_name

if TYPE_CHECKING:
    from .state import SolverInputState, SolverOutputState

__all__ = [
    "SpecProvenance",
    "explain_records",
    "print_why",
    "render_failed_provenance",
    "render_provenance",
    "spec_provenance",
    "why_package",
]


def explain_records(sis: SolverInputState, out: SolverOutputState) -> dict[str, str]:
    """Why each record of the result is there: requested (or in the history, pinned,
    always updated), else the first record that depends on it, with the ``depends``
    entry that pulled it in (breadth first, so the shortest chain from a root)."""
    records = dict(out.records.items())
    why: dict[str, str] = {}
    for name in records:
        if name in sis.requested:
            why[name] = f"requested as {sis.requested[name]}"
        elif name in sis.history:
            why[name] = f"in history as {sis.history[name]} ({sis.history.reason(name)})"
        elif name in sis.pinned:
            why[name] = f"pinned as {sis.pinned[name]} ({sis.pinned.reason(name)})"
        elif name in sis.aggressive_updates:
            why[name] = "aggressive_update_packages setting"
    _explain_dependencies(records, why, list(why))
    if "pip" in records and "pip" not in why and "python" in why:
        why["pip"] = _PIP_WITH_PYTHON
        _explain_dependencies(records, why, ["pip"])
    for name in records:
        if name not in why:
            why[name] = (
                "kept from the lockfile"
                if name in sis.locked
                else "kept from the installed environment"
                if name in sis.installed
                else "added by the engine (a run_constrained or feature record)"
            )
    return why


#: why ``pip`` is in an environment nothing asked it for (conda's
#: ``add_pip_as_python_dependency``, on by default)
_PIP_WITH_PYTHON = "dependency of python (conda adds pip to python: add_pip_as_python_dependency)"


def _explain_dependencies(records, why: dict[str, str], queue: list[str]) -> None:
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
                    else f"dependency of {parent} via '{dep}'"
                )
                queue.append(name)


def _attempts(changes) -> list[list]:
    """A TrackedMap log split into solve attempts (each starts by clearing the map)."""
    attempts: list[list] = [[]]
    for change in changes:
        if change.action == "pop" and change.reason == "new attempt":
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


def spec_provenance(sis: SolverInputState, out: SolverOutputState) -> list[SpecProvenance]:
    """For each spec handed to the engine in the last attempt: where it came from (the
    user's state: request, history, pins, the installed environment, aggressive updates,
    virtual packages) and how the solve loop changed it (relaxed after a conflict,
    released, frozen, locked, neutered, constrained)."""
    names = list(out.specs)
    for key in out.constraints:
        name = key.split()[0]
        if name not in names:
            names.append(name)
    return [
        SpecProvenance(
            name=name,
            spec=str(out.specs[name]) if name in out.specs else None,
            reason=_spec_reason(sis, out, name),
            sources=_spec_sources(sis, name),
            changes=[_locked_wording(sis, name, text) for text in _spec_changes(out, name)],
        )
        for name in names
    ]


def _spec_reason(sis: SolverInputState, out: SolverOutputState, name: str) -> str | None:
    if name not in out.specs:
        return "constraint only"
    reason = out.specs.reason(name)
    return None if reason is None else _locked_wording(sis, name, reason)


def _locked_wording(sis: SolverInputState, name: str, text: str) -> str:
    """A record from ``--locked`` is kept like an installed one, but the user knows it as
    the lockfile's: "installed (kept)" reads "from the lockfile (kept)"."""
    if name not in sis.locked:
        return text
    if text.startswith("installed version preferred"):
        return "locked version preferred, as an installed one would be"
    return text.replace("installed", "from the lockfile")


def _spec_sources(sis: SolverInputState, name: str) -> list[str]:
    """Where the user's state mentions ``name``: request, history, pins, the installed
    environment, aggressive updates, virtual packages."""
    sources = []
    if name in sis.requested:
        sources.append(f"requested: {sis.requested[name]} ({sis.requested.reason(name)})")
    if name in sis.history:
        sources.append(f"history: {sis.history[name]} ({sis.history.reason(name)})")
    if name in sis.pinned:
        sources.append(f"pinned: {sis.pinned[name]} ({sis.pinned.reason(name)})")
    if name in sis.locked:
        record = sis.locked[name]
        sources.append(
            f"the lockfile: {record.version} {record.build} ({sis.locked.reason(name)})"
        )
    elif name in sis.installed:
        record = sis.installed[name]
        sources.append(f"installed: {record.version} {record.build}")
    if name in sis.aggressive_updates:
        sources.append("aggressive_update_packages setting")
    if name in sis.virtual:
        package = sis.virtual[name]
        sources.append(f"virtual package: {package.version}={package.build_string}")
    return sources


def _spec_changes(out: SolverOutputState, name: str) -> list[str]:
    """How the solve loop changed the spec of ``name``: between attempts, constrained,
    released, frozen or locked, neutered for next time."""
    changes = []
    history = [
        f"attempt {number}: {change.new} ({change.reason})"
        for number, attempt in enumerate(_attempts(out.specs.history_of(name)), 1)
        for change in attempt
        if change.action in ("set", "update")
    ]
    if len({entry.split(": ", 1)[1] for entry in history}) > 1:
        changes.extend(history)  # the spec changed between attempts
    for key, spec in out.constraints.items():
        if key.split()[0] == name:
            changes.append(f"constrained to {spec} ({out.constraints.reason(key)})")
    if name in out.conflicts:
        changes.append(f"released: may change ({out.conflicts.reason(name)})")
    if name in out.frozen:
        changes.append(f"frozen as installed ({out.frozen.reason(name)})")
    elif name in out.locked:
        changes.append(f"installed version preferred ({out.locked.reason(name)})")
    if name in out.neutered:
        changes.append(f"history spec relaxed to {out.neutered[name]} for next time")
    return changes


def render_provenance(sis: SolverInputState, out: SolverOutputState) -> str:
    """:func:`spec_provenance` and :func:`explain_records` as text."""
    engine = f"the {out.engine} engine" if out.engine else "the engine"
    lines = [f"Specs handed to {engine} (attempts: {out.attempts}):"]
    lines.extend(_render_specs(spec_provenance(sis, out)))
    if not out.current_solution:
        return "\n".join(lines)
    why = out.why or explain_records(sis, out)
    lines.append("")
    lines.append("Why each package of the result is there:")
    for record in sorted(out.current_solution, key=lambda r: r.name.normalized):
        label = f"{record.name.normalized}-{record.version}-{record.build}"
        lines.append(f"  {label:<50} {why.get(record.name.normalized, '')}")
    return "\n".join(lines)


def _render_specs(provenance: list[SpecProvenance]) -> list[str]:
    """One line per spec with its reason, then where else the user's state names it and
    how the solve changed it. A source that only repeats the reason (``requested:
    numpy (requested on the command line)`` under ``<- requested``) is folded into it."""
    lines = []
    for item in provenance:
        spec = item["spec"] or f"({item['name']})"
        reason = item["reason"] or ""
        sources = []
        for source in item["sources"]:
            kind, _, rest = source.partition(": ")
            if kind == reason.split(" ", 1)[0] and rest.startswith(f"{item['spec']} ("):
                if reason == kind:  # the bare kind: the source says where from
                    reason = rest[len(f"{item['spec']} (") : -1]
                continue
            sources.append(source)
        lines.append(f"  {spec:<36} <- {reason}")
        lines.extend(f"      from {source}" for source in sources)
        lines.extend(f"      {change}" for change in item["changes"])
    return lines


def render_failed_provenance(sis: SolverInputState, out: SolverOutputState) -> str:
    """For a request that cannot be met: the specs the first attempt handed to the engine
    and where each came from (``out`` holds that request, built again after the
    failure), so the error that follows can be read against them."""
    lines = ["Specs handed to the engine (the request failed; the error follows):"]
    lines.extend(_render_specs(spec_provenance(sis, out)))
    return "\n".join(lines)


def why_package(name: str, sis: SolverInputState, out: SolverOutputState) -> list[str]:
    """The chain from a root (requested, history, pinned) to ``name`` in the result:
    ``["numpy: requested as numpy", "libblas: dependency of numpy via 'libblas >=3.9'",
    ...]``, or an empty list when ``name`` is not in the result."""
    why = out.why or explain_records(sis, out)
    chain: list[str] = []
    seen: set[str] = set()
    current = name.lower()
    while current in why and current not in seen:
        seen.add(current)
        reason = why[current]
        chain.append(f"{current}: {reason}")
        if not reason.startswith("dependency of "):
            break
        current = reason.removeprefix("dependency of ").split(" ", 1)[0]
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
