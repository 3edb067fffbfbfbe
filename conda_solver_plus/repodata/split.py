"""
A local shard cache for large monolithic ``repodata.json`` files.

A solve needs the records of the few dozen names its request reaches, but an engine handed
conda-forge's monolithic ``linux-64/repodata.json`` (166 MB for the grown test channel)
still scans the whole file to find them, on every solve. The first solve on such a file
therefore *splits* it by package name, once, into plus's cache directory; later solves
read only the names the request reaches and hand the engine a small ``repodata.json``
holding exactly those records (:func:`subset_repodata`). Both engines read that file like
any other, so results are the same as on the monolithic file.

Layout under ``CACHE/shard-cache/``:

- ``<source key>/pack`` — for every name, the JSON text of its entries (``"FILE": {...}``
  exactly as the source wrote them, comma-joined, the ``packages`` group then
  ``packages.conda``) back to back, so a subset is written by concatenating byte ranges,
  without parsing a record;
- ``<source key>/index.msgpack`` — per name (parallel arrays): offset, lengths, a digest
  of its bytes and the names its records depend on (all the walk,
  :func:`conda_solver_plus.shards.walk`, needs); the source's ``info``; the pack's size;
- ``<source key>/names`` — every package name, one a line (for "did you mean" and strict
  channel priority, which need all names, not only the reached ones);
- ``<source key>/source`` — the path of the file split (``conda-solver-plus cache info``
  names the channel with it);
- ``subsets/`` — the subset files, named by the hash of what they hold, and a small
  manifest per (sources, roots) request, so a repeated request finds its subsets with one
  lookup and reads nothing else; those unused for two weeks are pruned
  (:func:`.cache_files.prune`).

**Invalidation.** The source key is the source's path plus its size, modification time
(ns) and inode. Every writer of a repodata file (conda, py-rattler, ``conda index``,
``grow_channel.py``) replaces or rewrites it, which changes the mtime and usually the inode;
a content hash would be stronger but costs ~0.3 s per solve on a 166 MB file, more than
the whole warm solve. The split checks that the stat did not change while it read the
file, and a stale split directory of the same path is removed when the new one is built.

**Caches never lie.** Directories are built under a temporary name and renamed into place
(atomic: a concurrent solve sees no split or a complete one); two processes splitting the
same file at once serialise on a lock file (the second finds the first's result). On read,
the pack must have the recorded size and every name's bytes their recorded digest; a subset
file must hash to its manifest entry. Anything else is :class:`DamagedCache`, and since the
source is on disk the caller simply splits again.

**Killed work and unwritable caches.** A split killed mid-way leaves its temporary
directory (up to the whole pack); the next split removes such leftovers
(:func:`remove_leftovers`), but never the one of a split running now (it holds its lock).
Concurrent solves start one background splitter per file (:func:`split_in_background`). A
cache that cannot be written (read-only, full) is read as it is, and a split or subset it
lacks is made in a temporary directory of the process
(:mod:`conda_solver_plus.cache_files`).

**Off the critical path**: the standalone index does not make a solve wait for a split.
A solve that finds no split of a large file reads the file whole (as without a shard cache)
and starts a detached process doing the split (:func:`split_in_background`); the solves
after it read only what they reach. :func:`subset_repodata` splits synchronously (its
caller asked for a subset now).

**Small channels skip it**: below :data:`SPLIT_ABOVE_BYTES` (8 MiB, a few thousand
records) the engines read the whole file in a few milliseconds, less than the split's
bookkeeping, so :func:`worth_splitting` says no and the monolithic file is used as is.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import mmap
import os
import shutil
import subprocess
import sys
import tempfile
from array import array
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack

from .. import progress
from ..exceptions import InvalidInputError
from .cache_files import (
    cache_not_writable,
    held_without_waiting,
    mark_used,
    report_not_writable,
    temporary_cache,
)
from .model import ChannelRef, SubdirRepo, open_sparse
from .reduce import WholeFile, subset_files
from .shards import GROUPS, DamagedData, ScannedRepodata, scan_repodata
from .subsets import split_subsets_dir, write_named_by_hash

log = logging.getLogger(__name__)

#: monolithic files at least this large are split; smaller ones are read whole
SPLIT_ABOVE_BYTES = 8 * 1024 * 1024
#: bump when the layout or content of a split directory changes (old ones are then ignored);
#: 2: entries that are no package record are kept under their file's name (issue 22)
FORMAT_VERSION = 2
#: the file of a split directory naming the repodata file it splits (``cache info``)
SOURCE_FILENAME = "source"


class DamagedCache(DamagedData):
    """A file of the shard cache is not what was written (truncated, changed, corrupt)."""


def worth_splitting(source_json: Path) -> bool:
    """Is ``source_json`` large enough for the shard cache (see :data:`SPLIT_ABOVE_BYTES`)?"""
    try:
        return source_json.stat().st_size >= SPLIT_ABOVE_BYTES
    except OSError:
        return False


# --- keys and atomic files -------------------------------------------------------------


def _digest(*parts: str | bytes, size: int = 16) -> str:
    hasher = hashlib.blake2b(digest_size=size)
    for part in parts:
        hasher.update(part.encode() if isinstance(part, str) else part)
        hasher.update(b"\0")
    return hasher.hexdigest()


def source_key(source_json: Path) -> str:
    """``<path hash>-<state hash>``: the directory of this source's split, as it is now."""
    stat = source_json.stat()
    path = str(source_json.resolve())
    state = f"{FORMAT_VERSION}:{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ino}"
    return f"{_digest(path, size=8)}-{_digest(state, size=8)}"


