"""
The rattler engine: py-rattler's ``solve_with_sparse_repodata`` (the resolvo SAT solver).

resolvo is declarative: it is given everything the environment must contain and returns
the best set of records for it. That maps one-to-one onto :class:`EngineRequest`:
``specs`` -> ``specs``, ``constraints`` -> ``constraints``, ``locked`` ->
``locked_packages`` (preferred), ``pinned`` -> ``pinned_packages`` (kept as they are).
Locked and pinned records are candidates even when their channel no longer lists them,
which keeps an installed environment valid after its packages left the index. The members
of a conda multichannel reach resolvo as one ``MultiSource`` (one priority tier, see
:func:`sources`).

The solve strategy (``highest``, ``lowest``, ``lowest-direct``) is resolvo's own
``strategy``. resolvo's "direct" dependencies are the names of ``specs``, but the core's
``specs`` also hold what the user did not ask for now (history specs, installed names kept
or updated, aggressive updates); plus's ``lowest-direct`` is lowest for
``requested_names`` only. :func:`direct_only` keeps the requested specs as resolvo's specs
and hands every other required spec over as the dependencies of one synthetic package,
itself required: a dependency is indirect to resolvo, so those names get their highest
version, and the synthetic package never leaves this module.

On failure resolvo explains the conflict as a tree; we keep that text (deduplicated), pull
out the package names it mentions for the core's retry loop, and turn the tree into
chains from the requested specs to the clash (:func:`report_chains`). The text is all
there is: py-rattler's ``SolverError`` carries no structured cause (0.28: nothing but its
message), so :func:`parse_report` is the documented way in, and
tests/test_engine_reports.py checks each of its patterns on a report from a real solve.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import rattler
from rattler.exceptions import SolverError

from .. import rattler_async
from ..exceptions import ChainStep, ConflictChain, InvalidInputError
from . import EngineRequest, EngineTimeout, EngineUnsolvable

if TYPE_CHECKING:
    from rattler import MatchSpec, RepoDataRecord

    from ..repodata.model import Index

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
    """Collapse runs of identical lines (resolvo repeats constraint lines per candidate).

    Lines that differ only in their branch glyph (``├─`` then ``└─`` for the last of a
    run) are the same line: the fold keeps the last glyph, so the tree still closes."""
    lines: list[str] = []
    counts: list[int] = []
    for line in message.rstrip().splitlines():
        if lines and line.replace("└─", "├─") == lines[-1].replace("└─", "├─"):
            lines[-1] = line
            counts[-1] += 1
            continue
        lines.append(line)
        counts.append(1)
    out = [
        f"{line} (the same for {count} candidates)" if count > 1 else line
        for line, count in zip(lines, counts, strict=True)
    ]
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


@dataclass
class _Node:
    """One line of resolvo's report tree, classified."""

    kind: str  # group | spec | package | leaf
    name: str = ""
    spec: str = ""
    versions: tuple[str, ...] = ()
    problem: str = ""  # conflict | missing | excluded | locked (leaves), failing (specs)
    detail: str = ""
    children: list[_Node] = field(default_factory=list)


_SPEC_ENDINGS = (
    (" cannot be installed because there are no viable options:", "failing"),
    (" can be installed with any of the following options:", ""),
)


def _classify(text: str) -> _Node:
    text = re.sub(r" \(x\d+\)$", "", text.strip())
    if text.startswith("The following packages are incompatible"):
        return _Node("group")
    found = _NO_CANDIDATES.search(text)
    if found and text.startswith("No candidates"):
        spec = found.group(1).strip()
        return _Node("leaf", _head(spec), spec, problem="missing")
    for marker, problem in (
        (", for which no candidates were found", "missing"),
        (", which conflicts with", "conflict"),
        (" is excluded because", "excluded"),
        (" is locked, but", "locked"),
    ):
        if marker in text:
            subject, _, rest = text.partition(marker)
            node = _subject(subject)
            node.kind, node.problem = "leaf", problem
            if problem == "excluded":
                node.detail = rest.strip().removeprefix("due to ").strip()
            return node
    for marker, problem in (*_SPEC_ENDINGS, *((", which" + m[0], m[1]) for m in _SPEC_ENDINGS)):
        if text.endswith(marker):
            spec = text[: -len(marker)].removesuffix(", which").strip()
            return _Node("spec", _head(spec), spec, problem=problem)
    for marker in (" would require", " would constrain"):
        if text.endswith(marker):
            return _subject(text[: -len(marker)])
    return _subject(text)


def _head(text: str) -> str:
    head = _LEADING_NAME.match(text.removeprefix("the constraint ").strip())
    return head.group(1).lower() if head else text.split()[0].lower() if text.split() else ""


