"""
Writing plus's cache directory: atomically, and never at the cost of a solve.

Everything plus caches (decompressed repodata, the shard cache's splits, subsets and their
manifests, fetched shards and shard indexes, shard-name lookups, ``.verified`` memos,
libmamba's ``.solv`` files) can be made again from its source. So a cache that cannot be
written — a read-only mount, a full disk, a quota, a directory the user may not write —
is no reason for a solve to fail, and no reason for an internal error:

- what is already in the cache is read (and checked, as always);
- a file the solve **needs** now (a subset an engine opens, decompressed repodata, a split
  to read names from) is written to a temporary directory of this process instead
  (:func:`write_cache_file`, :func:`temporary_cache`), removed when the process exits;
- a file only **kept for next time** (a fetched shard, a manifest, a memo) is skipped
  (:func:`keep_cache_file`).

Either way the user is told once per cache directory, with a warning naming it, the
reason and the fix. Only when the temporary directory cannot be written either is it an
error (:func:`cache_not_writable`, exit status 2).

Every write is atomic (:func:`atomic_write`): a concurrent solve reading the cache sees
the old file or the new one, never half of one.

A solve holds the cache shared (:func:`in_use`) and ``conda-solver-plus cache clean``
exclusively (:func:`in_sole_use`): a clean never removes a file from under a solve.

This module imports nothing else of plus but its exceptions, so every module that writes
the cache (the index, the shard cache, the sharded channel reader, the conda adapter) can
import it.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..exceptions import InvalidInputError

log = logging.getLogger(__name__)

#: caches already reported as not writable (one warning per cache and process)
_reported: set[str] = set()
#: the temporary stand-in of each cache that cannot be written, by cache path
_stand_ins: dict[str, Path] = {}
_lock = threading.Lock()


def cache_not_writable(cache: Path, exc: OSError) -> InvalidInputError:
    """The error for a cache directory that cannot be written when nothing can stand in
    for it (the temporary directory cannot be written either)."""
    return InvalidInputError(
        str(cache),
        f"cache directory is not writable ({exc.strerror or exc})",
        "set CONDA_SOLVER_PLUS_CACHE to a writable directory",
    )


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``path`` all at once (a temporary file renamed over it): a concurrent solve
    reading the cache sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def report_not_writable(cache: Path, exc: OSError) -> None:
    """Tell the user, once per cache, that ``cache`` cannot be written and the solve goes
    on without caching there."""
    key = str(cache)
    with _lock:
        if key in _reported:
            return
        _reported.add(key)
    log.warning(
        "cache directory %s cannot be written (%s): solving without caching there; set "
        "CONDA_SOLVER_PLUS_CACHE to a writable directory to cache again",
        cache,
        exc.strerror or exc,
    )


def temporary_cache(cache: Path, exc: OSError) -> Path:
    """A temporary directory of this process standing in for ``cache``, which could not
    be written (``exc``), with the same layout; removed when the process exits. Reports
    the cache (:func:`report_not_writable`); :func:`cache_not_writable` when no temporary
    directory can be made either."""
    report_not_writable(cache, exc)
    key = str(cache)
    with _lock:
        stand_in = _stand_ins.get(key)
        if stand_in is None:
            try:
                stand_in = Path(tempfile.mkdtemp(prefix="conda-solver-plus-cache-"))
            except OSError:
                raise cache_not_writable(cache, exc) from None
            atexit.register(shutil.rmtree, stand_in, ignore_errors=True)
            _stand_ins[key] = stand_in
    return stand_in


def is_temporary(path: Path) -> bool:
    """Is ``path`` in a temporary stand-in (:func:`temporary_cache`), not in a cache?"""
    with _lock:
        stand_ins = list(_stand_ins.values())
    return any(path.is_relative_to(stand_in) for stand_in in stand_ins)


def write_cache_file(cache: Path, path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` under the cache directory ``cache`` atomically, and return
    where it is: ``path``, or, when the cache cannot be written, the same place in its
    temporary stand-in (:func:`temporary_cache`). For files the solve reads next."""
    try:
        atomic_write(path, data)
        return path
    except OSError as exc:
        failure = exc
    stand_in = temporary_cache(cache, failure)
    relative = path.relative_to(cache) if path.is_relative_to(cache) else Path(path.name)
    try:
        atomic_write(stand_in / relative, data)
    except OSError:
        raise cache_not_writable(cache, failure) from None
    return stand_in / relative


