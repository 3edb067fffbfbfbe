"""
``conda-solver-plus cache info`` and ``cache clean``: what plus keeps in its cache
directory, and removing it, as ``conda clean`` is for conda's caches.

Everything in the cache can be made again from its source (:mod:`conda_solver_plus.cache_files`),
so removing it costs time, never an answer. The kinds of files, by place under the cache
directory (:data:`KINDS`):

- ``repodata/`` — py-rattler's cache of monolithic ``repodata.json`` fetched over http(s)
  (``<hash>.json``, ``.info.json`` recording the URL, ``.lock``, plus's ``.verified`` memo);
- ``shards/blobs/`` — CEP-16 shards, by the hash of their bytes, shared by every channel;
- ``shards/index/`` — fetched shard indexes and ``.state.json`` (the URL, ETag, max-age);
- ``shard-cache/subsets/``, ``shards/subsets/`` — the small repodata files a request
  reaches, and their manifests;
- ``shard-cache/<key>/`` — the local split of a large monolithic file (its ``source``
  names the file), with its ``<key>.lock``;
- ``shards/*.names`` — the conda adapter's name lookups of conda's shard indexes;
- ``decompressed/`` — local ``repodata.json.zst``/``.bz2`` decompressed;
- ``solv/`` — the libmamba engine's ``.solv`` serializations;
- ``channel-order/``, ``exclude-newer/``, ``legacy-features/`` — repodata rewritten for a
  solve (channel priority ``disabled``, per-channel cutoffs, legacy features).

``info`` sums the files of each kind, and per channel where the files say which channel
they belong to (URLs redacted as conda redacts them). ``clean`` removes everything, or with
``--older-than DAYS`` what was not used for that long (a solve touches the cache files it
uses, so their modification time is their last use).

**Concurrent solves.** A solve holds the cache shared while it runs and ``clean`` holds it
exclusively (:func:`conda_solver_plus.cache_files.in_use`): a clean waits for the solves
running now (up to :data:`WAIT_FOR_SOLVES_SECONDS`), and never removes a file one of them
looked up and is about to open. A removal never leaves a state read as valid data either
(a clean killed half-way): the files that vouch for others (a rattler ``.info.json``, a
``.verified`` memo, a shard index's ``.state.json``, a subset manifest) go before what
they vouch for, a split directory is renamed away before it is deleted
(:func:`conda_solver_plus.split.remove_split`), and every reader checks what it
reads. What another process is writing now is kept: a split whose lock is held (the
background splitter outlives the solve that started it), a rattler repodata entry whose
``.lock`` is held.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import math
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .exceptions import InvalidInputError
from .output import columns
from .repodata import split
from .repodata.cache_files import IN_USE_LOCK, held_without_waiting, in_sole_use, last_used
from .repodata.credentials import redact_url
from .settings import ENV_CACHE, default_cache_dir

#: the one line ``conda-solver-plus --help`` shows for the command
HELP = "show or clean plus's cache directory (repodata, shards, splits, subsets, .solv)"


@dataclass(frozen=True)
class Kind:
    """One kind of cache file: its name (``--json``), what it is, where it lives."""

    name: str
    description: str
    places: tuple[str, ...]


#: every kind of cache file, in the order ``info`` lists them
KINDS = (
    Kind("repodata", "monolithic repodata fetched by py-rattler", ("repodata/",)),
    Kind("shards", "CEP-16 shards", ("shards/blobs/",)),
    Kind("shard-indexes", "CEP-16 shard indexes", ("shards/index/",)),
    Kind("subsets", "subsets and manifests", ("shard-cache/subsets/", "shards/subsets/")),
    Kind("splits", "local splits of large repodata", ("shard-cache/<key>/",)),
    Kind("name-lookups", "conda adapter's shard-name lookups", ("shards/*.names",)),
    Kind("decompressed", "decompressed .zst/.bz2 repodata", ("decompressed/",)),
    Kind("solv", "libmamba .solv files", ("solv/",)),
    Kind(
        "rewritten",
        "repodata rewritten for a solve",
        ("channel-order/", "exclude-newer/", "legacy-features/"),
    ),
    Kind("other", "anything else", ("",)),
)

#: first directory -> kind, for files not classified by a closer rule
_BY_TOP = {
    "repodata": "repodata",
    "decompressed": "decompressed",
    "solv": "solv",
    "channel-order": "rewritten",
    "exclude-newer": "rewritten",
    "legacy-features": "rewritten",
}
#: directories whose files come in groups by the name before the first dot (``<hash>.json``,
#: ``<hash>.info.json``, ``<hash>.lock``): a group is kept or removed whole
_GROUPED = ("repodata", "shards/index")
#: files that vouch for others: removed first, so what is left is never taken as valid
_VOUCHERS = (".info.json", ".verified", ".state.json", ".manifest.json")
#: lock files: removed last, and only while this process holds them
_LOCKS = (".lock", ".starting")


@dataclass
class Entry:
    """What is kept or removed as one: a file, a group of files, or a split directory."""

    kind: str
    paths: list[Path]
    bytes: int = 0
    files: int = 0
    #: when it was last used (the newest modification time of its files)
    used: float = 0.0
    #: the channel it belongs to (redacted URL or local path), when its files say so
    channel: str | None = None
    #: a split directory (removed by renaming it away first)
    split: bool = False


@dataclass
class Removal:
    """What ``clean`` removed (or would remove), and what it kept because another process
    is using it."""

    removed: dict[str, list[int]] = field(default_factory=dict)  # kind -> [files, bytes]
    kept_in_use: list[Entry] = field(default_factory=list)

    def add(self, entry: Entry) -> None:
        counts = self.removed.setdefault(entry.kind, [0, 0])
        counts[0] += entry.files
        counts[1] += entry.bytes

    @property
    def files(self) -> int:
        return sum(files for files, _ in self.removed.values())

    @property
    def bytes(self) -> int:
        return sum(size for _, size in self.removed.values())


# -- where the cache is ----------------------------------------------------------------------


def resolve_cache_dir(flag: str | None) -> tuple[Path, str]:
    """The cache directory and where that came from: ``--cache-dir``, else
    ``$CONDA_SOLVER_PLUS_CACHE``, else the default (as a solve picks it)."""
    if flag:
        return Path(flag).expanduser(), "--cache-dir"
    if (os.environ.get(ENV_CACHE) or "").strip():
        return default_cache_dir(), f"${ENV_CACHE}"
    return default_cache_dir(), "default"


def _check_directory(cache: Path) -> None:
    if cache.exists() and not cache.is_dir():
        raise InvalidInputError(
            str(cache),
            "the cache directory is not a directory",
            f"give the cache directory with --cache-dir or {ENV_CACHE}",
        )


# -- reading the cache -----------------------------------------------------------------------


def _kind_of(relative: Path) -> str:
    parts = relative.parts
    if parts[0] == "shards" and len(parts) > 2:
        return {"blobs": "shards", "index": "shard-indexes", "subsets": "subsets"}.get(
            parts[1], "other"
        )
    if parts[0] == "shards" and relative.suffix == ".names":
        return "name-lookups"
    if parts[:2] == ("shard-cache", "subsets"):
        return "subsets"
    if parts[0] == "shard-cache" and len(parts) == 2 and relative.suffix in _LOCKS:
        return "splits"
    return _BY_TOP.get(parts[0], "other")


def _channel_of_url(url: object) -> str | None:
    """The channel of a subdir file's URL (``.../CHANNEL/SUBDIR/FILE``), redacted."""
    if not isinstance(url, str) or url.count("/") < 4:
        return None
    return redact_url(url.rsplit("/", 2)[0])


