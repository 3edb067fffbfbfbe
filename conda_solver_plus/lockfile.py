"""
Lockfiles: a solved environment written down, read back as the state to solve from.

A *lockfile* pins every package of an environment to one file (URL and hash), per
platform, so the environment can be recreated exactly. Three formats are in common use:

- **pixi** ``pixi.lock`` (versions 4-7; pixi writes 6 or 7): several named environments,
  each with its channels and, per platform, a list of package URLs; the full repodata
  record of every package (``depends``, ``constrains``, hashes, timestamp, ...) is stored
  once in a shared ``packages`` list;
- **conda-lock** ``conda-lock.yml`` (version 1): one environment, a flat ``package`` list
  with ``name``, ``version``, ``platform``, ``url``, ``hash`` and ``dependencies`` as a
  name -> spec map (so no ``constrains``, and no build number or timestamp);
- **explicit** files (``conda list --explicit``, ``conda-lock --kind explicit``): a
  ``@EXPLICIT`` marker followed by one package URL per line, optionally ending in
  ``#<md5>`` or ``#sha256:<hex>``. They carry no metadata at all.

Solving *from* a lockfile ("lockfile in, minimal change out") treats the locked records
like installed ones: every locked package is kept and its record preferred, so re-solving
with nothing changed gives the same set back, and asking for one update changes only what
that update forces. Locked records stay candidates even when their channel no longer lists
them (removed, labelled broken): the engines get them as ``locked``/``installed``.

What a format does not store is filled in from the channels: a locked file that the
index serves under the same channel name, subdir and file name (and, where the lockfile
has one, the same hash) takes the channel's metadata while keeping the lockfile's URL. A
record no channel has is rebuilt from what the lockfile says — for explicit files only
name, version, build (and a build number read off the build string), so its
dependencies are unknown — and :attr:`LockedEnvironment.reconstructed` says so.

:func:`write_lockfile` writes a solve's result back in the format it was read from; the
other environments and platforms of the file are carried over unchanged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from rattler import PackageName, RepoDataRecord

from .exceptions import InvalidInputError
from .records import (
    KNOWN_SUBDIRS,
    record_from_dict,
    record_name,
    short_channel_name,
    strip_subdir,
    toposort,
)

if TYPE_CHECKING:
    from .repodata.model import Index

log = logging.getLogger(__name__)

PIXI = "pixi"
CONDA_LOCK = "conda-lock"
EXPLICIT = "explicit"

EXPLICIT_MARKER = "@EXPLICIT"
_PACKAGE_SUFFIXES = (".conda", ".tar.bz2")
_EXPLICIT_LINE = re.compile(
    r"^(?P<url>\S+?(?:\.conda|\.tar\.bz2))"
    r"(?:#(?:(?P<md5>[0-9a-fA-F]{32})|(?:sha256:)?(?P<sha256>[0-9a-fA-F]{64})))?$"
)


@dataclass
class LockedEnvironment:
    """One environment on one platform of a lockfile, as records."""

    #: the file read (``None`` for an environment that only exists to be written)
    path: Path | None
    format: str
    #: the environment's name (``default`` for conda-lock and explicit files)
    environment: str
    #: the platform (conda subdir) these records are for
    platform: str
    records: list[RepoDataRecord]
    #: channels the lockfile lists for the environment, in priority order
    channels: list[str] = field(default_factory=list)
    #: name -> what could not be recovered for that record (not in any loaded channel)
    reconstructed: dict[str, str] = field(default_factory=dict)

    def by_name(self) -> dict[str, RepoDataRecord]:
        return {record_name(record): record for record in self.records}


# -- format detection -------------------------------------------------------------------


def detect_format(path: Path) -> str:
    """``pixi``, ``conda-lock`` or ``explicit``, from the content (names vary too much)."""
    try:
        with open(path, encoding="utf-8") as handle:
            head = handle.read(65536)
    except FileNotFoundError:
        raise InvalidInputError(str(path), "lockfile does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(str(path), f"cannot read the lockfile ({exc})") from None
    lines = [line.strip() for line in head.splitlines()]
    if EXPLICIT_MARKER in lines:
        return EXPLICIT
    for line in lines:
        if not line or line.startswith("#"):
            continue
        match = re.match(r"^version:\s*['\"]?(\d+)", line)
        if match:
            return CONDA_LOCK if match.group(1) == "1" else PIXI
        break
    raise InvalidInputError(
        str(path),
        "not a lockfile this solver reads",
        "expected a pixi.lock, a conda-lock.yml (version: 1) or an @EXPLICIT file",
    )


# -- reading ----------------------------------------------------------------------------


def _load_rattler_lock(path: Path):
    from rattler import LockFile

    try:
        return LockFile.from_path(path)
    except Exception as exc:
        message = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        raise InvalidInputError(str(path), f"cannot parse the lockfile ({message})") from None


def _pick_environment(lock, path: Path, name: str | None):
    environments = dict(lock.environments())
    if name is None:
        if "default" in environments and environments["default"].platforms():
            name = "default"
        else:
            filled = [n for n, env in environments.items() if env.platforms()]
            if not filled:
                raise InvalidInputError(
                    str(path),
                    "holds no environment with packages (its 'environments' are empty)",
                    "lock an environment into it first (pixi lock, or --lock-out FILE)",
                )
            if len(filled) != 1:
                raise InvalidInputError(
                    str(path),
                    f"holds several environments ({', '.join(sorted(filled))})",
                    "choose one with --lock-env NAME",
                )
            name = filled[0]
    if name not in environments:
        raise InvalidInputError(
            str(path),
            f"has no environment {name!r} (it has {', '.join(sorted(environments))})",
            "check --lock-env",
        )
    return name, environments[name]


def _pick_platform(path: Path, available: list[str], platform: str | None, env: str) -> str:
    if platform is None:
        from .virtual import native_subdir

        if len(available) == 1:
            return available[0]
        platform = native_subdir()
        if platform not in available:
            raise InvalidInputError(
                str(path),
                f"environment {env!r} is locked for {', '.join(sorted(available))}",
                "choose one with --subdir",
            )
    if platform not in available:
        raise InvalidInputError(
            str(path),
            f"environment {env!r} has no packages for {platform} "
            f"(it has {', '.join(sorted(available)) or 'none'})",
            "choose another --subdir or --lock-env",
        )
    return platform


def _read_rattler(
    path: Path, fmt: str, environment: str | None, platform: str | None
) -> LockedEnvironment:
    lock = _load_rattler_lock(path)
    name, env = _pick_environment(lock, path, environment)
    platforms = {p.name: p for p in env.platforms()}
    chosen = _pick_platform(path, list(platforms), platform, name)
    lock_platform = platforms[chosen]
    records = env.conda_repodata_records_for_platform(lock_platform) or []
    skipped = [
        package.name
        for package in env.packages(lock_platform) or []
        if type(package).__name__ != "CondaLockedBinaryPackage"
    ]
    if skipped:
        # pypi packages and pixi source builds are not conda records: not solved here
        log.info("%s: not solved (not conda binary packages): %s", path, ", ".join(skipped))
    locked = LockedEnvironment(
        path=path,
        format=fmt,
        environment=name,
        platform=chosen,
        records=list(records),
        channels=[str(channel).rstrip("/") for channel in env.channels()],
    )
    if fmt == CONDA_LOCK:
        # conda-lock keeps depends as a name -> spec map and no constrains, build
        # number or timestamp: until a channel fills them in, the records are partial
        for record in locked.records:
            locked.reconstructed[record_name(record)] = (
                "conda-lock stores no constrains, build number or timestamp"
            )
    return locked


def _explicit_url(text: str, path: Path, lineno: int) -> str:
    if "://" in text:
        return text
    local = Path(text).expanduser()
    if not local.is_absolute():
        local = (path.parent / local).resolve()
    return local.as_uri()


def build_number_from_build(build: str) -> int:
    """conda-build's build strings end in ``_<number>`` (``h4bc722e_7``,
    ``he550d4f_1_cpython``): the last all-digit ``_`` component, else 0."""
    for part in reversed(build.split("_")[1:]):
        if part.isdigit():
            return int(part)
    return 0


def record_from_url(
    url: str,
    *,
    source: str,
    md5: str | None = None,
    sha256: str | None = None,
    subdir: str | None = None,
) -> RepoDataRecord:
    """What a package URL alone says: name, version, build, channel, subdir (and the
    hash written next to it). Dependencies are unknown."""
    parsed = urlparse(url)
    filename = unquote(parsed.path.rpartition("/")[2])
    stem = next((filename[: -len(s)] for s in _PACKAGE_SUFFIXES if filename.endswith(s)), None)
    parts = stem.rsplit("-", 2) if stem else []
    if len(parts) != 3 or not all(parts):
        raise InvalidInputError(
            source,
            f"{filename!r} is not a conda package file name (name-version-build.conda)",
        )
    name, version, build = parts
    directory = url.rpartition("/")[0]
    url_subdir = directory.rpartition("/")[2]
    if url_subdir in KNOWN_SUBDIRS:
        subdir = url_subdir
    return record_from_dict(
        {
            "name": name,
            "version": version,
            "build": build,
            "build_number": build_number_from_build(build),
            "subdir": subdir or "noarch",
            "url": url,
            "fn": filename,
            "channel": strip_subdir(directory),
            "md5": md5,
            "sha256": sha256,
        },
        source=source,
    )


def _read_explicit(path: Path, platform: str | None) -> LockedEnvironment:
    text = path.read_text(encoding="utf-8")
    header_platform = None
    records: list[RepoDataRecord] = []
    seen_marker = False
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            match = re.match(r"#\s*platform:\s*(\S+)", line)
            if match:
                header_platform = match.group(1)
            continue
        if line == EXPLICIT_MARKER:
            seen_marker = True
            continue
        if not seen_marker:
            raise InvalidInputError(f"{path}:{lineno}", f"{line!r} before {EXPLICIT_MARKER}")
        match = _EXPLICIT_LINE.match(line)
        if match is None:
            raise InvalidInputError(
                f"{path}:{lineno}",
                f"not a package URL: {line!r}",
                "each line is URL[#md5] or URL#sha256:HEX, ending in .conda or .tar.bz2",
            )
        url = _explicit_url(match.group("url"), path, lineno)
        records.append(
            record_from_url(
                url,
                source=f"{path}:{lineno}",
                md5=(match.group("md5") or "").lower() or None,
                sha256=(match.group("sha256") or "").lower() or None,
                subdir=header_platform,
            )
        )
    chosen = platform or header_platform
    if chosen is None:
        subdirs = sorted({r.subdir for r in records} - {"noarch"})
        if len(subdirs) == 1:
            chosen = subdirs[0]
        else:
            from .virtual import native_subdir

            chosen = native_subdir()
    if header_platform and platform and platform != header_platform:
        raise InvalidInputError(
            str(path), f"is locked for {header_platform}, not {platform}", "drop --subdir"
        )
    channels = list(dict.fromkeys(r.channel.rstrip("/") for r in records if r.channel))
    return LockedEnvironment(
        path=path,
        format=EXPLICIT,
        environment="default",
        platform=chosen,
        records=records,
        channels=channels,
        reconstructed={
            record_name(r): "explicit file: name, version and build only (no depends)"
            for r in records
        },
    )


def read_lockfile(
    path: str | Path,
    *,
    environment: str | None = None,
    platform: str | None = None,
    index: Index | None = None,
) -> LockedEnvironment:
    """The records of one environment and platform of a lockfile.

    ``environment`` picks one of a pixi file's environments (default: ``default``, or the
    only one); ``platform`` defaults to the only platform locked, else this machine's.
    With ``index``, records are completed from the channels (:func:`complete_records`).
    """
    path = Path(path)
    fmt = detect_format(path)
    if fmt == EXPLICIT:
        if environment not in (None, "default"):
            raise InvalidInputError(
                str(path), "an @EXPLICIT file has a single environment", "drop --lock-env"
            )
        locked = _read_explicit(path, platform)
    else:
        locked = _read_rattler(path, fmt, environment, platform)
    names: dict[str, RepoDataRecord] = {}
    for record in locked.records:
        name = record_name(record)
        if name in names:
            raise InvalidInputError(
                str(path),
                f"locks {name} twice ({names[name].file_name} and {record.file_name}) for "
                f"{locked.platform}",
                "an environment holds one build per package; fix the lockfile",
            )
        names[name] = record
    if index is not None:
        complete_records(locked, index)
    return locked


# -- filling in metadata from the channels ---------------------------------------------


def _channel_matches(record: RepoDataRecord, repo_channel_url: str) -> int:
    """How well a loaded channel matches a locked record's channel: 2 same URL, 1 same
    short name (a mirror or local copy of ``conda-forge``), 0 not at all."""
    locked = strip_subdir((record.channel or record.url.rpartition("/")[0]).rstrip("/"))
    if locked == repo_channel_url.rstrip("/"):
        return 2
    if short_channel_name(locked) == short_channel_name(repo_channel_url):
        return 1
    return 0


def find_in_index(index: Index, record: RepoDataRecord) -> RepoDataRecord | None:
    """The index's record for the same package file as ``record``: same channel (or a
    channel with the same short name), subdir and file name, and no conflicting hash."""
    candidates = []
    for repo in index.repos:
        if repo.subdir != record.subdir:
            continue
        score = _channel_matches(record, repo.channel.url)
        if score:
            candidates.append((score, repo))
    name = PackageName(record_name(record))
    for _, repo in sorted(candidates, key=lambda item: -item[0]):
        if record_name(record) not in repo.names:
            continue
        for candidate in repo.sparse.load_records(name):
            if candidate.file_name != record.file_name:
                continue
            if record.sha256 and candidate.sha256 and record.sha256 != candidate.sha256:
                continue
            if record.md5 and candidate.md5 and record.md5 != candidate.md5:
                continue
            return candidate
    return None


def _with_location(metadata: RepoDataRecord, located: RepoDataRecord) -> RepoDataRecord:
    """``metadata``'s package record served from where ``located`` says."""
    data: dict[str, Any] = json.loads(metadata.to_json())
    data.update(url=located.url, fn=located.file_name, channel=located.channel or "")
    for key in ("md5", "sha256"):
        value = getattr(located, key)
        if value and not data.get(key):
            data[key] = value.hex()
    return record_from_dict(data, source=str(located.url))


