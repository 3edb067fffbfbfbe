"""
Writing ``conda-lock.yml`` (version 1): one environment, a flat ``package`` list with
``name``, ``version``, ``platform``, ``url``, ``hash`` and ``dependencies`` as a name ->
spec map. The platforms the file had besides the solved one are carried over.

The YAML is written by hand: every scalar is a JSON string, which YAML reads as a
double-quoted scalar, so no YAML library is needed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from rattler import RepoDataRecord

from ..records import record_name
from .model import LockedEnvironment
from .rattler_lock import original_lock

__all__ = ["conda_lock_document", "conda_lock_text"]


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


def conda_lock_text(
    records: list[RepoDataRecord], source: LockedEnvironment, channels: list[str]
) -> str:
    """``records`` as ``source``'s platform of a conda-lock file, with the other
    platforms of the file ``source`` was read from."""
    by_platform: dict[str, list[RepoDataRecord]] = {}
    lock = original_lock(source)
    if lock is not None:
        env = dict(lock.environments()).get(source.environment)
        for lock_platform in env.platforms() if env is not None else []:
            assert env is not None  # the loop runs only then
            by_platform[lock_platform.name] = list(
                env.conda_repodata_records_for_platform(lock_platform) or []
            )
    by_platform[source.platform] = records
    return conda_lock_document(by_platform, channels, source.strategy)


def conda_lock_document(
    by_platform: dict[str, list[RepoDataRecord]], channels: list[str], strategy: str
) -> str:
    """A conda-lock file of one environment: ``by_platform``'s records, solved from
    ``channels`` with ``strategy``."""
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
    lines.append("  sources: []")
    if strategy != "highest":
        # conda-lock's free-form metadata (``custom_metadata``, a str -> str map)
        lines += ["  custom_metadata:", f"    solve_strategy: {_yaml(strategy)}"]
    lines.append("package:")
    for platform, platform_records in sorted(by_platform.items()):
        for entry in _conda_lock_entries(platform_records, platform):
            lines.extend(entry)
    return "\n".join(lines) + "\n"
