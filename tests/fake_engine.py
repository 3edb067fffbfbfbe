"""
A fake engine for testing the core at its seam, without repodata or a SAT solver.

:class:`FakeEngine` implements the engine protocol (:class:`conda_solver_plus.backends.Backend`:
``name`` and ``solve(index, request)``). It records every
:class:`~conda_solver_plus.backends.EngineRequest` it receives — so a test can assert
what the core *asked*, which is where conda's rules live — and answers from a small
in-memory list of records with a deliberately naive resolver:

- a frozen record (``request.pinned``) is taken as it is;
- otherwise a locked record that still satisfies every spec and constraint on its name;
- otherwise the highest version (then build number) that does;
- the dependencies of what it took are resolved the same way, by name.

It can be told to fail first: each entry of ``failures`` is raised by one call, in order
(an :class:`~conda_solver_plus.backends.EngineUnsolvable` naming packages, an
:class:`~conda_solver_plus.backends.EngineTimeout`), which is how the attempt loop is
tested.

An index is still passed around: the core asks it whether a requested package exists and
whether newer versions do. :func:`empty_index` has no channel at all (nothing is newer);
:func:`channel_index` writes a few records as a one-subdir channel, for the tests that go
through :func:`conda_solver_plus.core.solve` (whose checks need the requested packages
in a channel) or need a newer version on offer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rattler import MatchSpec, RepoDataRecord

from conda_solver_plus.backends import EngineRequest, EngineUnsolvable
from conda_solver_plus.records import dependency_name, record_from_dict, record_name
from conda_solver_plus.repodata.gateway import index_from_files
from conda_solver_plus.repodata.model import ChannelRef, Index
from conda_solver_plus.specs import spec_name

CHANNEL = "https://fake.invalid/channel"
SUBDIR = "linux-64"


def record(
    name: str, version: str, build: str = "0", build_number: int = 0, depends: Iterable[str] = ()
) -> RepoDataRecord:
    """A record of the fake channel."""
    return record_from_dict(
        {
            "name": name,
            "version": version,
            "build": build,
            "build_number": build_number,
            "depends": list(depends),
        },
        source="fake engine",
        channel=CHANNEL,
        subdir=SUBDIR,
    )


def empty_index() -> Index:
    """An index without channels: the core finds no newer version of anything."""
    return Index(channels=[], subdirs=[SUBDIR, "noarch"], repos=[])


def channel_index(directory: Path, records: Iterable[RepoDataRecord]) -> Index:
    """An index of one channel in ``directory`` serving ``records`` (its ``repodata.json``
    written from them)."""
    packages = {}
    for item in records:
        entry = json.loads(item.to_json())
        for key in ("url", "channel", "fn"):
            entry.pop(key, None)
        packages[item.file_name] = entry
    path = directory / SUBDIR / "repodata.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"info": {"subdir": SUBDIR}, "packages": packages}))
    ref = ChannelRef(given=str(directory), url=CHANNEL, name=CHANNEL)
    return index_from_files([(ref, SUBDIR, path)])


@dataclass
class FakeEngine:
    """An engine answering from ``records`` (see the module)."""

    records: list[RepoDataRecord] = field(default_factory=list)
    name: str = "fake"
    #: raised one per call, in order, before the engine answers
    failures: list[Exception] = field(default_factory=list)
    #: every request received, in order
    requests: list[EngineRequest] = field(default_factory=list)

    @property
    def last(self) -> EngineRequest:
        return self.requests[-1]

    def solve(self, index: Index, request: EngineRequest) -> list[RepoDataRecord]:
        self.requests.append(request)
        if self.failures:
            raise self.failures.pop(0)
        chosen: dict[str, RepoDataRecord] = {}
        todo = [(spec_name(spec), spec) for spec in request.specs]
        while todo:
            name, spec = todo.pop(0)
            if name.startswith("__"):
                continue
            if name in chosen:
                if not spec.matches(chosen[name]):
                    raise EngineUnsolvable(f"{name}: {chosen[name]} vs {spec}", names={name})
                continue
            chosen[name] = self._pick(name, spec, request)
            for dep in chosen[name].depends:
                todo.append((dependency_name(dep), MatchSpec(dep, strict=False)))
        return list(chosen.values())

    def _pick(self, name: str, spec: MatchSpec, request: EngineRequest) -> RepoDataRecord:
        """The record the naive resolver takes for ``spec`` (see the module)."""
        specs = [spec, *(c for c in request.constraints if spec_name(c) == name)]

        def fits(candidate: RepoDataRecord) -> bool:
            return record_name(candidate) == name and all(s.matches(candidate) for s in specs)

        for frozen in request.pinned:
            if record_name(frozen) == name:
                if fits(frozen):
                    return frozen
                raise EngineUnsolvable(f"frozen {name} conflicts with {spec}", names={name})
        for locked in request.locked:
            if fits(locked):
                return locked
        candidates = [r for r in self.records if fits(r)]
        if not candidates:
            raise EngineUnsolvable(f"nothing provides {spec}", names={name}, missing=[str(spec)])
        return max(candidates, key=lambda r: (r.version, r.build_number))
