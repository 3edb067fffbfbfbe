"""
CEP-16 sharded repodata: the format, a writer for local channels, and the walk that
collects what a request reaches.

A monolithic ``repodata.json`` lists every package file of a subdir; conda-forge's
``linux-64`` one is hundreds of MB, and a request for ``python`` needs a few dozen of its
tens of thousands of package names. `CEP-16 <https://github.com/conda/ceps/blob/main/cep-0016.md>`_
splits a subdir by package *name*:

- ``SUBDIR/repodata_shards.msgpack.zst`` — the *shard index*: a zstd-compressed msgpack map
  ``{"version": 1, "info": {"base_url", "shards_base_url", "subdir"}, "shards": {NAME:
  SHA256}}`` where ``SHA256`` is the 32 raw bytes of the hash of that name's shard file;
- ``<shards_base_url>/<sha256 hex>.msgpack.zst`` — one *shard* per name: the zstd-compressed
  msgpack map ``{"packages": {FILE: RECORD}, "packages.conda": {FILE: RECORD}}`` holding
  every record of that name, with ``md5``/``sha256`` as raw bytes. A shard is named by the
  hash of its own bytes (*content-addressed*): a shard whose bytes do not hash to its name
  is damaged, whoever serves it, and a cached shard never goes stale.

``shards_base_url`` and ``base_url`` are resolved against the index URL (an empty
``base_url`` means packages sit beside the index, as in a monolithic channel). This module
writes ``shards_base_url = "shards/"``: shards live in ``SUBDIR/shards/``.

Reading a sharded channel is a walk (:func:`walk`): fetch the shards of the requested
names, read the names their records depend on, fetch those, and so on until nothing new is
reached — across every channel and subdir at once, since ``numpy`` in ``linux-64`` depends
on ``tzdata`` in ``noarch``. The same walk serves the local shard cache of monolithic
channels (:mod:`conda_solver_plus.shard_cache`) and fetched CEP-16 channels
(:mod:`conda_solver_plus.repodata.sharded`); both end in a small ``repodata.json`` holding
the records reached, which the engines open like any other repodata.
"""

from __future__ import annotations

import bz2
import contextlib
import hashlib
import json
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import msgpack
import zstandard

from ..records import dependency_name, is_package_entry, package_name_of_file

SHARD_INDEX_FILENAME = "repodata_shards.msgpack.zst"
#: where :func:`write_subdir_shards` puts shards, relative to the shard index
SHARDS_BASE_URL = "shards/"
#: the record groups a shard (and a repodata.json) holds
GROUPS = ("packages", "packages.conda")
#: decompressed size limits (conda's own: a compressed frame need not state its size)
MAX_SHARD_INDEX_BYTES = 2**23 * 16
MAX_SHARD_BYTES = 2**20 * 16
#: zstd level of written shards and indexes: 9 is within 2% of level 19's size on
#: conda-forge shards at a fifteenth of its time, and ~3% smaller than the default 3
ZSTD_LEVEL = 9

Shard = dict[str, dict[str, dict[str, Any]]]


class DamagedData(ValueError):
    """Bytes that are not what they claim to be (truncated, corrupt, wrong hash). The
    message says what is wrong; callers name the file and what to do."""


def zstd_decompress(data: bytes, limit: int) -> bytes:
    """Decompress one complete zstd frame of at most ``limit`` bytes, or raise
    :class:`DamagedData` (a cut-off frame decompresses to a prefix without complaint,
    hence the ``eof`` check)."""
    try:
        decompressor = zstandard.ZstdDecompressor().decompressobj()
        out = decompressor.decompress(data)
    except zstandard.ZstdError as exc:
        raise DamagedData(f"not zstd data ({exc})") from None
    if not decompressor.eof:
        raise DamagedData("the zstd frame is truncated")
    if len(out) > limit:
        raise DamagedData(f"decompresses to more than {limit} bytes")
    return out


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hashes_to_hex(record: dict[str, Any]) -> dict[str, Any]:
    """CEP-16 records carry ``md5``/``sha256`` as raw bytes; repodata.json as hex."""
    for key in ("md5", "sha256"):
        value = record.get(key)
        if isinstance(value, bytes | bytearray):
            record[key] = bytes(value).hex()
    return record


