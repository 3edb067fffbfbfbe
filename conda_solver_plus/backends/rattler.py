"""
The rattler engine: py-rattler's ``solve_with_sparse_repodata`` (the resolvo SAT solver).

resolvo is declarative: it is given everything the environment must contain and returns
the best set of records for it. That maps one-to-one onto :class:`EngineRequest`:
``specs`` -> ``specs``, ``constraints`` -> ``constraints``, ``locked`` ->
``locked_packages`` (preferred), ``pinned`` -> ``pinned_packages`` (kept as they are).
Locked and pinned records are candidates even when their channel no longer lists them,
which keeps an installed environment valid after its packages left the index.

On failure resolvo explains the conflict as a tree; we keep that text (deduplicated) and
pull out the package names it mentions for the core's retry loop.
"""

from __future__ import annotations

import asyncio
import datetime
import re
import time
from typing import TYPE_CHECKING

import rattler
from rattler.exceptions import SolverError

from ..exceptions import InvalidInputError
from . import EngineRequest, EngineTimeout, EngineUnsolvable

if TYPE_CHECKING:
    from rattler import RepoDataRecord

    from ..index import Index

_PRIORITY = {
    "strict": rattler.ChannelPriority.Strict,
    "flexible": rattler.ChannelPriority.Flexible,
    "disabled": rattler.ChannelPriority.Disabled,
}

_TREE_CHARS = "─│└├ "
_NO_CANDIDATES = re.compile(r"No candidates were found for (.+?)\.?$")
_NO_CANDIDATES_NESTED = re.compile(r"^(.+?), for which no candidates were found")
_LEADING_NAME = re.compile(r"^(?:the constraint )?([A-Za-z0-9_][A-Za-z0-9_.\-]*)\b")


def dedupe_report(message: str) -> str:
    """Collapse runs of identical lines (resolvo repeats constraint lines per candidate)."""
    out: list[str] = []
    previous = None
    count = 0
    for line in message.rstrip().splitlines():
        if line == previous:
            count += 1
            continue
        if previous is not None and count > 1:
            out[-1] += f" (x{count})"
        out.append(line)
        previous = line
        count = 1
    if previous is not None and count > 1:
        out[-1] += f" (x{count})"
    text = "\n".join(out)
    return text.replace("Cannot solve the request because of: ", "Cannot solve the request:\n", 1)


def parse_report(message: str) -> tuple[set[str], list[str]]:
    """Package names mentioned in a resolvo report, and specs that had no candidates."""
    names: set[str] = set()
    missing: list[str] = []
    for raw in message.splitlines():
        line = raw.lstrip(_TREE_CHARS).strip()
        if line.startswith("Cannot solve the request because of:"):
            line = line.split(":", 1)[1].strip()
        found = _NO_CANDIDATES.search(line)
        if found:
            missing.append(found.group(1).strip().removesuffix(" *").strip())
            names.add(found.group(1).split()[0].lower())
            continue
        nested = _NO_CANDIDATES_NESTED.match(line)
        if nested:
            missing.append(nested.group(1).strip())
            names.add(nested.group(1).split()[0].lower())
            continue
        if line.startswith("The following packages are incompatible"):
            continue
        head = _LEADING_NAME.match(line)
        if head:
            names.add(head.group(1).lower())
    return names, missing


class RattlerBackend:
    name = "rattler"

    def solve(self, index: Index, request: EngineRequest) -> list[RepoDataRecord]:
        timeout = datetime.timedelta(seconds=request.timeout) if request.timeout else None
        kwargs = {
            "specs": request.specs,
            "sparse_repodata": [repo.sparse for repo in index.repos],
            "locked_packages": request.locked,
            "pinned_packages": request.pinned,
            "virtual_packages": request.virtual_packages,
            "channel_priority": _PRIORITY[request.channel_priority],
            "constraints": request.constraints,
            "timeout": timeout,
            "add_pip_as_python_dependency": request.add_pip_as_python_dependency,
        }
        if request.exclude_newer is not None:
            kwargs["exclude_newer"] = request.exclude_newer
            kwargs["timestamp_policy"] = "allow-missing"
        started = time.monotonic()
        try:
            return asyncio.run(rattler.solve_with_sparse_repodata(**kwargs))
        except SolverError as exc:
            message = str(exc)
            if "timeout" in message.lower() or "cancel" in message.lower():
                raise EngineTimeout(time.monotonic() - started) from None
            names, missing = parse_report(message)
            raise EngineUnsolvable(dedupe_report(message), names, missing) from None
        except OSError as exc:
            # py-rattler parses records lazily: broken repodata surfaces here
            raise _locate_bad_repodata(index, exc) from None


def _locate_bad_repodata(index: Index, exc: Exception) -> InvalidInputError:
    for repo in index.repos:
        try:
            repo.sparse.load_all_records()
        except Exception as inner:
            return InvalidInputError(
                str(repo.path if repo.channel.is_local else repo.label),
                f"malformed repodata ({inner})",
                "re-index the channel (conda index) or fix the file",
            )
    return InvalidInputError("repodata", f"cannot be read ({exc})")