def _root(cache_dir: Path) -> Path:
    return cache_dir / "shard-cache"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) while splitting: a second
    process waits and then finds the split done. Without ``fcntl`` (Windows) nothing is
    locked: the rename into place still keeps every reader safe, the work is just done
    twice."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- splitting -------------------------------------------------------------------------


def _read_scanned(source_json: Path) -> ScannedRepodata:
    """Read and scan ``source_json``; it must not change meanwhile."""
    try:
        before = source_json.stat()
        text = source_json.read_bytes()
    except OSError as exc:  # not a cache problem: the source itself
        raise InvalidInputError(
            str(source_json), f"repodata cannot be read ({exc.strerror or exc})"
        ) from None
    try:
        scanned = scan_repodata(text.decode("utf-8"))
    except (ValueError, AttributeError) as exc:  # JSON and UTF-8 errors are ValueErrors
        raise InvalidInputError(
            str(source_json),
            f"not valid repodata JSON ({exc})",
            "re-index the channel (conda index), or delete the file to fetch it again",
        ) from None
    after = source_json.stat()
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
        raise DamagedCache(f"{source_json} changed while it was read")
    return scanned


def _split(source_json: Path, target: Path) -> None:
    """Split ``source_json`` into the directory ``target`` (which must not exist yet)."""
    scanned = _read_scanned(source_json)
    names = sorted(scanned.names)
    offsets, firsts, seconds = array("q"), array("q"), array("q")
    digests, deps_text = bytearray(), []
    pack_size = 0
    target.mkdir(parents=True)
    with (
        progress.task(f"Splitting {source_json} by package name", total=len(names)) as step,
        open(target / "pack", "wb") as pack,  # written as it goes: the text is in memory
    ):
        for name in names:
            spans, deps = scanned.names[name]
            chunks = [scanned.chunk(group) for group in spans]
            offsets.append(pack_size)
            firsts.append(len(chunks[0]))
            seconds.append(len(chunks[1]))
            digests += bytes.fromhex(_digest(*chunks, size=8))
            deps_text.append(" ".join(sorted(deps - {name})))
            pack.write(chunks[0] + chunks[1])
            pack_size += len(chunks[0]) + len(chunks[1])
            step(1)
    # parallel arrays rather than one map of lists: unpacking 87k names must stay far below
    # the solve's own time, and msgpack's cost is per object
    index = {
        "version": FORMAT_VERSION,
        "head": scanned.head,
        "pack_size": pack_size,
        "names": names,
        "deps": deps_text,
        "offsets": offsets.tobytes(),
        "firsts": firsts.tobytes(),
        "seconds": seconds.tobytes(),
        "digests": bytes(digests),
    }
    (target / "names").write_text("\n".join(names))
    # which file this is a split of (the key is a hash): for ``cache info`` only
    (target / SOURCE_FILENAME).write_text(str(source_json.resolve()))
    (target / "index.msgpack").write_bytes(msgpack.packb(index, use_bin_type=True))


