"""
What the index offers for a spec: the questions conda's rules ask of the channels.

Several rules depend not only on the environment but on what the channels have: a
requested package that is installed stays locked only if nothing newer exists (libsolv's
update job would not move it either), re-requesting a package moves it to a channel of
higher priority, ``conda update`` adds a no-downgrade constraint only when there is
something to update to, and "held back" is reported only when a newer version exists.

These helpers load only the records of the one name they are asked about (the index is
lazy: see :mod:`conda_solver_plus.index`).
"""

from __future__ import annotations

from rattler import MatchSpec, RepoDataRecord

from ..backends import ChannelPriority
from ..repodata.model import Index

__all__ = ["channel_rank", "has_better", "higher_channel_has", "matching_records"]


def matching_records(index: Index, spec: MatchSpec) -> list[RepoDataRecord]:
    """Every record of every channel that matches ``spec``, in channel priority order."""
    found: list[RepoDataRecord] = []
    name = spec.name.as_package_name()
    if name is None:  # a glob (``numpy*``): no channel lists records under such a name
        return found
    for repo in index.repos:
        # an unknown name loads nothing; no need to list the repo's names (costly at scale)
        for record in repo.sparse.load_records(name):
            if spec.matches(record):
                found.append(record)
    return found


def has_better(index: Index, spec: MatchSpec, installed: RepoDataRecord) -> bool:
    """Is there a record matching ``spec`` with a higher (version, build number) than the
    installed one? libsolv's update job only moves when there is."""
    current = (installed.version, installed.build_number)
    return any(
        (record.version, record.build_number) > current for record in matching_records(index, spec)
    )


def channel_rank(index: Index, record: RepoDataRecord) -> int | None:
    """The priority tier of the channel serving ``record`` (0 is highest), ``None`` when
    the record comes from no channel of the index."""
    channel = index.channel_for_url(record.url)
    # members of one multichannel share a rank: none is "higher" than another
    return None if channel is None else index.priority_rank(channel)


def higher_channel_has(
    index: Index, spec: MatchSpec, installed: RepoDataRecord, channel_priority: ChannelPriority
) -> bool:
    """Does a channel of higher priority than the installed record's offer ``spec``?
    conda ranks channel priority above "keep what is installed" for requested packages,
    so re-requesting a package after reordering channels moves it to the first channel."""
    if channel_priority == "disabled":
        return False
    current = channel_rank(index, installed)
    if current is None:
        return False
    for record in matching_records(index, spec):
        rank = channel_rank(index, record)
        if rank is not None and rank < current:
            return True
    return False