def _recorded_url(path: Path) -> str | None:
    try:
        recorded = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return _channel_of_url(recorded.get("url") if isinstance(recorded, dict) else None)


def _files_below(directory: Path) -> Iterator[Path]:
    for parent, _dirs, names in os.walk(directory):
        for name in names:
            yield Path(parent) / name


def _measure(entry: Entry) -> Entry:
    for path in entry.paths:
        files = [path] if not path.is_dir() else list(_files_below(path))
        for file in files:
            try:
                stat = file.lstat()
            except OSError:  # removed meanwhile by another process
                continue
            entry.files += 1
            entry.bytes += stat.st_size
            entry.used = max(entry.used, last_used(stat))
    return entry


def _split_entries(cache: Path) -> tuple[list[Entry], set[Path]]:
    """One entry per split directory (with its lock files) and per leftover of a killed
    split; and every path they cover."""
    root = cache / "shard-cache"
    entries, covered = [], set()
    for directory in split.split_directories(cache):
        source = split.split_source(directory)
        locks = [root / f"{directory.name}{suffix}" for suffix in _LOCKS]
        paths = [directory, *(lock for lock in locks if lock.exists())]
        channel = str(source.parent.parent) if source is not None else None
        entries.append(_measure(Entry("splits", paths, channel=channel, split=True)))
        covered.update(paths)
    with contextlib.suppress(OSError):
        for leftover in root.iterdir():
            if leftover.is_dir() and leftover.name.startswith("."):
                entries.append(_measure(Entry("splits", [leftover], split=True)))
                covered.add(leftover)
    return entries, covered


