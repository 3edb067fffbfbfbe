"""Channels made by tests: files laid out as a channel tree, minimal repodata entries, and
records of a local channel installed into a prefix's ``conda-meta``.

A repodata entry here has what a solver needs (name, version, build, depends, subdir) and
placeholder hashes; these channels are solved against, never linked from.
"""

from __future__ import annotations

import json
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


def install_record(
    prefix: Path, channel: Path, subdir: str, fn: str, history_spec: str | None = None
) -> None:
    """Write ``conda-meta/<dist>.json`` for the record ``fn`` of the local ``channel``, the
    way conda does; with ``history_spec``, also the history entry that installed it."""
    repodata = json.loads((channel / subdir / "repodata.json").read_text())
    entry = {**repodata.get("packages", {}), **repodata.get("packages.conda", {})}[fn]
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True, exist_ok=True)
    dist = fn.removesuffix(".conda").removesuffix(".tar.bz2")
    url = channel.as_uri()
    record = {
        **entry,
        "fn": fn,
        "url": f"{url}/{subdir}/{fn}",
        "channel": f"{url}/{subdir}",
        "files": [],
        "paths_data": {"paths": [], "paths_version": 1},
        "requested_spec": history_spec or "",
        "extracted_package_dir": f"/opt/pkgs/{dist}",
        "package_tarball_full_path": f"/opt/pkgs/{fn}",
    }
    (meta / f"{dist}.json").write_text(json.dumps(record, indent=2))
    if history_spec:
        with open(meta / "history", "a") as handle:
            handle.write(
                f"==> 2024-12-01 10:00:00 <==\n# cmd: conda install {history_spec}\n"
                f"# conda version: 24.11.0\n+{url}/{subdir}::{dist}\n"
                f"# update specs: [{history_spec!r}]\n"
            )
