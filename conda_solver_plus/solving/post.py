"""
Post-processing: what conda does to the engine's answer before it is the final state.

The engine answers with the records that satisfy the request. conda then applies the
modifiers that are about the *transaction*, not the solution, and reports on it:

- :func:`take_solution` — the engine's records become the result (virtual packages out);
- :func:`apply_deps_modifier` — ``--no-deps`` keeps the installed state and changes only
  what matches the request; ``--only-deps`` drops the requested packages themselves;
- ``--update-deps`` — a second solve over the requested packages' dependency chain:
  :func:`update_deps_input` builds its input, :func:`take_update_deps` its answer (the
  solve itself is :func:`conda_solver_plus.core.solve`, which owns the pipeline);
- :func:`prune` — ``--prune`` drops what neither the request nor the pins need;
- :func:`held_back` — requested packages that stayed although a newer version exists;
- :func:`explain_records` — why each record is in the result (``explain`` prints it);
- :func:`verify_consistent` — with ``CONDA_SOLVER_PLUS_VERIFY``, an answer missing a
  dependency is an internal error (the test suite sets it).
"""

from __future__ import annotations

from collections.abc import Iterable

from rattler import MatchSpec, RepoDataRecord

from ..consistency import unmet_dependencies
from ..exceptions import SolverPlusError
from ..provenance import record_reasons
from ..records import dependency_closure, dependency_names, dist_str, record_name
from ..repodata.model import Index
from ..specs import spec_name
from ..state import DepsModifier, SolverInputState, SolverOutputState, UpdateModifier
from .candidates import matching_records
from .request import python_minor

__all__ = [
    "apply_deps_modifier",
    "explain_records",
    "held_back",
    "prune",
    "take_solution",
    "take_update_deps",
    "update_deps_input",
    "verify_consistent",
    "wants_update_deps",
]


def take_solution(out: SolverOutputState, records: Iterable[RepoDataRecord]) -> None:
    """The engine's answer becomes the result; virtual packages are not records."""
    out.records.clear(reason="replaced by solution")
    for record in records:
        name = record_name(record)
        if name.startswith("__"):
            continue
        out.records.set(name, record, reason=f"solution (attempt {out.attempts})")


def apply_deps_modifier(sis: SolverInputState, out: SolverOutputState) -> None:
    """conda's deps modifiers: ``--no-deps`` and ``--only-deps`` (the latter not with
    ``--update-deps``, which asks for the whole chain, nor on removal)."""
    if sis.deps_modifier is DepsModifier.NO_DEPS:
        _no_deps(sis, out)
    elif (
        sis.deps_modifier is DepsModifier.ONLY_DEPS
        and sis.update_modifier is not UpdateModifier.UPDATE_DEPS
        and not sis.is_removing
    ):
        _only_deps(sis, out)


def _no_deps(sis: SolverInputState, out: SolverOutputState) -> None:
    """``--no-deps``: keep the installed state and change only what matches the request."""
    solved = dict(out.records.items())
    out.records.clear(reason="--no-deps: start from installed")
    out.records.update(sis.installed, reason="installed (--no-deps)")
    for name, spec in sis.requested.items():
        if sis.is_removing:
            out.records.pop(name, None, reason="removed (--no-deps)")
        elif name in solved and spec.matches(solved[name]):
            out.records.set(name, solved[name], reason="requested (--no-deps)")


def _only_deps(sis: SolverInputState, out: SolverOutputState) -> None:
    """``--only-deps``: conda removes the *youngest* records matching the request
    (nothing depends on them): ``--only-deps python=3 flask`` drops flask but keeps
    python. Their dependencies go to the history in their place."""
    records = dict(out.records.items())
    depended_on: set[str] = set()
    for record in records.values():
        depended_on.update(dependency_names(record))
    for name, spec in sis.requested.items():
        record = records.get(name)
        if record is None or name in depended_on or not spec.matches(record):
            continue
        for dep in record.depends:
            dep_spec = MatchSpec(dep, strict=False)
            if spec_name(dep_spec) not in out.specs:
                out.for_history.set(
                    spec_name(dep_spec), dep_spec, reason=f"dependency of {name} (--only-deps)"
                )
        out.for_history.pop(name, None, reason="--only-deps")
        if name in sis.installed:
            out.records.set(name, sis.installed[name], reason="--only-deps keeps installed")
        else:
            out.records.pop(name, None, reason="--only-deps")