def complete_records(locked: LockedEnvironment, index: Index) -> None:
    """Replace partial records (explicit, conda-lock) with the channel's full metadata,
    keeping the lockfile's URL; what no channel has stays marked in ``reconstructed``."""
    if not locked.reconstructed:
        return
    completed: list[RepoDataRecord] = []
    for record in locked.records:
        name = record_name(record)
        if name not in locked.reconstructed:
            completed.append(record)
            continue
        found = find_in_index(index, record)
        if found is None:
            completed.append(record)
            continue
        completed.append(_with_location(found, record))
        del locked.reconstructed[name]
    locked.records = completed
    if locked.reconstructed:
        names = sorted(locked.reconstructed)
        shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        log.warning(
            "%s: %d locked record(s) are in none of the channels; their metadata is only "
            "what the lockfile says: %s",
            locked.path,
            len(names),
            shown,
        )


# -- writing ----------------------------------------------------------------------------


def write_lockfile(
    path: str | Path,
    records: Iterable[RepoDataRecord],
    source: LockedEnvironment,
    *,
    channels: list[str] | None = None,
) -> None:
    """Write ``records`` as ``source.environment`` on ``source.platform`` in
    ``source.format``; everything else ``source.path`` holds is carried over."""
    path = Path(path)
    records = [r for r in records if not record_name(r).startswith("__")]
    channels = list(channels if channels is not None else source.channels)
    if source.format == EXPLICIT:
        text = _explicit_text(records, source.platform)
    elif source.format == CONDA_LOCK:
        text = _conda_lock_text(records, source, channels)
    else:
        _write_pixi(path, records, source, channels)
        return
    _write_text(path, text)


