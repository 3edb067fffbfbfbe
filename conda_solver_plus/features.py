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

Two solves give classic's two objectives. The first penalises every featured build, so a
feature only comes on where the request needs one of its trackers; the features tracked
by that answer are the *active* ones. The second removes the trackers of every other
feature and penalises instead the featureless builds of packages that have a build for an
active feature. The second solve can reuse the first one's answer, so it never fails where
the first succeeded. The synthetic records never leave this module: answers are mapped
back to the original records.

Cost: next to none when no feature is involved. The request is first solved as it is;
only when the answer contains a featured record, or tracks a feature that another build
of one of its packages carries, are the records the request can reach loaded (as the
libmamba engine's sparse mode does), rewritten into small repodata files in the cache
directory and solved twice. conda-forge uses ``track_features`` alone (``vc14``,
``blas_mkl``); an answer tracking those costs one look at its own packages' records.

Differences from classic conda, all deliberate:

- trackers are looked for among the packages the request can reach, not in whole channels
  (that would mean parsing every record of conda-forge); legacy channels have featured
  builds depend on their tracker (``numpy ... features: mkl`` depends on ``mkl``);
- ``X`` matches records whose ``track_features`` *contain* ``X`` (classic compares the
  whole set, so a record tracking ``mkl debug`` would not turn on ``mkl``);
- for requested packages too, a build with an active feature wins over a newer featureless
  one (classic ranks the requested package's version first).

Requesting a feature: ``mkl@`` and ``*[track_features=mkl]`` are parsed into a spec for
``_legacy-feature-mkl`` (:func:`feature_spec_package`); removing one (``conda remove
--features mkl``) removes its trackers and lets featured builds go back to featureless ones.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from rattler import MatchSpec, RepoDataRecord

from .exceptions import InvalidInputError
from .index import (
    ChannelRef,
    Index,
    SubdirRepo,
    _atomic_write,
    _open_sparse,
    cache_not_writable,
    default_cache_dir,
)
from .records import dependency_names, record_from_dict, record_name

if TYPE_CHECKING:
    from .backends import Backend, EngineRequest

log = logging.getLogger(__name__)

#: names of the synthetic packages that stand for "feature X is on"
FEATURE_PACKAGE_PREFIX = "_legacy-feature-"
#: the ``track_features`` entry that makes both engines rank a record lower
PENALTY = "_legacy-feature-penalty"
#: features are written like package names in every channel we know of
_FEATURE_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")
#: ``*[track_features=mkl]``, ``[track_features='mkl']`` (how conda writes ``mkl@``)
_FEATURE_SPEC = re.compile(
    r"""^\*?\s*\[\s*track_features\s*=\s*(['"]?)(?P<value>[^'"\]]*)\1\s*\]$"""
)


def split_features(value: str | Sequence[str] | None) -> list[str]:
    """``"mkl debug"``, ``"mkl,debug"`` or ``["mkl", "debug"]`` -> ``["mkl", "debug"]``."""
    if not value:
        return []
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    return [feature.strip() for feature in value if feature.strip()]


def feature_package(feature: str, source: str = "feature") -> str:
    """The synthetic package name standing for ``feature``."""
    if not _FEATURE_NAME.match(feature):
        raise InvalidInputError(
            source,
            f"feature name {feature!r}: a feature name is one word of letters, digits, "
            "'_', '.' and '-'",
            "name one feature, like 'mkl@'",
        )
    return FEATURE_PACKAGE_PREFIX + feature.lower()


def feature_of(name: str) -> str | None:
    """The feature a synthetic package name stands for, or ``None`` for real packages."""
    if name.startswith(FEATURE_PACKAGE_PREFIX):
        return name[len(FEATURE_PACKAGE_PREFIX) :]
    return None


def feature_spec_package(text: str, source: str = "command line") -> str | None:
    """For a spec that asks for a feature (``mkl@``, ``*[track_features=mkl]``) the
    synthetic package to require instead; ``None`` for any other spec."""
    text = text.strip()
    if text.endswith("@"):
        features = [text[:-1]]
    else:
        found = _FEATURE_SPEC.match(text)
        if found is None:
            return None
        features = split_features(found.group("value"))
    if len(features) != 1:
        raise InvalidInputError(
            f"{source}: spec {text!r}",
            f"asks for {len(features)} features; a spec can turn on exactly one",
            "write one spec per feature, like 'mkl@'",
        )
    return feature_package(features[0], f"{source}: spec {text!r}")


def record_features(record: RepoDataRecord) -> set[str]:
    return {feature.lower() for feature in split_features(record.features)}


def tracked_features(record: RepoDataRecord) -> set[str]:
    return {feature.lower() for feature in split_features(list(record.track_features))}


def _spec_feature(spec: MatchSpec) -> str | None:
    name = spec.name.normalized if spec.name is not None else None
    return feature_of(name) if name else None


def removal_matches(spec: MatchSpec, record: RepoDataRecord) -> bool:
    """Does removing ``spec`` remove the installed ``record``? Removing a feature
    (``conda remove --features mkl``) removes the records tracking it."""
    feature = _spec_feature(spec)
    if feature is not None:
        return feature in tracked_features(record)
    return spec.matches(record)


def _removed_feature(spec: MatchSpec) -> str | None:
    """The feature a core constraint forbids (``_legacy-feature-X <0.0.0dev0``: a
    requested removal of ``X``)."""
    feature = _spec_feature(spec)
    if feature is not None and str(spec.version or "").startswith("<"):
        return feature
    return None


def solve(
    backend: Backend, index: Index, request: EngineRequest, cache_dir: Path | None = None
) -> list[RepoDataRecord]:
    """``backend.solve(index, request)`` with legacy features honoured (see the module)."""
    from .backends import EngineUnsolvable

    requested = {f for f in map(_spec_feature, request.specs) if f}
    removed = {f for f in map(_removed_feature, request.constraints) if f}
    answer: list[RepoDataRecord] | None = None
    if not requested and not removed:
        answer = backend.solve(index, request)
        if not _concerns(index, answer):
            return answer  # the common case: no feature involved
    universe = _Universe.load(index, request)
    log.info(
        "legacy features %s: solving with featured builds tied to their trackers",
        ", ".join(sorted(universe.features)) or "(none reachable)",
    )
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    first = universe.rewritten(request, None, requested, removed, cache)
    answer = first.map_back(backend.solve(first.index, first.request))
    active = requested | {
        feature
        for record in answer
        for feature in tracked_features(record)
        if feature in universe.features
    }
    active -= removed
    log.debug("legacy features on after the first solve: %s", sorted(active) or "none")
    if not active:
        return answer
    second = universe.rewritten(request, active, requested, removed, cache)
    try:
        return second.map_back(backend.solve(second.index, second.request))
    except EngineUnsolvable as error:
        # cannot happen (the first answer is a solution here too); never worse than it
        log.warning("legacy features: preferring featured builds failed: %s", error.message)
        return answer


def _concerns(index: Index, answer: list[RepoDataRecord]) -> bool:
    """Does ``answer`` (solved without feature rules) break or miss one? It does when it
    holds a featured record (which needs a tracker), or tracks a feature that another
    build of one of its packages carries (which classic would then prefer)."""
    from rattler import PackageName

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
    #: (channel url, subdir, file name) and url -> the record the engine must not see
    originals: dict[object, RepoDataRecord]

    def map_back(self, records: Iterable[RepoDataRecord]) -> list[RepoDataRecord]:
        out = []
        for record in records:
            if feature_of(record_name(record)) is not None:
                continue
            original = self.originals.get(record.url)
            if original is None:
                channel = self.index.channel_for_url(record.url)
                key = (channel.url if channel else "", record.subdir, record.file_name)
                original = self.originals.get(key)
            if original is None:
                raise RuntimeError(f"legacy features: the engine returned unknown {record.url}")
            out.append(original)
        return out


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
        from rattler import PackageName, SparseRepoData

        given = [*request.installed, *request.locked, *request.pinned]
        names = {
            spec.name.normalized
            for spec in (*request.specs, *request.constraints)
            if spec.name is not None and spec.name.normalized is not None
        }
        for record in given:
            names.add(record_name(record))
            names.update(dependency_names(record))
        if request.add_pip_as_python_dependency:
            names.add("pip")
        seeds = [
            PackageName(name)
            for name in sorted(names)
            if not name.startswith("__") and feature_of(name) is None
        ]
        per_repo = SparseRepoData.load_records_recursive([r.sparse for r in index.repos], seeds)
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
    ) -> _Rewritten:
        """The index and request one solve gets: ``active is None`` for the first solve
        (featured builds penalised), the active features for the second."""
        features = self.features | requested

        def allowed(record: RepoDataRecord) -> bool:
            featured = record_features(record)
            tracked = tracked_features(record) & features
            if (featured | tracked) & removed:
                return False
            return active is None or not (featured - active or tracked - active)

        # names with a build for an active feature: their featureless builds are penalised
        preferred: set[str] = set()
        if active is not None:
            for record in self._all():
                featured = record_features(record)
                if featured and featured <= active and allowed(record):
                    preferred.add(record_name(record))

        def changes(record: RepoDataRecord) -> tuple[list[str], list[str]] | None:
            """(depends, track_features) for ``record``, or None if it stays as it is."""
            featured = record_features(record)
            penalised = (active is None and featured) or (
                active is not None and not featured and record_name(record) in preferred
            )
            if not featured and not penalised:
                return None
            depends = list(record.depends)
            depends += [feature_package(f) for f in sorted(featured)]
            track = list(record.track_features)
            if penalised:
                track.append(PENALTY)
            return depends, track

        originals: dict[object, RepoDataRecord] = {}
        repos: list[SubdirRepo] = []
        for repo, records in zip(self.index.repos, self.per_repo, strict=True):
            entries: dict[str, dict] = {}
            for record in records:
                if not allowed(record):
                    continue
                entry = json.loads(record.to_json())
                for key in ("url", "channel", "fn"):
                    entry.pop(key, None)
                change = changes(record)
                if change is not None:
                    entry["depends"], track = change
                    # an empty string would be read back as one empty feature
                    entry.pop("track_features", None)
                    if track:
                        entry["track_features"] = " ".join(track)
                entries[record.file_name] = entry
                originals[(repo.channel.url, repo.subdir, record.file_name)] = record
                originals.setdefault(record.url, record)
            path = _write_repodata(cache, repo.subdir, entries)
            sparse = _open_sparse(repo.channel, repo.subdir, path, source=repo.path)
            repos.append(SubdirRepo(repo.channel, repo.subdir, path, sparse))

        # installed records that need a record left out go too: kept, the libmamba engine
        # would try to repair their dependency on it (they stay candidates in the index)
        dropped = {record_name(r) for r in self.given if not allowed(r)}
        while True:
            more = {
                record_name(r)
                for r in self.given
                if record_name(r) not in dropped and set(dependency_names(r)) & dropped
            }
            if not more:
                break
            dropped |= more

        def given(records: list[RepoDataRecord], keep_all: bool = False) -> list[RepoDataRecord]:
            out = []
            for record in records:
                if not allowed(record) or (not keep_all and record_name(record) in dropped):
                    continue
                originals[record.url] = record
                change = changes(record)
                out.append(record if change is None else _changed(record, *change))
            return out

        # the first solve must not keep a featured build only because it is installed
        locked = [r for r in request.locked if active is not None or not record_features(r)]
        new_request = dataclasses.replace(
            request,
            locked=given(locked),
            pinned=given(request.pinned, keep_all=True),
            installed=given(request.installed),
        )

        synthetic = self._synthetic_entries(features, active, requested, removed, allowed)
        channel_dir = cache / "legacy-features"
        ref = ChannelRef(
            given="legacy features",
            url="file://" + quote(str(channel_dir.resolve())),
            name="legacy-features",
        )
        path = _write_repodata(cache, "noarch", synthetic)
        synthetic_repo = SubdirRepo(ref, "noarch", path, _open_sparse(ref, "noarch", path))
        index = Index(
            channels=[*self.index.channels, ref],
            subdirs=self.index.subdirs,
            repos=[*repos, synthetic_repo],
        )
        return _Rewritten(index, new_request, originals)

    def _all(self) -> Iterable[RepoDataRecord]:
        yield from self.given
        for records in self.per_repo:
            yield from records

    def _synthetic_entries(self, features, active, requested, removed, allowed) -> dict:
        """Repodata entries of the ``_legacy-feature-X`` packages: one build per package
        name tracking ``X`` (or per record, where only some builds of a name track it),
        and one without dependencies when ``X`` was requested."""
        entries: dict[str, dict] = {}
        for feature in sorted(features):
            if feature in removed or (active is not None and feature not in active):
                continue
            name = feature_package(feature)
            builds: dict[str, list[str]] = {}
            by_name: dict[str, list[RepoDataRecord]] = {}
            for record in self._all():
                if allowed(record):
                    by_name.setdefault(record_name(record), []).append(record)
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
            if feature in requested:
                builds["requested"] = []
            for build, depends in builds.items():
                filename = f"{name}-0-{build}.tar.bz2"
                entries[filename] = {
                    "name": name,
                    "version": "0",
                    "build": build,
                    # a requested feature needs no tracker: that build comes first
                    "build_number": 1 if build == "requested" else 0,
                    "depends": depends,
                    "subdir": "noarch",
                }
        return entries


def _changed(record: RepoDataRecord, depends: list[str], track: list[str]) -> RepoDataRecord:
    """A copy of ``record`` with other ``depends`` and ``track_features``."""
    data = json.loads(record.to_json())
    data.update(depends=depends, track_features=track)
    return record_from_dict(
        data,
        source="legacy features",
        fn=record.file_name,
        channel=record.channel,
        subdir=record.subdir,
    )


def _write_repodata(cache: Path, subdir: str, entries: dict[str, dict]) -> Path:
    """A repodata file holding ``entries``, named by its content (so the libmamba
    engine's ``.solv`` cache serves it again next time)."""
    packages = {fn: e for fn, e in entries.items() if not fn.endswith(".conda")}
    conda = {fn: e for fn, e in entries.items() if fn.endswith(".conda")}
    data = json.dumps(
        {"info": {"subdir": subdir}, "packages": packages, "packages.conda": conda},
        sort_keys=True,
    ).encode()
    digest = hashlib.sha256(data).hexdigest()[:24]
    target = cache / "legacy-features" / f"{digest}.json"
    if not target.exists():
        try:
            _atomic_write(target, data)
        except OSError as exc:
            raise cache_not_writable(cache, exc) from None
    return target
