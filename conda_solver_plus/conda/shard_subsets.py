"""
conda's sharded repodata (CEP-16) for the plus adapter: only the packages a request reaches.

A *sharded* channel subdir serves ``repodata_shards.msgpack.zst``, the **shard index**: a
zstd-compressed msgpack map ``{"info": {...}, "shards": {package name: sha256}}``, and one
**shard** per package name at ``<shards_base_url><sha256 hex>.msgpack.zst``: the
``packages``/``packages.conda`` records of that one name (``md5``/``sha256`` as bytes).
Shards are content-addressed, so a cached shard never goes stale: a new build of a package
is a new shard with a new name in a new index. conda-forge's ``linux-64`` index names ~31k
packages; ``python numpy scipy pandas`` reaches about a hundred of them.

conda 26.7 hands a solver whose constructor takes ``build_repodata_subset`` that
callable when ``repodata_use_shards`` is on (the default). plus takes it as conda's "use
shards" switch, reads **conda's own caches** — the shard index next to the cached
``repodata.json`` (``RepodataCache.cache_path_shards``, with conda's ``.info.json`` state:
etag, ``has_shards``, refresh time) and the shards in conda's ``repodata_shards.db`` — and
fetches what is missing with conda's session (auth handlers, proxies, ``channel_settings``).
It does not call conda's traversal, measured on a conda-forge-sized channel (``python=3.12
numpy scipy pandas``, warm): ``build_repodata_subset`` takes 0.4 s and 75 MB, most of it the
two shard indexes parsed into Python dicts (87k names) and per-node bookkeeping; here

- a shard index becomes a :class:`NameLookup` once per index version (sorted names and
  their hashes in one file of plus's cache), so a lookup is a binary search, not a dict of
  every name;
- the subset a request reaches is written as a small ``repodata.json`` per channel subdir
  into plus's cache, recorded under a key of the request's root names and the shard
  indexes' versions (:func:`conda_solver_plus.shard_cache.cached_subsets`): repeating
  a request reads those files and touches no shard at all. The engines then read them
  like any repodata (a :class:`~conda_solver_plus.index.SubdirRepo` each, knowing every
  name its subdir lists), so channel priority, ``channel::pkg``, installed records and
  exclude-newer work exactly as on the monolithic path;
- channel subdirs without shards join the walk (:class:`WholeRepo`, and :class:`SplitFile`
  for a large ``repodata.json`` read through plus's local shard cache,
  :mod:`conda_solver_plus.shard_cache`): a dependency met only through them still brings
  its shards, and the other way round.

The CEP-16 format itself (parsing and checking an index or a shard) is
:mod:`conda_solver_plus.shards`.

Whether a subdir is sharded follows conda's rules (``RepodataState.has_format("shards")``:
a 4xx answer for the index marks the subdir "no shards" for conda's check interval, and
conda's traversal then uses ``repodata.json`` — so does plus). A *shards-only* channel
(``repodata.json`` answers 404) works. Offline nothing touches the network: the index and
shards come from conda's caches, and a shard that is not there is a
:class:`ShardsNotCached` error naming the channel and packages, never an empty package.

Nothing cached is trusted blindly: a shard's bytes must hash to the name it is stored
under, a cached index must decompress and parse, a subset file must match the digest
recorded for it. Online, a damaged entry is fetched again; offline it is an error.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import json
import logging
import struct
import threading
from collections.abc import Callable, Collection, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from ..repodata.cache_files import file_key, keep_cache_file, mark_used, write_cache_file
from ..repodata.model import ChannelRef, SubdirRepo, open_sparse
from ..repodata.shards import (
    MAX_SHARD_INDEX_BYTES,
    SHARD_INDEX_FILENAME,
    DamagedData,
    Shard,
    parse_shard,
    shard_dependencies,
    subset_document,
    zstd_decompress,
)
from ..repodata.subsets import sharded_subsets_dir, write_named_by_hash

if TYPE_CHECKING:
    import sqlite3

log = logging.getLogger(f"conda.{__name__}")

SHARDS_FN = SHARD_INDEX_FILENAME
#: parallel shard downloads (requests' default pool size, as conda uses)
CONNECTIONS = 10


class ShardsUnavailable(Exception):
    """A shard index, shard or subset that cannot be read; the message says which one
    and what to do. The adapter turns it into conda's error."""

    def __init__(self, message: str, *, offline: bool = False) -> None:
        super().__init__(message)
        self.offline = offline


