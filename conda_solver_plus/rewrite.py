"""
Derived repodata: records rewritten for an engine, served from small files, mapped back.

Some of conda's rules cannot be said to an engine directly, only through the records it
reads: legacy ``features`` (:mod:`conda_solver_plus.features`) become dependencies and
penalties, and with channel priority ``disabled`` the order of channels becomes part of
the build number (:mod:`conda_solver_plus.solving.priority`). Both follow the same steps,
which live here:

1. load the records the request can reach (:func:`reachable_records`, py-rattler's
   sparse loader: the names of the request and everything their records depend on);
2. write the rewritten records as one small repodata file per channel/subdir, named by
   its content (:func:`write_repodata`), and serve the repo from it
   (:meth:`~conda_solver_plus.index.SubdirRepo.served_from`); the request's installed,
   locked and pinned records get the same changes (:func:`changed_record`);
3. map the engine's answer back to the original records (:class:`Originals`): the
   rewritten copies never leave the solve.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from rattler import PackageName, RepoDataRecord, SparseRepoData

from .backends import EngineRequest
from .feature_names import feature_of
from .records import record_from_dict, record_name
from .repodata.cache_files import mark_used, write_cache_file
from .repodata.model import Index, SubdirRepo
from .repodata.roots import root_names

__all__ = [
    "Entry",
    "Originals",
    "changed_record",
    "entry",
    "reachable_records",
    "write_repodata",
]

#: a repodata entry as JSON (``name``, ``version``, ``depends``, ...)
Entry = dict[str, Any]


def reachable_records(index: Index, request: EngineRequest) -> list[list[RepoDataRecord]]:
    """Per repo of ``index`` (same order), the records ``request`` can reach: its specs',
    constraints' and given records' names and everything their records depend on."""
    records = (*request.installed, *request.locked, *request.pinned)
    names = root_names(
        specs=[
            spec.name.normalized
            for spec in (*request.specs, *request.constraints)
            if spec.name is not None and spec.name.normalized is not None
        ],
        installed=[(record_name(record), record.depends) for record in records],
        add_pip=request.add_pip_as_python_dependency,
    )
    seeds = [PackageName(name) for name in sorted(names) if feature_of(name) is None]
    return SparseRepoData.load_records_recursive([r.sparse for r in index.repos], seeds)


def entry(record: RepoDataRecord, **changes: Any) -> Entry:
    """The repodata entry of ``record`` (where it came from left out: the file it goes
    in says), with ``changes`` (repodata keys) applied. An empty ``track_features`` is
    left out: repodata would read an empty string back as one empty feature."""
    data: Entry = json.loads(record.to_json())
    for key in ("url", "channel", "fn"):
        data.pop(key, None)
    data.update(changes)
    if "track_features" in changes:
        track = data.pop("track_features")
        if track:
            data["track_features"] = " ".join(track) if isinstance(track, list) else track
    return data


def changed_record(record: RepoDataRecord, **changes: Any) -> RepoDataRecord:
    """A copy of ``record`` (same file, channel and URL) with ``changes`` (repodata keys:
    ``depends``, ``track_features``, ``build_number``) applied."""
    data = json.loads(record.to_json())
    data.update(changes)
    return record_from_dict(
        data,
        source="rewritten for the engine",
        fn=record.file_name,
        channel=record.channel,
        subdir=record.subdir,
    )


def write_repodata(cache: Path, folder: str, subdir: str, entries: dict[str, Entry]) -> Path:
    """A repodata file holding ``entries`` in ``cache/folder``, named by its content (so
    the libmamba engine's ``.solv`` cache serves it again next time)."""
    packages = {fn: e for fn, e in entries.items() if not fn.endswith(".conda")}
    conda = {fn: e for fn, e in entries.items() if fn.endswith(".conda")}
    data = json.dumps(
        {"info": {"subdir": subdir}, "packages": packages, "packages.conda": conda},
        sort_keys=True,
    ).encode()
    digest = hashlib.sha256(data).hexdigest()[:24]
    target = cache / folder / f"{digest}.json"
    if target.exists():
        mark_used(target)  # unused ones are pruned (shard_cache.prune_subsets)
        return target
    return write_cache_file(cache, target, data)  # elsewhere if the cache is read-only


class Originals:
    """The original record behind each rewritten one, by URL and by (channel URL, subdir,
    file name): how an engine's answer on derived repodata is mapped back."""

    def __init__(self) -> None:
        self._by_key: dict[object, RepoDataRecord] = {}

    def remember(self, record: RepoDataRecord, repo: SubdirRepo | None = None) -> None:
        """``record`` stands behind its copy (served from ``repo``, or given in the
        request when ``repo`` is ``None``)."""
        if repo is not None:
            self._by_key[(repo.channel.url, repo.subdir, record.file_name)] = record
            self._by_key.setdefault(record.url, record)
        else:
            self._by_key[record.url] = record

    def original(self, index: Index, record: RepoDataRecord) -> RepoDataRecord | None:
        """The original of ``record`` (answered by an engine over ``index``), or ``None``."""
        found = self._by_key.get(record.url)
        if found is None:
            channel = index.channel_for_url(record.url)
            key = (channel.url if channel else "", record.subdir, record.file_name)
            found = self._by_key.get(key)
        return found

    def map_back(self, index: Index, records: list[RepoDataRecord]) -> list[RepoDataRecord]:
        """The original records of an answer; an unknown record is a bug."""
        out = []
        for record in records:
            original = self.original(index, record)
            if original is None:
                raise RuntimeError(f"derived repodata: the engine returned unknown {record.url}")
            out.append(original)
        return out