def _original(source: LockedEnvironment):
    """The parsed file ``source`` was read from, to carry its other contents over."""
    if source.path is None or not source.path.exists():
        return None
    return _load_rattler_lock(source.path)


def format_for_path(path: str | Path) -> str:
    """The format to write a new lockfile in, from its name: ``pixi.lock`` (or any
    ``*.lock`` in pixi's layout) is pixi, ``*.yml``/``*.yaml`` conda-lock, anything else
    (``*.txt``, ``explicit``) an @EXPLICIT file."""
    name = Path(path).name.lower()
    if name == "pixi.lock":
        return PIXI
    if name.endswith((".yml", ".yaml")):
        return CONDA_LOCK
    return EXPLICIT


def _write_text(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(str(path), f"cannot write the lockfile ({exc.strerror})") from None


def _explicit_text(records: list[RepoDataRecord], platform: str) -> str:
    lines = [
        "# This file may be used to create an environment using:",
        "# $ conda create --name <env> --file <this file>",
        f"# platform: {platform}",
        EXPLICIT_MARKER,
    ]
    for record in toposort(records):  # an explicit file installs in file order
        suffix = ""
        if record.md5:
            suffix = f"#{record.md5.hex()}"
        elif record.sha256:
            suffix = f"#sha256:{record.sha256.hex()}"
        lines.append(record.url + suffix)
    return "\n".join(lines) + "\n"


def _dependency_map(depends: Iterable[str]) -> dict[str, str]:
    """conda-lock's ``dependencies`` (name -> "version [build]"): depends on the same name
    (``libabseil * cxx17*`` and ``libabseil >=20240116.2``) are merged into one entry."""
    parts: dict[str, tuple[list[str], str]] = {}
    for dep in depends:
        name, _, rest = dep.strip().partition(" ")
        version, _, build = rest.strip().partition(" ")
        versions, known_build = parts.setdefault(name, ([], ""))
        if version and version != "*":
            # "|" binds looser than "," in a version spec: keep alternatives together
            versions.append(f"({version})" if "|" in version else version)
        if build.strip() and not known_build:
            parts[name] = (versions, build.strip())
    result = {}
    for name, (versions, build) in parts.items():
        if len(versions) == 1 and versions[0].startswith("("):
            versions = [versions[0][1:-1]]
        version = ",".join(versions) or "*"
        result[name] = f"{version} {build}" if build else version
    return result


def _yaml(value: Any) -> str:
    # JSON strings are valid YAML (double-quoted scalars)
    return json.dumps(value)


def _conda_lock_entries(records: list[RepoDataRecord], platform: str) -> list[list[str]]:
    entries = []
    for record in sorted(records, key=record_name):
        lines = [
            f"- name: {_yaml(record_name(record))}",
            f"  version: {_yaml(str(record.version))}",
            "  manager: conda",
            f"  platform: {_yaml(platform)}",
        ]
        deps = _dependency_map(record.depends)
        if deps:
            lines.append("  dependencies:")
            lines.extend(f"    {_yaml(k)}: {_yaml(v)}" for k, v in deps.items())
        else:
            lines.append("  dependencies: {}")
        lines.append(f"  url: {_yaml(record.url)}")
        hashes = {k: getattr(record, k).hex() for k in ("md5", "sha256") if getattr(record, k)}
        if hashes:
            lines.append("  hash:")
            lines.extend(f"    {k}: {_yaml(v)}" for k, v in hashes.items())
        else:
            lines.append("  hash: {}")
        lines += ["  category: main", "  optional: false"]
        entries.append(lines)
    return entries


def _conda_lock_text(
    records: list[RepoDataRecord], source: LockedEnvironment, channels: list[str]
) -> str:
    by_platform: dict[str, list[RepoDataRecord]] = {}
    lock = _original(source)
    if lock is not None:
        env = dict(lock.environments()).get(source.environment)
        for lock_platform in env.platforms() if env is not None else []:
            assert env is not None  # the loop runs only then
            by_platform[lock_platform.name] = list(
                env.conda_repodata_records_for_platform(lock_platform) or []
            )
    by_platform[source.platform] = records
    lines = ["version: 1", "metadata:", "  content_hash:"]
    for platform, platform_records in sorted(by_platform.items()):
        digest = hashlib.sha256(
            "\n".join(sorted(r.url for r in platform_records)).encode()
        ).hexdigest()
        lines.append(f"    {_yaml(platform)}: {_yaml(digest)}")
    lines.append("  channels:")
    for channel in channels:
        lines += [f"  - url: {_yaml(channel)}", "    used_env_vars: []"]
    lines.append("  platforms:")
    lines.extend(f"  - {_yaml(p)}" for p in sorted(by_platform))
    lines += ["  sources: []", "package:"]
    for platform, platform_records in sorted(by_platform.items()):
        for entry in _conda_lock_entries(platform_records, platform):
            lines.extend(entry)
    return "\n".join(lines) + "\n"


def _write_pixi(
    path: Path, records: list[RepoDataRecord], source: LockedEnvironment, channels: list[str]
) -> None:
    from rattler import LockChannel

    original = _original(source)
    environments: dict[str, Any] = dict(original.environments()) if original else {}
    platform_names = {p.name for p in original.platforms()} if original else set()
    platform_names.add(source.platform)
    lock = _new_pixi_lock(original, platform_names)
    owned = {p.name: p for p in lock.platforms()}
    dropped: list[str] = []
    names = list(environments)
    if source.environment not in environments:
        names.append(source.environment)
    for env_name in names:
        env = environments.get(env_name)
        if env_name == source.environment:
            lock.set_channels(env_name, [LockChannel(c) for c in channels])
        elif env is not None:
            lock.set_channels(env_name, [LockChannel(str(c)) for c in env.channels()])
        platforms = {p.name: p for p in env.platforms()} if env is not None else {}
        for platform_name in sorted(set(platforms) | {source.platform}):
            if env_name == source.environment and platform_name == source.platform:
                for record in records:
                    lock.add_conda_package(env_name, owned[platform_name], record)
                continue
            if platform_name not in platforms:
                continue
            assert env is not None  # platforms come from env
            lock_platform = platforms[platform_name]
            for record in env.conda_repodata_records_for_platform(lock_platform) or []:
                lock.add_conda_package(env_name, owned[platform_name], record)
            for package in env.packages(lock_platform) or []:
                kind = type(package).__name__
                if kind == "PypiLockedPackage":
                    lock.add_pypi_package(
                        env_name,
                        owned[platform_name],
                        package.name,
                        str(package.version),
                        package.location,
                    )
                elif kind != "CondaLockedBinaryPackage":
                    dropped.append(f"{env_name}/{platform_name}/{package.name}")
    if dropped:
        log.warning(
            "%s: pixi source packages cannot be carried over and were left out: %s",
            path,
            ", ".join(dropped),
        )
    try:
        lock.to_path(str(path))
    except OSError as exc:
        raise InvalidInputError(str(path), f"cannot write the lockfile ({exc.strerror})") from None


def _new_pixi_lock(original, platform_names: set[str]):
    from rattler import LockFile, LockPlatform

    platforms = []
    known = {p.name: p for p in original.platforms()} if original else {}
    for name in sorted(platform_names):
        # keep the platform's recorded virtual packages and subdir where the file had them
        platforms.append(known.get(name) or LockPlatform(name))
    return LockFile(platforms)