class ShardsNotCached(ShardsUnavailable):
    """Offline, and conda's cache lacks a shard the request reaches."""


# -- the shard index ------------------------------------------------------------------------


class NameLookup:
    """A shard index as sorted names and their shard hashes, stored in one file.

    Layout: ``PLUSIDX1``, the count ``n`` and the length of the ``info`` JSON (two
    little-endian uint32), the ``info`` JSON, ``n + 1`` native uint32 offsets into the
    names blob,
    the names blob (UTF-8, sorted), ``n`` 32-byte hashes, and the sha256 of everything
    before it — so a damaged file is detected, not read.
    """

    MAGIC = b"PLUSIDX1"

    def __init__(self, data: bytes) -> None:
        if len(data) < 48 or data[:8] != self.MAGIC:
            raise ValueError("not a plus shard name lookup")
        body, digest = data[:-32], data[-32:]
        if hashlib.sha256(body).digest() != digest:
            raise ValueError("checksum mismatch")
        count, info_len = struct.unpack_from("<II", body, 8)
        start = 16 + info_len
        self.info: dict[str, Any] = json.loads(body[16:start])
        self._count = count
        self._offsets = memoryview(body)[start : start + 4 * (count + 1)].cast("I")
        names_start = start + 4 * (count + 1)
        self._names = body[names_start : names_start + self._offsets[count]]
        self._hashes = body[names_start + self._offsets[count] :]
        if len(self._hashes) != 32 * count:
            raise ValueError("truncated")

    @classmethod
    def build(cls, index_bytes: bytes) -> bytes:
        """The lookup file for the bytes of a shard index; :class:`DamagedData` when they
        are not one. (Read straight from msgpack: a parsed
        :class:`~conda_solver_plus.shards.ShardIndex` would hex 87k hashes only for them
        to be turned back into bytes here.)"""
        import msgpack

        raw = zstd_decompress(index_bytes, MAX_SHARD_INDEX_BYTES)
        try:
            index = msgpack.unpackb(raw)
        except Exception as exc:
            raise DamagedData(f"not msgpack ({exc})") from None
        shards = index.get("shards") if isinstance(index, dict) else None
        if not isinstance(shards, dict):
            raise DamagedData("not a shard index (no 'shards' map)")
        names = sorted(shards)
        hashes = [shards[name] for name in names]
        if not all(isinstance(h, bytes) and len(h) == 32 for h in hashes):
            raise DamagedData("a shard entry is not a 32-byte sha256")
        encoded = [name.encode() for name in names]
        offsets = [0]
        for name in encoded:
            offsets.append(offsets[-1] + len(name))
        info = index.get("info") if isinstance(index.get("info"), dict) else {}
        info_json = json.dumps(
            {key: value for key, value in info.items() if isinstance(value, str)}
        ).encode()
        body = b"".join(
            [
                cls.MAGIC,
                struct.pack("<II", len(names), len(info_json)),
                info_json,
                # native order: read back with memoryview.cast, on this machine's cache
                struct.pack(f"={len(offsets)}I", *offsets),
                *encoded,
                *hashes,
            ]
        )
        return body + hashlib.sha256(body).digest()

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, position: int) -> bytes:
        return self._names[self._offsets[position] : self._offsets[position + 1]]

    def shard_hash(self, name: str) -> str | None:
        """The hex sha256 of ``name`` 's shard, ``None`` when the index lacks ``name``."""
        key = name.encode()
        position = bisect.bisect_left(self, key)
        if position < self._count and self[position] == key:
            return self._hashes[32 * position : 32 * position + 32].hex()
        return None

    def __contains__(self, name: str) -> bool:
        return self.shard_hash(name) is not None

    def names(self) -> list[str]:
        """Every name, sorted (decoded on demand: a solve only looks names up)."""
        return [self[position].decode() for position in range(self._count)]


