"""
Explanations: turning an engine's "no solution" into what the *user* can change.

An engine proves a request unsolvable in terms of packages ("numpy 2.3 requires python
>=3.12, which conflicts with python 3.9.*"), usually as a long tree with one branch per
candidate version. Users need two things from it:

- **the chains**: how each requested spec leads, through dependencies, to the package
  where things break — ``numpy >=2.1 -> python >=3.10 [conflicts with python 3.9.*]``.
  Each engine hands over its paths (:class:`~conda_solver_plus.exceptions.ConflictChain`);
  :func:`dedupe_chains` merges the per-version branches and keeps the shortest path per
  requested spec and clashing package;
- **the culprits**: users act on their *setup*, not on packages — a pin they forgot in
  ``conda-meta/pinned``, a spec they asked for a year ago that sits in the history, an
  installed package frozen by ``--freeze-installed``, python held to its installed minor
  version, a missing CUDA driver, a package that only a lower-priority channel has, or two
  requested specs that cannot hold together. :func:`build_explanation` matches the names
  on the chains against the solver state and lists each culprit with the place it came
  from and one concrete hint.

Why the packages of an *answer* are there (``explain``, ``why``) is
:mod:`conda_solver_plus.provenance`, whose public names are re-exported here.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from rattler import BuildString, MatchSpec, PackageRecord

from .exceptions import ChainStep, ConflictChain, Culprit, Explanation

# the other half of explaining a solve, why the packages of an *answer* are there, lives
# in .provenance; re-exported so the front ends import both halves from one place
from .provenance import (
    SpecProvenance,
    explain_records,
    print_why,
    render_failed_provenance,
    render_provenance,
    spec_provenance,
    why_package,
)
from .specs import is_name_only, spec_name

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .backends import EngineUnsolvable
    from .repodata.model import Index
    from .state import SolverInputState, SolverOutputState

__all__ = [
    "MAX_CHAINS",
    "SpecProvenance",
    "build_explanation",
    "close_names",
    "dedupe_chains",
    "explain_records",
    "pin_culprit",
    "print_why",
    "render_failed_provenance",
    "render_provenance",
    "spec_provenance",
    "virtual_blockers",
    "why_package",
]

#: at most this many chains are shown (the engine's report has all of them)
MAX_CHAINS = 8

_VIRTUAL_HINTS = {
    "__cuda": "set CONDA_OVERRIDE_CUDA=<version> to solve for a machine with a CUDA driver",
    "__glibc": "set CONDA_OVERRIDE_GLIBC=<version> to solve for another glibc",
    "__osx": "set CONDA_OVERRIDE_OSX=<version> to solve for another macOS",
}


def _virtual_hint(name: str) -> str:
    return _VIRTUAL_HINTS.get(
        name, f"set CONDA_OVERRIDE_{name[2:].upper()}=<version> to solve for another machine"
    )


def dedupe_chains(chains: Iterable[ConflictChain], limit: int = MAX_CHAINS) -> list[ConflictChain]:
    """Merge chains that pass through the same package names (one per candidate version
    in the engines' reports) and keep, per requested spec and clashing package, only the
    shortest path. Order follows the engine's."""
    merged: dict[tuple, ConflictChain] = {}
    for chain in chains:
        if not chain.steps:
            continue
        key = (chain.names, chain.problem, chain.detail)
        known = merged.get(key)
        if known is None:
            merged[key] = chain
            continue
        steps = tuple(
            ChainStep(
                old.name,
                tuple(dict.fromkeys((*old.specs, *new.specs))),
                tuple(dict.fromkeys((*old.versions, *new.versions))),
            )
            for old, new in zip(known.steps, chain.steps, strict=True)
        )
        partners = tuple(dict.fromkeys((*known.partners, *chain.partners)))
        merged[key] = ConflictChain(steps, known.problem, known.detail, partners)
    shortest: dict[tuple, int] = {}
    for chain in merged.values():
        ends = (chain.names[0], chain.names[-1], chain.problem)
        shortest[ends] = min(shortest.get(ends, len(chain.steps)), len(chain.steps))
    kept = [
        chain
        for chain in merged.values()
        if len(chain.steps) == shortest[(chain.names[0], chain.names[-1], chain.problem)]
    ]
    return kept[:limit]


def close_names(name: str, index: Index, n: int = 3) -> list[str]:
    """Package names in ``index`` that look like ``name`` (for "did you mean")."""
    return difflib.get_close_matches(name, sorted(index.package_names()), n=n, cutoff=0.75)


def _priority_culprits(
    chains: list[ConflictChain],
    specs: dict[str, list[str]],
    index: Index,
    channel_priority: str,
) -> list[Culprit]:
    """Names whose wanted versions exist only in a channel below the first one that has
    the name: under strict priority the engine never sees them."""
    if channel_priority != "strict" or len(index.channels) < 2:
        return []
    excluded = {chain.names[-1] for chain in chains if chain.problem == "excluded"}
    culprits = []
    for name in sorted(set(specs) | excluded):
        wanted = [MatchSpec(text, strict=False) for text in specs.get(name, ())]
        if name.startswith("__") or (name not in excluded and not wanted):
            continue
        channels, matching = _channels_offering(name, wanted, index)
        if len(channels) < 2 or not matching or channels[0] in matching:
            continue
        culprits.append(
            Culprit(
                "channel-priority",
                name,
                " | ".join(specs.get(name, ())) or name,
                f"channel {channels[0]}",
                f"strict channel priority takes {name} only from {channels[0]}, which has "
                f"no matching version; {matching[0]} has one. Use flexible channel priority "
                f"(--channel-priority flexible; conda: channel_priority: flexible) or "
                f"request {matching[0]}::{name}",
            )
        )
    return culprits


def _channels_offering(
    name: str, wanted: list[MatchSpec], index: Index
) -> tuple[list[str], list[str]]:
    """The channels that have ``name``, and those of them with a version that one of
    ``wanted`` matches (any version when nothing is wanted), each in priority order."""
    channels: list[str] = []
    matching: list[str] = []
    for repo in index.repos:
        if name not in repo.names:
            continue
        label = repo.channel.name
        if label not in channels:
            channels.append(label)
        if label not in matching and any(
            not wanted or any(spec.matches(record) for spec in wanted)
            for record in repo.sparse.load_records(_pkg(name))
        ):
            matching.append(label)
    return channels, matching


def _pkg(name: str):
    from rattler import PackageName

    return PackageName(name)


def _virtual_record(package) -> PackageRecord:
    return PackageRecord(
        name=package.name.normalized,
        version=str(package.version),
        build=BuildString(str(package.build_string)),
        build_number=0,
        subdir="noarch",
    )


def virtual_blockers(
    sis: SolverInputState, index: Index, requested: list[MatchSpec]
) -> dict[str, list[str]]:
    """Requested packages that no candidate can satisfy on this machine because each
    candidate depends on a virtual package (``__cuda``, ``__glibc``...) the system lacks
    or has in another version. Maps the requested name to those dependencies."""
    system = [_virtual_record(package) for package in sis.virtual.values()]
    blockers: dict[str, list[str]] = {}
    for spec in requested:
        name = spec_name(spec)
        if name.startswith("__") or name in blockers:
            continue
        candidates = [
            record
            for repo in index.repos
            if name in repo.names
            for record in repo.sparse.load_records(name)
            if spec.matches(record)
        ]
        unmet_per_candidate = [_unmet_virtual(record, system) for record in candidates]
        if candidates and all(unmet_per_candidate):
            blockers[name] = sorted({dep for unmet in unmet_per_candidate for dep in unmet})
    return blockers


def _unmet_virtual(record: PackageRecord, system: list[PackageRecord]) -> list[str]:
    """The virtual-package dependencies of ``record`` that none of ``system`` meets."""
    return [
        dep
        for dep in record.depends
        if dep.startswith("__")
        and not any(MatchSpec(dep, strict=False).matches(virtual) for virtual in system)
    ]


def _chain_specs(chains: list[ConflictChain], sis: SolverInputState) -> dict[str, list[str]]:
    """name -> the specs the chains (and the request) ask of it."""
    specs: dict[str, list[str]] = {}
    for chain in chains:
        for step in chain.steps:
            specs.setdefault(step.name, [])
            for text in step.specs:
                if text not in specs[step.name]:
                    specs[step.name].append(text)
    for spec in sis.requested_specs:
        name = spec_name(spec)
        if name in specs and str(spec) not in specs[name]:
            specs[name].insert(0, str(spec))
    return specs


def _virtual_culprit(name: str, wanted: list[str], sis: SolverInputState) -> Culprit:
    present = sis.virtual.get(name)
    needs = " | ".join(text for text in wanted if text.strip() != name) or name
    if present is None:
        text = f"this machine has no {name} package"
        origin = "this machine (not detected)"
    else:
        text = f"this machine has {name} {present.version}, the packages need {needs}"
        origin = f"this machine ({name} {present.version})"
    return Culprit("virtual", name, needs, origin, f"{text}; {_virtual_hint(name)}")


def _requested_culprits(chains: list[ConflictChain], sis: SolverInputState) -> list[Culprit]:
    """Two or more requested specs whose chains clash with each other."""
    requested = {spec_name(spec) for spec in sis.requested_specs}
    involved: list[str] = []
    for chain in chains:
        if chain.problem != "conflict":
            continue
        names = [chain.names[0]] + [p.split()[0].lower() for p in chain.partners if p.split()]
        for name in names:
            if name in requested and name not in involved:
                involved.append(name)
    if len(involved) < 2:
        return []
    specs = [str(spec) for spec in sis.requested_specs if spec_name(spec) in involved]
    return [
        Culprit(
            "requested",
            ", ".join(involved),
            ", ".join(specs),
            "your request",
            "these requested specs cannot be installed together; relax or drop one of them",
        )
    ]


def build_explanation(
    error: EngineUnsolvable,
    sis: SolverInputState,
    out: SolverOutputState,
    index: Index,
    channel_priority: str = "strict",
) -> Explanation:
    """The :class:`~conda_solver_plus.exceptions.Explanation` of ``error``: its chains,
    deduplicated, and the culprits in the user's state, one concrete hint each."""
    chains = dedupe_chains(error.chains)
    names = set(error.names) | {name for chain in chains for name in chain.names}
    specs = _chain_specs(list(error.chains), sis)
    culprits = [
        culprit
        for name in sorted(names)
        for culprit in (
            pin_culprit(name, sis),
            _history_culprit(name, sis),
            _frozen_culprit(name, sis, out),
            _virtual_package_culprit(name, error, sis, specs),
            _python_hold_culprit(name, sis, out),
        )
        if culprit is not None
    ]
    culprits.extend(_priority_culprits(list(error.chains), specs, index, channel_priority))
    culprits.extend(_requested_culprits(list(error.chains), sis))
    conflicts = {name: str(spec) for name, spec in out.conflicts.items() if name in names}
    return Explanation(
        error.message,
        conflicts=conflicts,
        culprits=culprits,
        virtual_blockers=virtual_blockers(sis, index, sis.requested_specs),
        chains=chains,
    )


def pin_culprit(name: str, sis: SolverInputState) -> Culprit | None:
    """A pin holds ``name`` (``conda-meta/pinned``, ``pinned_packages``, ``--pin``)."""
    if name not in sis.pinned:
        return None
    return Culprit(
        "pinned",
        name,
        str(sis.pinned[name]),
        sis.pinned.reason(name) or "pins",
        "remove or widen the pin, or pass --ignore-pinned",
    )


def _history_culprit(name: str, sis: SolverInputState) -> Culprit | None:
    """A spec the user asked for earlier (the history) holds ``name``, which this
    request does not name."""
    if name not in sis.history or name in sis.requested:
        return None
    return Culprit(
        "history",
        name,
        str(sis.history[name]),
        sis.history.reason(name) or "history",
        f"you asked for {sis.history[name]} earlier; request {name} explicitly "
        "with a new constraint to change it",
    )


def _frozen_culprit(name: str, sis: SolverInputState, out: SolverOutputState) -> Culprit | None:
    """``--freeze-installed`` keeps the installed record of ``name`` (a pin, when there
    is one, is the culprit instead)."""
    if name not in out.frozen or name in sis.pinned:
        return None
    record = out.frozen[name]
    return Culprit(
        "frozen",
        name,
        f"{name}=={record.version}={record.build}",
        out.frozen.reason(name) or "installed",
        "drop --freeze-installed so it may change",
    )


def _virtual_package_culprit(
    name: str, error: EngineUnsolvable, sis: SolverInputState, specs: dict[str, list[str]]
) -> Culprit | None:
    """The machine lacks the virtual package ``name``, or has a version the packages do
    not take."""
    if not name.startswith("__"):
        return None
    unmet = any(c.problem == "missing" and c.names[-1] == name for c in error.chains)
    if not unmet and name in sis.virtual:
        return None
    return _virtual_culprit(name, specs.get(name, []), sis)


def _python_hold_culprit(
    name: str, sis: SolverInputState, out: SolverOutputState
) -> Culprit | None:
    """python held to its installed minor version (not requested, not pinned to a
    version)."""
    if name != "python" or "python" not in out.constraints or "python" in sis.requested:
        return None
    if "python" in sis.pinned and not is_name_only(sis.pinned["python"]):
        return None
    installed = sis.installed.get("python")
    return Culprit(
        "installed",
        name,
        str(out.constraints["python"]),
        f"installed python {installed.version}" if installed else "python",
        "python keeps its installed minor version; request "
        "python=<version> explicitly to change it",
    )