def _subject(text: str) -> _Node:
    """``numpy 2.1.0 | 2.2.6`` (a package with candidate versions) or a spec."""
    name = _head(text)
    rest = text.strip().removeprefix("the constraint ").strip()[len(name) :].strip()
    parts = [part.strip() for part in rest.split(" | ")]
    if parts and all(part and " " not in part and part[0] not in "<>=!~*" for part in parts):
        return _Node("package", name, versions=tuple(parts))
    return _Node("spec", name, text.strip())


def _parse_tree(message: str) -> list[_Node]:
    roots: list[_Node] = []
    stack: list[tuple[int, _Node]] = []
    for raw in message.splitlines():
        if not raw.strip():
            continue
        body = raw.lstrip(_TREE_CHARS)
        depth = (len(raw) - len(body)) // 3
        text = body.strip()
        if text.startswith("Cannot solve the request because of:"):
            text = text.split(":", 1)[1].strip()
            if not text:
                continue
        node = _classify(text)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        (stack[-1][1].children if stack else roots).append(node)
        stack.append((depth, node))
    return roots


def report_chains(message: str) -> list[ConflictChain]:
    """Every path in resolvo's report from a requested spec (a root of the tree) to a
    leaf that is a problem, as :class:`ConflictChain` s in report order.

    A spec line and the candidates below it (``numpy >=2.1`` then ``numpy 2.1.0 |
    2.2.6 would require``) become one step. A leaf that "conflicts with the versions
    reported above" clashes with the other requirements of its group, which the chain's
    ``detail`` names."""
    chains: list[ConflictChain] = []

    def walk(node: _Node, path: list[_Node], partners: list[str]) -> None:
        path = [*path, node]
        if node.kind == "leaf":
            with_ = tuple(partners) if node.problem == "conflict" else ()
            chains.append(ConflictChain(_steps(path), node.problem, node.detail, with_))
            return
        for child in node.children:
            walk(child, path, partners)

    def roots_of(nodes: list[_Node]):
        for node in nodes:
            if node.kind == "group":
                specs = [child.spec or child.name for child in node.children]
                for child in node.children:
                    partners = [spec for spec in specs if spec != (child.spec or child.name)]
                    yield child, partners
            else:
                yield node, []

    for root, partners in roots_of(_parse_tree(message)):
        walk(root, [], partners)
    return chains


def _steps(path: list[_Node]) -> tuple[ChainStep, ...]:
    steps: list[ChainStep] = []
    for node in path:
        if node.kind == "group" or not node.name:
            continue
        specs = (node.spec,) if node.spec else ()
        if steps and steps[-1].name == node.name:
            last = steps.pop()
            specs = tuple(dict.fromkeys((*last.specs, *specs)))
            versions = tuple(dict.fromkeys((*last.versions, *node.versions)))
            steps.append(ChainStep(node.name, specs, versions))
        else:
            steps.append(ChainStep(node.name, specs, node.versions))
    return tuple(steps)


def sources(index: Index) -> list:
    """The index as resolvo's sources, in priority order: one ``SparseRepoData`` per
    channel/subdir, except that the repos of a tier shared by several channels (the members
    of a multichannel, :meth:`Index.priority_tiers`) form one ``MultiSource``, so strict
    priority treats them as one channel."""
    tiers = index.priority_tiers()
    rank = {channel.url: position for position, tier in enumerate(tiers) for channel in tier}
    members: dict[int, list] = {}
    order: list = []  # SparseRepoData, or the rank of a shared tier (filled in below)
    for repo in index.repos:
        position = rank[repo.channel.url]
        if len(tiers[position]) == 1:
            order.append(repo.sparse)
            continue
        if position not in members:
            members[position] = []
            order.append(position)
        members[position].append(repo.sparse)
    return [
        rattler.MultiSource(tiers[item][0].multichannel or "", members[item])
        if isinstance(item, int)
        else item
        for item in order
    ]


#: the synthetic package that carries, under ``lowest-direct``, the required specs the
#: user did not ask for (:func:`direct_only`); its repo comes after every channel
REQUEST_ROOT = "plus-indirect-requirements"


def split_direct(request: EngineRequest) -> tuple[list[MatchSpec], list[MatchSpec]]:
    """``request.specs`` split into resolvo's direct specs (the names the user asked
    for) and the rest, which ``lowest-direct`` must treat as indirect."""
    direct: list[MatchSpec] = []
    indirect: list[MatchSpec] = []
    for spec in request.specs:
        name = spec.name.normalized if spec.name is not None else None
        (direct if name in request.requested_names else indirect).append(spec)
    return direct, indirect