@dataclass
class ShardFetch:
    """What the sharded subdirs of one solve share while the reduction walks them:
    conda's shard cache, whether the network may be used, the shards fetched (written to
    conda's cache in one transaction) and, offline, the shards the cache lacks."""

    offline: bool
    store: ShardStore = field(default_factory=lambda: shard_store())
    #: ``depends`` entry -> package name, shared by every shard of the walk
    spec_names: dict[str, str] = field(default_factory=dict)
    fetched: list[tuple[str, str, bytes]] = field(default_factory=list)
    #: offline: per subdir label, the names whose shard conda's cache lacks
    missing: dict[str, list[str]] = field(default_factory=dict)
    _finished: bool = False

    @staticmethod
    def close(fetch: ShardFetch | None) -> None:
        """Close conda's shard cache if a solve opened one."""
        if fetch is not None:
            fetch.store.close()

    def finish(self) -> None:
        """After the walk: keep what was fetched in conda's cache; offline, one
        :class:`ShardsNotCached` naming every shard the cache lacks."""
        if self._finished:
            return
        self._finished = True
        try:
            if self.fetched:
                self.store.put_many(self.fetched)
        finally:
            self.store.close()
        if self.missing:
            lines = [
                f"  {label}: {', '.join(sorted(names))}" for label, names in self.missing.items()
            ]
            raise ShardsNotCached(
                "offline mode: conda's shard cache lacks the repodata shards of\n"
                + "\n".join(lines)
                + "\nrun the command once online (without --offline) to cache them",
                offline=True,
            )


