"""
Explanations: turning an engine's "no solution" into what the *user* can change.

An engine proves a request unsolvable in terms of packages ("numpy 2.3 requires python
>=3.12, which conflicts with python 3.9.*"). Users, however, act on their *setup*: a pin
they forgot in ``conda-meta/pinned``, a spec they asked for a year ago that sits in the
history, an installed package frozen by ``--freeze-installed``, a missing CUDA driver, a
package that only a lower-priority channel has. This module matches the names in the
engine's report against the solver state and lists those culprits, each with the place it
came from and one concrete hint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rattler import BuildString, MatchSpec, PackageRecord

from .exceptions import Culprit, Explanation
from .specs import is_name_only, spec_name

if TYPE_CHECKING:
    from .backends import EngineUnsolvable
    from .index import Index
    from .state import SolverInputState, SolverOutputState

_VIRTUAL_HINTS = {
    "__cuda": "set CONDA_OVERRIDE_CUDA=<version> to solve for a machine with a CUDA driver",
    "__glibc": "set CONDA_OVERRIDE_GLIBC=<version> to solve for another glibc",
    "__osx": "set CONDA_OVERRIDE_OSX=<version> to solve for another macOS",
}


def _priority_culprits(names: set[str], index: Index, channel_priority: str) -> list[Culprit]:
    if channel_priority != "strict" or len(index.channels) < 2:
        return []
    culprits = []
    for name in sorted(names):
        channels = []
        for repo in index.repos:
            if name in repo.sparse.package_names() and repo.channel.name not in channels:
                channels.append(repo.channel.name)
        if len(channels) > 1:
            culprits.append(
                Culprit(
                    "channel-priority",
                    name,
                    name,
                    f"channel {channels[0]}",
                    f"strict channel priority only considers {name} from {channels[0]}; "
                    f"versions in {', '.join(channels[1:])} are ignored. Use "
                    f"--channel-priority flexible or request {channels[1]}::{name}",
                )
            )
    return culprits


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
            if name in repo.sparse.package_names()
            for record in repo.sparse.load_records(spec.name.as_package_name())
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


def build_explanation(
    error: EngineUnsolvable,
    sis: SolverInputState,
    out: SolverOutputState,
    index: Index,
    channel_priority: str = "strict",
) -> Explanation:
    names = set(error.names)
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
        if name.startswith("__") and name not in sis.virtual:
            culprits.append(
                Culprit(
                    "virtual",
                    name,
                    name,
                    "this machine",
                    f"this machine has no {name} package; "
                    + _VIRTUAL_HINTS.get(name, f"set CONDA_OVERRIDE_{name[2:].upper()}"),
                )
            )
        if name == "python" and "python" in out.constraints and "python" not in sis.requested:
            spec = out.constraints["python"]
            if "python" not in sis.pinned or is_name_only(sis.pinned["python"]):
                culprits.append(
                    Culprit(
                        "installed",
                        name,
                        str(spec),
                        "installed python",
                        "python keeps its minor version; request python=<version> to change",
                    )
                )
    culprits.extend(_priority_culprits(names, index, channel_priority))
    conflicts = {name: str(spec) for name, spec in out.conflicts.items() if name in names}
    return Explanation(
        error.message,
        conflicts=conflicts,
        culprits=culprits,
        virtual_blockers=virtual_blockers(sis, index, sis.requested_specs),
    )