def _hashes_to_bytes(record: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(record)
    for key in ("md5", "sha256"):
        value = out.get(key)
        if isinstance(value, str):
            # not hex: kept as written (conda's reader accepts either)
            with contextlib.suppress(ValueError):
                out[key] = bytes.fromhex(value)
    return out


# --- reading -------------------------------------------------------------------------


@dataclass(frozen=True)
class ShardIndex:
    """A parsed ``repodata_shards.msgpack.zst``."""

    info: dict[str, Any]
    #: package name -> sha256 (hex) of its shard file
    shards: dict[str, str]

    @property
    def shards_base_url(self) -> str:
        return str(self.info.get("shards_base_url") or "")

    @property
    def base_url(self) -> str:
        return str(self.info.get("base_url") or "")


def parse_shard_index(data: bytes) -> ShardIndex:
    """Parse the bytes of a shard index, or raise :class:`DamagedData`."""
    raw = zstd_decompress(data, MAX_SHARD_INDEX_BYTES)
    try:
        index = msgpack.unpackb(raw)
    except Exception as exc:
        raise DamagedData(f"not msgpack ({exc})") from None
    if not isinstance(index, dict) or not isinstance(index.get("shards"), dict):
        raise DamagedData("not a shard index (no 'shards' map)")
    shards: dict[str, str] = {}
    for name, digest in index["shards"].items():
        if not isinstance(name, str) or not isinstance(digest, bytes) or len(digest) != 32:
            raise DamagedData(f"shard entry {name!r} is not a name and a 32-byte sha256")
        shards[name] = digest.hex()
    info = index.get("info")
    return ShardIndex(info=dict(info) if isinstance(info, dict) else {}, shards=shards)


def parse_shard(data: bytes, sha256: str) -> Shard:
    """Check that ``data`` hashes to ``sha256`` (the name it was fetched by) and parse it;
    :class:`DamagedData` otherwise. ``md5``/``sha256`` of records come back as hex."""
    actual = sha256_hex(data)
    if actual != sha256:
        raise DamagedData(f"content hashes to {actual[:12]}..., not {sha256[:12]}...")
    try:
        shard = msgpack.unpackb(zstd_decompress(data, MAX_SHARD_BYTES))
    except DamagedData:
        raise
    except Exception as exc:
        raise DamagedData(f"not msgpack ({exc})") from None
    if not isinstance(shard, dict):
        raise DamagedData("not a shard (not a map)")
    out: Shard = {}
    for group in GROUPS:
        records = shard.get(group) or {}
        if not isinstance(records, dict):
            raise DamagedData(f"'{group}' is not a map")
        out[group] = {fn: _hashes_to_hex(dict(record)) for fn, record in records.items()}
    return out


def shard_dependencies(shard: Shard, spec_names: dict[str, str] | None = None) -> set[str]:
    """Every package name the records of ``shard`` depend on (virtual ``__`` names left
    out: no channel has them). ``spec_names`` caches ``depends`` entry -> name across the
    shards of one walk: the same few thousand strings recur in every shard."""
    cache: dict[str, str] = {} if spec_names is None else spec_names
    names: set[str] = set()
    for group in GROUPS:
        for record in shard.get(group, {}).values():
            add_dependency_names(record, cache, names)
    return names


def add_dependency_names(
    record: Mapping[str, Any], cache: dict[str, str], names: set[str]
) -> None:
    """Add to ``names`` the package names one repodata record depends on, virtual ``__``
    names left out (``cache``: ``depends`` entry -> name, shared across records)."""
    for dep in record.get("depends") or ():
        name = cache.get(dep)
        if name is None:
            name = cache[dep] = dependency_name(dep)
        if name and not name.startswith("__"):
            names.add(name)


def subset_document(subdir: str, base_url: str, shards: Sequence[Shard]) -> bytes:
    """A ``repodata.json`` holding every record of ``shards`` (the subset of one channel
    subdir a request reaches). ``base_url``, where the packages live when not beside the
    document, makes it a repodata version 2 document; empty, version 1."""
    info: dict[str, Any] = {"subdir": subdir}
    if base_url:
        info["base_url"] = base_url
    document: dict[str, Any] = {"info": info, "repodata_version": 2 if base_url else 1}
    for group in GROUPS:
        document[group] = {
            fn: record for shard in shards for fn, record in shard.get(group, {}).items()
        }
    return json.dumps(document, separators=(",", ":")).encode()


# --- the walk ------------------------------------------------------------------------


class ShardSource(Protocol):
    """One channel/subdir whose records can be read name by name."""

    def has(self, name: str) -> bool:
        """Does this source list ``name``?"""
        ...

    def dependencies(self, names: Collection[str]) -> Mapping[str, set[str]]:
        """Read the records of ``names`` (all listed here) and return, per name, the
        package names they depend on. Called once per round of the walk with every name
        of that round, so a remote source can fetch them in parallel."""
        ...


def walk(sources: Sequence[ShardSource], roots: Iterable[str]) -> list[set[str]]:
    """The names each source holds that ``roots`` reach through ``depends`` (roots
    included), walking every source together: a name reached in one source is read in
    every source that lists it, as the engines will consider all of them. Returns one
    set per source, in order."""
    reached: list[set[str]] = [set() for _ in sources]
    seen: set[str] = set()
    frontier = {name.lower() for name in roots if name and not name.startswith("__")}
    # the sources of one round are read at once: a remote one waits on the network
    with ThreadPoolExecutor(max(1, min(8, len(sources)))) as pool:
        while frontier:
            seen |= frontier
            rounds = []
            for position, source in enumerate(sources):
                wanted = [name for name in sorted(frontier) if source.has(name)]
                if wanted:
                    reached[position].update(wanted)
                    rounds.append(pool.submit(source.dependencies, wanted))
            found: set[str] = set()
            for future in rounds:
                for deps in future.result().values():
                    found |= deps
            frontier = found - seen
    return reached


# --- writing -------------------------------------------------------------------------


_DECODER = json.JSONDecoder()
_WHITESPACE = re.compile(r"[ \t\n\r]*")


def _skip(text: str, pos: int) -> int:
    match = _WHITESPACE.match(text, pos)
    return match.end() if match else pos


def _expect(text: str, pos: int, char: str) -> int:
    pos = _skip(text, pos)
    if text[pos : pos + 1] != char:
        raise ValueError(f"expected {char!r} at character {pos}")
    return pos + 1


def _object(text: str, pos: int, member: Callable[[str, int, int, int], int]) -> int:
    """Walk the JSON object at ``pos``: ``member(key, key_start, key_end, value_start)``
    handles each member and returns where its value ends. Returns where the object ends."""
    pos = _skip(text, _expect(text, pos, "{"))
    if text[pos : pos + 1] == "}":
        return pos + 1
    while True:
        key, key_end = _DECODER.raw_decode(text, pos)
        if not isinstance(key, str):
            raise ValueError(f"expected a key at character {pos}")
        value_start = _skip(text, _expect(text, key_end, ":"))
        pos = _skip(text, member(key, pos, key_end, value_start))
        if text[pos : pos + 1] == ",":
            pos = _skip(text, pos + 1)
        elif text[pos : pos + 1] == "}":
            return pos + 1
        else:
            raise ValueError(f"expected ',' or '}}' at character {pos}")


@dataclass
class ScannedRepodata:
    """A repodata document scanned record by record: for each package name, where the
    text of its entries is (per group) and the names its records depend on."""

    text: str
    head: dict[str, Any]
    #: name -> ([(key_start, key_end, value_start, value_end)] per group, dependency names)
    names: dict[str, tuple[list[list[tuple[int, int, int, int]]], set[str]]]

    def chunk(self, spans: list[tuple[int, int, int, int]]) -> bytes:
        """``"FILE":{...},"FILE":{...}`` — the entries' own text, as the source wrote it."""
        text = self.text
        return ",".join(f"{text[a:b]}:{text[c:d]}" for a, b, c, d in spans).encode()

    def shard(self, name: str) -> Shard:
        """The records of ``name``, decoded (one shard)."""
        text = self.text
        spans, _deps = self.names[name]
        return {
            group: {json.loads(text[a:b]): json.loads(text[c:d]) for a, b, c, d in spans[i]}
            for i, group in enumerate(GROUPS)
        }


def scan_repodata(text: str) -> ScannedRepodata:
    """Scan a repodata document without building it: each record is decoded on its own
    (for its name and depends) and then dropped, so a 166 MB file needs its text and a few
    integers per record, not the ~1 GB of Python objects ``json.loads`` would make."""
    scanned = ScannedRepodata(text, {}, {})
    dep_names: dict[str, str] = {}  # one parse per distinct depends string

    def entry(group: int, key: str, key_start: int, key_end: int, value_start: int) -> int:
        record, value_end = _DECODER.raw_decode(text, value_start)
        if is_package_entry(key, record):
            name = record["name"].lower()
        else:
            # kept with the name of its file, where py-rattler looks for it too: reading
            # that name is then the same "malformed repodata" error as reading the whole
            # file, whichever way the file is read (an entry under a key with "/" is no
            # package file of this subdir, and py-rattler skips it: so does the split)
            name = package_name_of_file(key) or ""
        if name:
            spans, deps = scanned.names.setdefault(name, ([[], []], set()))
            spans[group].append((key_start, key_end, value_start, value_end))
            if isinstance(record, dict):
                add_dependency_names(record, dep_names, deps)
        return value_end

    def top(key: str, _key_start: int, _key_end: int, value_start: int) -> int:
        if key in GROUPS and text[value_start : value_start + 1] == "{":
            group = GROUPS.index(key)
            return _object(text, value_start, lambda *at: entry(group, *at))
        value, value_end = _DECODER.raw_decode(text, value_start)
        if key != "removed":
            scanned.head[key] = value
        return value_end

    end = _skip(text, _object(text, 0, top))
    if end != len(text):
        raise ValueError(f"extra data at character {end}")
    return scanned


def read_repodata_bytes(subdir_dir: Path) -> tuple[Path, bytes] | None:
    """The monolithic repodata of a local subdir (``repodata.json``, else its ``.zst`` or
    ``.bz2``), decompressed; ``None`` when the subdir has none."""
    for filename in ("repodata.json", "repodata.json.zst", "repodata.json.bz2"):
        path = subdir_dir / filename
        if not path.is_file():
            continue
        data = path.read_bytes()
        if filename.endswith(".zst"):
            data = zstd_decompress(data, 2**34)
        elif filename.endswith(".bz2"):
            data = bz2.decompress(data)
        return path, data
    return None


def pack_shard(shard: Shard) -> bytes:
    """The bytes of one shard file: records in file-name order (so the same records always
    give the same bytes, and the same name), hashes as raw bytes."""
    body = {
        group: {fn: _hashes_to_bytes(shard[group][fn]) for fn in sorted(shard.get(group, {}))}
        for group in GROUPS
    }
    packed = msgpack.packb(body, use_bin_type=True)
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(packed)


def pack_shard_index(info: Mapping[str, Any], shards: Mapping[str, str]) -> bytes:
    """The bytes of ``repodata_shards.msgpack.zst`` for ``shards`` (name -> sha256 hex)."""
    body = {
        "version": 1,
        "info": dict(info),
        "shards": {name: bytes.fromhex(shards[name]) for name in sorted(shards)},
    }
    packed = msgpack.packb(body, use_bin_type=True)
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(packed)


@dataclass(frozen=True)
class WrittenSubdir:
    """What :func:`write_subdir_shards` wrote for one subdir."""

    subdir: str
    names: int
    records: int
    #: shard files written now (others were already there, content-addressed)
    written: int
    index_bytes: int
    shard_bytes: int


def write_subdir_shards(
    subdir_dir: Path,
    write: Callable[[Path, bytes], None],
    advance: Callable[[int], None] = lambda _n: None,
) -> WrittenSubdir | None:
    """Write CEP-16 files for the monolithic repodata of ``subdir_dir``: one shard per
    package name under ``shards/`` and, last, the shard index (so a reader never finds an
    index naming a shard not yet written). ``write(path, data)`` writes one file
    atomically. Returns ``None`` for a directory without repodata."""
    found = read_repodata_bytes(subdir_dir)
    if found is None:
        return None
    _source, data = found
    scanned = scan_repodata(data.decode("utf-8"))
    del data
    digests: dict[str, str] = {}
    written = shard_bytes = records = 0
    for name in sorted(scanned.names):
        shard = scanned.shard(name)
        records += sum(len(shard[group]) for group in GROUPS)
        blob = pack_shard(shard)
        digest = sha256_hex(blob)
        digests[name] = digest
        target = subdir_dir / "shards" / f"{digest}.msgpack.zst"
        if not target.is_file() or target.stat().st_size != len(blob):
            write(target, blob)
            written += 1
        shard_bytes += len(blob)
        advance(1)
    info = dict(scanned.head.get("info") or {})
    info.setdefault("subdir", subdir_dir.name)
    info.setdefault("base_url", "")
    info["shards_base_url"] = SHARDS_BASE_URL
    index = pack_shard_index(info, digests)
    write(subdir_dir / SHARD_INDEX_FILENAME, index)
    return WrittenSubdir(subdir_dir.name, len(digests), records, written, len(index), shard_bytes)
