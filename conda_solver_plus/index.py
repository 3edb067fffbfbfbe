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
import functools
import hashlib
import logging
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast
from urllib.parse import quote, unquote, urlparse

from rattler import Channel, ChannelConfig, SparseRepoData

from . import rattler_async
from .credentials import ChannelCredentials, redact_text, redact_url, split_credentials
from .exceptions import InvalidInputError
from .records import DEFAULT_CHANNEL_ALIAS, canonical_channel_name, short_channel_name
from .settings import default_cache_dir, fetch_timeout

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
        )

    @functools.cached_property
    def names(self) -> frozenset[str]:
        """The package names this repo lists, computed once: py-rattler builds the list
        anew on every ``package_names()`` call (60 ms for a conda-forge-sized subdir)."""
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


def cache_not_writable(cache: Path, exc: OSError) -> InvalidInputError:
    """The one error for a cache directory we cannot write (every cache write uses it)."""
    return InvalidInputError(
        str(cache),
        f"cache directory is not writable ({exc.strerror})",
        "set CONDA_SOLVER_PLUS_CACHE to a writable directory",
    )


def write_cache_file(cache: Path, path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` under the cache directory ``cache`` atomically; a cache
    that cannot be written is the one clear error (:func:`cache_not_writable`)."""
    try:
        atomic_write(path, data)
    except OSError as exc:
        raise cache_not_writable(cache, exc) from None


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


def _decompressed(source: Path, cache_dir: Path) -> Path:
    """A ``repodata.json`` decompressed from ``source`` (``.zst``/``.bz2``), cached by
    path, size and mtime."""
    stat = source.stat()
    key = hashlib.sha256(f"{source}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:20]
    target = cache_dir / "decompressed" / f"{key}.json"
    if target.exists():
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
    write_cache_file(cache_dir, target, data)
    return target


def open_sparse(
    channel: ChannelRef, subdir: str, path: Path, source: Path | None = None
) -> SparseRepoData:
    """Open the repodata file ``path`` lazily for ``channel``/``subdir``; errors name
    ``source`` (the channel's own file, when ``path`` was decompressed or derived from it),
    defaulting to ``path`` itself."""
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


def _load_local(channel: ChannelRef, subdirs: list[str], cache_dir: Path) -> list[SubdirRepo]:
    root = channel.local_path
    if not root.is_dir():
        raise InvalidInputError(
            f"channel {channel.given}",
            f"directory {root} does not exist" if not root.exists() else f"{root} is a file",
            "check the path, or create the channel with conda index",
        )
    repos = []
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
        sparse = open_sparse(channel, subdir, path, source=candidate)
        repos.append(SubdirRepo(channel, subdir, path, sparse))
    if not repos:
        raise InvalidInputError(
            f"channel {channel.given}",
            f"no repodata.json under {root} for subdirs {', '.join(subdirs)}",
            "is this a conda channel? run conda index on it, or check --subdir",
        )
    return repos


def _client(channels: list[ChannelRef], timeout: int):
    """The py-rattler HTTP client for fetching ``channels``: each private channel's
    requests carry its credentials, while the channel stays known by its clean URL.

    - a token: a mirror of the clean URL at the URL with the token, so requests go to
      ``/t/TOKEN/...`` but records, cache files and errors name the clean URL (py-rattler
      keeps a ``user:password@`` mirror's user info out of the request, hence the header);
    - basic auth: an ``Authorization: Basic`` header on requests to that host below the
      channel's path (never to another channel or host).
    """
    import base64

    from rattler import Client
    from rattler.networking import AddHeadersMiddleware, MirrorMiddleware

    mirrors: dict[str, list[str]] = {}
    headers: list[tuple[str, str, dict[str, str]]] = []
    for channel in channels:
        credentials = channel.credentials
        if credentials is None:
            continue
        if credentials.token:
            mirrors[channel.url + "/"] = [credentials.request_url + "/"]
        if credentials.basic_auth:
            secret = base64.b64encode(":".join(credentials.basic_auth).encode()).decode()
            target = urlparse(credentials.request_url)
            prefix = target.path.rstrip("/") + "/"
            headers.append((target.hostname or "", prefix, {"Authorization": f"Basic {secret}"}))

    def add_headers(host: str, path: str) -> dict[str, str] | None:
        for channel_host, prefix, values in headers:
            if host == channel_host and path.startswith(prefix):
                return values
        return None

    middlewares: list = []
    if mirrors:  # first: the header callback then sees the path that is requested
        middlewares.append(MirrorMiddleware(mirrors))
    if headers:
        middlewares.append(AddHeadersMiddleware(add_headers))
    return Client(middlewares or None, timeout=timeout)


async def _fetch_one(channel: ChannelRef, subdir: str, cache: Path, offline: bool, client):
    from rattler import Subdir, fetch_repo_data
    from rattler.networking import FetchRepoDataOptions

    options = FetchRepoDataOptions(
        cache_action="force-cache-only" if offline else "cache-or-fetch"
    )
    result = await fetch_repo_data(
        channels=[channel.rattler_channel()],
        platforms=[Subdir(subdir)],
        cache_path=str(cache),
        callback=None,
        client=client,
        fetch_options=options,
    )
    return result[0]


def _load_remote(
    channels: list[ChannelRef], subdirs: list[str], cache_dir: Path, offline: bool
) -> dict[str, list[SubdirRepo]]:
    cache = cache_dir / "repodata"
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise cache_not_writable(cache, exc) from None
    pairs = [(channel, subdir) for channel in channels for subdir in subdirs]
    timeout = fetch_timeout()
    client = _client(channels, timeout)

    async def fetch_all():
        return await asyncio.gather(
            *(_fetch_one(channel, subdir, cache, offline, client) for channel, subdir in pairs),
            return_exceptions=True,
        )

    results = rattler_async.run(fetch_all())
    loaded: dict[str, list[SubdirRepo]] = {channel.url: [] for channel in channels}
    errors: dict[str, list[str]] = {channel.url: [] for channel in channels}
    for (channel, subdir), result in zip(pairs, results, strict=True):
        if isinstance(result, BaseException):
            # a network error quotes the URL it requested: a private channel's token is in it
            lines = redact_text(str(result)).strip().splitlines() or [type(result).__name__]
            reason = lines[-1].strip().removeprefix("Caused by: ")
            if "timed out" in reason:
                reason += f" after {timeout}s (CONDA_SOLVER_PLUS_FETCH_TIMEOUT)"
            errors[channel.url].append(f"{subdir}: {reason}")
            log.debug("fetching %s/%s failed: %s", channel.url, subdir, redact_text(str(result)))
            continue
        sparse = CheckedSparseRepoData.wrap(result, f"{channel.url}/{subdir}/repodata.json")
        loaded[channel.url].append(SubdirRepo(channel, subdir, cache, sparse))
    for channel in channels:
        if not loaded[channel.url]:
            what = "no cached repodata (offline mode)" if offline else "could not fetch repodata"
            raise InvalidInputError(
                f"channel {channel.given}",
                f"{what}: {'; '.join(errors[channel.url])}",
                _fetch_hint(errors[channel.url]),
            )
    return loaded


def _fetch_hint(reasons: list[str]) -> str:
    """What to check when a channel could not be fetched: its credentials when the server
    refused them (HTTP 401/403, as conda's own hints say), else the URL and connection."""
    if any(re.search(r"\b40[13]\b", reason) for reason in reasons):
        return (
            "the server refused the request: check the channel's token (/t/TOKEN/) or "
            "user:password@ in its URL"
        )
    return "check the URL and your connection, or drop the channel"


def load_index(
    channels: list[str | os.PathLike | ChannelRef],
    subdirs: list[str],
    *,
    cache_dir: Path | None = None,
    offline: bool = False,
    channel_alias: str = DEFAULT_CHANNEL_ALIAS,
) -> Index:
    """Load ``channels`` x ``subdirs`` (``noarch`` is always added) in priority order."""
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
    remote = [ref for ref in refs if not ref.is_local]
    fetched = _load_remote(remote, subdirs, cache_dir, offline) if remote else {}
    index = Index(channels=refs, subdirs=subdirs)
    for ref in refs:
        if ref.is_local:
            index.repos.extend(_load_local(ref, subdirs, cache_dir))
        else:
            index.repos.extend(fetched[ref.url])
    return index


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
