"""
The repodata model: channels, one loaded ``channel/subdir`` and the index of all of them.

Plain data, the only part of :mod:`conda_solver_plus.repodata` that ``solving/`` and the
engines import. A *channel* is a directory tree (local, ``file://`` or ``http(s)://``) with
one folder per *subdir* (platform: ``linux-64``, ``osx-arm64``, ... plus the
platform-independent ``noarch``). Each subdir holds a ``repodata.json`` listing every
package file with its metadata, under ``packages`` (``.tar.bz2``) and ``packages.conda``
(``.conda``).

A loaded subdir (:class:`SubdirRepo`) is a py-rattler ``SparseRepoData``, which
memory-maps the JSON and only parses the records of package names the solver actually
reaches. A request touching 40 names therefore parses a few thousand records, not
conda-forge's 460k.

The order of :attr:`Index.repos` is the channel priority order: under *strict* priority a
package name found in an earlier channel is never taken from a later one. Channels that
belong to one conda *multichannel* (``defaults`` = ``pkgs/main`` + ``pkgs/r``, or a
``custom_multichannels`` entry in ``.condarc``) form one priority *tier*
(:meth:`Index.priority_tiers`): a name found in the first member may still come from a
later member when only that one has a fitting version, as conda-libmamba-solver does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast
from urllib.parse import unquote, urlparse

from rattler import Channel, ChannelConfig, SparseRepoData

from ..exceptions import InvalidInputError
from ..records import DEFAULT_CHANNEL_ALIAS, short_channel_name
from .credentials import ChannelCredentials

#: the names a subdir's monolithic repodata may have, the preferred first
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
