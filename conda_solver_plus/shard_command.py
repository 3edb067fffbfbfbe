"""
``python -m conda_solver_plus shard CHANNEL_DIR``: write CEP-16 sharded repodata for a
local channel.

For every subdir of the channel that has a monolithic ``repodata.json`` (or its ``.zst`` /
``.bz2``), one shard per package name goes to ``SUBDIR/shards/<sha256>.msgpack.zst`` and the
shard index to ``SUBDIR/repodata_shards.msgpack.zst`` (format:
:mod:`conda_solver_plus.shards`). The monolithic files stay: old clients keep reading them,
and conda 26.7, conda-libmamba-solver, conda-rattler-solver and plus fetch only the shards
a request reaches. Shards are content-addressed, so running the command again after
re-indexing writes only the shards whose records changed; the index is written last, so a
client reading the channel meanwhile never meets an index naming a missing shard. Shards no
index names any more are left in place (a client holding the previous index may still
fetch them); ``--prune`` removes them.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from . import progress
from .exceptions import InvalidInputError
from .repodata.cache_files import atomic_write
from .repodata.model import REPODATA_FILENAMES
from .repodata.shards import (
    SHARD_INDEX_FILENAME,
    WrittenSubdir,
    parse_shard_index,
    write_subdir_shards,
)

#: the one line ``python -m conda_solver_plus --help`` shows for the command
HELP = "write CEP-16 sharded repodata for a local channel (every subdir)"
#: what ``python -m conda_solver_plus shard --help`` says
DESCRIPTION = (
    "Write CEP-16 sharded repodata (SUBDIR/repodata_shards.msgpack.zst and "
    "SUBDIR/shards/<sha256>.msgpack.zst) for every subdir of a local channel that has a "
    "repodata.json, next to the monolithic files, so that clients fetch only the packages "
    "a request reaches."
)


def _subdirs(channel: Path) -> list[Path]:
    if not channel.is_dir():
        raise InvalidInputError(
            str(channel),
            "not a directory" if channel.exists() else "does not exist",
            "give the directory of a local channel (the one holding noarch/)",
        )
    found = [
        child
        for child in sorted(channel.iterdir())
        if child.is_dir() and any((child / f).is_file() for f in REPODATA_FILENAMES)
    ]
    if not found:
        raise InvalidInputError(
            str(channel),
            "no subdir with a repodata.json",
            "index the channel first (conda index), then shard it",
        )
    return found


def _write(path: Path, data: bytes) -> None:
    try:
        atomic_write(path, data)
    except OSError as exc:
        raise InvalidInputError(
            str(path), f"cannot write ({exc.strerror})", "check the channel's permissions"
        ) from None


def _prune(subdir: Path) -> int:
    """Remove shards the subdir's index does not name; how many were removed."""
    index = parse_shard_index((subdir / SHARD_INDEX_FILENAME).read_bytes())
    named = {f"{sha}.msgpack.zst" for sha in index.shards.values()}
    removed = 0
    for shard in (subdir / "shards").glob("*.msgpack.zst"):
        if shard.name not in named:
            shard.unlink()
            removed += 1
    return removed


def shard_channel(channel: Path, prune: bool = False) -> list[WrittenSubdir]:
    """Write CEP-16 files for every subdir of the local ``channel``; what was written."""
    written = []
    for subdir in _subdirs(channel):
        with progress.task(f"Sharding {subdir}", total=None) as advance:
            try:
                result = write_subdir_shards(subdir, _write, advance)
            except ValueError as exc:  # json and zstd errors are ValueErrors
                raise InvalidInputError(
                    str(subdir), f"repodata cannot be read ({exc})", "re-index the channel"
                ) from None
        if result is not None:
            written.append(result)
            if prune:
                _prune(subdir)
    return written


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``shard`` command's arguments (registered by :mod:`conda_solver_plus.cli`)."""
    parser.description = DESCRIPTION
    parser.add_argument(
        "channel",
        metavar="CHANNEL_DIR",
        help="directory of a local channel, indexed (SUBDIR/repodata.json present)",
    )
    parser.add_argument(
        "--prune",
        action="store_true",
        help="also delete shards the new indexes no longer name (default: keep them, for "
        "clients still holding an older index)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print what was written as JSON on stdout (default: one line per subdir)",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress bars (default: a bar per subdir on a terminal)",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log on stderr: -v what is done, -vv debug details (default: warnings only)",
    )


def run(args: argparse.Namespace) -> int:
    """The ``shard`` command: write the files, print one line per subdir (or JSON)."""
    written = shard_channel(Path(args.channel).expanduser(), args.prune)
    if args.json:
        print(json.dumps({"subdirs": [asdict(w) for w in written]}, indent=2))
        return 0
    for w in written:
        print(
            f"{w.subdir}: {w.names} names, {w.records} records -> {w.written} new shards "
            f"({w.shard_bytes / 1e6:.1f} MB of shards, index {w.index_bytes / 1e3:.0f} kB)"
        )
    return 0