@dataclass
class ShardedSubdir:
    """One channel subdir that serves shards, as this solve sees it."""

    ref: ChannelRef
    subdir: str
    #: URL of ``repodata_shards.msgpack.zst``, credentials included (what conda requests
    #: and what keys its shard cache)
    index_url: str
    #: conda's cached copy of the index
    index_path: Path
    #: the :class:`NameLookup` file of this index version (built when the subdir was
    #: opened, read only when the request's subset is not cached yet)
    lookup_path: Path
    #: fetches one shard URL's bytes (conda's session for this channel)
    get: Callable[[str], bytes] = field(repr=False)
    #: what the shard sources of one solve share: conda's shard cache, offline, what
    #: was fetched and what is missing
    fetch: ShardFetch = field(repr=False)
    #: the shards read so far, by package name
    reached: dict[str, Shard] = field(default_factory=dict, repr=False)

    @property
    def label(self) -> str:
        return f"{self.ref.url}/{self.subdir}"

    @cached_property
    def identity(self) -> str:
        """This index version: conda rewrites the file for every new index."""
        return file_key(self.index_path)

    @cached_property
    def lookup(self) -> NameLookup:
        try:
            return NameLookup(self.lookup_path.read_bytes())
        except (OSError, ValueError) as exc:  # damaged since it was built: build again
            log.debug("rebuilding %s: %s", self.lookup_path, exc)
        try:
            data = NameLookup.build(self.index_path.read_bytes())
        except (OSError, ValueError) as exc:
            raise ShardsUnavailable(
                f"conda's cached shard index {self.index_path} for {self.label} cannot be "
                f"read ({exc}); run `conda clean --index-cache` and try again"
            ) from None
        keep_cache_file(self.lookup_path.parent.parent, self.lookup_path, data)
        return NameLookup(data)

    # -- a source of the reduction (conda_solver_plus.repodata.reduce.Source) --

    @property
    def key(self) -> str:
        """This index version, as the subset manifest knows it."""
        return f"conda-shards:{self.index_url}={self.identity}"

    def has(self, name: str) -> bool:
        return name in self.lookup

    def listed(self) -> frozenset[str]:
        """Every package name the subdir lists ("did you mean", strict priority)."""
        return self._listed

    @cached_property
    def _listed(self) -> frozenset[str]:
        return frozenset(self.lookup.names())

    def dependencies(self, names: Collection[str]) -> dict[str, set[str]]:
        """Read the shards of ``names`` — from conda's shard cache in one query, the rest
        fetched in parallel with conda's session — and return what their records depend
        on. Offline, a shard the cache lacks is noted (:meth:`ShardFetch.finish` names
        them all at once)."""
        urls = {self.shard_url(name): name for name in names if name not in self.reached}
        urls.pop(None, None)
        self._read_cached(urls)
        if not self.fetch.offline:
            self._download({url: name for url, name in urls.items() if name not in self.reached})
        spec_names = self.fetch.spec_names
        return {
            name: shard_dependencies(self.reached[name], spec_names)
            for name in names
            if name in self.reached
        }

    def _read_cached(self, urls: dict[str | None, str]) -> None:
        wanted = [url for url in urls if url is not None]
        cached = self.fetch.store.get_many(wanted) if wanted else {}
        for url in wanted:
            name, blob = urls[url], cached.get(url)
            try:
                if blob is not None:
                    self.reached[name] = parse_shard(blob, shard_digest(url))
                    continue
            except DamagedData as exc:
                log.debug("conda's cached shard %s is damaged: %s", url, exc)
            if self.fetch.offline:
                self.fetch.missing.setdefault(self.label, []).append(
                    name + (" (damaged)" if blob is not None else "")
                )

    def _download(self, urls: dict[str | None, str]) -> None:
        wanted = [url for url in urls if url is not None]
        if not wanted:
            return
        with ThreadPoolExecutor(max_workers=CONNECTIONS) as pool:
            futures = {url: pool.submit(self.get, url) for url in wanted}
            for url, future in futures.items():
                name = urls[url]
                self.reached[name] = self._checked(url, name, future)

    def _checked(self, url: str, name: str, future: Future[bytes]) -> Shard:
        try:
            blob = future.result()
        except Exception as exc:
            raise ShardsUnavailable(
                f"cannot fetch the shard of {name} from {self.label}: {exc}"
            ) from exc
        if not shard_digest_ok(url, blob):
            raise ShardsUnavailable(
                f"the shard of {name} from {self.label} does not match its sha256 "
                "(a truncated or altered download); try again, or tell the channel's "
                "maintainers if it persists"
            )
        try:
            shard = parse_shard(blob, shard_digest(url))
        except DamagedData as exc:
            raise ShardsUnavailable(
                f"the shard of {name} from {self.label} cannot be read ({exc}); its bytes "
                "match their hash, so the channel serves a broken shard: tell the "
                "channel's maintainers"
            ) from None
        self.fetch.fetched.append((url, name, blob))
        return shard

    def write_subset(self, names: set[str], cache_dir: Path) -> Path:
        self.fetch.finish()
        document = subset_document(
            self.subdir, self.base_url, [self.reached[name] for name in sorted(names)]
        )
        return write_named_by_hash(cache_dir, sharded_subsets_dir(cache_dir), document)

    def repo(self, subset: Path | None) -> SubdirRepo:
        assert subset is not None
        # a URL, not a Path: Path("http://host/...") would print as "http:/host/..."
        source = f"{self.label}/{SHARDS_FN}"
        sparse = open_sparse(self.ref, self.subdir, subset, source)
        return SubdirRepo(self.ref, self.subdir, subset, sparse, self.listed)

    @cached_property
    def shards_base_url(self) -> str:
        base = self.lookup.info.get("shards_base_url") or ""
        if base and not base.endswith("/"):
            base += "/"
        return urljoin(self.index_url, base)

    @cached_property
    def base_url(self) -> str:
        """Where the packages are when not beside the index: ``info.base_url`` resolved
        against the index's *clean* URL (a relative one must not carry the channel's
        token into record URLs, which conda prints); empty for the channel subdir
        itself."""
        base = self.lookup.info.get("base_url") or ""
        here = f"{self.label}/"
        joined = urljoin(f"{here}{SHARDS_FN}", base) if base else here
        return "" if joined == here else joined

    def shard_url(self, name: str) -> str | None:
        digest = self.lookup.shard_hash(name)
        return None if digest is None else f"{self.shards_base_url}{digest}.msgpack.zst"


