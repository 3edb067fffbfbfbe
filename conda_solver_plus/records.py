"""
Package records: the rows of a channel's repodata and of a prefix's ``conda-meta``.

A *record* describes one build of one package: ``name``, ``version``, ``build``,
``build_number``, what it ``depends`` on and ``constrains``, hashes, and where it lives
(``channel``, ``subdir``, ``fn``, ``url``). conda-solver-plus uses py-rattler's types:

- ``PackageRecord`` — the metadata alone (one entry of ``repodata.json``);
- ``RepoDataRecord`` — plus the file name, URL and channel it is served from;
- ``PrefixRecord`` — plus what installing it left on disk (``conda-meta/<dist>.json``).

Records reach us from places of very different quality — a channel's repodata, a prefix
written by any conda of the last ten years, a lockfile, a test fixture — so this module
has one tolerant constructor, :func:`record_from_dict`, that fills in what conda would
infer (``fn`` from name-version-build, ``url`` from channel + subdir + fn) and rejects what
cannot be inferred with an :class:`InvalidInputError` naming the source.

It also knows conda's *canonical channel name*: ``https://conda.anaconda.org/conda-forge``
is ``conda-forge``, while a local or custom channel is named by its URL.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Iterable, Mapping
from typing import Any, Literal
from urllib.parse import urlparse

from rattler import BuildString, MatchSpec, PackageRecord, RepoDataRecord

from .exceptions import InvalidInputError

DEFAULT_CHANNEL_ALIAS = "https://conda.anaconda.org/"
#: where records that name no channel are said to come from (conda's ``<unknown>``)
UNKNOWN_CHANNEL_URL = "file:///<unknown>"

#: every subdir conda knows; used to strip a trailing subdir from channel URLs
KNOWN_SUBDIRS = frozenset(
    {
        "noarch",
        "emscripten-wasm32",
        "freebsd-64",
        "linux-32",
        "linux-64",
        "linux-aarch64",
        "linux-armv6l",
        "linux-armv7l",
        "linux-ppc64",
        "linux-ppc64le",
        "linux-riscv64",
        "linux-s390x",
        "osx-64",
        "osx-arm64",
        "wasi-wasm32",
        "win-32",
        "win-64",
        "win-arm64",
        "zos-z",
    }
)


def known_platform(text: str, source: str) -> str:
    """``text`` as a platform conda knows (conda's ``--subdir`` has the same choices; not
    ``noarch``, which every platform searches anyway); an :class:`InvalidInputError`
    naming ``source`` otherwise — a typo would load only ``noarch`` and report every
    package as missing."""
    platform = text.strip()
    if platform not in KNOWN_SUBDIRS or platform == "noarch":
        known = ", ".join(sorted(KNOWN_SUBDIRS - {"noarch"}))
        raise InvalidInputError(source, "unknown platform", f"use one of: {known}")
    return platform


def strip_subdir(url: str) -> str:
    """``https://host/chan/linux-64/`` -> ``https://host/chan``."""
    url = url.rstrip("/")
    head, _, tail = url.rpartition("/")
    if tail in KNOWN_SUBDIRS and head:
        return head
    return url


def canonical_channel_name(channel: str, channel_alias: str = DEFAULT_CHANNEL_ALIAS) -> str:
    """conda's canonical name of a channel given as a name or URL (subdir stripped)."""
    if not channel:
        return ""
    channel = strip_subdir(channel)
    alias = channel_alias.rstrip("/") + "/"
    if channel.startswith(alias):
        return channel[len(alias) :]
    if "://" not in channel:
        return channel
    return channel


def short_channel_name(channel: str, channel_alias: str = DEFAULT_CHANNEL_ALIAS) -> str:
    """The last path component of a channel: what people call ``channel-1`` or ``conda-forge``
    whether it is served from anaconda.org, a mirror or a local directory."""
    name = canonical_channel_name(channel, channel_alias)
    if "://" in name:
        path = urlparse(name).path.rstrip("/")
        return path.rpartition("/")[2] or name
    return name


def _hex_bytes(value: Any, field: str, source: str) -> bytes | None:
    if value in (None, ""):
        return None
    try:
        return bytes.fromhex(value)
    except (TypeError, ValueError):
        raise InvalidInputError(
            source, f"field {field!r} is not a hex digest: {value!r}", "fix or remove the field"
        ) from None