def scan(cache: Path) -> list[Entry]:
    """Every entry of the cache directory ``cache`` (none when it does not exist)."""
    _check_directory(cache)
    if not cache.is_dir():
        return []
    entries, covered = _split_entries(cache)
    groups: dict[tuple[Path, str], list[Path]] = {}
    for path in _files_below(cache):
        if path == cache / IN_USE_LOCK:  # the lock of the cache as a whole, not an entry
            continue
        if path in covered or any(parent in covered for parent in path.parents):
            continue
        relative = path.relative_to(cache)
        grouped = any(relative.parent == Path(place) for place in _GROUPED)
        stem = path.name.split(".", 1)[0] if grouped else path.name
        groups.setdefault((path.parent, stem), []).append(path)
    for (parent, stem), paths in sorted(groups.items()):
        entry = Entry(_kind_of(paths[0].relative_to(cache)), sorted(paths))
        if entry.kind == "repodata":
            entry.channel = _recorded_url(parent / f"{stem}.info.json")
        elif entry.kind == "shard-indexes":
            entry.channel = _recorded_url(parent / f"{stem}.state.json")
        entries.append(_measure(entry))
    return entries


# -- info ------------------------------------------------------------------------------------


def info(cache: Path, source: str) -> dict[str, Any]:
    """The cache's size per kind and per channel, as ``info --json`` prints it."""
    entries = scan(cache)
    kinds = []
    for kind in KINDS:
        mine = [e for e in entries if e.kind == kind.name]
        kinds.append(
            {
                "kind": kind.name,
                "description": kind.description,
                "places": list(kind.places),
                "files": sum(e.files for e in mine),
                "bytes": sum(e.bytes for e in mine),
            }
        )
    per_channel: dict[tuple[str, str], list[int]] = {}
    for entry in entries:
        if entry.channel is not None:
            counts = per_channel.setdefault((entry.channel, entry.kind), [0, 0])
            counts[0] += entry.files
            counts[1] += entry.bytes
    return {
        "cache_dir": str(cache),
        "source": source,
        "exists": cache.is_dir(),
        "kinds": kinds,
        "channels": [
            {"channel": channel, "kind": kind, "files": files, "bytes": size}
            for (channel, kind), (files, size) in sorted(per_channel.items())
        ],
        "total": {
            "files": sum(e.files for e in entries),
            "bytes": sum(e.bytes for e in entries),
        },
    }


