"""
Installed packages meet their channel's current metadata (repodata patches).

A package's metadata is fixed when it is built, but channels correct it afterwards:
conda-forge and anaconda *patch* ``repodata.json`` (a ``depends`` that turned out too
loose gets an upper bound, a broken build is marked), never the package file. A prefix
keeps the metadata of the day it was installed (``conda-meta/*.json``), so without this
step a solve would judge installed packages by their old, unpatched ``depends``: with
``a 1.0`` installed when it depended on ``b`` and its channel record now saying
``b <2``, ``conda install b=2`` would install ``b 2.0`` and break ``a``.

Classic conda merges the prefix into its index the other way round — "the downloaded
repodata takes priority" (``conda.core.index._supplement_index_with_prefix``) — and so
refuses that request. :func:`use_channel_metadata` does the same before anything is
solved: an installed record whose artifact is still in its channel — same channel,
subdir and file name, and the same sha256 (or md5) where both records carry one — is
replaced by the channel's record, with the reason in ``sis.installed``'s log. A record
that left its channel keeps its own metadata. Both front ends (the CLI's ``--prefix``
and the conda adapter) and both engines get it, since it changes the input state.

The replacement is the same package file: conda sees no change to link, and the conda
adapter maps it back to the prefix's own record (its key,
:func:`~conda_solver_plus.records.record_key`, ignores metadata). Records from a
lockfile are left as the lockfile says.
"""

from __future__ import annotations

import logging

from rattler import PackageName, RepoDataRecord

from ..repodata.model import Index, SubdirRepo
from ..state import SolverInputState

__all__ = ["channel_record", "use_channel_metadata"]

log = logging.getLogger(__name__)


def use_channel_metadata(sis: SolverInputState, index: Index) -> list[str]:
    """Replace each installed record whose artifact its channel still serves with the
    channel's record when the metadata the solve reads differs; the names replaced."""
    replaced = []
    for name, installed in list(sis.installed.items()):
        if name in sis.locked or name.startswith("__"):
            continue
        current = channel_record(index, installed)
        if current is None or _same_solving_metadata(current, installed):
            continue
        sis.installed.set(
            name, current, reason=f"{current.channel}: the channel's current metadata"
        )
        replaced.append(name)
    if replaced:
        log.info("installed records with patched channel metadata: %s", ", ".join(replaced))
    return replaced


def channel_record(index: Index, installed: RepoDataRecord) -> RepoDataRecord | None:
    """The record of ``installed``'s own artifact in ``index``: same channel, subdir and
    file name, and the same hash where both have one; ``None`` when it left its channel
    (or its channel is not loaded)."""
    repo = _own_repo(index, installed)
    if repo is None:
        return None
    for candidate in repo.sparse.load_records(PackageName(installed.name.normalized)):
        if candidate.file_name == installed.file_name and _same_artifact(candidate, installed):
            return candidate
    return None


def _own_repo(index: Index, record: RepoDataRecord) -> SubdirRepo | None:
    """The loaded channel/subdir ``record`` was installed from."""
    channel = index.channel_for_url(record.url)
    if channel is None and record.channel:
        channel = index.channel_for_url(record.channel)
    if channel is None:
        return None
    for repo in index.repos:
        if repo.channel.url == channel.url and repo.subdir == record.subdir:
            return repo
    return None


def _same_artifact(a: RepoDataRecord, b: RepoDataRecord) -> bool:
    """Are ``a`` and ``b`` (same file name) the same file? Compared by sha256 where both
    have it, else by md5 where both have it; a rebuilt file under the same name differs."""
    if a.sha256 is not None and b.sha256 is not None:
        return a.sha256 == b.sha256
    if a.md5 is not None and b.md5 is not None:
        return a.md5 == b.md5
    return True


def _same_solving_metadata(a: RepoDataRecord, b: RepoDataRecord) -> bool:
    """Do ``a`` and ``b`` say the same to a solve (dependencies, constraints, features)?"""
    return (
        list(a.depends) == list(b.depends)
        and list(a.constrains) == list(b.constrains)
        and list(a.track_features) == list(b.track_features)
        and (a.features or None) == (b.features or None)
    )