def wants_update_deps(sis: SolverInputState) -> bool:
    """Does ``--update-deps`` ask for a second solve? Not with ``--no-deps`` (which wins)
    nor on removal."""
    return (
        sis.deps_modifier is not DepsModifier.NO_DEPS
        and sis.update_modifier is UpdateModifier.UPDATE_DEPS
        and not sis.is_removing
    )


def update_deps_input(
    sis: SolverInputState, out: SolverOutputState
) -> tuple[SolverInputState, dict[str, MatchSpec]]:
    """``--update-deps``: the input of a second solve that requests every dependency of
    the requested packages by name (python held to its minor version, pins left to the
    pins), like conda does; and that dependency chain, for the history."""
    records = dict(out.records.items())
    names = dependency_closure(records, list(sis.requested))
    new_specs: dict[str, MatchSpec] = {}
    for name in sorted(names):
        if name in sis.pinned:
            continue
        if name == "python" and "python" in sis.installed:
            minor = python_minor(sis.installed["python"])
            new_specs[name] = MatchSpec(f"python {minor}.*", strict=False)
        else:
            new_specs[name] = MatchSpec(name)
    new_specs.update(sis.requested)
    second = SolverInputState(
        sis.prefix,
        list(new_specs.values()),
        command=sis.command,
        update_modifier=UpdateModifier.UPDATE_SPECS,
        deps_modifier=sis.deps_modifier,
        virtual_packages=sis.virtual,
        ignore_pinned=sis.ignore_pinned,
        installed=dict(sis.installed.items()),
        history={k: v for k, v in sis.history.items()},
        pinned_packages=[s for s in sis.pinned.values()],
    )
    return second, new_specs


def take_update_deps(
    out: SolverOutputState, second: SolverOutputState, chain: dict[str, MatchSpec]
) -> None:
    """The ``--update-deps`` second solve's records become the result; the dependency
    chain goes to the history."""
    out.records.clear(reason="--update-deps second solve")
    out.records.update(second.records, reason="--update-deps second solve")
    out.for_history.clear(reason="--update-deps")
    out.for_history.update(chain, reason="--update-deps: dependency chain")
    # the second solve's downgrades are the result's: its guard checked and explained them
    out.downgrade_checks = dict(second.downgrade_checks)
    out.downgrades = dict(second.downgrades)


def prune(sis: SolverInputState, out: SolverOutputState) -> None:
    """``--prune``: what neither a requested nor a pinned package needs goes."""
    roots = [n for n in out.records if n in sis.requested or n in sis.pinned]
    keep = set(roots) | dependency_closure(dict(out.records.items()), roots)
    for name in list(out.records):
        if name not in keep:
            out.records.pop(name, reason="--prune: nothing needs it")


def held_back(sis: SolverInputState, out: SolverOutputState, index: Index) -> dict[str, str]:
    """Requested packages an ordinary install left at their installed version although
    a newer one exists: conda tells the user which installed packages hold them back."""
    if sis.is_removing or sis.update_modifier is not UpdateModifier.UPDATE_SPECS:
        return {}
    held: dict[str, str] = {}
    for name in sis.requested:
        installed = sis.installed.get(name)
        final = out.records.get(name)
        if name.startswith("__") or installed is None or final is None:
            continue
        if final.version != installed.version:
            continue
        newest = max(
            (record.version for record in matching_records(index, MatchSpec(name))),
            default=None,
        )
        if newest is not None and newest > installed.version:
            held[name] = str(newest)
    return held


def explain_records(sis: SolverInputState, out: SolverOutputState) -> None:
    """Fill ``out.record_reasons``: requested, or a dependency of which record (see
    :func:`conda_solver_plus.provenance.record_reasons`)."""
    out.record_reasons = record_reasons(sis, out)


def verify_consistent(sis: SolverInputState, out: SolverOutputState) -> None:
    """Fail loudly on an answer whose packages lack a dependency (an engine-integration
    bug, never the user's doing); only with ``CONDA_SOLVER_PLUS_VERIFY``."""
    unmet = unmet_dependencies(out.records.values(), sis.virtual.values())
    if unmet:
        listed = "; ".join(f"{dist_str(record)} needs {dep}" for record, dep in unmet[:10])
        raise SolverPlusError(f"internal error: inconsistent solution ({listed})")
