"""
The index: which packages the channels offer, loaded for an engine.

A *channel* is a directory tree (local, ``file://`` or ``http(s)://``) with one folder per
*subdir* (platform: ``linux-64``, ``osx-arm64``, ... plus the platform-independent
``noarch``). Each subdir holds a ``repodata.json`` listing every package file with its
metadata, under ``packages`` (``.tar.bz2``) and ``packages.conda`` (``.conda``); servers
usually also offer ``repodata.json.zst``.

Loading is *lazy*: a subdir becomes a py-rattler ``SparseRepoData``, which memory-maps the
JSON and only parses the records of package names the solver actually reaches. A request
touching 40 names therefore parses a few thousand records, not conda-forge's 460k.

- local directories and ``file://`` URLs are read in place; a subdir that only has
  ``repodata.json.zst``/``.bz2`` is decompressed once into the cache directory;
- ``http(s)://`` channels are fetched through py-rattler (conditional requests, ``.zst``,
  an on-disk cache under the cache directory with file locks, and an offline mode that
  never touches the network);
- a name like ``conda-forge`` is a channel under the channel alias
  (``https://conda.anaconda.org/``);
- a private channel's credentials — a token (``https://host/t/TOKEN/channel``) or basic
  auth (``https://user:password@host/channel``) — are split off the URL when it is resolved
  (:mod:`conda_solver_plus.credentials`): the channel, its records and its cache are known
  by the clean URL, and only the repodata requests carry the credentials (the token through
  a py-rattler mirror of the clean URL, the password as an ``Authorization`` header).

The order of :attr:`Index.repos` is the channel priority order: under *strict* priority a
package name found in an earlier channel is never taken from a later one. Channels that
belong to one conda *multichannel* (``defaults`` = ``pkgs/main`` + ``pkgs/r``, or a
``custom_multichannels`` entry in ``.condarc``) form one priority *tier*
(:meth:`Index.priority_tiers`): a name found in the first member may still come from a
later member when only that one has a fitting version, as conda-libmamba-solver does.
"""

from __future__ import annotations

import asyncio
import bz2
import contextlib
import fnmatch
import functools
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast
from urllib.parse import quote, unquote, urlparse

from rattler import Channel, ChannelConfig, SparseRepoData

from . import progress, rattler_async, shard_cache
from .cache_files import atomic_write, mark_used, temporary_cache, write_cache_file
from .credentials import ChannelCredentials, redact_text, redact_url, split_credentials
from .exceptions import InvalidInputError
from .records import (
    DEFAULT_CHANNEL_ALIAS,
    canonical_channel_name,
    dependency_name,
    dependency_names,
    short_channel_name,
)
from .settings import default_cache_dir, fetch_timeout
from .sharded_channel import ShardedSubdir, ShardIndexUnavailable, open_sharded, subset_files
from .shards import walk

log = logging.getLogger(__name__)

REPODATA_FILENAMES = ("repodata.json", "repodata.json.zst", "repodata.json.bz2")


@dataclass(frozen=True)
class ChannelRef:
    """A channel as the user named it, resolved to where it is served from."""

    given: str
    #: base URL without subdir and without a trailing slash
    url: str
    #: conda's canonical name (``conda-forge`` or the URL for custom channels)
    name: str
    #: the conda multichannel this channel is a member of (``defaults``, a
    #: ``custom_multichannels`` name); consecutive members share one priority tier
    multichannel: str | None = None
    #: a private channel's token or basic auth, split off ``url``; only fetching uses it
    credentials: ChannelCredentials | None = field(default=None, repr=False, compare=False)

    @property
    def is_local(self) -> bool:
        return self.url.startswith("file://")

    @property
    def local_path(self) -> Path:
        return Path(unquote(urlparse(self.url).path))

    @property
    def short_name(self) -> str:
        return short_channel_name(self.url)

    def rattler_channel(self) -> Channel:
        return Channel(self.url + "/", ChannelConfig(DEFAULT_CHANNEL_ALIAS, "/"))


#: what conda's ``is_path`` accepts as the start of a path: ``./``, ``..``, ``~``, ``/``,
#: a drive letter, a UNC path (conda.common.path.PATH_MATCH_REGEX)
_PATH_START = re.compile(r"\./|\.\.|~|/|[a-zA-Z]:[/\\]|\\\\|//")


def looks_like_path(text: str) -> bool:
    """Is ``text`` a filesystem path by its spelling alone (the way conda decides)?

    ``conda-forge/label/dev`` is not: a ``/`` inside a name is a channel *label*.
    """
    return "://" not in text and (text == "." or _PATH_START.match(text) is not None)


def _has_separator(text: str) -> bool:
    return os.sep in text or (os.altsep is not None and os.altsep in text)


