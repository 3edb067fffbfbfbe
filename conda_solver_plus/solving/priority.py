"""
Channel priority ``disabled``: the version decides, the order of channels breaks ties.

conda documents ``channel_priority: disabled`` as "the package version takes precedence,
the order of channels only breaks ties", and classic conda ranks the builds of a name by
version, then channel, then build number (``Resolve.version_key``: ``[version,
-channel_priority, noarch, build_number]`` when priority is disabled). The engines know
no such order: with every channel at one priority, libsolv and resolvo rank by version,
then build number, so a later channel's higher build number of the same version wins
(conda's ``test_conda_downgrade``: ``zlib 1.2.11 ha838bed_2`` from channel-4 instead of
channel-2's ``zlib 1.2.11 0``).

:func:`channels_before_builds` gives the engines classic's order through the build
number. For each name whose reachable records offer one version from more than one
channel, the engine sees every build of that name with the build number
``tier score * distinct build numbers + rank of its own build number`` — the channel's
place (earlier is higher) first, the real build number second — served from small
derived repodata files (:mod:`conda_solver_plus.rewrite`); between two versions the
version still decides, since both engines compare versions before build numbers. The
answer is mapped back to the original records. Names offered by one channel only, and
every other priority setting, are left alone: then nothing is rewritten or written. A
name the request constrains by build number (``pkg[build_number=2]``) keeps its real
build numbers, and so the engines' order; a ``build_number`` condition inside a
record's ``depends`` on such a name (no real channel has one) would see the derived
numbers.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path

from rattler import RepoDataRecord, Version

from ..backends import EngineRequest
from ..records import record_name
from ..repodata.model import Index
from ..rewrite import Originals, changed_record, entry, reachable_records, write_repodata

__all__ = ["channels_before_builds"]

log = logging.getLogger(__name__)

#: the folder of the cache directory that holds the derived repodata
FOLDER = "channel-order"

MapBack = Callable[[list[RepoDataRecord]], list[RepoDataRecord]]


def channels_before_builds(
    index: Index, request: EngineRequest, cache: Path
) -> tuple[Index, EngineRequest, MapBack] | None:
    """``(index, request, map_back)`` ranking channels before build numbers, or ``None``
    when nothing needs it (priority not disabled, one channel, no version offered twice)."""
    tiers = index.priority_tiers()
    if request.channel_priority != "disabled" or len(tiers) < 2:
        return None
    rank = {channel.url: position for position, tier in enumerate(tiers) for channel in tier}
    per_repo = reachable_records(index, request)
    offered: dict[tuple[str, Version], set[int]] = {}
    for repo, records in zip(index.repos, per_repo, strict=True):
        for record in records:
            key = (record_name(record), record.version)
            offered.setdefault(key, set()).add(rank[repo.channel.url])
    shared = {name for (name, _), where in offered.items() if len(where) > 1}
    shared -= _build_number_specs(request)
    if not shared:
        return None
    log.info(
        "channel priority disabled: channel order breaks version ties of %s",
        ", ".join(sorted(shared)),
    )
    builds = _BuildNumbers.of(shared, per_repo, request, len(tiers))
    originals = Originals()
    repos = []
    for repo, records in zip(index.repos, per_repo, strict=True):
        entries = {}
        for record in records:
            score = builds.score(record, rank[repo.channel.url])
            changes = {} if score is None else {"build_number": score}
            entries[record.file_name] = entry(record, **changes)
            originals.remember(record, repo)
        path = write_repodata(cache, FOLDER, repo.subdir, entries)
        repos.append(repo.served_from(path))
    derived = dataclasses.replace(index, repos=repos)

    def given(records: list[RepoDataRecord]) -> list[RepoDataRecord]:
        out = []
        for record in records:
            originals.remember(record)
            channel = index.channel_for_url(record.url)
            # a record whose channel is not loaded ranks below every channel
            score = builds.score(record, rank[channel.url] if channel else len(tiers))
            out.append(record if score is None else changed_record(record, build_number=score))
        return out

    new_request = dataclasses.replace(
        request,
        installed=given(request.installed),
        locked=given(request.locked),
        pinned=given(request.pinned),
    )
    return derived, new_request, lambda answer: originals.map_back(derived, answer)


def _build_number_specs(request: EngineRequest) -> set[str]:
    """Names the request constrains by build number (``pkg[build_number=2]``): their
    real build numbers must reach the engine, so they keep the engines' own order."""
    return {
        spec.name.normalized
        for spec in (*request.specs, *request.constraints)
        if spec.build_number is not None and spec.name is not None
    }


@dataclasses.dataclass
class _BuildNumbers:
    """The build numbers the engine sees for the names offered by several channels."""

    #: name -> its distinct real build numbers, each with its rank (0 is the lowest)
    ranks: dict[str, dict[int, int]]
    tiers: int

    @classmethod
    def of(
        cls,
        names: set[str],
        per_repo: list[list[RepoDataRecord]],
        request: EngineRequest,
        tiers: int,
    ) -> _BuildNumbers:
        numbers: dict[str, set[int]] = {name: set() for name in names}
        given = [*request.installed, *request.locked, *request.pinned]
        for record in [*given, *(r for records in per_repo for r in records)]:
            name = record_name(record)
            if name in numbers:
                numbers[name].add(record.build_number)
        ranks = {
            name: {n: i for i, n in enumerate(sorted(found))} for name, found in numbers.items()
        }
        return cls(ranks, tiers)

    def score(self, record: RepoDataRecord, tier: int) -> int | None:
        """The build number the engine sees for ``record`` served by the channel tier
        ``tier`` (0 is the first channel), or ``None`` when its name keeps its own:
        higher for an earlier channel, then for a higher real build number."""
        ranks = self.ranks.get(record_name(record))
        if ranks is None:
            return None
        return (self.tiers - tier) * len(ranks) + ranks[record.build_number]