def _publish(source_json: Path, cache_dir: Path, key: str, damaged: bool = False) -> Path:
    """Split ``source_json`` into ``shard-cache/<key>`` unless a complete split is there
    (``damaged``: the one there is not); splits of older versions of the same file and
    the leftovers of killed splits (:func:`remove_leftovers`) are removed."""
    root = _root(cache_dir)
    final = root / key
    if not damaged and (final / "index.msgpack").is_file():
        return final  # read without locking: a read-only cache is read
    with _locked(root / f"{key}.lock"):
        if not damaged and (final / "index.msgpack").is_file():
            return final
        remove_leftovers(cache_dir, locked_key=key)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=root))
        try:
            shutil.rmtree(tmp)
            _split(source_json, tmp)
            if final.exists():  # a damaged leftover: move it away, then replace
                _discard(final)
            os.rename(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    path_part = key.split("-")[0]
    for stale in root.glob(f"{path_part}-*"):
        if stale.is_dir() and stale.name != key:
            _discard(stale)
            for lock in (f"{stale}.lock", f"{stale}.starting"):
                with contextlib.suppress(OSError):
                    Path(lock).unlink(missing_ok=True)
    return final


def remove_leftovers(cache_dir: Path, locked_key: str | None = None) -> int:
    """Remove what killed work left in ``shard-cache/``: the temporary directory of a split
    (``.<key>.XXXXXX``, up to the whole pack: tens of MB) whose process died before renaming
    it into place, and a discarded split (``.<key>.<pid>.deleted``) whose removal was cut
    short. A split running now in another process holds its key's lock, so its directory
    is kept (``locked_key``: the caller holds that key's lock itself, so no other process
    is splitting it); a ``.deleted`` directory is only ever removed, so removing it twice
    is harmless. Returns how many were removed."""
    root = _root(cache_dir)
    removed = 0
    try:
        candidates = [p for p in root.iterdir() if p.name.startswith(".") and p.is_dir()]
    except OSError:
        return 0
    for leftover in candidates:
        parts = leftover.name.split(".")  # "", key, random | "", key, pid, "deleted"
        if len(parts) < 3:
            continue
        running = parts[1] != locked_key and _splitting_now(root / f"{parts[1]}.lock")
        if parts[-1] != "deleted" and running:
            continue
        shutil.rmtree(leftover, ignore_errors=True)
        removed += not leftover.exists()
    if removed:
        log.info("shard cache: removed %d leftovers of killed splits in %s", removed, root)
    return removed


def split_directories(cache_dir: Path) -> list[Path]:
    """The split directories of ``cache_dir`` (complete ones: not the leftovers of killed
    or discarded splits, whose names start with a dot, nor ``subsets/``)."""
    try:
        children = list(_root(cache_dir).iterdir())
    except OSError:
        return []
    return sorted(
        p for p in children if p.is_dir() and not p.name.startswith(".") and p.name != "subsets"
    )


def split_source(directory: Path) -> Path | None:
    """The repodata file the split ``directory`` was made from (``None`` for splits made
    before it was recorded)."""
    try:
        return Path((directory / SOURCE_FILENAME).read_text())
    except (OSError, ValueError):
        return None


def remove_split(directory: Path) -> bool:
    """Remove the split ``directory`` (``shard-cache/<key>``) and its lock files, unless
    another process is splitting that key now (it holds the key's lock or its background
    claim): both are taken first, so no split of the key starts meanwhile, and the
    directory is renamed before it is deleted (:func:`_discard`), so a concurrent solve
    finds the split complete or not at all. Whether it was removed; ``OSError`` when the
    cache cannot be written."""
    locks = [directory.with_name(f"{directory.name}{suffix}") for suffix in (".lock", ".starting")]
    with held_without_waiting(locks) as free:
        if not free:
            return False  # a split of this key is running now
        _discard(directory)
        # unlinked while held; a process already waiting on one gets it and splits again
        # (its complete split is renamed into place, as always)
        for lock in locks:
            lock.unlink(missing_ok=True)
    return not directory.exists()


def _discard(directory: Path) -> None:
    """Remove a split directory; renamed first so no reader finds it half-deleted."""
    doomed = directory.with_name(f".{directory.name}.{os.getpid()}.deleted")
    try:
        os.rename(directory, doomed)
    except OSError:
        return  # another process removed or replaced it
    shutil.rmtree(doomed, ignore_errors=True)


# --- reading a split -------------------------------------------------------------------


@dataclass
class SplitRepodata:
    """A monolithic repodata file, split by name in the cache (one
    :class:`~conda_solver_plus.shards.ShardSource` of the walk)."""

    source: Path
    directory: Path
    head: dict[str, Any]
    #: name -> its position in the arrays below
    positions: dict[str, int]
    deps: list[str]
    offsets: array
    firsts: array
    seconds: array
    digests: bytes
    pack: bytes | mmap.mmap

    @classmethod
    def open(cls, source: Path, directory: Path) -> SplitRepodata:
        try:
            index = msgpack.unpackb((directory / "index.msgpack").read_bytes())
            pack = _map(directory / "pack")
        except (OSError, ValueError, msgpack.ExtraData, msgpack.FormatError) as exc:
            raise DamagedCache(f"{directory}: unreadable ({exc})") from None
        if not isinstance(index, dict) or index.get("version") != FORMAT_VERSION:
            raise DamagedCache(f"{directory}: not a split of this version")
        if len(pack) != index.get("pack_size"):
            raise DamagedCache(f"{directory}/pack: {len(pack)} bytes, not {index['pack_size']}")
        try:
            names = index["names"]
            arrays = [array("q", index[key]) for key in ("offsets", "firsts", "seconds")]
            if not all(len(a) == len(names) for a in arrays) or len(index["deps"]) != len(names):
                raise ValueError("arrays of different lengths")
        except (KeyError, ValueError, TypeError) as exc:
            raise DamagedCache(f"{directory}/index.msgpack: damaged ({exc})") from None
        positions = {name: position for position, name in enumerate(names)}
        offsets, firsts, seconds = arrays
        return cls(
            source=source,
            directory=directory,
            head=index["head"],
            positions=positions,
            deps=index["deps"],
            offsets=offsets,
            firsts=firsts,
            seconds=seconds,
            digests=index["digests"],
            pack=pack,
        )

    def has(self, name: str) -> bool:
        return name in self.positions

    def dependencies(self, names: Collection[str]) -> dict[str, set[str]]:
        return {name: set(self.deps[self.positions[name]].split()) for name in names}

    def chunks(self, name: str) -> tuple[bytes, bytes]:
        """The two groups' entries of ``name``, checked against their digest."""
        at = self.positions[name]
        offset, first, second = self.offsets[at], self.firsts[at], self.seconds[at]
        packages = bytes(self.pack[offset : offset + first])
        conda = bytes(self.pack[offset + first : offset + first + second])
        if bytes.fromhex(_digest(packages, conda, size=8)) != self.digests[at * 8 : at * 8 + 8]:
            raise DamagedCache(f"{self.directory}/pack: the records of {name} are damaged")
        return packages, conda

    def subset_bytes(self, names: Iterable[str]) -> bytes:
        """A repodata.json with this source's ``info`` and the records of ``names``."""
        groups: list[list[bytes]] = [[], []]
        for name in sorted(names):
            for position, chunk in enumerate(self.chunks(name)):
                if chunk:
                    groups[position].append(chunk)
        head = json.dumps(self.head, separators=(",", ":")).encode()
        body = b",".join(
            b'"%s":{%s}' % (group.encode(), b",".join(chunks))
            for group, chunks in zip(GROUPS, groups, strict=True)
        )
        return head[:-1] + (b"," if len(head) > 2 else b"") + body + b"}"


def _map(path: Path) -> bytes | mmap.mmap:
    """The file mapped into memory (only the pages of the names read are loaded)."""
    with open(path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            return b""
        return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)


def open_split(source_json: Path, cache_dir: Path) -> SplitRepodata:
    """The split of ``source_json`` in ``cache_dir``, made now if missing, stale or damaged
    (the source is on disk, so a damaged split is always rebuilt). A cache that cannot be
    written is read; a split it lacks is made in a temporary directory
    (:func:`~conda_solver_plus.cache_files.temporary_cache`)."""
    key = source_key(source_json)
    directory = _publish_or_fail(source_json, cache_dir, key)
    try:
        split = SplitRepodata.open(source_json, directory)
        # in use: ``cache clean --older-than`` keeps it (cache_command)
        mark_used(directory / "index.msgpack")
        return split
    except DamagedCache as exc:
        log.warning("shard cache damaged, splitting %s again: %s", source_json, exc)
        _discard(directory)
        directory = _publish_or_fail(source_json, cache_dir, key, damaged=True)
        return SplitRepodata.open(source_json, directory)


def _publish_or_fail(source_json: Path, cache_dir: Path, key: str, damaged: bool = False) -> Path:
    """:func:`_publish` into ``cache_dir``, or into its temporary stand-in when the cache
    cannot be written (read-only, full): the solve goes on, without caching the split."""
    try:
        return _publish(source_json, cache_dir, key, damaged)
    except OSError as exc:
        failure = exc
    stand_in = temporary_cache(cache_dir, failure)
    try:
        return _publish(source_json, stand_in, key)
    except OSError:
        raise cache_not_writable(_root(cache_dir), failure) from None


#: whether a solve finding no split of a large file starts one in the background and reads
#: the file whole (``True``), or splits it first (tests and benchmarks wanting the split now)
SPLIT_IN_BACKGROUND = True


def split_when_ready(source_json: Path, cache_dir: Path) -> bool:
    """Does the monolithic file ``source_json`` go through its split in this solve? A
    large file with a split of its current version does; a large file without one is read
    whole this time while a detached process splits it (:func:`split_in_background`), so
    the seconds of splitting stay off the solve's critical path."""
    if not worth_splitting(source_json):
        return False
    if not SPLIT_IN_BACKGROUND or split_ready(source_json, cache_dir):
        return True
    split_in_background(source_json, cache_dir)
    return False


def split_ready(source_json: Path, cache_dir: Path) -> bool:
    """Is there a complete split of ``source_json`` as it is now?"""
    try:
        key = source_key(source_json)
    except OSError:
        return False
    return (_root(cache_dir) / key / "index.msgpack").is_file()


def _splitting_now(lock: Path) -> bool:
    """Does another process hold ``lock`` (it is splitting that file right now)?"""
    try:
        with held_without_waiting([lock]) as free:
            return not free
    except OSError:
        return False


def split_in_background(source_json: Path, cache_dir: Path) -> bool:
    """Start a detached process that splits ``source_json`` (``python -m
    conda_solver_plus.repodata.split SOURCE CACHE``), unless one is at it already. The solve
    that starts it reads the file whole, as without a shard cache, and later solves find
    the split: the seconds of splitting stay off every solve's critical path. Returns
    whether a process was started.

    One process per source version, however many solves start at once: the split's own
    lock is taken only once the new interpreter has started, so the starter first claims
    ``<key>.starting`` (an exclusive lock, without waiting) and hands the locked file to
    the process, which holds it until it exits; a solve that finds the claim taken starts
    nothing. (Six concurrent cold solves used to start twelve processes, most of them only
    to wait on the lock.) A cache that cannot be written gets no split and is read as is."""
    root = _root(cache_dir)
    try:
        key = source_key(source_json)
    except OSError:
        return False
    try:
        root.mkdir(parents=True, exist_ok=True)
        claim = open(root / f"{key}.starting", "a+b")  # noqa: SIM115 - closed below
    except OSError as exc:  # a read-only or full cache: read the file whole, as now
        report_not_writable(cache_dir, exc)
        return False
    if _splitting_now(root / f"{key}.lock"):
        claim.close()
        return False
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: the split's lock still serialises
        fcntl = None  # type: ignore[assignment]
    try:
        with claim:
            if fcntl is not None:
                try:
                    fcntl.flock(claim, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return False  # another solve started the process
            if split_ready(source_json, cache_dir):
                return False  # made since this solve looked
            # closing our copy of the descriptor keeps the lock: the process holds it
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "conda_solver_plus.repodata.split",
                    str(source_json),
                    str(cache_dir),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                pass_fds=(claim.fileno(),),
            )
    except OSError as exc:
        log.debug("could not start a background split of %s: %s", source_json, exc)
        return False
    return True


def all_names(source_json: Path, cache_dir: Path) -> frozenset[str] | None:
    """Every package name of ``source_json`` from its split, or ``None`` if it has none."""
    try:
        directory = _root(cache_dir) / source_key(source_json)
        text = (directory / "names").read_text()
    except OSError:
        return None
    return frozenset(text.split("\n")) if text else frozenset()


def write_subset(split: SplitRepodata, names: Iterable[str], cache_dir: Path) -> Path:
    """The subset of ``split`` holding ``names``, under ``shard-cache/subsets/`` (named by
    the hash of its bytes: an identical subset is written once)."""
    return write_named_by_hash(cache_dir, split_subsets_dir(cache_dir), split.subset_bytes(names))


class SplitFile:
    """A large monolithic repodata file as a source of the reduction
    (:class:`.reduce.Source`): read through its split, so a solve reads the names it
    reaches, not the whole file. ``named`` is the file errors name (the channel's own,
    when ``path`` was decompressed from it)."""

    def __init__(
        self,
        channel: ChannelRef | None,
        subdir: str,
        path: Path,
        named: Path | str,
        cache_dir: Path,
    ) -> None:
        self.channel = channel
        self.subdir = subdir
        self.path = path
        self.named = named
        self.cache_dir = cache_dir

    @functools.cached_property
    def split(self) -> SplitRepodata:
        return open_split(self.path, self.cache_dir)

    @property
    def key(self) -> str:
        return "split:" + source_key(self.path)

    def has(self, name: str) -> bool:
        return self.split.has(name)

    def dependencies(self, names: Collection[str]) -> dict[str, set[str]]:
        return self.split.dependencies(names)

    def listed(self) -> frozenset[str]:
        names = all_names(self.path, self.cache_dir)
        if names is None:  # the split went away since: read it again
            names = frozenset(open_split(self.path, self.cache_dir).positions)
        return names

    def write_subset(self, names: set[str], cache_dir: Path) -> Path:
        return write_subset(self.split, names, cache_dir)

    def repo(self, subset: Path | None) -> SubdirRepo:
        assert subset is not None and self.channel is not None
        sparse = open_sparse(self.channel, self.subdir, subset, self.named)
        return SubdirRepo(self.channel, self.subdir, subset, sparse, self.listed)


def monolithic_source(
    channel: ChannelRef, subdir: str, path: Path, cache_dir: Path, named: Path | None = None
) -> SplitFile | WholeFile:
    """A monolithic ``repodata.json`` as a source of the reduction: through its split when
    it is large and split already (:func:`split_when_ready`), else read whole. ``named``
    is the file errors name (the channel's own, when ``path`` was decompressed from it)."""
    named = named or path
    if split_when_ready(path, cache_dir):
        return SplitFile(channel, subdir, path, named, cache_dir)
    sparse = open_sparse(channel, subdir, path, named)
    return WholeFile(SubdirRepo(channel, subdir, path, sparse))


def subset_repodata_many(
    sources: Sequence[Path], roots: Iterable[str], cache_dir: Path
) -> list[Path]:
    """Small ``repodata.json`` files, one per source, holding every record the ``roots``
    reach through ``depends`` across all ``sources`` together.

    ``sources`` are monolithic ``repodata.json`` files (any size; use :func:`worth_splitting`
    to skip small ones), typically every channel x subdir of one solve, so that a name
    reached from ``linux-64`` is also collected from ``noarch`` and from other channels.
    ``roots`` are package names: requested specs, installed and locked records, pins,
    history, and ``pip`` when pip is added to python's depends. Names are lowercased;
    virtual packages (``__glibc``) are ignored. Each result keeps its source's ``info``
    (``subdir``, ``base_url``) so records get the same URLs as from the source.

    The first call on a source splits it into ``cache_dir/shard-cache`` (seconds for a
    conda-forge-sized file, reported through :func:`conda_solver_plus.progress.task`);
    later calls read only the reached names, and a repeated request reads only a manifest.
    Safe for concurrent processes. Raises :class:`~conda_solver_plus.exceptions.InvalidInputError`
    for a source that is not valid JSON or a cache directory that cannot be written.
    """
    files = [SplitFile(None, "", source, source, cache_dir) for source in sources]
    try:
        paths = subset_files(files, [name.lower() for name in roots], cache_dir)
    except DamagedCache as exc:  # a name's bytes changed after the split was opened
        log.warning("shard cache damaged, splitting again: %s", exc)
        for file in files:
            _discard(file.split.directory)
        files = [SplitFile(None, "", source, source, cache_dir) for source in sources]
        paths = subset_files(files, [name.lower() for name in roots], cache_dir)
    return [path for path in paths if path is not None]


def subset_repodata(source_json: Path, roots: Iterable[str], cache_dir: Path) -> Path:
    """A small ``repodata.json`` with the records of ``source_json`` that ``roots`` reach.

    The one-source form of :func:`subset_repodata_many` (read its notes): use that one when
    a solve has several channels or subdirs, or names reached through another file's
    records will be missing from this one's subset.
    """
    return subset_repodata_many([source_json], roots, cache_dir)[0]


if __name__ == "__main__":  # the background split (split_in_background)
    try:
        open_split(Path(sys.argv[1]), Path(sys.argv[2]))
    except Exception as exc:  # a detached process has nobody to tell but the log
        log.warning("background split of %s failed: %s", sys.argv[1], exc)
        sys.exit(1)