def _str_list(value: Any, field: str, source: str) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        # track_features / features are space- or comma-separated strings in repodata
        if field in ("track_features", "features"):
            return [v for v in value.replace(",", " ").split() if v]
        raise InvalidInputError(
            source, f"field {field!r} must be a list of strings, got a string", "wrap it in [...]"
        )
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise InvalidInputError(source, f"field {field!r} must be a list of strings")
    return list(value)


def _identity(data: Mapping[str, Any], source: str) -> tuple[str, str, str, int]:
    """(name, version, build, build_number) of an entry: what no record can do without."""
    if not isinstance(data, Mapping):
        raise InvalidInputError(source, "package record is not a JSON object")
    missing = [key for key in ("name", "version") if not data.get(key)]
    if missing:
        raise InvalidInputError(source, f"package record lacks {' and '.join(missing)}")
    name = data["name"]
    version = data["version"]
    build = data.get("build", data.get("build_string"))
    if not isinstance(name, str) or not isinstance(version, str):
        raise InvalidInputError(
            source, f"name and version must be strings, got {name!r} and {version!r}"
        )
    if build is None or not isinstance(build, str):
        raise InvalidInputError(source, f"package record {name}-{version} lacks a build string")
    build_number = data.get("build_number", 0)
    if not isinstance(build_number, int) or isinstance(build_number, bool):
        raise InvalidInputError(source, f"build_number of {name} must be an integer")
    return name, version, build, build_number


def _location(
    data: Mapping[str, Any],
    dist: str,
    source: str,
    fn: str | None,
    channel: str | None,
    subdir: str,
) -> tuple[str, str, str]:
    """(file name, channel, url) of the entry of ``dist`` (``name-version-build``), each
    read off the entry, else the caller's value, else inferred the way conda does."""
    url = data.get("url") or ""
    if not isinstance(url, str):
        raise InvalidInputError(source, f"field 'url' must be a string, got {url!r}")
    # like conda, a missing file name or channel is read off the URL when there is one
    fn = data.get("fn") or fn or url.rpartition("/")[2] or f"{dist}.tar.bz2"
    if not fn.endswith((".conda", ".tar.bz2")):
        # conda itself accepts records whose fn has no archive extension (ones it or a
        # tool synthesised, pip-interop records); rattler needs a package file name
        fn = f"{fn}.tar.bz2"
    channel = data.get("channel") or channel or ("://" in url and url.rpartition("/")[0]) or ""
    if channel and "://" not in channel:
        # a bare channel name (``conda-forge``) lives under the channel alias, as in conda;
        # rattler accepts only absolute channel and package URLs
        channel = DEFAULT_CHANNEL_ALIAS + channel.strip("/")
    if not url:
        # nothing says where the package came from: conda's "<unknown>" channel
        base = strip_subdir(channel) if channel else UNKNOWN_CHANNEL_URL
        url = f"{base}/{subdir}/{fn}"
    return fn, channel, url


def _noarch(value: Any) -> Literal["python", "generic"] | None:
    """conda's ``noarch`` field: ``true`` (old repodata) is ``generic``; anything but
    ``python``/``generic`` is not noarch."""
    if value is True:
        return "generic"
    if value == "python":
        return "python"
    return "generic" if value == "generic" else None


def _optional_str(data: Mapping[str, Any], field: str) -> str | None:
    """A free-text field (``license``): kept when it is a string, else dropped."""
    value = data.get(field)
    return value if isinstance(value, str) else None


def _timestamp(value: Any) -> datetime.datetime | None:
    """A repodata ``timestamp``: milliseconds since the epoch (old ones seconds)."""
    if not isinstance(value, (int, float)) or value <= 0:
        return None
    seconds = value / 1000 if value > 253402300799 else value
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)


