"""
Local channels (a directory or ``file://``): their monolithic repodata read in place.

A subdir that only has ``repodata.json.zst``/``.bz2`` is decompressed once into the cache
directory. A large file (:func:`.split.worth_splitting`) that a request with root names
reads is not opened here: it comes back as a :class:`LargeFile` for the local split
(:mod:`.split`), so a solve reads the names it reaches rather than the whole file.
"""

from __future__ import annotations

import bz2
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import InvalidInputError
from . import split
from .cache_files import mark_used, write_cache_file
from .model import REPODATA_FILENAMES, ChannelRef, SubdirRepo, open_sparse


def decompressed(source: Path, cache_dir: Path) -> Path:
    """A ``repodata.json`` decompressed from ``source`` (``.zst``/``.bz2``), cached by
    path, size and mtime."""
    stat = source.stat()
    key = hashlib.sha256(f"{source}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:20]
    target = cache_dir / "decompressed" / f"{key}.json"
    if target.exists():
        mark_used(target)  # pruned when unused (cache_files.prune)
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


def check_local_root(channel: ChannelRef) -> None:
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


def load_local(
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
        path = candidate if filename == "repodata.json" else decompressed(candidate, cache_dir)
        if defer_large and split.worth_splitting(path):
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
