"""
Legacy conda *features*: ``track_features`` and ``features``, for both engines.

Before ``constrains`` and run-exports existed, conda expressed a family of build variants
(MKL or OpenBLAS builds, debug builds, the Visual C runtime of old Windows builds) with
two record fields:

- ``track_features: mkl`` — installing this record *turns on* the feature ``mkl`` (the
  record is a *tracker* of ``mkl``). Old anaconda channels have ``mkl`` and
  ``accelerate`` track ``mkl`` and ``nomkl`` track ``nomkl``; conda-forge still uses
  ``track_features`` on its own, to push builds down the preference order.
- ``features: mkl`` — this build belongs to the ``mkl`` variant. It may only be installed
  while the feature is on (a tracker of it is installed, or the user asked for the
  feature with ``mkl@`` or ``*[track_features=mkl]``), and while the feature is on,
  featured builds are preferred to featureless builds of the same package.

Classic conda (``conda/resolve.py``) solves this with two SAT objectives placed right after
the versions of the requested packages: first minimise the number of features turned on
(every tracked feature costs one), then minimise the featureless builds installed where a
build with an active feature could be. libsolv (conda mode) and resolvo only know half of
it: per package name they rank records with ``track_features`` below records without. Both
ignore ``features``.

This module gives both engines the rest by rewriting records before they get them:

- each feature ``X`` that some reachable record carries in ``features`` gets a synthetic
  package ``_legacy-feature-X`` (:func:`feature_package`) whose builds each depend on one
  tracker of ``X`` — plus a build without dependencies when the user asked for ``X``;
- a record with ``features: X`` gains the dependency ``_legacy-feature-X``: it can only be
  installed together with a tracker (classic's ``ms_depends``);
- preferences become a *penalty* entry in ``track_features``, which both engines already
  rank below records without one.

Classic's objectives before those two maximise the versions of the *requested* packages,
so a requested package is never downgraded to avoid a feature (``install mkl`` on the
legacy channel is mkl 11.0, which tracks ``mkl``, not the featureless 10.3). Where a
requested package has builds that track or carry a feature, one solve with none of its
builds ranked down finds the versions the request can have, and they become
constraints of the two solves below (:func:`_requested_versions_first`).

Two solves give classic's two feature objectives. The first penalises every featured
build, so a feature only comes on where the request needs one of its trackers; the
features tracked by that answer are the *active* ones. The second removes the trackers
of every other feature and penalises instead the featureless builds of packages that
have a build for an active feature. The second solve can reuse the first one's answer,
so it never fails where the first succeeded. The synthetic records never leave this
module: answers are mapped back to the original records.

Cost: next to none when no feature is involved. The request is first solved as it is;
only when the answer contains a featured record, tracks a feature that another build
of one of its packages carries, or gives a requested package a lower version than one
of its feature-bearing builds, are the records the request can reach loaded (as the
libmamba engine's sparse mode does), rewritten into small repodata files in the cache
directory and solved twice (three times with the versions pass). conda-forge uses
``track_features`` alone (``vc14``, ``blas_mkl``); an answer tracking those costs one
look at its own packages' records.

Differences from classic conda, all deliberate:

- trackers are looked for among the packages the request can reach, not in whole channels
  (that would mean parsing every record of conda-forge); legacy channels have featured
  builds depend on their tracker (``numpy ... features: mkl`` depends on ``mkl``);
- ``X`` matches records whose ``track_features`` *contain* ``X`` (classic compares the
  whole set, so a record tracking ``mkl debug`` would not turn on ``mkl``).

Requesting a feature: ``mkl@`` and ``*[track_features=mkl]`` are parsed into a spec for
``_legacy-feature-mkl`` (:func:`feature_spec_package`); removing one (``conda remove
--features mkl``) removes its trackers and lets featured builds go back to featureless ones.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote

from rattler import MatchSpec, PackageName, RepoDataRecord

from .backends import Backend, EngineRequest, EngineUnsolvable
from .deadline import Deadline, solve_within
from .feature_names import (
    FEATURE_PACKAGE_PREFIX,
    feature_of,
    feature_package,
    feature_spec_package,
    record_features,
    removal_matches,
    spec_feature,
    split_features,
    tracked_features,
)
from .records import dependency_names, record_name
from .repodata.model import ChannelRef, Index, SubdirRepo, open_sparse
from .rewrite import Entry, Originals, changed_record, entry, reachable_records, write_repodata

# the naming half lives in .feature_names (low-level modules use it without this one);
# it is re-exported here so the whole feature story has one public address
__all__ = [
    "FEATURE_PACKAGE_PREFIX",
    "PENALTY",
    "feature_of",
    "feature_package",
    "feature_spec_package",
    "record_features",
    "removal_matches",
    "solve",
    "split_features",
    "tracked_features",
]

log = logging.getLogger(__name__)

#: the ``track_features`` entry that makes both engines rank a record lower
PENALTY = "_legacy-feature-penalty"

#: the folder of the cache directory that holds the rewritten repodata
FOLDER = "legacy-features"


def _removed_feature(spec: MatchSpec) -> str | None:
    """The feature a core constraint forbids (``_legacy-feature-X <0.0.0dev0``: a
    requested removal of ``X``)."""
    feature = spec_feature(spec)
    if feature is not None and str(spec.version or "").startswith("<"):
        return feature
    return None


def solve(
    backend: Backend,
    index: Index,
    request: EngineRequest,
    cache_dir: Path,
    deadline: Deadline | None = None,
) -> list[RepoDataRecord]:
    """``backend.solve(index, request)`` with legacy features honoured (see the module).
    Its engine calls (up to four) share what is left of ``deadline``, the solve's one
    time limit (:mod:`conda_solver_plus.deadline`)."""
    requested = {f for f in map(spec_feature, request.specs) if f}
    removed = {f for f in map(_removed_feature, request.constraints) if f}
    answer: list[RepoDataRecord] | None = None
    if not requested and not removed:
        answer = solve_within(backend, index, request, deadline)
        if not _concerns(index, answer) and not _downgraded_for_features(index, request, answer):
            return answer  # the common case: no feature involved
    universe = _Universe.load(index, request)
    log.info(
        "legacy features %s: solving with featured builds tied to their trackers",
        ", ".join(sorted(universe.features)) or "(none reachable)",
    )
    cache = Path(cache_dir)
    request = _requested_versions_first(
        backend, universe, request, requested, removed, cache, deadline
    )
    first = universe.rewritten(request, None, requested, removed, cache)
    answer = first.map_back(solve_within(backend, first.index, first.request, deadline))
    active = (requested | _tracked(answer, universe.features)) - removed
    log.debug("legacy features on after the first solve: %s", sorted(active) or "none")
    if not active:
        return answer
    second = universe.rewritten(request, active, requested, removed, cache)
    try:
        return second.map_back(solve_within(backend, second.index, second.request, deadline))
    except EngineUnsolvable as error:
        # cannot happen (the first answer is a solution here too); never worse than it
        log.warning("legacy features: preferring featured builds failed: %s", error.message)
        return answer


def _tracked(answer: Iterable[RepoDataRecord], features: Iterable[str]) -> set[str]:
    """The ``features`` that records of ``answer`` track (turn on)."""
    return set(features).intersection(
        feature for record in answer for feature in tracked_features(record)
    )


def _feature_bearing(record: RepoDataRecord) -> bool:
    """Does ``record`` track or carry a feature (which the engines or the feature rules
    rank below records that do neither)?"""
    return bool(record.track_features or record.features)


def _downgraded_for_features(
    index: Index, request: EngineRequest, answer: list[RepoDataRecord]
) -> bool:
    """Did a requested package of ``answer`` (solved without feature rules) get a lower
    version than a feature-bearing build its spec allows? The engines rank every build
    with ``track_features`` last, whatever its version; classic maximises the versions of
    requested packages first. Under the ``lowest`` strategies a lower version is what was
    asked for: never (checking would send every such solve through the feature rules,
    which found none to apply and cost ten times the solve on python pip curl)."""
    if request.strategy != "highest":
        return False
    chosen = {record_name(r): r for r in answer if record_name(r) in request.requested_names}
    for name, record in chosen.items():
        specs = [s for s in request.specs if s.name is not None and s.name.normalized == name]
        for repo in index.repos:
            for candidate in repo.sparse.load_records(PackageName(name)):
                if (
                    candidate.version > record.version
                    and _feature_bearing(candidate)
                    and all(spec.matches(candidate) for spec in specs)
                ):
                    return True
    return False


def _requested_versions_first(
    backend: Backend,
    universe: _Universe,
    request: EngineRequest,
    requested: set[str],
    removed: set[str],
    cache: Path,
    deadline: Deadline | None,
) -> EngineRequest:
    """Classic's first objective: the versions of the requested packages, before the
    number of features (``conda/resolve.py``). Where a requested package has
    feature-bearing builds, one solve with those builds unranked (no penalty, no
    ``track_features``) finds the versions it can have; they become constraints of the
    two feature solves, which then only choose among builds of those versions."""
    free = frozenset(
        record_name(r)
        for r in universe.all_records()
        if record_name(r) in request.requested_names and _feature_bearing(r)
    )
    if not free:
        return request
    versions = universe.rewritten(request, None, requested, removed, cache, free=free)
    answer = versions.map_back(solve_within(backend, versions.index, versions.request, deadline))
    pins = [
        MatchSpec(f"{record_name(r)} =={r.version}", strict=False)
        for r in answer
        if record_name(r) in free
    ]
    log.debug("legacy features: requested versions first: %s", ", ".join(map(str, pins)))
    return dataclasses.replace(request, constraints=[*request.constraints, *pins])


def _concerns(index: Index, answer: list[RepoDataRecord]) -> bool:
    """Does ``answer`` (solved without feature rules) break or miss one? It does when it
    holds a featured record (which needs a tracker), or tracks a feature that another
    build of one of its packages carries (which classic would then prefer)."""
    if any(record.features for record in answer):
        return True
    tracked = set().union(*(tracked_features(record) for record in answer))
    if not tracked:
        return False
    for record in answer:
        if record_name(record).startswith("__"):
            continue
        for repo in index.repos:
            for candidate in repo.sparse.load_records(PackageName(record_name(record))):
                if candidate.features and record_features(candidate) & tracked:
                    return True
    return False


@dataclasses.dataclass
class _Rewritten:
    index: Index
    request: EngineRequest
    #: the record behind each one the engine sees
    originals: Originals

    def map_back(self, records: Iterable[RepoDataRecord]) -> list[RepoDataRecord]:
        """The original records of an answer, the synthetic feature packages left out."""
        real = [r for r in records if feature_of(record_name(r)) is None]
        return self.originals.map_back(self.index, real)


@dataclasses.dataclass(frozen=True)
class _Policy:
    """The feature rules of one of the two solves: which records it may see and how each
    is rewritten."""

    #: every feature in play: carried by a reachable record, or requested
    features: frozenset[str]
    #: ``None`` for the first solve (featured builds penalised); the second solve's
    #: active features otherwise
    active: frozenset[str] | None
    requested: frozenset[str]
    removed: frozenset[str]
    #: names with a build for an active feature: their featureless builds are penalised
    preferred: frozenset[str] = frozenset()
    #: requested names whose versions are being found: none of their builds is ranked
    #: down (see :func:`_requested_versions_first`)
    free: frozenset[str] = frozenset()

    def allowed(self, record: RepoDataRecord) -> bool:
        """May this solve see ``record``? Not when it carries or tracks a removed feature,
        nor (second solve) a feature that is not active."""
        featured = record_features(record)
        tracked = tracked_features(record) & self.features
        if (featured | tracked) & self.removed:
            return False
        return self.active is None or not (featured - self.active or tracked - self.active)

    def changes(self, record: RepoDataRecord) -> tuple[list[str], list[str]] | None:
        """(depends, track_features) for ``record``, or None if it stays as it is: a
        featured build depends on its features' synthetic packages, a penalised one
        tracks :data:`PENALTY`."""
        featured = record_features(record)
        depends = [*record.depends, *(feature_package(f) for f in sorted(featured))]
        if record_name(record) in self.free:
            return depends, []  # unranked: the version decides
        penalised = (self.active is None and featured) or (
            self.active is not None and not featured and record_name(record) in self.preferred
        )
        if not featured and not penalised:
            return None
        track = list(record.track_features)
        if penalised:
            track.append(PENALTY)
        return depends, track


@dataclasses.dataclass
class _Universe:
    """Every record the request can reach, and the features they carry."""

    index: Index
    #: reachable records per repo of ``index`` (same order)
    per_repo: list[list[RepoDataRecord]]
    #: the request's installed, locked and pinned records
    given: list[RepoDataRecord]
    #: features that some record carries in ``features``
    features: set[str]

    @classmethod
    def load(cls, index: Index, request: EngineRequest) -> _Universe:
        given = [*request.installed, *request.locked, *request.pinned]
        per_repo = reachable_records(index, request)
        features = {
            feature
            for record in (*given, *(r for records in per_repo for r in records))
            for feature in record_features(record)
        }
        return cls(index, per_repo, given, features)

    def rewritten(
        self,
        request: EngineRequest,
        active: set[str] | None,
        requested: set[str],
        removed: set[str],
        cache: Path,
        free: frozenset[str] = frozenset(),
    ) -> _Rewritten:
        """The index and request one solve gets: ``active is None`` for the first solve
        (featured builds penalised), the active features for the second; the builds of
        ``free`` names are not ranked down at all."""
        policy = dataclasses.replace(self._policy(active, requested, removed), free=free)
        originals = Originals()
        repos = [
            self._rewritten_repo(repo, records, policy, cache, originals)
            for repo, records in zip(self.index.repos, self.per_repo, strict=True)
        ]
        new_request = self._rewritten_request(request, policy, originals)
        synthetic = self._synthetic_repo(policy, cache)
        index = Index(
            channels=[*self.index.channels, synthetic.channel],
            subdirs=self.index.subdirs,
            repos=[*repos, synthetic],
        )
        return _Rewritten(index, new_request, originals)

    def _policy(self, active: set[str] | None, requested: set[str], removed: set[str]) -> _Policy:
        policy = _Policy(
            features=frozenset(self.features | requested),
            active=None if active is None else frozenset(active),
            requested=frozenset(requested),
            removed=frozenset(removed),
        )
        if active is None:
            return policy
        preferred = {
            record_name(record)
            for record in self.all_records()
            if record_features(record)
            and record_features(record) <= active
            and policy.allowed(record)
        }
        return dataclasses.replace(policy, preferred=frozenset(preferred))

    def _rewritten_repo(
        self,
        repo: SubdirRepo,
        records: list[RepoDataRecord],
        policy: _Policy,
        cache: Path,
        originals: Originals,
    ) -> SubdirRepo:
        """``repo`` served from a repodata file of the records ``policy`` allows, each
        rewritten; ``originals`` learns the record behind each entry."""
        entries: dict[str, Entry] = {}
        for record in records:
            if not policy.allowed(record):
                continue
            entries[record.file_name] = _entry(record, policy.changes(record))
            originals.remember(record, repo)
        return repo.served_from(write_repodata(cache, FOLDER, repo.subdir, entries))

    def _dropped(self, policy: _Policy) -> set[str]:
        """Names of given records that go: those ``policy`` hides, and those that need
        one of them. Kept, the libmamba engine would try to repair their dependency on a
        record left out (they stay candidates in the index)."""
        dropped = {record_name(r) for r in self.given if not policy.allowed(r)}
        while True:
            more = {
                record_name(r)
                for r in self.given
                if record_name(r) not in dropped and set(dependency_names(r)) & dropped
            }
            if not more:
                return dropped
            dropped |= more

    def _rewritten_request(
        self, request: EngineRequest, policy: _Policy, originals: Originals
    ) -> EngineRequest:
        """``request`` with its installed, locked and pinned records rewritten like the
        index's; pinned records are kept even when what they need is dropped."""
        dropped = self._dropped(policy)

        def given(records: list[RepoDataRecord], keep_all: bool = False) -> list[RepoDataRecord]:
            kept = []
            for record in records:
                if not policy.allowed(record) or (not keep_all and record_name(record) in dropped):
                    continue
                originals.remember(record)
                change = policy.changes(record)
                if change is not None:
                    depends, track = change
                    record = changed_record(record, depends=depends, track_features=track)
                kept.append(record)
            return kept

        # the first solve must not keep a featured build only because it is installed
        locked = [r for r in request.locked if policy.active is not None or not record_features(r)]
        return dataclasses.replace(
            request,
            locked=given(locked),
            pinned=given(request.pinned, keep_all=True),
            installed=given(request.installed),
        )

    def all_records(self) -> Iterable[RepoDataRecord]:
        """The given records, then every reachable record of the index."""
        yield from self.given
        for records in self.per_repo:
            yield from records

    def _synthetic_repo(self, policy: _Policy, cache: Path) -> SubdirRepo:
        """The ``legacy-features`` channel serving the ``_legacy-feature-X`` packages."""
        channel_dir = cache / "legacy-features"
        ref = ChannelRef(
            given="legacy features",
            url="file://" + quote(str(channel_dir.resolve())),
            name="legacy-features",
        )
        path = write_repodata(cache, FOLDER, "noarch", self._synthetic_entries(policy))
        return SubdirRepo(ref, "noarch", path, open_sparse(ref, "noarch", path))

    def _synthetic_entries(self, policy: _Policy) -> dict[str, Entry]:
        """Repodata entries of the ``_legacy-feature-X`` packages: one build per package
        name tracking ``X`` (or per record, where only some builds of a name track it),
        and one without dependencies when ``X`` was requested."""
        by_name: dict[str, list[RepoDataRecord]] = {}
        for record in self.all_records():
            if policy.allowed(record):
                by_name.setdefault(record_name(record), []).append(record)
        entries: dict[str, Entry] = {}
        for feature in sorted(policy.features):
            if feature in policy.removed or (
                policy.active is not None and feature not in policy.active
            ):
                continue
            builds = _tracker_builds(feature, by_name)
            if feature in policy.requested:
                builds["requested"] = []
            name = feature_package(feature)
            for build, depends in builds.items():
                entries[f"{name}-0-{build}.tar.bz2"] = {
                    "name": name,
                    "version": "0",
                    "build": build,
                    # a requested feature needs no tracker: that build comes first
                    "build_number": 1 if build == "requested" else 0,
                    "depends": depends,
                    "subdir": "noarch",
                }
        return entries


def _tracker_builds(
    feature: str, by_name: dict[str, list[RepoDataRecord]]
) -> dict[str, list[str]]:
    """Build string -> dependencies of the synthetic package's builds for ``feature``: one
    per package name whose records all track it, one per record where only some do."""
    builds: dict[str, list[str]] = {}
    for package, records in sorted(by_name.items()):
        trackers = [r for r in records if feature in tracked_features(r)]
        if not trackers:
            continue
        if len(trackers) == len(records):
            builds[package] = [package]
            continue
        for record in trackers:
            exact = f"{package} =={record.version} {record.build}"
            builds.setdefault(f"{package}_{len(builds)}", [exact])
    return builds


def _entry(record: RepoDataRecord, change: tuple[list[str], list[str]] | None) -> Entry:
    """The repodata entry of ``record`` with ``change`` = (depends, track_features)."""
    if change is None:
        return entry(record)
    depends, track = change
    return entry(record, depends=depends, track_features=track)
