"""
Reading CEP-16 sharded channels (:mod:`conda_solver_plus.shards`) over ``http(s)://`` and
``file://``, with a content-addressed cache and an offline mode.

Why a reader of our own rather than py-rattler's ``Gateway`` (which reads sharded repodata
too): the engines take py-rattler ``SparseRepoData`` opened from a repodata *file*, so what
a sharded channel must become is a small ``repodata.json`` of the records a request
reaches — the same thing the local shard cache of monolithic channels produces
(:mod:`conda_solver_plus.shard_cache`), through the same walk. The ``Gateway`` returns
record objects (one list per channel *and* platform: reading only the first silently drops
``noarch``), which would have to be serialised back to JSON, and its cache is its own: it
cannot tell us which file is damaged or keep ``--offline`` from falling back to an empty
channel. Reading CEP-16 is small (msgpack + zstd), and owning it gives every error a file
name and a fix.

The cache, under ``CACHE/shards/``:

- ``index/<url hash>.msgpack.zst`` and ``.state.json`` — a fetched shard index and what the
  server said about it (ETag, Last-Modified, ``Cache-Control: max-age``, the sha256 of the
  bytes): within ``max-age`` the index is used without a request, after it a conditional
  request (304 keeps the cached copy);
- ``blobs/<sha256 hex>.msgpack.zst`` — shards, named by the hash of their bytes, shared by
  every channel. A cached shard whose bytes do not hash to its name is damaged: online it
  is fetched again, offline it is an error naming the file.

``file://`` channels are read in place (nothing is cached but the subset files), with the
same hash checks.
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import functools
import hashlib
import http.client
import json
import logging
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlparse

from .. import progress
from ..exceptions import InvalidInputError
from .cache_files import keep_cache_file, mark_used
from .credentials import is_below, redact_url
from .model import ChannelRef, SubdirRepo, open_sparse
from .shards import (
    SHARD_INDEX_FILENAME,
    DamagedData,
    Shard,
    ShardIndex,
    parse_shard,
    parse_shard_index,
    sha256_hex,
    shard_dependencies,
    subset_document,
)
from .subsets import sharded_subsets_dir, write_named_by_hash

log = logging.getLogger(__name__)

#: concurrent shard downloads per channel (conda's default too)
CONNECTIONS = 10
#: how long a "this subdir has no shards" answer is believed when the server sent no
#: ``Cache-Control`` (conda checks again on a similar clock)
NO_SHARDS_TTL_SECONDS = 3600


class NotSharded(Exception):
    """The subdir has no shard index (404 or similar): read its monolithic repodata."""


class ShardIndexUnavailable(Exception):
    """The server answered a subdir's shard index with an error (5xx), which says nothing
    about whether the subdir is sharded. Its monolithic repodata is read instead — but if
    that is missing (404) too, the subdir is not "absent": a shards-only subdir would be
    left out of the answer. :meth:`error` is the error to raise then."""

    def __init__(self, url: str, status: int) -> None:
        super().__init__(f"{redact_url(url)}: HTTP {status}")
        self.url = url
        self.status = status

    def error(self, channel: ChannelRef, subdir: str) -> InvalidInputError:
        return InvalidInputError(
            f"channel {channel.given}",
            f"could not fetch the shard index {redact_url(self.url)} (HTTP {self.status}), "
            f"and {subdir} has no repodata.json",
            "a server error: try again later, or tell the channel's maintainers if it persists",
        )


@dataclass
class _Response:
    status: int
    body: bytes
    headers: dict[str, str]


def _request_url(channel: ChannelRef, url: str) -> str:
    """``url`` (below the channel's clean URL) as requested: with the channel's token."""
    credentials = channel.credentials
    if credentials is not None and is_below(channel.url, url):
        return credentials.request_url + url[len(channel.url) :]
    return url


class _Download:
    """One GET's time limit, from connecting to the last byte of the body: the socket
    timeout alone bounds each read, so a server sending a byte now and then would hold a
    download for ever. At the deadline a timer shuts the connection's socket down, which
    ends whatever read is waiting."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Download:
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        if expired:
            _shut_down(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut_down(sock)


def _shut_down(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _WatchedConnections:
    """A urllib handler mix-in whose connections hand their socket to a :class:`_Download`."""

    def __init__(self, download: _Download) -> None:
        super().__init__()
        self.download = download

    def do_open(self, http_class, req, **http_conn_args):
        download = self.download

        class Watched(http_class):
            def connect(self) -> None:
                super().connect()
                download.watch(self.sock)

        return super().do_open(Watched, req, **http_conn_args)


class _WatchedHTTP(_WatchedConnections, urllib.request.HTTPHandler):
    pass


class _WatchedHTTPS(_WatchedConnections, urllib.request.HTTPSHandler):
    pass


class _CredentialsStayHome(urllib.request.HTTPRedirectHandler):
    """Follows redirects, dropping the ``Authorization`` header on one that leaves the
    channel (another scheme, host, port or path): urllib would send it anywhere."""

    def __init__(self, channel_url: str) -> None:
        self.channel_url = channel_url

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and not is_below(self.channel_url, new.full_url):
            new.remove_header("Authorization")
        return new


def _get(
    channel: ChannelRef, url: str, limit: int, headers: dict[str, str] | None = None
) -> _Response:
    """One GET of ``url`` (an HTTP error status is a response, not an exception), within
    the fetch time limit (``limit`` seconds) from connecting to the last byte. The
    channel's credentials go only to URLs below the channel
    (:func:`~conda_solver_plus.repodata.credentials.is_below`)."""
    request = urllib.request.Request(_request_url(channel, url), headers=dict(headers or {}))
    request.add_header("User-Agent", "conda-solver-plus")
    basic = channel.credentials.basic_auth if channel.credentials else None
    if basic is not None and is_below(channel.url, url):
        secret = base64.b64encode(":".join(basic).encode()).decode()
        request.add_header("Authorization", f"Basic {secret}")
    with _Download(limit) as download:
        opener = urllib.request.build_opener(
            _WatchedHTTP(download), _WatchedHTTPS(download), _CredentialsStayHome(channel.url)
        )
        try:
            with opener.open(request, timeout=limit) as response:
                status, body = response.status, response.read()
                received = dict(response.headers)
            if not download.expired:  # else the body may be cut short: an error below
                return _Response(status, body, received)
            reason = "timed out"
        except urllib.error.HTTPError as exc:
            if not download.expired:
                return _Response(exc.code, b"", dict(exc.headers or {}))
            reason = "timed out"
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = "timed out" if download.expired else str(getattr(exc, "reason", exc))
    if "timed out" in reason:  # name the limit and the setting that raises it
        raise InvalidInputError(
            f"channel {channel.given}",
            f"could not fetch {redact_url(url)}: timed out after {limit}s "
            "(CONDA_SOLVER_PLUS_FETCH_TIMEOUT, the limit of one whole download)",
            "try again, or raise CONDA_SOLVER_PLUS_FETCH_TIMEOUT for a slow server",
        )
    raise InvalidInputError(
        f"channel {channel.given}",
        f"could not fetch {redact_url(url)} ({reason})",
        "check the URL and your connection, or use --offline with a filled cache",
    )


def _max_age(headers: dict[str, str]) -> int:
    for key, value in headers.items():
        if key.lower() == "cache-control":
            match = re.search(r"max-age=(\d+)", value)
            if match:
                return int(match.group(1))
    return 0


def _header(headers: dict[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def _url_key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:24]


@dataclass
class ShardStore:
    """The content-addressed shard cache and the cached shard indexes (module docstring)."""

    cache_dir: Path

    @property
    def root(self) -> Path:
        return self.cache_dir / "shards"

    def blob_path(self, sha256: str) -> Path:
        return self.root / "blobs" / f"{sha256}.msgpack.zst"

    def write(self, path: Path, data: bytes) -> None:
        """Keep ``path`` for later solves; skipped when the cache cannot be written (this
        solve has the bytes already)."""
        keep_cache_file(self.cache_dir, path, data)

    def index_paths(self, url: str) -> tuple[Path, Path]:
        key = _url_key(url)
        return (
            self.root / "index" / f"{key}.msgpack.zst",
            self.root / "index" / f"{key}.state.json",
        )


def _read_state(path: Path) -> dict[str, Any]:
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _refresh_hint(path: Path) -> str:
    return f"delete {path} and run again online to fetch it again"


@dataclass
class ShardedSubdir:
    """One ``channel/subdir`` read through its shard index (a
    :class:`~conda_solver_plus.shards.ShardSource` of the walk)."""

    channel: ChannelRef
    subdir: str
    #: the URL of ``repodata_shards.msgpack.zst``
    index_url: str
    #: its bytes, parsed on first use (a repeated request needs only their hash)
    index_bytes: bytes
    #: where the index came from and how to refresh it, for errors
    where: str
    hint: str
    store: ShardStore
    offline: bool
    #: seconds for one download, from connecting to the last byte
    timeout: int
    #: the shards read so far, by package name
    loaded: dict[str, Shard] = field(default_factory=dict)
    #: bytes fetched over the network (shards; the index is counted by :func:`open_sharded`)
    fetched_bytes: int = 0

    @property
    def label(self) -> str:
        return f"{self.channel.name}/{self.subdir}"

    @functools.cached_property
    def index(self) -> ShardIndex:
        return _parse_index(self.index_bytes, self.where, self.channel, self.hint)

    @functools.cached_property
    def key(self) -> str:
        """Names this subdir's exact state: the hash of its shard index."""
        return "shards:" + sha256_hex(self.index_bytes)

    def has(self, name: str) -> bool:
        return name in self.index.shards

    def listed(self) -> frozenset[str]:
        return self._names

    @functools.cached_property
    def _names(self) -> frozenset[str]:
        return frozenset(self.index.shards)

    def write_subset(self, names: set[str], cache_dir: Path) -> Path:
        return write_named_by_hash(
            cache_dir, sharded_subsets_dir(cache_dir), self.subset_bytes(names)
        )

    def repo(self, subset: Path | None) -> SubdirRepo:
        assert subset is not None
        sparse = open_sparse(self.channel, self.subdir, subset, self.where)
        return SubdirRepo(self.channel, self.subdir, subset, sparse, self.listed)

    def shard_url(self, name: str) -> str:
        base = urljoin(self.index_url, self.index.shards_base_url or ".")
        if not base.endswith("/"):
            base += "/"
        return f"{base}{self.index.shards[name]}.msgpack.zst"

    def dependencies(self, names: Collection[str]) -> dict[str, set[str]]:
        wanted = [name for name in names if name not in self.loaded]
        if wanted:
            self._load(wanted)
        return {name: shard_dependencies(self.loaded[name]) for name in names}

    def _load(self, names: list[str]) -> None:
        missing = [name for name in names if not self._from_cache(name)]
        if not missing:
            return
        if self.offline and not self.channel.is_local:
            raise InvalidInputError(
                f"channel {self.channel.given}",
                f"offline, and the shards of {', '.join(sorted(missing)[:5])}"
                f"{' ...' if len(missing) > 5 else ''} ({self.subdir}) are not cached",
                "run once without --offline to cache them",
            )
        description = f"Fetching {len(missing)} shards {self.label}"
        with (
            progress.task(description, total=len(missing)) as advance,
            concurrent.futures.ThreadPoolExecutor(CONNECTIONS) as pool,
        ):
            for name, shard in pool.map(self._fetch, missing):
                self.loaded[name] = shard
                advance(1)

    def _from_cache(self, name: str) -> bool:
        """Load ``name``'s shard from the cache (remote channels) if it is there intact."""
        if self.channel.is_local:
            return False
        sha = self.index.shards[name]
        path = self.store.blob_path(sha)
        try:
            data = path.read_bytes()
        except OSError:
            return False
        try:
            self.loaded[name] = parse_shard(data, sha)
            mark_used(path)  # blobs unused for long are pruned (shard_cache.prune_subsets)
        except DamagedData as exc:
            if self.offline:
                raise InvalidInputError(
                    str(path),
                    f"cached shard of {name} from channel {self.channel.given} is damaged ({exc})",
                    _refresh_hint(path),
                ) from None
            log.warning("cached shard %s is damaged (%s): fetching it again", path, exc)
            return False
        return True

    def _fetch(self, name: str) -> tuple[str, Shard]:
        sha = self.index.shards[name]
        url = self.shard_url(name)
        if self.channel.is_local:
            path = Path(unquote(urlparse(url).path))
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise InvalidInputError(
                    str(path),
                    f"shard of {name} is missing ({exc.strerror})",
                    "the shard index names it: re-run `python -m conda_solver_plus shard` "
                    "on the channel",
                ) from None
            return name, self._parse(data, sha, name, str(path))
        response = _get(self.channel, url, self.timeout)
        if response.status != 200:
            raise InvalidInputError(
                f"channel {self.channel.given}",
                f"shard of {name} ({self.subdir}) could not be fetched: HTTP {response.status} "
                f"for {redact_url(url)}",
                "the channel's shard index names a shard it does not serve: try again later "
                "or report it to the channel's maintainers",
            )
        shard = self._parse(response.body, sha, name, redact_url(url))
        self.fetched_bytes += len(response.body)
        self.store.write(self.store.blob_path(sha), response.body)
        return name, shard

    def _parse(self, data: bytes, sha: str, name: str, where: str) -> Shard:
        try:
            return parse_shard(data, sha)
        except DamagedData as exc:
            raise InvalidInputError(
                where,
                f"shard of {name} from channel {self.channel.given} is damaged ({exc})",
                "the channel serves a broken shard: re-run `python -m conda_solver_plus shard` "
                "on it, or report it to its maintainers",
            ) from None

    def subset_bytes(self, names: Iterable[str]) -> bytes:
        """A repodata.json with the records of ``names`` (all loaded)."""
        # packages live elsewhere: an absolute base_url keeps their URLs right
        base_url = urljoin(self.index_url, self.index.base_url) if self.index.base_url else ""
        return subset_document(
            str(self.index.info.get("subdir") or self.subdir),
            base_url,
            [self.loaded[name] for name in sorted(names)],
        )


def _index_url(channel: ChannelRef, subdir: str) -> str:
    return f"{channel.url}/{subdir}/{SHARD_INDEX_FILENAME}"


def _open_local_index(channel: ChannelRef, subdir: str) -> bytes:
    path = channel.local_path / subdir / SHARD_INDEX_FILENAME
    if not path.is_file():
        raise NotSharded(str(path))
    return path.read_bytes()


def _parse_index(data: bytes, where: str, channel: ChannelRef, hint: str) -> ShardIndex:
    try:
        return parse_shard_index(data)
    except DamagedData as exc:
        raise InvalidInputError(
            where, f"shard index of channel {channel.given} is damaged ({exc})", hint
        ) from None


def _cached_index(store: ShardStore, url: str) -> tuple[bytes | None, dict[str, Any]]:
    """The cached index bytes (``None`` if absent or not matching their recorded hash)
    and the state recorded with them."""
    data_path, state_path = store.index_paths(url)
    state = _read_state(state_path)
    try:
        data = data_path.read_bytes()
    except OSError:
        return None, state
    if state.get("sha256") != sha256_hex(data):
        log.warning("cached shard index %s does not match its recorded hash", data_path)
        return None, {**state, "damaged": True}
    return data, state


def _cached_answer(
    channel: ChannelRef,
    subdir: str,
    data: bytes | None,
    state: dict[str, Any],
    data_path: Path,
    offline: bool,
) -> bytes | None:
    """The cached index while it is fresh (or offline); :class:`NotSharded` while a "no
    shards" answer is, or offline with nothing cached; ``None``: ask the server."""
    url = _index_url(channel, subdir)
    age = time.time() - float(state.get("checked", 0))
    fresh = offline or age < state.get("max_age", 0)
    if state.get("has_shards") is False and fresh:
        raise NotSharded(url)
    if data is not None and fresh:
        return data
    if not offline:
        return None
    if state.get("damaged"):
        raise InvalidInputError(
            str(data_path),
            f"cached shard index of channel {channel.given} ({subdir}) is damaged",
            _refresh_hint(data_path),
        )
    raise NotSharded(url)  # nothing cached: the monolithic cache may still answer


def _remote_index(
    channel: ChannelRef, subdir: str, store: ShardStore, offline: bool, timeout: int
) -> bytes:
    """The shard index of a remote subdir: from the cache while fresh (or offline), else
    fetched with a conditional request. :class:`NotSharded` when the server has none."""
    url = _index_url(channel, subdir)
    data_path, state_path = store.index_paths(url)
    data, state = _cached_index(store, url)
    cached = _cached_answer(channel, subdir, data, state, data_path, offline)
    if cached is not None:
        return cached
    headers = {}
    if data is not None:
        headers = {
            header: state[key]
            for header, key in (("If-None-Match", "etag"), ("If-Modified-Since", "last_modified"))
            if state.get(key)
        }
    response = _get(channel, url, timeout, headers)
    now = time.time()
    if response.status == 304 and data is not None:
        store.write(state_path, json.dumps({**state, "checked": now}).encode())
        return data
    if 400 <= response.status < 500:
        # no shards here (remembered for a while): read repodata.json
        max_age = _max_age(response.headers) or NO_SHARDS_TTL_SECONDS
        no_shards = {"has_shards": False, "checked": now, "max_age": max_age}
        store.write(state_path, json.dumps(no_shards).encode())
        raise NotSharded(url)
    if response.status != 200:
        # a server error: try the monolithic repodata now, shards again next time
        raise ShardIndexUnavailable(url, response.status)
    try:  # never cache what the server sent broken
        parse_shard_index(response.body)
    except DamagedData as exc:
        raise InvalidInputError(
            redact_url(url),
            f"shard index of channel {channel.given} ({subdir}) is damaged as served ({exc})",
            "try again later or report it to the channel's maintainers",
        ) from None
    new_state = {
        "url": redact_url(url),
        "has_shards": True,
        "checked": now,
        "max_age": _max_age(response.headers),
        "etag": _header(response.headers, "ETag"),
        "last_modified": _header(response.headers, "Last-Modified"),
        "sha256": sha256_hex(response.body),
        "size": len(response.body),
    }
    store.write(data_path, response.body)
    store.write(state_path, json.dumps(new_state).encode())
    return response.body


def open_sharded(
    channel: ChannelRef, subdir: str, cache_dir: Path, offline: bool, timeout: int
) -> ShardedSubdir | None:
    """``channel/subdir`` as a sharded source, or ``None`` when it has no shard index (the
    caller reads its monolithic repodata instead). :class:`ShardIndexUnavailable` when the
    server failed to answer for the index (the caller reads the monolithic repodata, which
    must then exist)."""
    store = ShardStore(cache_dir)
    url = _index_url(channel, subdir)
    try:
        if channel.is_local:
            data = _open_local_index(channel, subdir)
            where, hint = (
                str(channel.local_path / subdir / SHARD_INDEX_FILENAME),
                ("re-run `python -m conda_solver_plus shard` on the channel"),
            )
        else:
            data = _remote_index(channel, subdir, store, offline, timeout)
            where, hint = redact_url(url), _refresh_hint(store.index_paths(url)[0])
    except NotSharded:
        return None
    return ShardedSubdir(channel, subdir, url, data, where, hint, store, offline, timeout)