def keep_cache_file(cache: Path, path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` under ``cache`` atomically, for a later solve; when the
    cache cannot be written, skip it (reported once) and return ``False``."""
    try:
        atomic_write(path, data)
    except OSError as exc:
        report_not_writable(cache, exc)
        return False
    return True


def mark_used(path: Path) -> None:
    """Set ``path`` 's access time to now: a cache file in use is never pruned as unused
    (:func:`last_used`). Only the access time: the modification time says which version
    of a file this is (the subset manifest's and the libmamba engine's ``.solv`` keys read
    it), and a file read again is the same version. A cache that cannot be written cannot
    be pruned either, so a failure is fine."""
    with contextlib.suppress(OSError):
        os.utime(path, ns=(time.time_ns(), path.stat().st_mtime_ns))


def last_used(stat: os.stat_result) -> float:
    """When a cache file was last written or used (:func:`mark_used`), in seconds."""
    return max(stat.st_atime, stat.st_mtime)


@contextlib.contextmanager
def held_without_waiting(locks: Iterable[Path], *, create: bool = True) -> Iterator[bool]:
    """Hold every lock file of ``locks`` exclusively, without waiting: yields ``True`` when
    this process holds them all, ``False`` as soon as another process holds one (a split
    running, a solve starting one). ``create`` makes missing lock files; without it a
    missing one is skipped (no process can hold it). Without ``fcntl`` (Windows) there is
    no telling: ``True``."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield True
        return
    with contextlib.ExitStack() as held:
        for lock in locks:
            try:
                handle = held.enter_context(open(lock, "a+b" if create else "rb"))
            except FileNotFoundError:
                if create:
                    raise
                continue
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
        yield True


#: the lock file a solve holds shared and ``cache clean`` exclusively (never a cache entry)
IN_USE_LOCK = ".in-use.lock"


@contextlib.contextmanager
def in_use(cache: Path) -> Iterator[None]:
    """Hold ``cache`` shared while a solve or a query reads and writes it: ``cache
    clean`` takes the same lock exclusively, so it never removes a file a running solve
    has looked up and is about to open (a subset, py-rattler's repodata), and a solve
    starting during a clean waits the second it takes. A cache that cannot be written
    (or has no ``fcntl``, on Windows) is used without the lock: nothing can clean it
    either."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    try:
        cache.mkdir(parents=True, exist_ok=True)
        handle = open(cache / IN_USE_LOCK, "a+b")  # noqa: SIM115 - closed below
    except OSError:
        yield
        return
    with handle:
        with contextlib.suppress(OSError):  # a file system without locks: as without fcntl
            fcntl.flock(handle, fcntl.LOCK_SH)
        yield


@contextlib.contextmanager
def in_sole_use(cache: Path, wait_seconds: float) -> Iterator[bool]:
    """Hold ``cache`` exclusively (see :func:`in_use`), waiting up to ``wait_seconds`` for
    the solves using it to end; yields whether it is held (``False``: solves kept using it
    that long). Without ``fcntl`` it yields ``True`` unlocked."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield True
        return
    with open(cache / IN_USE_LOCK, "a+b") as handle:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.05)
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


#: subset files and manifests unused this long are removed (each request writes its own)
PRUNE_AFTER_DAYS = 14
#: downloaded shards unused this long are removed: a solve whose subset is cached reads no
#: shard, so they are kept longer than subsets (``--offline`` needs them for new requests)
PRUNE_SHARDS_AFTER_DAYS = 60


def prune(cache_dir: Path, now: float | None = None, keep: Iterable[Path] = ()) -> int:
    """Remove subset files and manifests of both caches (``shard-cache/subsets``,
    ``shards/subsets``) not used for :data:`PRUNE_AFTER_DAYS`; at most once a day. A
    manifest hit and a subset written again touch their files, so only forgotten requests
    go, and ``keep`` (what the running solve chose) never goes. The libmamba engine's
    ``solv/`` serializations written that long ago go too (reading one does not touch
    it): each subset gets one, one whose subset is gone is never read again, and a live
    one is simply rebuilt. So do the conda adapter's shard-name lookups
    (``shards/*.names``, touched when used), local ``.zst``/``.bz2`` repodata decompressed
    for an older version of its file (``decompressed/``, touched when used), repodata
    rewritten for a solve (``channel-order/``, ``exclude-newer/``, ``legacy-features/``,
    touched when reused), downloaded shards unused for :data:`PRUNE_SHARDS_AFTER_DAYS`
    (``shards/blobs/``, touched when read) and the temporary files of writes a killed
    process left (``*.tmp``, a day old). Returns how many files were removed."""
    now = time.time() if now is None else now
    kept = {str(path) for path in keep}
    marker = (cache_dir / "shard-cache") / "subsets" / ".pruned"
    try:
        if now - marker.stat().st_mtime < 86400:
            return 0
    except OSError:
        pass
    removed = 0
    unused = now - PRUNE_AFTER_DAYS * 86400
    abandoned = now - 86400  # a write takes seconds; its temporary file a day is gone
    for directory, pattern, cutoff in (
        ((cache_dir / "shard-cache") / "subsets", "*.json", unused),
        (cache_dir / "shards" / "subsets", "*.json", unused),
        (cache_dir / "solv", "*.solv", unused),
        (cache_dir / "shards", "*.names", unused),
        (cache_dir / "decompressed", "*.json", unused),
        # repodata rewritten for a solve (solving/priority.py, solving/transforms.py,
        # features.py), named by content and touched when reused
        (cache_dir / "channel-order", "*.json", unused),
        (cache_dir / "exclude-newer", "*.json", unused),
        (cache_dir / "legacy-features", "*.json", unused),
        (cache_dir / "shards" / "blobs", "*.msgpack.zst", now - PRUNE_SHARDS_AFTER_DAYS * 86400),
        ((cache_dir / "shard-cache") / "subsets", "*.tmp", abandoned),
        (cache_dir / "shards" / "subsets", "*.tmp", abandoned),
        (cache_dir / "shards", "*.tmp", abandoned),
        (cache_dir / "shards" / "blobs", "*.tmp", abandoned),
        (cache_dir / "shards" / "index", "*.tmp", abandoned),
        (cache_dir / "solv", "*.part", abandoned),
        (cache_dir / "solv", "*.json", abandoned),  # libmamba's scratch copies
    ):
        for path in directory.glob(pattern):
            if str(path) in kept:
                continue
            with contextlib.suppress(OSError):
                if last_used(path.stat()) < cutoff:
                    path.unlink()
                    removed += 1
    with contextlib.suppress(OSError):
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
        os.utime(marker, (now, now))
    return removed


def file_key(path: Path) -> str:
    """A file as it is now: a digest of its resolved path, size, modification time (ns)
    and inode. Every writer of a repodata file (conda, py-rattler, ``conda index``)
    replaces or rewrites it, which changes the mtime and usually the inode; a content hash
    would cost ~0.3 s on a conda-forge-sized file, more than a warm solve."""
    stat = path.stat()
    text = f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ino}"
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