def lookup_path(cache_dir: Path, index_path: Path) -> Path:
    """Where the :class:`NameLookup` of the index at ``index_path``, as it is now, lives in
    plus's cache: ``shards/<index path hash>-<version hash>.names`` (a version is the
    file's :func:`~conda_solver_plus.repodata.cache_files.file_key`: conda rewrites its
    cache files whole), so the versions of one index are found together."""
    place = hashlib.sha256(str(index_path).encode()).hexdigest()[:16]
    version = file_key(index_path)[:16]
    return cache_dir / "shards" / f"{place}-{version}.names"


def build_lookup(index_path: Path, target: Path, cache_dir: Path) -> Path:
    """Write the :class:`NameLookup` of the cached index at ``index_path`` (once per
    index version) and return where it is (a temporary copy when the cache cannot be
    written); ``ValueError`` when the index is damaged. The lookups of the index's older
    versions are removed: conda replaced that index, and each is as large as it (2 MB for
    conda-forge's ``linux-64``), one per version otherwise kept for ever."""
    data = NameLookup.build(index_path.read_bytes())
    written = write_cache_file(cache_dir, target, data)
    place = target.name.partition("-")[0]
    for superseded in target.parent.glob(f"{place}-*.names"):
        if superseded != target:
            with contextlib.suppress(OSError):  # a read-only cache keeps them
                superseded.unlink()
    return written


# -- the shards -----------------------------------------------------------------------------