def human_size(size: int) -> str:
    """``size`` bytes as conda prints sizes (``12.3 MB``; decimal units)."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def _aligned(rows: list[list[str]], numeric: int) -> list[str]:
    """:func:`~conda_solver_plus.output.columns` with the last ``numeric`` columns
    right-aligned."""
    for column in range(len(rows[0]) - numeric, len(rows[0])):
        width = max(len(row[column]) for row in rows)
        for row in rows:
            row[column] = row[column].rjust(width)
    return columns(rows)


def render_info(report: dict[str, Any]) -> str:
    """``info`` as tables: per kind, then per channel."""
    lines = [f"cache directory: {report['cache_dir']} ({report['source']})"]
    if not report["exists"]:
        lines.append("(does not exist yet: nothing is cached)")
        return "\n".join(lines)
    rows = [["# Kind", "Where", "Files", "Size"]]
    for kind in report["kinds"]:
        if kind["files"] or kind["kind"] != "other":
            where = ", ".join(kind["places"])
            rows.append([kind["kind"], where, str(kind["files"]), human_size(kind["bytes"])])
    total = report["total"]
    rows.append(["total", "", str(total["files"]), human_size(total["bytes"])])
    lines += ["", *_aligned(rows, 2)]
    if report["channels"]:
        rows = [["# Channel", "Kind", "Files", "Size"]]
        for row in report["channels"]:
            rows.append([row["channel"], row["kind"], str(row["files"]), human_size(row["bytes"])])
        lines += ["", *_aligned(rows, 2)]
    return "\n".join(lines)


# -- clean -----------------------------------------------------------------------------------


def _order(path: Path) -> int:
    """Vouchers first, data next, locks last (see the module's notes)."""
    if path.name.endswith(_VOUCHERS):
        return 0
    return 2 if path.name.endswith(_LOCKS) else 1


def _remove_entry(entry: Entry) -> bool:
    """Remove ``entry``; ``False`` when another process is using it (kept)."""
    if entry.split:
        directory = entry.paths[0]
        if directory.name.startswith("."):  # a leftover: only ever removed
            split.remove_leftovers(directory.parent.parent)
            return not directory.exists()
        return split.remove_split(directory)
    locks = [path for path in entry.paths if path.name.endswith(_LOCKS)]
    with held_without_waiting(locks, create=False) as free:
        if not free:
            return False
        for path in sorted(entry.paths, key=_order):
            path.unlink(missing_ok=True)
    return True


def _not_writable(cache: Path, exc: OSError) -> InvalidInputError:
    return InvalidInputError(
        str(cache),
        f"cannot remove files from the cache directory ({exc.strerror or exc})",
        "clean it where it can be written (not a read-only mount), as the user owning it",
    )


#: how long ``clean`` waits for the solves using the cache to end
WAIT_FOR_SOLVES_SECONDS = 60.0


def clean(
    cache: Path,
    older_than_days: float | None = None,
    dry_run: bool = False,
    wait_seconds: float = WAIT_FOR_SOLVES_SECONDS,
) -> Removal:
    """Remove the cache's entries, or those not used for ``older_than_days``, once no
    solve is using the cache (waiting up to ``wait_seconds``); what another process is
    writing (a split, a download) is kept. ``dry_run``: only say what would go."""
    if dry_run or not cache.is_dir():
        return _clean(cache, older_than_days, dry_run=True)
    try:
        with in_sole_use(cache, wait_seconds) as sole:
            if not sole:
                raise InvalidInputError(
                    str(cache),
                    f"solves kept using the cache directory for {wait_seconds:.0f} s",
                    "run cache clean again when they are done",
                )
            return _clean(cache, older_than_days, dry_run=False)
    except OSError as exc:
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise _not_writable(cache, exc) from None
        raise


def _clean(cache: Path, older_than_days: float | None, dry_run: bool) -> Removal:
    cutoff = math.inf if older_than_days is None else time.time() - older_than_days * 86400
    removal = Removal()
    for entry in scan(cache):
        if entry.used >= cutoff:
            continue
        if dry_run:
            removal.add(entry)
            continue
        try:
            removed = _remove_entry(entry)
        except FileNotFoundError:
            removed = True  # another process removed it first
        except OSError as exc:
            if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
                raise _not_writable(cache, exc) from None
            raise
        if removed:
            removal.add(entry)
        else:
            removal.kept_in_use.append(entry)
    return removal


def render_clean(cache: Path, removal: Removal, dry_run: bool) -> str:
    verb = "Would remove" if dry_run else "Removed"
    lines = [f"{verb} {removal.files} files ({human_size(removal.bytes)}) from {cache}"]
    for kind, (files, size) in sorted(removal.removed.items()):
        lines.append(f"  {kind}: {files} files ({human_size(size)})")
    if removal.kept_in_use:
        kept = sum(e.files for e in removal.kept_in_use)
        lines.append(f"Kept {kept} files another process is writing now (a split or a fetch)")
    return "\n".join(lines)


def _clean_json(cache: Path, removal: Removal, dry_run: bool) -> dict[str, Any]:
    return {
        "cache_dir": str(cache),
        "dry_run": dry_run,
        "removed": {
            "files": removal.files,
            "bytes": removal.bytes,
            "kinds": {
                k: {"files": f, "bytes": b} for k, (f, b) in sorted(removal.removed.items())
            },
        },
        "kept_in_use": {
            "files": sum(e.files for e in removal.kept_in_use),
            "bytes": sum(e.bytes for e in removal.kept_in_use),
        },
    }


# -- the command line ------------------------------------------------------------------------


def _days(text: str) -> float:
    """``--older-than``: a number of days, at least 0."""
    try:
        days = float(text)
    except ValueError:
        days = math.nan
    if not math.isfinite(days) or days < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days (0 or more)")
    return days


def _add_output_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cache-dir",
        help="the cache directory (default: $CONDA_SOLVER_PLUS_CACHE, else "
        "~/.cache/conda-solver-plus, as for a solve)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log on stderr (-vv: debug)"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``cache`` command's actions and arguments (registered by
    :mod:`conda_solver_plus.cli`)."""
    parser.description = (
        "What plus keeps in its cache directory, and removing it (as conda clean is for "
        "conda's caches). Everything there is made again from its source when needed."
    )
    actions = parser.add_subparsers(
        dest="cache_action", metavar="ACTION", required=True, help="info or clean"
    )
    shown = actions.add_parser(
        "info", help="the cache directory and its size per kind and channel"
    )
    _add_output_arguments(shown)
    cleaned = actions.add_parser(
        "clean", help="remove cached files: all, or those not used for DAYS"
    )
    cleaned.add_argument(
        "--older-than",
        type=_days,
        metavar="DAYS",
        help="only files not used for DAYS days (a solve touches what it uses; default: "
        "everything)",
    )
    cleaned.add_argument(
        "-n", "--dry-run", action="store_true", help="only show what would be removed"
    )
    cleaned.add_argument(
        "-y", "--yes", action="store_true", help="do not ask for confirmation on a terminal"
    )
    _add_output_arguments(cleaned)


def _confirmed(cache: Path, args: argparse.Namespace) -> bool:
    """On a terminal, ask before removing (as ``conda clean``); never for scripts."""
    if args.yes or args.json or args.dry_run or not (sys.stdin.isatty() and sys.stdout.isatty()):
        return True
    preview = clean(cache, args.older_than, dry_run=True)
    if not preview.files:
        return True
    prompt = f"Remove {preview.files} files ({human_size(preview.bytes)}) from {cache}? [y/N] "
    try:
        answer = input(prompt)
    except EOFError:  # stdin closed: no is the safe answer
        return False
    return answer.strip().lower() in ("y", "yes")


def run(args: argparse.Namespace) -> int:
    """``cache info`` / ``cache clean``: print the report (or JSON)."""
    cache, source = resolve_cache_dir(args.cache_dir)
    if args.cache_action == "info":
        report = info(cache, source)
        print(json.dumps(report, indent=2) if args.json else render_info(report))
        return 0
    _check_directory(cache)
    if not _confirmed(cache, args):
        print("Nothing removed", file=sys.stderr)
        return 0
    removal = clean(cache, args.older_than, dry_run=args.dry_run)
    if args.json:
        print(json.dumps(_clean_json(cache, removal, args.dry_run), indent=2))
    else:
        print(render_clean(cache, removal, args.dry_run))
    return 0
