"""
Subset files and the manifest that remembers them.

A *subset* is a small ``repodata.json`` holding the records of one channel subdir that a
request reaches (:mod:`.reduce`); it is named by the hash of its bytes, so an identical
subset is written once. A *manifest* records, for one request — every source's exact
content (its key) and the root names — the subset files it got, with their hashes: a
repeated request reads one manifest and touches no shard, split or large file. A subset
that does not hash to its manifest entry is never read: the request is reduced again.

Subsets of sharded channels live in ``shards/subsets/``, those of split monolithic files
and every manifest in ``shard-cache/subsets/``; :func:`.cache_files.prune` removes those
unused for two weeks.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from .cache_files import is_temporary, keep_cache_file, mark_used, prune, write_cache_file

log = logging.getLogger(__name__)


def _manifests(cache_dir: Path) -> Path:
    return cache_dir / "shard-cache" / "subsets"


def _request_digest(text: str) -> str:
    # the digest the split's keys use (blake2b of 16 bytes, NUL-terminated): manifests
    # written before this module existed are found again
    hasher = hashlib.blake2b(digest_size=16)
    hasher.update(text.encode())
    hasher.update(b"\0")
    return hasher.hexdigest()


def sharded_subsets_dir(cache_dir: Path) -> Path:
    """Where the subset files of sharded channels live (the standalone CLI's and the conda
    adapter's)."""
    return cache_dir / "shards" / "subsets"


def split_subsets_dir(cache_dir: Path) -> Path:
    """Where the subset files of split monolithic files live."""
    return _manifests(cache_dir)


def write_named_by_hash(cache_dir: Path, directory: Path, blob: bytes) -> Path:
    """``directory/<sha256 of blob>.json``, written unless an intact copy is there, and
    returned (a temporary copy when the cache cannot be written). An intact copy is
    touched *before* it is checked: the solve is about to open it, so a prune of unused
    subsets (:func:`.cache_files.prune`, here or in a concurrent process) must see it as
    used."""
    digest = hashlib.sha256(blob).hexdigest()
    path = directory / f"{digest[:32]}.json"
    mark_used(path)
    try:
        intact = hashlib.sha256(path.read_bytes()).hexdigest() == digest
    except OSError:
        intact = False
    if not intact:
        return write_cache_file(cache_dir, path, blob)
    return path


def _manifest_path(cache_dir: Path, keys: Sequence[str], roots: Iterable[str]) -> Path:
    request = _request_digest(json.dumps([list(keys), sorted(set(roots))]))
    return _manifests(cache_dir) / f"{request}.manifest.json"


def cached_subsets(
    cache_dir: Path, keys: Sequence[str], roots: Iterable[str]
) -> list[Path | None] | None:
    """The subset files an earlier identical request wrote — same sources (``keys`` name
    each source's exact state; ``""`` for a source read whole, whose entry is ``None``) and
    same ``roots`` — when every one is intact; else ``None``."""
    manifest = _manifest_path(cache_dir, keys, roots)
    try:
        # touched before it is read: a prune running now in another process then sees a
        # file in use (cache_files.prune), never one this solve is about to open
        mark_used(manifest)
        entries = json.loads(manifest.read_text())
        paths: list[Path | None] = []
        for entry in entries:
            if entry is None:
                paths.append(None)
                continue
            path = manifest.parent / entry["file"]
            mark_used(path)
            if hashlib.sha256(path.read_bytes()).hexdigest() != entry["sha256"]:
                log.warning("shard cache: %s is damaged, writing it again", path)
                return None
            paths.append(path)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return paths if len(paths) == len(keys) else None


def remember_subsets(
    cache_dir: Path, keys: Sequence[str], roots: Iterable[str], paths: Sequence[Path | None]
) -> None:
    """Record ``paths`` as the answer to this request (see :func:`cached_subsets`), then
    prune what is unused (:func:`.cache_files.prune`) — never ``paths`` themselves, which this
    solve is about to open. Subsets written outside the cache (it could not be written)
    are not recorded."""
    manifest = _manifest_path(cache_dir, keys, roots)
    chosen = [path for path in paths if path is not None]
    if not any(is_temporary(path) for path in chosen):
        entries = [
            None
            if path is None
            else {"file": os.path.relpath(path, manifest.parent), "sha256": _sha256_file(path)}
            for path in paths
        ]
        keep_cache_file(cache_dir, manifest, json.dumps(entries).encode())
    prune(cache_dir, keep=[manifest, *chosen])


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
