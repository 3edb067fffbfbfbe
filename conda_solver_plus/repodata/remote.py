"""
Remote channels (``http(s)://``): their monolithic repodata fetched through py-rattler.

py-rattler does the HTTP: conditional requests (ETag/304), ``.zst``, an on-disk cache under
the cache directory with file locks, and an offline mode that never touches the network.
Around it, plus makes the answers trustworthy: one client per private channel carrying
only that channel's credentials (:class:`ChannelClients`), one time limit per whole
download, a cached file checked against the size and hash recorded when it was downloaded
(fetched again when damaged), and every failure but "this subdir does not exist" (HTTP
404) an error naming the URL and what to do — a solve never leaves out a subdir.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlparse

from .. import progress, rattler_async
from ..exceptions import InvalidInputError
from .cache_files import atomic_write, temporary_cache
from .credentials import redact_text
from .model import ChannelRef, CheckedSparseRepoData, SubdirRepo
from .sharded import ShardIndexUnavailable

log = logging.getLogger(__name__)


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


def load_remote(
    pairs: list[tuple[ChannelRef, str]],
    cache_dir: Path,
    offline: bool,
    timeout: int,
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
