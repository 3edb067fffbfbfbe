"""
The standalone CLI's way in: channels as users write them, to sources, to the reduction.

:func:`load_index` resolves each channel (:mod:`.channels`: a path, a ``file://`` or
``http(s)://`` URL, or a name under the channel alias, credentials split off), asks every
channel x subdir for a CEP-16 shard index first (:mod:`.sharded`, checked in parallel) and
reads the monolithic repodata of the rest — local files in place (:mod:`.local`), remote
ones through py-rattler (:mod:`.remote`). Each subdir becomes a source of the one reduction
(:func:`.reduce.reduce`), which gives the :class:`~.model.Index` the engines read. The conda
adapter builds its sources from conda's caches instead and calls the same reduction.

With the request's root names (:mod:`.roots`), sharded subdirs and large monolithic files
are read only as far as the roots reach; without them, monolithic files are read whole (a
subdir's monolithic file, where there is one, is cheaper than all of its shards) and a
shards-only subdir fetches every shard once.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..exceptions import InvalidInputError
from ..records import DEFAULT_CHANNEL_ALIAS
from ..settings import DEFAULT_FETCH_TIMEOUT, default_cache_dir
from .channels import resolve_channel
from .local import LargeFile, check_local_root, load_local
from .model import ChannelRef, Index, SubdirRepo, open_sparse
from .reduce import Source, WholeFile, reduce
from .remote import load_remote
from .roots import RootNames
from .sharded import ShardedSubdir, ShardIndexUnavailable, open_sharded
from .split import SplitFile, monolithic_source, split_when_ready


def load_index(
    channels: list[str | os.PathLike | ChannelRef],
    subdirs: list[str],
    *,
    cache_dir: Path | None = None,
    offline: bool = False,
    channel_alias: str = DEFAULT_CHANNEL_ALIAS,
    roots: RootNames = None,
    fetch_timeout: int = DEFAULT_FETCH_TIMEOUT,
) -> Index:
    """Load ``channels`` x ``subdirs`` (``noarch`` is always added) in priority order.

    ``roots`` are the package names the request starts from (:mod:`.roots`): given them,
    a CEP-16 sharded subdir is read only as far as they reach (:mod:`.sharded`) and a
    large monolithic one through its local split (:mod:`.split`); each repo then holds the
    reached records while :attr:`SubdirRepo.names` still lists every name. Without
    ``roots`` monolithic subdirs are read whole and sharded ones fetch every shard.
    ``cache_dir`` and ``fetch_timeout`` (seconds for one download) come from the front
    end's :class:`~conda_solver_plus.settings.Settings`; the defaults serve callers of the
    API.
    """
    if not channels:
        raise InvalidInputError("channels", "no channel given", "pass at least one -c CHANNEL")
    subdirs = list(dict.fromkeys([*subdirs, "noarch"]))
    refs = resolve_channels(channels, channel_alias)
    cache_dir = cache_dir or default_cache_dir()
    for ref in refs:
        if ref.is_local:
            check_local_root(ref)
    sharded, index_failed = _open_sharded(refs, subdirs, cache_dir, offline, fetch_timeout)
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
    fetched = (
        load_remote(remote, cache_dir, offline, fetch_timeout, has_shards, index_failed)
        if remote
        else {}
    )
    sources = _sources(refs, subdirs, sharded, has_shards, fetched, cache_dir, roots is not None)
    return Index(channels=refs, subdirs=subdirs, repos=reduce(sources, roots, cache_dir))


def _sources(
    refs: list[ChannelRef],
    subdirs: list[str],
    sharded: dict[tuple[str, str], ShardedSubdir],
    has_shards: set[str],
    fetched: dict[str, list[SubdirRepo]],
    cache_dir: Path,
    reduced: bool,
) -> list[Source]:
    """Every channel subdir as a source, in priority order: its shards where it has them
    and a request reduces them, else its monolithic repodata (local or fetched)."""
    sources: list[Source] = []
    for ref in refs:
        if ref.is_local:
            local = [s for s in subdirs if not reduced or (ref.url, s) not in sharded]
            required = ref.url not in has_shards
            found = load_local(ref, local, cache_dir, required, defer_large=reduced)
        else:
            found = list(fetched.get(ref.url, []))
        by_subdir: dict[str, Source] = {
            entry.subdir: _as_source(entry, cache_dir, may_split=reduced) for entry in found
        }
        for subdir in subdirs:
            if (ref.url, subdir) in sharded:
                by_subdir.setdefault(subdir, sharded[(ref.url, subdir)])
        sources.extend(by_subdir[s] for s in subdirs if s in by_subdir)
    return sources


def resolve_channels(
    channels: list[str | os.PathLike | ChannelRef], channel_alias: str
) -> list[ChannelRef]:
    """The channels resolved (:func:`.channels.resolve_channel`), each once, in order."""
    refs: list[ChannelRef] = []
    for channel in channels:
        ref = (
            channel if isinstance(channel, ChannelRef) else resolve_channel(channel, channel_alias)
        )
        if ref.url not in {r.url for r in refs}:
            refs.append(ref)
    return refs


def _as_source(entry: SubdirRepo | LargeFile, cache_dir: Path, may_split: bool) -> Source:
    """A monolithic subdir as a source of the reduction: through its split when it is
    large and split already (:func:`.split.split_when_ready`), else read whole."""
    if isinstance(entry, LargeFile):
        return monolithic_source(entry.channel, entry.subdir, entry.path, cache_dir, entry.source)
    cached = entry.cached_file
    if may_split and cached is not None and split_when_ready(cached, cache_dir):
        return SplitFile(entry.channel, entry.subdir, cached, cached, cache_dir)
    return WholeFile(entry)


def _open_sharded(
    refs: list[ChannelRef], subdirs: list[str], cache_dir: Path, offline: bool, timeout: int
) -> tuple[dict[tuple[str, str], ShardedSubdir], dict[tuple[str, str], ShardIndexUnavailable]]:
    """The subdirs that have a CEP-16 shard index (checked in parallel), by (URL, subdir),
    and those whose server failed to answer for one (their monolithic repodata must exist)."""
    pairs = [(ref, subdir) for ref in refs for subdir in subdirs]

    def open_one(pair: tuple[ChannelRef, str]) -> ShardedSubdir | ShardIndexUnavailable | None:
        try:
            return open_sharded(pair[0], pair[1], cache_dir, offline, timeout)
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