class ShardStore:
    """conda's shard cache (``repodata_shards.db`` in conda's repodata cache directory):
    compressed shards by URL, shared with conda and conda-libmamba-solver."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        # the reduction reads subdirs in parallel threads: one connection, one at a time
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        import sqlite3  # only when shards are read: a repeated request never opens it

        if self._conn is None:
            try:
                self._conn = self._open()
            except sqlite3.DatabaseError as exc:
                # not a database any more: conda's own shard cache removes it and starts
                # anew (every shard in it can be fetched again), and so does plus
                log.warning(
                    "conda's shard cache %s is damaged (%s): starting anew", self.path, exc
                )
                self.path.unlink(missing_ok=True)
                self._conn = self._open()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        import sqlite3

        conn = sqlite3.connect(self.path.as_uri(), uri=True, timeout=30.0, check_same_thread=False)
        try:
            with conn:
                with contextlib.suppress(sqlite3.OperationalError):  # a read-only cache
                    conn.execute("PRAGMA journal_mode = WAL")
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS shards (url TEXT PRIMARY KEY, package TEXT, "
                    "shard BLOB, timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP)"
                )
        except BaseException:
            conn.close()
            raise
        return conn

    def get_many(self, urls: Sequence[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        with self._lock:
            conn = self._connection()
            for start in range(0, len(urls), 500):  # sqlite's limit on parameters
                chunk = urls[start : start + 500]
                marks = ",".join("?" * len(chunk))
                query = f"SELECT url, shard FROM shards WHERE url IN ({marks})"
                found.update((url, bytes(blob)) for url, blob in conn.execute(query, chunk))
        return found

    def put_many(self, rows: Iterable[tuple[str, str, bytes]]) -> None:
        """``(url, package, compressed shard)`` rows; a damaged row is replaced."""
        with self._lock, self._connection() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO shards (url, package, shard) VALUES (?, ?, ?)", rows
            )

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def shard_digest(url: str) -> str:
    """The sha256 a shard URL names (``.../<sha256>.msgpack.zst``)."""
    return url.rsplit("/", 1)[-1].split(".", 1)[0]


def shard_digest_ok(url: str, blob: bytes) -> bool:
    """Does ``blob`` hash to the sha256 its URL names?"""
    return hashlib.sha256(blob).hexdigest() == shard_digest(url)


# -- conda's cache and session --------------------------------------------------------------


def _load_state(cache: Any) -> None:
    """Read conda's ``.info.json`` for a subdir into ``cache.state`` without conda's
    ``load_state``, which clears the state when ``repodata.json`` is not cached — and a
    shards-only subdir never has one (conda's shard code reads it the same way)."""
    try:
        with cache.lock("r+") as state_file:
            cache.state.update(json.loads(state_file.read()))
    except (FileNotFoundError, json.JSONDecodeError):
        pass


def _most_4xx(status: int) -> bool:
    """conda's rule: a 4xx answer (except 416) for the index means "no shards here"."""
    return 400 <= status < 500 and status != 416


def fetch_index(subdir_data: Any, *, offline: bool, refetch: bool = False) -> Path | None:
    """conda's cached shard index of a ``SubdirData``, fetched or revalidated by conda's
    rules (``has_shards``, ``local_repodata_ttl``, etag); ``None`` when the subdir has no
    shards (or, offline, none cached). ``refetch`` ignores the cached copy (damaged)."""
    cache = subdir_data.repo_fetch.repo_cache
    _load_state(cache)
    if not cache.state.should_check_format("shards"):
        return None
    path = cache.cache_path_shards
    if path.exists() and not refetch and (offline or not cache.stale()):
        return path
    if offline:
        if cache.state.has_format("shards") == (True, None):
            return None  # never asked: conda's monolithic cache (or nothing) it is
        if cache.state.has_format("shards")[0]:
            raise ShardsNotCached(
                f"offline mode: conda's cache has no shard index for "
                f"{subdir_data.url_w_subdir}, a sharded channel subdir; run the command "
                "once online (without --offline) to cache it",
                offline=True,
            )
        return None
    url = f"{subdir_data.url_w_credentials}/{SHARDS_FN}"
    if _download_index(url, cache, conditional=path.exists() and not refetch):
        return path
    return None


def _download_index(url: str, cache: Any, *, conditional: bool) -> bool:
    """GET the index (conditionally when cached) into conda's cache, updating its state as
    conda's own shard code does; ``False`` when the server has none (4xx)."""
    from conda.base.context import context
    from conda.gateways.connection.session import get_session
    from conda.gateways.repodata import (
        CACHE_CONTROL_KEY,
        ETAG_KEY,
        LAST_MODIFIED_KEY,
        URL_KEY,
        conda_http_errors,
    )

    state = cache.state
    headers = {}
    if conditional and state.etag:
        headers["If-None-Match"] = str(state.etag)
    if conditional and state.mod:
        headers["If-Modified-Since"] = str(state.mod)
    session = get_session(url)
    timeout = (context.remote_connect_timeout_secs, context.remote_read_timeout_secs)
    with conda_http_errors(url, SHARDS_FN):
        response = session.get(url, headers=headers, proxies=session.proxies, timeout=timeout)
        if _most_4xx(response.status_code):
            state.set_has_format("shards", False)
            cache.refresh()
            return False
        response.raise_for_status()
    if response.status_code == 304:
        cache.refresh()
        return True
    saved = {URL_KEY: url}
    for header, key in (
        ("Etag", ETAG_KEY),
        ("Last-Modified", LAST_MODIFIED_KEY),
        ("Cache-Control", CACHE_CONTROL_KEY),
    ):
        if response.headers.get(header):
            saved[key] = response.headers[header]
    state.update(saved)
    state.set_has_format("shards", True)
    cache.save(response.content)
    return True


def shard_getter(index_url: str) -> Callable[[str], bytes]:
    """GET one shard with conda's session for the channel (auth, proxies, settings)."""
    from conda.base.context import context
    from conda.gateways.connection.session import get_session

    session = get_session(index_url)
    timeout = (context.remote_connect_timeout_secs, context.remote_read_timeout_secs)

    def get(url: str) -> bytes:
        response = session.get(url, timeout=timeout)
        response.raise_for_status()
        return response.content

    return get


def open_subdir(
    sub: Any, ref: ChannelRef, subdir: str, cache_dir: Path, fetch: ShardFetch
) -> ShardedSubdir | None:
    """The sharded view of one conda subdir ``Channel``, or ``None`` when it has no
    shards. A new index version is checked (parsed) once, into its :class:`NameLookup`;
    a damaged cached index is fetched again (online) or an error naming it (offline)."""
    from conda.core.subdir_data import SubdirData

    offline = fetch.offline

    subdir_data = SubdirData(sub)
    index_path = fetch_index(subdir_data, offline=offline)
    if index_path is None:
        return None
    target = lookup_path(cache_dir, index_path)
    if target.is_file():
        mark_used(target)  # in use: not pruned (shard_cache.prune_subsets)
    else:
        try:
            target = build_lookup(index_path, target, cache_dir)
        except (OSError, ValueError) as exc:
            if offline:
                raise ShardsUnavailable(
                    f"offline mode: conda's cached shard index {index_path} for "
                    f"{ref.url}/{subdir} is damaged ({exc}); run `conda clean --index-cache` "
                    "and the command once online",
                    offline=True,
                ) from None
            log.debug("fetching the damaged shard index %s again: %s", index_path, exc)
            index_path = fetch_index(subdir_data, offline=False, refetch=True)
            if index_path is None:
                return None
            target = lookup_path(cache_dir, index_path)
            try:
                target = build_lookup(index_path, target, cache_dir)
            except (OSError, ValueError) as again:
                raise ShardsUnavailable(
                    f"the shard index of {ref.url}/{subdir} cannot be read ({again}): the "
                    f"channel serves a broken {SHARDS_FN}"
                ) from None
    index_url = f"{subdir_data.url_w_credentials}/{SHARDS_FN}"
    getter = shard_getter(index_url)
    return ShardedSubdir(ref, subdir, index_url, index_path, target, getter, fetch)


def shard_store() -> ShardStore:
    """conda's shard cache database (where conda and conda-libmamba-solver keep shards)."""
    from conda.gateways.repodata import create_cache_dir

    return ShardStore(Path(create_cache_dir()) / "repodata_shards.db")


def cached_repodata_path(subdir_data: Any) -> Path:
    """conda's cached ``repodata.json`` of a ``SubdirData``, fetched or revalidated by
    conda's rules, without reading it when the cache is current.

    conda's ``fetch_latest_path`` reads the whole cached file into a string even when the
    cache is fresh or the server answers 304 (0.3 s and 170 MB for conda-forge's
    ``linux-64``) — only to hand back its path. Here a fresh cache (or offline,
    ``use_index_cache``) is the path as it is, and a stale one is revalidated with conda's
    own repodata interface (etag, ``.zst``): 304 refreshes conda's cache state, a new
    file is written as conda writes it, and a 404 of a platform subdir is cached as the
    empty ``{}``, as ``RepodataFetch.fetch_latest`` does (conda saves it without
    ``Cache-Control``, so it is stale on every later run and asked again each time). A
    cache that does not exist yet, a local ``file://`` channel and anything unusual go
    through ``fetch_latest_path``."""
    from conda.base.constants import REPODATA_FN
    from conda.base.context import context
    from conda.gateways.repodata import (
        RepodataIsEmpty,
        RepodataOnDisk,
        Response304ContentUnchanged,
    )

    fetch = subdir_data.repo_fetch
    cache = fetch.repo_cache
    cache.load_state()
    path = cache.cache_path_json
    if not path.exists() or fetch.url_w_subdir.startswith("file://"):
        return Path(fetch.fetch_latest_path()[0])
    if context.use_index_cache or context.offline or not cache.stale():
        return path
    interface = fetch.repo_interface_cls(
        fetch.url_w_credentials, repodata_fn=fetch.repodata_fn, cache=cache
    )
    try:
        text = interface.repodata(cache.state)
    except RepodataIsEmpty:
        # "this subdir does not exist" (HTTP 404 of a platform subdir; a 404 of noarch is
        # conda's UnavailableInvalidChannel, raised on): empty, as fetch_latest caches it
        if fetch.repodata_fn != REPODATA_FN:
            raise
        cache.save("{}")
        return path
    except Response304ContentUnchanged:
        cache.refresh()
        return path
    except RepodataOnDisk:  # the .zst interface wrote the new file itself
        stat = path.stat()
        cache.state["size"] = stat.st_size
        cache.state["mtime_ns"] = stat.st_mtime_ns
        cache.refresh()
        return path
    if text is None:  # conda's "empty repodata" cases: let conda handle them
        return Path(fetch.fetch_latest_path()[0])
    cache.save(text)
    return path