def resolve_channel(
    text: str | os.PathLike, channel_alias: str = DEFAULT_CHANNEL_ALIAS
) -> ChannelRef:
    """Turn a channel as written by a user into a :class:`ChannelRef`.

    Like conda: a URL is a URL; text spelled like a path (``./x``, ``../x``, ``~/x``,
    ``/x``) is a local directory; anything else is a channel *name* under the channel
    alias, labels included (``conda-forge/label/dev`` ->
    ``https://conda.anaconda.org/conda-forge/label/dev``). One convenience on top of
    conda: a relative path with a separator that names an existing directory
    (``tests/data/demo-channel``) is read as that directory, since that is evidently what
    the user means. A bare name (``pytorch``) is always a channel name, even when a
    directory of that name happens to be in the working directory.
    """
    if isinstance(text, os.PathLike):
        text = str(Path(text).resolve())
    # the channel as messages name it: a token masked, user and password dropped
    given = redact_url(text)
    text = text.strip().rstrip("/")
    if not text:
        raise InvalidInputError("channel ''", "empty channel name")
    credentials = None
    if text.startswith("file://"):
        path = Path(unquote(urlparse(text).path))
        url = "file://" + quote(str(path))
    elif "://" in text:
        url, credentials = split_credentials(text)
    elif looks_like_path(text) or (_has_separator(text) and Path(text).is_dir()):
        path = Path(text).expanduser().resolve()
        url = "file://" + quote(str(path))
    else:  # a name, possibly with a label: conda-forge, conda-forge/label/dev
        url = channel_alias.rstrip("/") + "/" + text
    return ChannelRef(
        given=given,
        url=url,
        name=canonical_channel_name(url, channel_alias),
        credentials=credentials,
    )


class CheckedSparseRepoData(SparseRepoData):
    """py-rattler's ``SparseRepoData`` whose lazy record parsing fails with an
    :class:`InvalidInputError` naming the repodata, not a bare ``OSError``.

    Records are parsed only when first asked for, so a malformed entry (``"version": 1.0``)
    surfaces long after loading, wherever the core first reads that package name.
    """

    #: the file or ``channel/subdir`` named in errors
    source: str = "repodata"

    @classmethod
    def wrap(cls, sparse: SparseRepoData, source: str) -> CheckedSparseRepoData:
        # py-rattler's constructor of the class it is called on, typed as the base class
        checked = cast(CheckedSparseRepoData, cls._from_py_sparse_repo_data(sparse._sparse))
        checked.source = source
        return checked

    def _malformed(self, exc: Exception) -> InvalidInputError:
        return InvalidInputError(
            self.source,
            f"malformed repodata ({exc})",
            "re-index the channel (conda index) or fix the file",
        )

    def load_records(self, *args, **kwargs):
        try:
            return super().load_records(*args, **kwargs)
        except OSError as exc:
            raise self._malformed(exc) from None

    def load_matching_records(self, *args, **kwargs):
        try:
            return super().load_matching_records(*args, **kwargs)
        except OSError as exc:
            raise self._malformed(exc) from None


@dataclass
class SubdirRepo:
    """One loaded ``channel/subdir``."""

    channel: ChannelRef
    subdir: str
    path: Path
    sparse: SparseRepoData
    #: every package name the channel lists here, when ``sparse`` holds only the records a
    #: request reaches (a sharded channel, the shard cache): "did you mean" and strict
    #: channel priority need all of them
    listed: Callable[[], Iterable[str]] | None = field(default=None, repr=False, compare=False)
    #: the repodata file py-rattler cached for a remote channel (``path`` is its cache
    #: directory), when it could be found
    cached_file: Path | None = field(default=None, repr=False, compare=False)

    @property
    def repodata_file(self) -> Path | None:
        """The monolithic repodata file this repo reads, if it has one."""
        return self.cached_file or (self.path if self.path.is_file() else None)

    @property
    def label(self) -> str:
        return f"{self.channel.name}/{self.subdir}"

    def served_from(self, path: Path) -> SubdirRepo:
        """The same ``channel/subdir`` served from another repodata file: how an index
        transform (:mod:`conda_solver_plus.solving.transforms`) hands the engine derived
        repodata. Errors about the new file still name this repo's own file."""
        return SubdirRepo(
            self.channel,
            self.subdir,
            path,
            open_sparse(self.channel, self.subdir, path, self.path),
            self.listed,
        )

    @functools.cached_property
    def names(self) -> frozenset[str]:
        """The package names this repo lists, computed once: py-rattler builds the list
        anew on every ``package_names()`` call (60 ms for a conda-forge-sized subdir).
        For a subset (:attr:`listed`), every name of the channel's subdir."""
        if self.listed is not None:
            return frozenset(self.listed())
        return frozenset(self.sparse.package_names())


@dataclass
class Index:
    """Channels x subdirs, loaded lazily, in priority order."""

    channels: list[ChannelRef]
    subdirs: list[str]
    repos: list[SubdirRepo] = field(default_factory=list)

    def package_names(self) -> set[str]:
        names: set[str] = set()
        for repo in self.repos:
            names.update(repo.names)
        return names

    def channel_for_url(self, url: str) -> ChannelRef | None:
        url = url.rstrip("/")
        for channel in self.channels:
            if url == channel.url or url.startswith(channel.url + "/"):
                return channel
        return None

    def priority_tiers(self) -> list[list[ChannelRef]]:
        """The channels grouped by priority, highest first: each channel is its own tier
        except consecutive members of one multichannel, which share theirs (the way
        conda-libmamba-solver gives them one libsolv priority)."""
        tiers: list[list[ChannelRef]] = []
        for channel in self.channels:
            previous = tiers[-1][-1] if tiers else None
            if (
                previous is not None
                and channel.multichannel is not None
                and channel.multichannel == previous.multichannel
            ):
                tiers[-1].append(channel)
            else:
                tiers.append([channel])
        return tiers

    def priority_rank(self, channel: ChannelRef) -> int:
        """The position of ``channel`` 's tier in :meth:`priority_tiers` (0 is highest)."""
        for rank, tier in enumerate(self.priority_tiers()):
            if channel in tier:
                return rank
        raise ValueError(f"{channel.url} is not a channel of this index")

    def find_channel(self, name: str) -> ChannelRef | None:
        """A loaded channel by URL, canonical name or short name (``channel-1``)."""
        name = name.rstrip("/")
        for channel in self.channels:
            if name in (channel.url, channel.name, channel.given.rstrip("/")):
                return channel
        for channel in self.channels:
            if name == channel.short_name:
                return channel
        return None


