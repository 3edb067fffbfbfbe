"""
Explicit files (``conda list --explicit``, ``conda-lock --kind explicit``): an
``@EXPLICIT`` marker, then one package URL per line, optionally ending in ``#<md5>`` or
``#sha256:<hex>``.

They carry no metadata: a record is what its URL says (name, version, build, a build
number read off the build string, channel and subdir) until a channel that serves the
same file fills in the rest (:mod:`.metadata`). The one thing plus adds is a comment
line, ``# solve strategy: lowest-direct``, when the environment was not solved for the
highest versions (conda and conda-lock skip comments).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlparse

from rattler import RepoDataRecord

from ..exceptions import InvalidInputError
from ..records import KNOWN_SUBDIRS, record_from_dict, record_name, strip_subdir, toposort
from ..settings import SolveStrategy
from ..virtual import native_subdir
from .model import EXPLICIT, EXPLICIT_MARKER, LockedEnvironment, lockfile_strategy

__all__ = ["build_number_from_build", "explicit_text", "read_explicit", "record_from_url"]

_PACKAGE_SUFFIXES = (".conda", ".tar.bz2")
_EXPLICIT_LINE = re.compile(
    r"^(?P<url>\S+?(?:\.conda|\.tar\.bz2))"
    r"(?:#(?:(?P<md5>[0-9a-fA-F]{32})|(?:sha256:)?(?P<sha256>[0-9a-fA-F]{64})))?$"
)
_PLATFORM_COMMENT = re.compile(r"#\s*platform:\s*(\S+)")
_STRATEGY_COMMENT = re.compile(r"#\s*solve strategy:\s*(\S+)")


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


def read_explicit(path: Path, platform: str | None) -> LockedEnvironment:
    """The records of an explicit file, for ``platform`` (default: the file's
    ``# platform:`` comment, else the only subdir its URLs name, else this machine's)."""
    header_platform, records = _read_lines(path)
    strategy = _strategy_of(path)
    chosen = platform or header_platform or _platform_of(records)
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
        strategy=strategy,
    )


def _strategy_of(path: Path) -> SolveStrategy:
    """The solve strategy a ``# solve strategy:`` comment before ``@EXPLICIT`` names
    (``highest`` without one)."""
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if line == EXPLICIT_MARKER:
            break
        found = _STRATEGY_COMMENT.match(line)
        if found:
            return lockfile_strategy(found.group(1), f"{path}:{lineno}")
    return "highest"


def _read_lines(path: Path) -> tuple[str | None, list[RepoDataRecord]]:
    """The platform an explicit file's ``# platform:`` comment names (if any), and the
    records of its package lines."""
    header_platform: str | None = None
    records: list[RepoDataRecord] = []
    seen_marker = False
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if line.startswith("#"):
            comment = _PLATFORM_COMMENT.match(line)
            header_platform = comment.group(1) if comment else header_platform
        elif line == EXPLICIT_MARKER:
            seen_marker = True
        elif line and not seen_marker:
            raise InvalidInputError(f"{path}:{lineno}", f"{line!r} before {EXPLICIT_MARKER}")
        elif line:
            records.append(_record_of_line(line, path, lineno, header_platform))
    return header_platform, records


def _record_of_line(
    line: str, path: Path, lineno: int, header_platform: str | None
) -> RepoDataRecord:
    """The record of the package line ``lineno`` of ``path``."""
    match = _EXPLICIT_LINE.match(line)
    if match is None:
        raise InvalidInputError(
            f"{path}:{lineno}",
            f"not a package URL: {line!r}",
            "each line is URL[#md5] or URL#sha256:HEX, ending in .conda or .tar.bz2",
        )
    return record_from_url(
        _explicit_url(match.group("url"), path),
        source=f"{path}:{lineno}",
        md5=(match.group("md5") or "").lower() or None,
        sha256=(match.group("sha256") or "").lower() or None,
        subdir=header_platform,
    )


def _explicit_url(text: str, path: Path) -> str:
    """A package line's URL; a local path is relative to the file's directory."""
    if "://" in text:
        return text
    local = Path(text).expanduser()
    if not local.is_absolute():
        local = (path.parent / local).resolve()
    return local.as_uri()


def _platform_of(records: list[RepoDataRecord]) -> str:
    """The platform of a file without a ``# platform:`` comment: the only subdir its
    records name besides ``noarch``, else this machine's."""
    subdirs = sorted({r.subdir for r in records} - {"noarch"})
    return subdirs[0] if len(subdirs) == 1 else native_subdir()


def explicit_text(records: list[RepoDataRecord], platform: str, strategy: str = "highest") -> str:
    """``records`` as an explicit file for ``platform``, in install order, solved with
    ``strategy`` (a comment line when it is not ``highest``)."""
    lines = [
        "# This file may be used to create an environment using:",
        "# $ conda create --name <env> --file <this file>",
        f"# platform: {platform}",
    ]
    if strategy != "highest":
        lines.append(f"# solve strategy: {strategy}")
    lines.append(EXPLICIT_MARKER)
    for record in toposort(records):  # an explicit file installs in file order
        suffix = ""
        if record.md5:
            suffix = f"#{record.md5.hex()}"
        elif record.sha256:
            suffix = f"#sha256:{record.sha256.hex()}"
        lines.append(record.url + suffix)
    return "\n".join(lines) + "\n"