def record_from_dict(
    data: Mapping[str, Any],
    *,
    source: str,
    fn: str | None = None,
    channel: str | None = None,
    subdir: str | None = None,
) -> RepoDataRecord:
    """Build a ``RepoDataRecord`` from a repodata / conda-meta / lockfile entry.

    ``fn``, ``channel`` and ``subdir`` fill in what the entry itself does not carry (a
    repodata entry is keyed by its file name and lives in a channel's subdir).
    """
    name, version, build, build_number = _identity(data, source)
    subdir = data.get("subdir") or subdir or "noarch"
    fn, channel, url = _location(data, f"{name}-{version}-{build}", source, fn, channel, subdir)
    noarch = _noarch(data.get("noarch"))
    try:
        package = PackageRecord(
            name,
            version,
            BuildString.new_unchecked(build),
            build_number,
            subdir,
            arch=data.get("arch") or None,
            platform=data.get("platform") or None,
            noarch=noarch,
            depends=_str_list(data.get("depends"), "depends", source),
            constrains=_str_list(data.get("constrains"), "constrains", source),
            sha256=_hex_bytes(data.get("sha256"), "sha256", source),
            md5=_hex_bytes(data.get("md5"), "md5", source),
            size=data.get("size") if isinstance(data.get("size"), int) else None,
            # legacy ``features`` (see :mod:`.features`): kept as repodata writes it
            # (py-rattler's stub says list[str]; the binding takes repodata's string)
            features=" ".join(_str_list(data.get("features"), "features", source))  # type: ignore[arg-type]
            or None,
            license=_optional_str(data, "license"),
            license_family=_optional_str(data, "license_family"),
            python_site_packages_path=data.get("python_site_packages_path"),
        )
        track_features = _str_list(data.get("track_features"), "track_features", source)
        if track_features:
            package.track_features = track_features
        timestamp = _timestamp(data.get("timestamp"))
        if timestamp is not None:
            package.timestamp = timestamp
        # no channel is conda's "<unknown>": the binding takes None (its stub says str)
        return RepoDataRecord(package, fn, url, channel or None)  # type: ignore[arg-type]
    except InvalidInputError:
        raise
    except Exception as exc:
        raise InvalidInputError(
            source, f"invalid package record {name}-{version}-{build}: {exc}"
        ) from None


def is_package_entry(file_name: object, record: object) -> bool:
    """Is ``file_name: record`` (one entry of a repodata ``packages`` group) a package
    record: a map with a string ``name``, under a plain file name (no ``/``)?

    py-rattler files an entry under the package name of its *file name*
    (:func:`package_name_of_file`) and parses it when that name is read: an entry that is
    no record (a string, no ``name``, ``"name": 7``) is then a "malformed repodata" error
    for that name, and is never seen for other names; a key with ``/`` is skipped. plus
    gives the same outcome whichever way a file is read (whole, through the local shard
    cache, by libmamba's own parser): :func:`conda_solver_plus.shards.scan_repodata` keeps
    such an entry with its file's name, and libmamba's parser is handed the file without
    them, since a name that is read goes through py-rattler first.
    """
    return (
        isinstance(file_name, str)
        and "/" not in file_name
        and isinstance(record, dict)
        and isinstance(record.get("name"), str)
        and bool(record["name"])
    )


def package_name_of_file(file_name: str) -> str | None:
    """The package name in a package file name (``numpy-2.1.0-py312h0_0.conda`` ->
    ``numpy``): everything before the version and build, as py-rattler reads it; ``None``
    for a name that is no package file (no extension, too few ``-``, a ``/``)."""
    if "/" in file_name:
        return None
    for extension in (".tar.bz2", ".conda"):
        if file_name.endswith(extension):
            parts = file_name[: -len(extension)].rsplit("-", 2)
            return parts[0].lower() if len(parts) == 3 and parts[0] else None
    return None


def record_name(record: PackageRecord) -> str:
    return record.name.normalized


def dist_str(record: RepoDataRecord) -> str:
    """conda's ``channel/subdir::name-version-build`` for a record."""
    channel = canonical_channel_name(record.channel or "")
    return f"{channel}/{record.subdir}::{record.name.normalized}-{record.version}-{record.build}"


def record_to_json(record: RepoDataRecord) -> dict[str, Any]:
    """The CLI's ``--json`` view of a record."""
    return {
        "name": record.name.normalized,
        "version": str(record.version),
        "build": str(record.build),
        "build_number": record.build_number,
        "channel": canonical_channel_name(record.channel or ""),
        "subdir": record.subdir,
        "fn": record.file_name,
        "url": record.url,
    }