def _decompressed(source: Path, cache_dir: Path) -> Path:
    """A ``repodata.json`` decompressed from ``source`` (``.zst``/``.bz2``), cached by
    path, size and mtime."""
    stat = source.stat()
    key = hashlib.sha256(f"{source}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:20]
    target = cache_dir / "decompressed" / f"{key}.json"
    if target.exists():
        mark_used(target)  # pruned when unused (shard_cache.prune_subsets)
        return target
    raw = source.read_bytes()
    try:
        if source.suffix == ".zst":
            import zstandard

            decompressor = zstandard.ZstdDecompressor().decompressobj()
            data = decompressor.decompress(raw)
            if not decompressor.eof:  # zstandard returns what it got from a cut-off frame
                raise ValueError("the zstd frame is truncated")
        else:
            data = bz2.decompress(raw)
    except Exception as exc:
        raise InvalidInputError(
            str(source),
            f"cannot decompress repodata ({exc})",
            "re-index the channel or remove the corrupt file",
        ) from None
    return write_cache_file(cache_dir, target, data)


def open_sparse(
    channel: ChannelRef, subdir: str, path: Path, source: Path | str | None = None
) -> SparseRepoData:
    """Open the repodata file ``path`` lazily for ``channel``/``subdir``; errors name
    ``source`` (the channel's own file or URL, when ``path`` was decompressed or derived
    from it), defaulting to ``path`` itself."""
    source = source or path
    try:
        sparse = SparseRepoData(channel.rattler_channel(), subdir, str(path))
    except Exception as exc:
        raise InvalidInputError(
            str(source),
            f"not valid repodata JSON ({exc})",
            "re-index the channel (conda index) or fix the file",
        ) from None
    return CheckedSparseRepoData.wrap(sparse, str(source))


def _check_local_root(channel: ChannelRef) -> None:
    root = channel.local_path
    if not root.is_dir():
        raise InvalidInputError(
            f"channel {channel.given}",
            f"directory {root} does not exist" if not root.exists() else f"{root} is a file",
            "check the path, or create the channel with conda index",
        )


@dataclass(frozen=True)
class LargeFile:
    """A large local monolithic repodata file that a request with roots reads through the
    shard cache: it is never opened whole (py-rattler would scan all of it)."""

    channel: ChannelRef
    subdir: str
    #: the ``repodata.json`` (decompressed into the cache when the channel has only .zst)
    path: Path
    #: the channel's own file, named in errors
    source: Path


def _load_local(
    channel: ChannelRef,
    subdirs: list[str],
    cache_dir: Path,
    required: bool = True,
    defer_large: bool = False,
) -> list[SubdirRepo | LargeFile]:
    """The monolithic repodata of ``subdirs``; with ``required``, a channel with none of
    them is an error (a channel whose other subdirs are sharded is not). With
    ``defer_large``, large files come back as :class:`LargeFile`, unopened."""
    root = channel.local_path
    repos: list[SubdirRepo | LargeFile] = []
    for subdir in subdirs:
        for filename in REPODATA_FILENAMES:
            candidate = root / subdir / filename
            if candidate.is_file():
                break
            if candidate.exists():  # a directory (or socket...) where the file belongs
                raise InvalidInputError(
                    str(candidate), "is not a file", "re-index the channel (conda index)"
                )
        else:
            continue
        if not os.access(candidate, os.R_OK):
            raise InvalidInputError(str(candidate), "repodata is not readable (permissions)")
        path = candidate if filename == "repodata.json" else _decompressed(candidate, cache_dir)
        if defer_large and shard_cache.worth_splitting(path):
            repos.append(LargeFile(channel, subdir, path, candidate))
            continue
        sparse = open_sparse(channel, subdir, path, source=candidate)
        repos.append(SubdirRepo(channel, subdir, path, sparse))
    if not repos and required:
        raise InvalidInputError(
            f"channel {channel.given}",
            f"no repodata.json under {root} for subdirs {', '.join(subdirs)}",
            "is this a conda channel? run conda index on it, or check --subdir",
        )
    return repos


class ChannelClients:
    """py-rattler HTTP clients for fetching channels: one per private channel, carrying
    only that channel's credentials, and one without any for the others.

    - a token: a mirror of the clean URL at the URL with the token, so requests go to
      ``/t/TOKEN/...`` but records, cache files and errors name the clean URL (py-rattler
      keeps a ``user:password@`` mirror's user info out of the request, hence the header);
    - basic auth: an ``Authorization: Basic`` header on requests below the channel's path.

    Why a client per channel: py-rattler's header callback is told the host and path of a
    request, not its scheme or port, so with one shared client the password of
    ``https://host/chan`` would also go to ``http://host/chan`` or ``https://host:8443/chan``
    of another channel. A channel's own client only ever requests that channel's URLs
    (redirects are followed below the middleware, and drop the header when they leave the
    origin).
    """

    def __init__(self, channels: list[ChannelRef], timeout: int) -> None:
        #: the time limit of one repodata download (:func:`_fetch_one` holds py-rattler to it)
        self.timeout = timeout
        self._public: object | None = None
        self._private = {
            channel.url: _private_client(channel, timeout)
            for channel in channels
            if channel.credentials is not None
        }

    def for_channel(self, channel: ChannelRef):
        client = self._private.get(channel.url)
        if client is not None:
            return client
        if self._public is None:
            from rattler import Client

            self._public = Client(None, timeout=self.timeout)
        return self._public


class DownloadTimedOut(Exception):
    """A repodata download went past the fetch time limit (not an ``OSError``: nothing
    about the channel's files or the disk is known to be wrong)."""


def _private_client(channel: ChannelRef, timeout: int):
    """A py-rattler client for ``channel`` alone, with its credentials (see
    :class:`ChannelClients`)."""
    import base64

    from rattler import Client
    from rattler.networking import AddHeadersMiddleware, MirrorMiddleware

    credentials = channel.credentials
    assert credentials is not None
    middlewares: list = []
    if credentials.token:  # first: the header callback then sees the path requested
        middlewares.append(MirrorMiddleware({channel.url + "/": [credentials.request_url + "/"]}))
    if credentials.basic_auth:
        secret = base64.b64encode(":".join(credentials.basic_auth).encode()).decode()
        target = urlparse(credentials.request_url)
        host, prefix = target.hostname or "", target.path.rstrip("/") + "/"
        header = {"Authorization": f"Basic {secret}"}

        def add_headers(requested_host: str, path: str) -> dict[str, str] | None:
            return header if requested_host == host and path.startswith(prefix) else None

        middlewares.append(AddHeadersMiddleware(add_headers))
    return Client(middlewares or None, timeout=timeout)


async def _fetch_one(
    channel: ChannelRef, subdir: str, cache: Path, offline: bool, clients: ChannelClients
):
    """One subdir's repodata through py-rattler, within the fetch time limit.

    py-rattler's client limit is per *attempt* and it retries a failed download with a
    back-off: a server sending a byte now and then held a 2 s limit for 13 s. The limit is
    for the whole download, so it is enforced here around all of it."""
    from rattler import Subdir, fetch_repo_data
    from rattler.networking import FetchRepoDataOptions

    options = FetchRepoDataOptions(
        cache_action="force-cache-only" if offline else "cache-or-fetch"
    )
    fetch = fetch_repo_data(
        channels=[channel.rattler_channel()],
        platforms=[Subdir(subdir)],
        cache_path=str(cache),
        callback=None,
        client=clients.for_channel(channel),
        fetch_options=options,
    )
    try:
        result = await asyncio.wait_for(fetch, timeout=clients.timeout)
    except asyncio.TimeoutError:
        # "timed out": the caller names the URL, the limit and the setting that raises it
        raise DownloadTimedOut("the download timed out") from None
    return result[0]


def _rattler_cache_file(cache: Path, channel: ChannelRef, subdir: str) -> Path | None:
    """The ``repodata.json`` py-rattler cached for ``channel/subdir`` (found by the URL its
    ``.info.json`` records), or ``None``."""
    bases = [channel.url]
    if channel.credentials is not None:
        bases.append(channel.credentials.request_url)
    # py-rattler records the URL it downloaded: repodata.json.zst where the server has one
    wanted = {
        f"{base}/{subdir}/repodata.json{suffix}" for base in bases for suffix in ("", ".zst")
    }
    for info_path in cache.glob("*.info.json"):
        try:
            info = json.loads(info_path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(info, dict) and info.get("url") in wanted:
            return info_path.with_name(info_path.name.removesuffix(".info.json") + ".json")
    return None


def _cached_repodata_problem(path: Path) -> str | None:
    """Why py-rattler's cached ``path`` cannot be trusted (``None``: it can): it must have
    the size and BLAKE2b hash its ``.info.json`` recorded when it was downloaded. A file
    that passed is remembered by its size, mtime and inode (``.verified``), so a warm
    solve hashes nothing."""
    info_path = path.with_name(path.name.removesuffix(".json") + ".info.json")
    memo = path.with_name(path.name + ".verified")
    try:
        stat = path.stat()
        info = json.loads(info_path.read_text())
    except (OSError, ValueError) as exc:
        return f"unreadable ({exc})"
    seen = f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ino}:{info.get('blake2_hash')}"
    with contextlib.suppress(OSError):
        if memo.read_text() == seen:
            return None
    if info.get("size") is not None and stat.st_size != info["size"]:
        return f"{stat.st_size} bytes where {info['size']} were downloaded"
    expected = info.get("blake2_hash")
    if expected:
        hasher = hashlib.blake2b(digest_size=32)
        try:
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    hasher.update(block)
        except OSError as exc:  # removed or replaced since the stat above
            return f"unreadable ({exc})"
        if hasher.hexdigest() != expected:
            return "its content does not match the hash recorded when it was downloaded"
    with contextlib.suppress(OSError):
        atomic_write(memo, seen.encode())
    return None


def _forget_cached(path: Path) -> None:
    for stale in (path, path.with_name(path.name.removesuffix(".json") + ".info.json")):
        stale.unlink(missing_ok=True)


def _fetch_pairs(pairs, cache: Path, offline: bool, clients: ChannelClients) -> list:
    description = f"Fetching repodata ({len(pairs)} subdirs)"
    with progress.task(description, total=len(pairs)) as advance:

        async def fetch_and_count(channel: ChannelRef, subdir: str):
            try:
                return await _fetch_one(channel, subdir, cache, offline, clients)
            finally:
                advance(1)

        async def fetch_all():
            return await asyncio.gather(
                *(fetch_and_count(channel, subdir) for channel, subdir in pairs),
                return_exceptions=True,
            )

        return rattler_async.run(fetch_all())


def _check_fetched(pairs, results, cache: Path, offline: bool, clients: ChannelClients) -> list:
    """Caches never lie: a cached repodata file that is truncated or changed since it was
    downloaded is fetched again online; offline it is one clear error naming the file."""
    damaged = []
    for position, (channel, subdir) in enumerate(pairs):
        # a failed pair too: py-rattler refuses a cached file that is not JSON, which
        # would otherwise drop the subdir as if the channel did not have it
        path = _rattler_cache_file(cache, channel, subdir)
        problem = _cached_repodata_problem(path) if path is not None else None
        if path is None or problem is None:
            continue
        if offline:
            raise InvalidInputError(
                str(path),
                f"cached repodata of channel {channel.given} ({subdir}) is damaged: {problem}",
                f"delete {path} and run again without --offline to fetch it again",
            )
        log.warning("cached repodata %s is damaged (%s): fetching it again", path, problem)
        _forget_cached(path)
        damaged.append(position)
    if damaged:
        again = _fetch_pairs([pairs[i] for i in damaged], cache, offline, clients)
        results = list(results)
        for position, result in zip(damaged, again, strict=True):
            results[position] = result
    return results


def _rattler_cache_dir(cache_dir: Path) -> Path:
    """The directory py-rattler caches fetched repodata in: ``<cache>/repodata``, or, where
    that cannot be written (a read-only or full file system: py-rattler writes lock files
    even to read), a temporary stand-in holding links to what it already has — a warm
    read-only cache is read, a cold one is fetched into the stand-in and not kept."""
    cache = cache_dir / "repodata"
    try:
        cache.mkdir(parents=True, exist_ok=True)
        probe, name = tempfile.mkstemp(dir=cache, prefix=".writable-")
        os.close(probe)
        os.unlink(name)
        return cache
    except OSError as exc:
        stand_in = temporary_cache(cache_dir, exc) / "repodata"
    stand_in.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        for cached in cache.iterdir():
            copy = stand_in / cached.name
            if not cached.is_file() or cached.name.endswith(".lock") or copy.exists():
                continue
            if cached.name.endswith(".info.json"):  # py-rattler rewrites it in place
                shutil.copyfile(cached, copy)
            else:  # the repodata itself, only ever replaced
                copy.symlink_to(cached)
    return stand_in


def _load_remote(
    pairs: list[tuple[ChannelRef, str]],
    cache_dir: Path,
    offline: bool,
    has_shards: frozenset[str] | set[str] = frozenset(),
    index_failed: dict[tuple[str, str], ShardIndexUnavailable] | None = None,
) -> dict[str, list[SubdirRepo]]:
    """The monolithic repodata of remote ``(channel, subdir)`` pairs through py-rattler, by
    channel URL. A subdir answering 404 is absent (:func:`_subdir_absent`) unless its shard
    index failed too (``index_failed``, by URL and subdir); any other failure is an error,
    and so is a channel none of whose pairs could be read, unless it is in ``has_shards``
    (its other subdirs are sharded)."""
    cache = _rattler_cache_dir(cache_dir)
    channels = list(dict.fromkeys(channel for channel, _subdir in pairs))
    timeout = fetch_timeout()
    clients = ChannelClients(channels, timeout)
    results = _fetch_pairs(pairs, cache, offline, clients)
    results = _check_fetched(pairs, results, cache, offline, clients)
    loaded: dict[str, list[SubdirRepo]] = {channel.url: [] for channel in channels}
    errors: dict[str, list[str]] = {channel.url: [] for channel in channels}
    for (channel, subdir), result in zip(pairs, results, strict=True):
        if isinstance(result, BaseException):
            # a network error quotes the URL it requested: a private channel's token is in it
            lines = redact_text(str(result)).strip().splitlines() or [type(result).__name__]
            reason = lines[-1].strip().removeprefix("Caused by: ")
            if "timed out" in reason:
                reason += f" after {timeout}s (CONDA_SOLVER_PLUS_FETCH_TIMEOUT)"
            log.debug("fetching %s/%s failed: %s", channel.url, subdir, redact_text(str(result)))
            if not _subdir_absent(result, offline):
                raise _fetch_failed(channel, subdir, result, reason)
            if index_failed and (channel.url, subdir) in index_failed:
                raise index_failed[(channel.url, subdir)].error(channel, subdir)
            errors[channel.url].append(f"{subdir}: {reason}")
            continue
        sparse = CheckedSparseRepoData.wrap(result, f"{channel.url}/{subdir}/repodata.json")
        repo = SubdirRepo(channel, subdir, cache, sparse)
        repo.cached_file = _rattler_cache_file(cache, channel, subdir)
        loaded[channel.url].append(repo)
    for channel in channels:
        if not loaded[channel.url] and channel.url not in has_shards:
            what = "no cached repodata (offline mode)" if offline else "could not fetch repodata"
            raise InvalidInputError(
                f"channel {channel.given}",
                f"{what}: {'; '.join(errors[channel.url])}",
                _fetch_hint(errors[channel.url]),
            )
    return loaded


def _subdir_absent(failure: BaseException, offline: bool) -> bool:
    """Does py-rattler's ``failure`` to read one subdir's repodata mean the subdir does not
    exist — the one failure a channel may have (most channels lack some platforms, and
    private ones often have only ``noarch``)? That is an HTTP 404 ("repodata not found")
    and, offline, a subdir with nothing cached (as conda reads an uncached subdir offline).
    Anything else — a server error, a refusal, a timeout, a body that does not decompress
    or parse, a full disk — leaves the channel's packages unknown: a solve without them
    would be a wrong answer, so it is an error (:func:`_fetch_failed`)."""
    first_line = str(failure).strip().partition("\n")[0]
    if first_line.startswith("repodata not found"):
        return True
    return offline and first_line.startswith("no usable repodata cache")


def _fetch_failed(
    channel: ChannelRef, subdir: str, failure: BaseException, reason: str
) -> InvalidInputError:
    """The error for a subdir that exists but could not be read (not :func:`_subdir_absent`),
    naming its URL (without credentials) and what to do."""
    problem = f"could not fetch repodata from {channel.url}/{subdir}/repodata.json"
    if isinstance(failure, OSError) and "No space left" not in reason:
        # py-rattler fetched it, and it does not parse: the channel serves broken repodata
        return InvalidInputError(
            f"channel {channel.given}",
            f"{problem}: what the server sent is not valid repodata ({reason})",
            "try again later, or tell the channel's maintainers if it persists; a solve "
            f"never leaves out the {subdir} of a channel",
        )
    return InvalidInputError(
        f"channel {channel.given}", f"{problem}: {reason}", _fetch_hint([reason])
    )


def _fetch_hint(reasons: list[str]) -> str:
    """What to check when a channel could not be fetched: its credentials when the server
    refused them (HTTP 401/403, as conda's own hints say), the cache's disk when it is full,
    the time limit after a timeout, else the URL and connection."""
    if any(re.search(r"\b40[13]\b", reason) for reason in reasons):
        return (
            "the server refused the request: check the channel's token (/t/TOKEN/) or "
            "user:password@ in its URL"
        )
    if any("No space left" in reason or "os error 28" in reason for reason in reasons):
        return (
            "the disk of the cache directory is full: free space there, or set "
            "CONDA_SOLVER_PLUS_CACHE to a directory on another disk"
        )
    if any("CONDA_SOLVER_PLUS_FETCH_TIMEOUT" in reason for reason in reasons):
        return (
            "the server did not answer in time: try again, or raise "
            "CONDA_SOLVER_PLUS_FETCH_TIMEOUT for a slow server"
        )
    if any(re.search(r"\b5\d\d\b", reason) for reason in reasons):
        return "a server error: try again later, or tell the channel's maintainers if it persists"
    if any(re.search(r"decod|decompress|Dictionary mismatch", reason) for reason in reasons):
        return (
            "the server sent a body that does not decompress: try again later, or tell the "
            "channel's maintainers if it persists"
        )
    return "check the URL and your connection, or drop the channel"


#: one channel/subdir before the roots reduce it
Entry = SubdirRepo | ShardedSubdir | LargeFile

#: the package names a request starts from, or a function choosing them from every name
#: the channels list (``search 'numpy*'``); ``None`` reads every name
RootNames = Iterable[str] | Callable[[set[str]], Iterable[str]] | None


def load_index(
    channels: list[str | os.PathLike | ChannelRef],
    subdirs: list[str],
    *,
    cache_dir: Path | None = None,
    offline: bool = False,
    channel_alias: str = DEFAULT_CHANNEL_ALIAS,
    roots: RootNames = None,
) -> Index:
    """Load ``channels`` x ``subdirs`` (``noarch`` is always added) in priority order.

    ``roots`` are the package names the request starts from (:func:`request_roots`):
    given them, a CEP-16 sharded subdir is read only as far as they reach
    (:mod:`conda_solver_plus.sharded_channel`) and a large monolithic one through the
    local shard cache (:mod:`conda_solver_plus.shard_cache`); each repo then holds the
    reached records while :attr:`SubdirRepo.names` still lists every name. Without
    ``roots`` monolithic subdirs are read whole and sharded ones fetch every shard.
    """
    if not channels:
        raise InvalidInputError("channels", "no channel given", "pass at least one -c CHANNEL")
    subdirs = list(dict.fromkeys([*subdirs, "noarch"]))
    refs: list[ChannelRef] = []
    for channel in channels:
        ref = (
            channel if isinstance(channel, ChannelRef) else resolve_channel(channel, channel_alias)
        )
        if ref.url not in {r.url for r in refs}:
            refs.append(ref)
    cache_dir = cache_dir or default_cache_dir()
    for ref in refs:
        if ref.is_local:
            _check_local_root(ref)
    sharded, index_failed = _open_sharded(refs, subdirs, cache_dir, offline)
    # reading every name (no roots), a subdir's monolithic file, where there is one, is
    # cheaper than all of its shards; with roots the shards are
    whole_too = roots is None
    remote = [
        (ref, subdir)
        for ref in refs
        if not ref.is_local
        for subdir in subdirs
        if whole_too or (ref.url, subdir) not in sharded
    ]
    has_shards = {url for url, _subdir in sharded}
    fetched = _load_remote(remote, cache_dir, offline, has_shards, index_failed) if remote else {}
    index = Index(channels=refs, subdirs=subdirs)
    entries: list[Entry] = []
    for ref in refs:
        if ref.is_local:
            local = [s for s in subdirs if whole_too or (ref.url, s) not in sharded]
            required = ref.url not in has_shards
            found = _load_local(ref, local, cache_dir, required, defer_large=roots is not None)
        else:
            found = list(fetched.get(ref.url, []))
        by_subdir: dict[str, Entry] = {r.subdir: r for r in found}
        for subdir in subdirs:
            if (ref.url, subdir) in sharded:
                by_subdir.setdefault(subdir, sharded[(ref.url, subdir)])
        entries.extend(by_subdir[s] for s in subdirs if s in by_subdir)
    if roots is None and not any(isinstance(e, ShardedSubdir) for e in entries):
        index.repos.extend(cast(list[SubdirRepo], entries))
        return index
    index.repos.extend(_reached(entries, roots, cache_dir))
    return index


def _open_sharded(
    refs: list[ChannelRef], subdirs: list[str], cache_dir: Path, offline: bool
) -> tuple[dict[tuple[str, str], ShardedSubdir], dict[tuple[str, str], ShardIndexUnavailable]]:
    """The subdirs that have a CEP-16 shard index (checked in parallel), by (URL, subdir),
    and those whose server failed to answer for one (their monolithic repodata must exist)."""
    pairs = [(ref, subdir) for ref in refs for subdir in subdirs]

    def open_one(pair: tuple[ChannelRef, str]) -> ShardedSubdir | ShardIndexUnavailable | None:
        try:
            return open_sharded(pair[0], pair[1], cache_dir, offline)
        except ShardIndexUnavailable as exc:
            return exc

    with ThreadPoolExecutor(max(1, min(8, len(pairs)))) as pool:
        opened = list(pool.map(open_one, pairs))
    found = {
        (ref.url, subdir): source for (ref, subdir), source in zip(pairs, opened, strict=True)
    }
    return (
        {key: source for key, source in found.items() if isinstance(source, ShardedSubdir)},
        {key: exc for key, exc in found.items() if isinstance(exc, ShardIndexUnavailable)},
    )


class _WholeRepo:
    """A repo read whole, as a source of the walk: its records still lead to names the
    sharded and split sources must provide."""

    def __init__(self, repo: SubdirRepo) -> None:
        self.repo = repo

    def has(self, name: str) -> bool:
        return name in self.repo.names

    def dependencies(self, names) -> dict[str, set[str]]:
        from rattler import PackageName

        return {
            name: {
                dep
                for record in self.repo.sparse.load_records(PackageName(name))
                for dep in dependency_names(record)
                if not dep.startswith("__")
            }
            for name in names
        }


def _entry_key(entry: Entry, split: bool) -> str | None:
    """What identifies an entry's exact content in the subset manifest (``None``: unknown,
    so the request is not remembered)."""
    if isinstance(entry, ShardedSubdir):
        return entry.key
    path = entry.path if isinstance(entry, LargeFile) else entry.repodata_file
    if path is None:
        return None
    return ("split:" if split else "whole:") + shard_cache.source_key(path)


def _split_file(entry: Entry) -> Path | None:
    """The monolithic file of ``entry`` when it goes through the shard cache."""
    if isinstance(entry, LargeFile):
        return entry.path
    cached = entry.cached_file if isinstance(entry, SubdirRepo) else None
    return cached if cached is not None and shard_cache.worth_splitting(cached) else None


#: whether a solve finding no split of a large file starts one in the background and reads
#: the file whole (``True``), or splits it first (tests and benchmarks wanting the split now)
SPLIT_IN_BACKGROUND = True


def _split_now(entry: Entry, cache_dir: Path) -> bool:
    """Does ``entry`` go through the shard cache in this solve? A large file without a
    split yet does not, when splitting is left to a background process."""
    path = _split_file(entry)
    if path is None:
        return False
    if not SPLIT_IN_BACKGROUND or shard_cache.split_ready(path, cache_dir):
        return True
    shard_cache.split_in_background(path, cache_dir)
    return False


def _whole(entry: Entry) -> Entry:
    """A large local file read whole this time (its split is being made)."""
    if isinstance(entry, LargeFile):
        sparse = open_sparse(entry.channel, entry.subdir, entry.path, entry.source)
        return SubdirRepo(entry.channel, entry.subdir, entry.path, sparse)
    return entry


def _reached(entries: list[Entry], roots: RootNames, cache_dir: Path) -> list[SubdirRepo]:
    """The repos of ``entries`` reduced to what ``roots`` reach: sharded subdirs and large
    monolithic files become subset files; small monolithic repos stay whole."""
    split = [roots is not None and _split_now(e, cache_dir) for e in entries]
    entries = [e if is_split else _whole(e) for e, is_split in zip(entries, split, strict=True)]
    if not any(split) and not any(isinstance(e, ShardedSubdir) for e in entries):
        return cast(list[SubdirRepo], entries)  # small channels only: all read whole
    if roots is None or callable(roots):
        every = _every_name(entries, split, cache_dir)
        names = every if roots is None else {n.lower() for n in roots(every)}
    else:
        names = {name.lower() for name in roots}
    keys = [_entry_key(e, is_split) for e, is_split in zip(entries, split, strict=True)]
    known = None if None in keys else cast(list[str], keys)
    cached = shard_cache.cached_subsets(cache_dir, known, names) if known else None
    if cached is None:
        cached = _walk_and_write(entries, split, names, cache_dir)
        if known:
            shard_cache.remember_subsets(cache_dir, known, names, cached)
    return [
        _subset_repo(entry, path, cache_dir) for entry, path in zip(entries, cached, strict=True)
    ]


def _every_name(entries: list[Entry], split: list[bool], cache_dir: Path) -> set[str]:
    names: set[str] = set()
    for entry, is_split in zip(entries, split, strict=True):
        if isinstance(entry, ShardedSubdir):
            names |= entry.names
        elif is_split:
            names.update(shard_cache.open_split(_split_path(entry), cache_dir).positions)
        else:
            names |= cast(SubdirRepo, entry).names
    return names


def _walk_and_write(
    entries: list[Entry], split: list[bool], names: set[str], cache_dir: Path
) -> list[Path | None]:
    sources: list = []
    for entry, is_split in zip(entries, split, strict=True):
        if isinstance(entry, ShardedSubdir):
            sources.append(entry)
        elif is_split:
            sources.append(shard_cache.open_split(_split_path(entry), cache_dir))
        else:
            sources.append(_WholeRepo(cast(SubdirRepo, entry)))
    reached = walk(sources, names)
    paths: list[Path | None] = []
    for source, found in zip(sources, reached, strict=True):
        if isinstance(source, ShardedSubdir):
            paths.append(subset_files([source], [found], cache_dir)[0])
        elif isinstance(source, shard_cache.SplitRepodata):
            paths.append(shard_cache.write_subset(source, found, cache_dir))
        else:
            paths.append(None)
    return paths


def _split_path(entry: Entry) -> Path:
    path = _split_file(entry)
    assert path is not None
    return path


def _subset_repo(entry: Entry, path: Path | None, cache_dir: Path) -> SubdirRepo:
    """The repo an entry becomes: itself when read whole, else its subset file."""
    if path is None:
        assert isinstance(entry, SubdirRepo)
        return entry
    if isinstance(entry, ShardedSubdir):
        sparse = open_sparse(entry.channel, entry.subdir, path, entry.where)
        listed = functools.partial(lambda source: source.names, entry)
        return SubdirRepo(entry.channel, entry.subdir, path, sparse, listed)
    source = _split_path(entry)
    named = entry.source if isinstance(entry, LargeFile) else source
    sparse = open_sparse(entry.channel, entry.subdir, path, named)
    listed = functools.partial(_split_names, source, cache_dir)
    return SubdirRepo(entry.channel, entry.subdir, path, sparse, listed)


def _split_names(source: Path, cache_dir: Path) -> frozenset[str]:
    names = shard_cache.all_names(source, cache_dir)
    if names is None:  # the split went away since: read it again
        names = frozenset(shard_cache.open_split(source, cache_dir).positions)
    return names


def request_roots(
    specs: Iterable[object],
    prefix: str | os.PathLike | None = None,
    pins: Iterable[str] = (),
    locked: Iterable[object] = (),
    aggressive: Iterable[str] = (),
) -> set[str]:
    """The package names a standalone solve starts from: the requested specs, what the
    prefix has installed (and their dependencies), its history and pinned specs, ``--pin``
    specs, locked records, aggressive updates, and ``pip`` (conda adds it to python's
    depends). Everything else the engines meet is reached from these through ``depends``.
    """
    from .prefix import read_prefix

    names = {dependency_name(str(spec)) for spec in [*specs, *pins]}
    state = read_prefix(None if prefix is None else Path(prefix))
    for record in [*state.installed.values(), *locked]:
        names.add(record.name.normalized)  # type: ignore[attr-defined]
        names.update(dependency_names(record))  # type: ignore[arg-type]
    names.update(state.history)
    names.update(dependency_name(str(spec)) for spec, _source in state.pinned)
    names.update(name.lower() for name in aggressive)
    names.add("pip")
    return {name for name in names if name and not name.startswith("__")}


def index_from_files(entries: list[tuple[ChannelRef, str, Path]]) -> Index:
    """An index over repodata files something else already fetched (conda's own cache in
    the plugin), in priority order."""
    channels: list[ChannelRef] = []
    subdirs: list[str] = []
    repos = []
    for channel, subdir, path in entries:
        if channel not in channels:
            channels.append(channel)
        if subdir not in subdirs:
            subdirs.append(subdir)
        repos.append(SubdirRepo(channel, subdir, path, open_sparse(channel, subdir, path)))
    return Index(channels=channels, subdirs=subdirs, repos=repos)


def query_roots(command: str, query_text: str) -> RootNames:
    """What ``search``/``depends``/``whoneeds`` read of a sharded or split channel:
    ``search NAME`` and ``depends NAME`` the name and what it reaches; ``search 'GLOB*'``
    the names matching the glob (chosen from every listed name); ``whoneeds`` every
    record, since any package may depend on the name (on a sharded channel that fetches
    every shard once; later runs read them from the cache)."""
    if command == "whoneeds":
        return None
    name = dependency_name(query_text)
    if "*" in name:
        return lambda every: [n for n in every if fnmatch.fnmatchcase(n, name)]
    return [name]
