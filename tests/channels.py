"""Channels made by tests: files laid out as a channel tree, and minimal repodata entries.

A repodata entry here has what a solver needs (name, version, build, depends, subdir) and
placeholder hashes; these channels are solved against, never linked from.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

PLACEHOLDER_MD5 = "0123456789abcdef0123456789abcdef"


def write_files(root: Path, files: dict[str, bytes | str]) -> Path:
    """Write ``files`` (path relative to ``root`` -> content) below ``root``; return it."""
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode()
        path.write_bytes(content)
    return root


def repodata_entry(
    name: str,
    version: str,
    subdir: str = "noarch",
    depends: Iterable[str] = (),
    extension: str = ".tar.bz2",
) -> tuple[str, dict]:
    """``(file name, record)`` of a build-0 package for a repodata ``packages`` table."""
    return f"{name}-{version}-0{extension}", {
        "name": name,
        "version": version,
        "build": "0",
        "build_number": 0,
        "depends": list(depends),
        "subdir": subdir,
        "md5": PLACEHOLDER_MD5,
        "size": 1,
    }