def record_key(record: RepoDataRecord) -> tuple[str, str, str, str, str]:
    """What makes two records the same package file for conda: canonical channel, subdir,
    name, version and build (conda's ``PackageRecord._pkey`` without the build number)."""
    return (
        canonical_channel_name(record.channel or ""),
        record.subdir,
        record_name(record),
        str(record.version),
        str(record.build),
    )


def dependency_name(dep: str) -> str:
    """The package name of one ``depends`` entry (``numpy>=1.2`` -> ``numpy``), or ``""``."""
    head = dep.split()[0] if dep.strip() else ""
    for sep in ("=", "<", ">", "!", "[", "~"):
        head = head.split(sep, 1)[0]
    return head.rpartition("::")[2].lower()


def dependency_names(record: PackageRecord) -> list[str]:
    """Names of the packages ``record`` depends on (first word of each depends entry)."""
    return [name for name in map(dependency_name, record.depends) if name]


def dependency_closure(records: Mapping[str, RepoDataRecord], roots: Iterable[str]) -> set[str]:
    """Names in ``records`` that the records of ``roots`` need, directly or through others
    (a root itself only when another root needs it)."""
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        name = stack.pop()
        record = records.get(name)
        if record is None:
            continue
        for dep in dependency_names(record):
            if dep in records and dep not in seen:
                seen.add(dep)
                stack.append(dep)
    return seen


def dependents(records: Mapping[str, RepoDataRecord], names: set[str]) -> set[str]:
    """Names in ``records`` that need one of ``names``, directly or through others."""
    needs = {name: set(dependency_names(record)) for name, record in records.items()}
    found: set[str] = set()
    todo = set(names)
    while todo:
        todo = {name for name, deps in needs.items() if deps & todo and name not in found}
        found |= todo
    return found - names


def _parents(records: list[RepoDataRecord]) -> dict[str, set[str]]:
    """name -> names of the records matching one of its depends (conda's PrefixGraph)."""

    @functools.cache
    def parse(dep: str) -> MatchSpec | None:
        try:
            return MatchSpec(dep, strict=False)
        except Exception:
            return None

    by_name: dict[str, list[RepoDataRecord]] = {}
    for record in records:
        by_name.setdefault(record_name(record), []).append(record)
    graph: dict[str, set[str]] = {}
    for record in records:
        parents: set[str] = set()
        for dep in record.depends:
            spec = parse(dep)
            if spec is None:
                continue
            name = spec.name.normalized
            for candidate in by_name.get(name, ()) if name else records:
                if spec.matches(candidate):
                    parents.add(record_name(candidate))
        graph[record_name(record)] = parents
    return graph


def _placement_graph(records: list[RepoDataRecord]) -> dict[str, set[str]]:
    """name -> the names that must be placed before it: :func:`_parents` without a
    record's edge to itself, and without python's to pip (the
    ``add_pip_as_python_dependency`` cycle, which conda breaks the same way)."""
    graph = _parents(records)
    for name, parents in graph.items():
        parents.discard(name)
    if "python" in graph:
        graph["python"].discard("pip")
    return graph


def toposort(records: Iterable[RepoDataRecord]) -> list[RepoDataRecord]:
    """Order records so dependencies come first, exactly as conda's ``PrefixGraph`` does.

    Edges come from depends that *match* a record; python never waits for pip (the
    ``add_pip_as_python_dependency`` cycle); records nothing depends on and that depend on
    nothing come first; then layers of records whose parents are all placed, each layer
    sorted by name; a cycle is broken at the record with the fewest parents.
    """
    records = list(records)
    by_name = {record_name(r): r for r in records}
    graph = _placement_graph(records)
    is_parent = {parent for parents in graph.values() for parent in parents}
    ordered = sorted(n for n, parents in graph.items() if not parents and n not in is_parent)
    for name in ordered:
        del graph[name]
    while graph:
        ready = sorted(name for name, parents in graph.items() if not parents)
        if not ready:  # a cycle: break it at the record with the fewest parents
            ready = [min(graph, key=lambda n: (len(graph[n]), dist_str(by_name[n])))]
        for name in ready:
            ordered.append(name)
            del graph[name]
        done = set(ready)
        for parents in graph.values():
            parents -= done
    return [by_name[name] for name in ordered]
