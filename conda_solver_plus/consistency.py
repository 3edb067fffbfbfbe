"""
Consistency: does every package of an environment have what it depends on?

An environment is *consistent* when each record's ``depends`` entries are each matched by
a record of the same environment, or by a virtual package of the machine (``__glibc``,
``__cuda``...). A solver's answer must be consistent; an installed prefix may not be
(``conda remove --force`` leaves dependents without their dependency).

Both engines use this: the libmamba backend to find installed packages libsolv would
otherwise carry along broken, and the core, when ``CONDA_SOLVER_PLUS_VERIFY`` is set
(the test suite sets it), to check every answer before handing it out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from rattler import GenericVirtualPackage, MatchSpec, PackageRecord

from .conditions import Spec, holds, split_conditional, virtual_records, virtual_truth
from .records import record_name

# the core asks here; the setting itself is read in settings.py with the others
from .settings import verify_requested as verify_requested

#: a repodata or prefix record: what goes in comes back out, with its own type
AnyRecord = TypeVar("AnyRecord", bound=PackageRecord)


def unmet_dependencies(
    records: Iterable[AnyRecord],
    virtual: Iterable[GenericVirtualPackage] = (),
    of: Iterable[AnyRecord] | None = None,
) -> list[tuple[AnyRecord, str]]:
    """``(record, dependency)`` for each dependency of ``of`` (default: all ``records``)
    that nothing in ``records`` satisfies; a ``__name`` dependency is met when the machine
    has that virtual package (its version is the engines' business, checked at solve
    time). A conditional dependency (``dep[when=...]``, :mod:`.conditions`) whose
    condition does not hold in ``records`` and the machine is met."""
    records = list(records)
    provided: dict[str, list[PackageRecord]] = {}
    for record in records:
        provided.setdefault(record_name(record), []).append(record)
    virtual = list(virtual)
    present = {package.name.normalized for package in virtual}
    machine = virtual_records(virtual)

    def found(spec: Spec) -> bool:
        """A condition's spec holds: a virtual package or a record matches it."""
        truth = virtual_truth(spec, machine)
        if truth is not None:
            return truth
        matcher = MatchSpec(spec.text, strict=False)
        return any(matcher.matches(candidate) for candidate in provided.get(spec.name, []))

    parsed: dict[str, MatchSpec] = {}
    unmet = []
    for record in records if of is None else of:
        for dep in record.depends:
            conditional = split_conditional(dep)
            if conditional is not None and not holds(conditional[1], found):
                continue  # ``dep[when=...]`` whose condition is false asks for nothing
            spec = parsed.get(dep)
            if spec is None:
                spec = parsed[dep] = MatchSpec(dep, strict=False)
            name = spec.name.normalized if spec.name is not None else ""
            if name.startswith("__"):
                ok = name in present
            else:
                ok = any(spec.matches(candidate) for candidate in provided.get(name, []))
            if not ok:
                unmet.append((record, dep))
    return unmet
