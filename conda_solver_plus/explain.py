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
"""

from __future__ import annotations

import difflib
import json
import sys
from typing import TYPE_CHECKING, TypedDict

from rattler import BuildString, MatchSpec, PackageRecord

from .exceptions import ChainStep, ConflictChain, Culprit, Explanation
from .records import dependency_name
from .specs import is_name_only, spec_name

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .backends import EngineUnsolvable
    from .repodata.model import Index
    from .state import SolverInputState, SolverOutputState

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
        if name.startswith("__"):
            continue
        channels: list[str] = []
        matching: list[str] = []
        wanted = [MatchSpec(text, strict=False) for text in specs.get(name, ())]
        for repo in index.repos:
            if name not in repo.names:
                continue
            label = repo.channel.name
            if label not in channels:
                channels.append(label)
            for record in repo.sparse.load_records(_pkg(name)):
                if (not wanted or any(spec.matches(record) for spec in wanted)) and (
                    label not in matching
                ):
                    matching.append(label)
        if len(channels) < 2 or not matching or channels[0] in matching:
            continue
        if name not in excluded and not wanted:
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
        unmet_per_candidate = []
        for record in candidates:
            unmet = [
                dep
                for dep in record.depends
                if dep.startswith("__")
                and not any(MatchSpec(dep, strict=False).matches(v) for v in system)
            ]
            unmet_per_candidate.append(unmet)
        if candidates and all(unmet_per_candidate):
            blockers[name] = sorted({dep for unmet in unmet_per_candidate for dep in unmet})
    return blockers


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
    culprits: list[Culprit] = []
    for name in sorted(names):
        if name in sis.pinned:
            pin = sis.pinned[name]
            culprits.append(
                Culprit(
                    "pinned",
                    name,
                    str(pin),
                    sis.pinned.reason(name) or "pins",
                    "remove or widen the pin, or pass --ignore-pinned",
                )
            )
        if name in sis.history and name not in sis.requested:
            culprits.append(
                Culprit(
                    "history",
                    name,
                    str(sis.history[name]),
                    sis.history.reason(name) or "history",
                    f"you asked for {sis.history[name]} earlier; request {name} explicitly "
                    "with a new constraint to change it",
                )
            )
        if name in out.frozen and name not in sis.pinned:
            record = out.frozen[name]
            culprits.append(
                Culprit(
                    "frozen",
                    name,
                    f"{name}=={record.version}={record.build}",
                    out.frozen.reason(name) or "installed",
                    "drop --freeze-installed so it may change",
                )
            )
        unmet = any(c.problem == "missing" and c.names[-1] == name for c in error.chains)
        if name.startswith("__") and (unmet or name not in sis.virtual):
            culprits.append(_virtual_culprit(name, specs.get(name, []), sis))
        if name == "python" and "python" in out.constraints and "python" not in sis.requested:
            spec = out.constraints["python"]
            if "python" not in sis.pinned or is_name_only(sis.pinned["python"]):
                installed = sis.installed.get("python")
                culprits.append(
                    Culprit(
                        "installed",
                        name,
                        str(spec),
                        f"installed python {installed.version}" if installed else "python",
                        "python keeps its installed minor version; request "
                        "python=<version> explicitly to change it",
                    )
                )
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


# -- provenance: why each spec and each record ----------------------------------------


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
