"""
Filling in what a lockfile format does not store, from the channels.

A locked file that the index serves under the same channel (or a channel with the same
short name: a mirror or local copy), subdir and file name — and, where the lockfile has
one, the same hash — takes the channel's metadata while keeping the lockfile's URL. What
no channel has stays as the lockfile says, marked in
:attr:`~.model.LockedEnvironment.reconstructed`.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from rattler import PackageName, RepoDataRecord

from ..records import record_from_dict, record_name, short_channel_name, strip_subdir
from .model import LockedEnvironment

if TYPE_CHECKING:
    from ..repodata.model import Index

__all__ = ["complete_records", "find_in_index"]

log = logging.getLogger(__name__)


def _channel_matches(record: RepoDataRecord, repo_channel_url: str) -> int:
    """How well a loaded channel matches a locked record's channel: 2 same URL, 1 same
    short name (a mirror or local copy of ``conda-forge``), 0 not at all."""
    locked = strip_subdir((record.channel or record.url.rpartition("/")[0]).rstrip("/"))
    if locked == repo_channel_url.rstrip("/"):
        return 2
    if short_channel_name(locked) == short_channel_name(repo_channel_url):
        return 1
    return 0


def find_in_index(index: Index, record: RepoDataRecord) -> RepoDataRecord | None:
    """The index's record for the same package file as ``record``: same channel (or a
    channel with the same short name), subdir and file name, and no conflicting hash."""
    candidates = []
    for repo in index.repos:
        if repo.subdir != record.subdir:
            continue
        score = _channel_matches(record, repo.channel.url)
        if score:
            candidates.append((score, repo))
    name = PackageName(record_name(record))
    for _, repo in sorted(candidates, key=lambda item: -item[0]):
        if record_name(record) not in repo.names:
            continue
        for candidate in repo.sparse.load_records(name):
            if candidate.file_name == record.file_name and _same_hashes(record, candidate):
                return candidate
    return None


def _same_hashes(record: RepoDataRecord, candidate: RepoDataRecord) -> bool:
    """No hash that both records have differs."""
    if record.sha256 and candidate.sha256 and record.sha256 != candidate.sha256:
        return False
    return not (record.md5 and candidate.md5 and record.md5 != candidate.md5)


def _with_location(metadata: RepoDataRecord, located: RepoDataRecord) -> RepoDataRecord:
    """``metadata``'s package record served from where ``located`` says."""
    data: dict[str, Any] = json.loads(metadata.to_json())
    data.update(url=located.url, fn=located.file_name, channel=located.channel or "")
    for key in ("md5", "sha256"):
        value = getattr(located, key)
        if value and not data.get(key):
            data[key] = value.hex()
    return record_from_dict(data, source=str(located.url))


def complete_records(locked: LockedEnvironment, index: Index) -> None:
    """Replace partial records (explicit, conda-lock) with the channel's full metadata,
    keeping the lockfile's URL; what no channel has stays marked in ``reconstructed``."""
    if not locked.reconstructed:
        return
    completed: list[RepoDataRecord] = []
    for record in locked.records:
        name = record_name(record)
        if name not in locked.reconstructed:
            completed.append(record)
            continue
        found = find_in_index(index, record)
        if found is None:
            completed.append(record)
            continue
        completed.append(_with_location(found, record))
        del locked.reconstructed[name]
    locked.records = completed
    if locked.reconstructed:
        names = sorted(locked.reconstructed)
        shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        log.warning(
            "%s: %d locked record(s) are in none of the channels; their metadata is only "
            "what the lockfile says: %s",
            locked.path,
            len(names),
            shown,
        )