@contextmanager
def direct_only(request: EngineRequest) -> Iterator[tuple[list[MatchSpec], list]]:
    """resolvo's specs and extra sources for ``request``: under ``lowest-direct`` with
    required specs beyond the requested names, the requested specs and a synthetic
    package depending on the others (served from a one-record repodata file in a
    temporary directory); otherwise ``request.specs`` as they are, and no extra source.

    A spec bound to a channel (``conda-forge::numpy``) keeps its channel only as a
    top-level spec (a dependency's channel is not read), so such a spec stays direct."""
    if request.strategy != "lowest-direct":
        yield list(request.specs), []
        return
    direct, indirect = split_direct(request)
    bound = [spec for spec in indirect if spec.channel is not None]
    indirect = [spec for spec in indirect if spec.channel is None]
    if not indirect:
        yield list(request.specs), []
        return
    entry = {
        "name": REQUEST_ROOT,
        "version": "0",
        "build": "0",
        "build_number": 0,
        "depends": [str(spec) for spec in indirect],
        "subdir": "noarch",
    }
    data = {"info": {"subdir": "noarch"}, "packages": {f"{REQUEST_ROOT}-0-0.tar.bz2": entry}}
    with tempfile.TemporaryDirectory(prefix="plus-strategy-") as folder:
        path = Path(folder) / "repodata.json"
        path.write_text(json.dumps(data))
        root = rattler.SparseRepoData(rattler.Channel(Path(folder).as_uri()), "noarch", path)
        try:
            yield [*direct, *bound, rattler.MatchSpec(REQUEST_ROOT)], [root]
        finally:
            root.close()


class RattlerBackend:
    name = "rattler"
    #: the distribution that provides it (user agents name its version)
    library = "py-rattler"

    def solve(self, index: Index, request: EngineRequest) -> list[RepoDataRecord]:
        started = time.monotonic()
        with direct_only(request) as (specs, extra_sources):
            try:
                records = self._solve(index, request, specs, extra_sources)
            except EngineUnsolvable:
                if not extra_sources:
                    raise
                # the same requirements without the synthetic package have no solution
                # either (a strategy only orders candidates); solved as they are, the
                # report names the user's specs, not the synthetic package
                timeout = request.timeout
                if timeout:
                    timeout = max(timeout - (time.monotonic() - started), 0.001)
                records = self._solve(
                    index, dataclasses.replace(request, timeout=timeout), request.specs, []
                )
        records = [record for record in records if record.name.normalized != REQUEST_ROOT]
        if request.add_pip_as_python_dependency:
            records = [_as_the_channel_serves_it(index, record) for record in records]
        return records

    def _solve(
        self, index: Index, request: EngineRequest, specs: list[MatchSpec], extra_sources: list
    ) -> list[RepoDataRecord]:
        timeout = datetime.timedelta(seconds=request.timeout) if request.timeout else None
        solving = rattler.solve_with_sparse_repodata(
            specs=specs,
            sparse_repodata=[*sources(index), *extra_sources],
            strategy=request.strategy,
            locked_packages=request.locked,
            pinned_packages=request.pinned,
            virtual_packages=request.virtual_packages,
            channel_priority=_PRIORITY[request.channel_priority],
            constraints=request.constraints,
            timeout=timeout,
            add_pip_as_python_dependency=request.add_pip_as_python_dependency,
            exclude_newer=request.exclude_newer,
            # a record without a timestamp is kept under a cutoff, as in conda
            timestamp_policy="allow-missing",
        )
        started = time.monotonic()
        try:
            return rattler_async.run(solving)
        except SolverError as exc:
            message = str(exc)
            if "timeout" in message.lower() or "cancel" in message.lower():
                raise EngineTimeout(time.monotonic() - started) from None
            names, missing = parse_report(message)
            raise EngineUnsolvable(
                dedupe_report(message), names, missing, report_chains(message)
            ) from None
        except OSError as exc:
            # py-rattler parses records lazily: broken repodata surfaces here
            raise _locate_bad_repodata(index, exc) from None


def _as_the_channel_serves_it(index: Index, record: RepoDataRecord) -> RepoDataRecord:
    """``record`` as its channel serves it. With ``add_pip_as_python_dependency``
    py-rattler returns python's records with ``pip`` added to their depends; the answer is
    the channel's record (as the libmamba engine's is), so what is written from it (a
    lockfile, ``--json``) is what the channel says, whichever engine solved and whether the
    record was solved or kept from a lockfile."""
    if record.name.normalized != "python" or "pip" not in record.depends:
        return record
    for repo in index.repos:
        if repo.subdir != record.subdir or "python" not in repo.names:
            continue
        for candidate in repo.sparse.load_records(rattler.PackageName("python")):
            if candidate.url == record.url:
                return candidate
    return record


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
