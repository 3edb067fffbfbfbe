"""
Repoquery: asking the index about packages without solving.

Before (or after) a solve fails, users want to look at what the channels offer:

- ``search SPEC`` — every record matching a match spec (``numpy>=2``, ``pytorch=*=*cuda*``,
  ``numpy*``), newest first per name, in channel priority order;
- ``depends SPEC`` — the dependencies of the best record matching ``SPEC``, each resolved
  to the best record that satisfies it; with ``tree`` recursively, each package expanded
  once (a repeat is marked, a dependency nothing satisfies is marked missing);
- ``whoneeds NAME`` — the packages whose ``depends`` name ``NAME``, with the entry that
  does, newest version of each (or every version).

"Best" follows the solver's preferences without solving: under strict channel priority
only the first channel that has a name is considered, then the highest version and build
number win. Dependencies are not solved jointly, so ``depends --tree`` shows what each
package *could* pull in, not one consistent environment (``solve`` gives that).

Everything reads the lazily loaded :class:`~conda_solver_plus.index.Index`: ``search`` and
``depends`` parse only the names they touch; ``whoneeds`` has to read every record once.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rattler import MatchSpec, PackageName

from .backends import ChannelPriority
from .exceptions import InvalidInputError, PackagesNotFoundError, sort_versions
from .output import channel_label, columns
from .records import dependency_name, record_name, record_to_json
from .specs import parse_spec, spec_name

if TYPE_CHECKING:
    from rattler import RepoDataRecord

    from .repodata.model import Index


def _sort_key(record: RepoDataRecord) -> tuple:
    return (record.version, record.build_number, str(record.build))


def _records_named(
    index: Index, name: str, channel_priority: ChannelPriority = "flexible"
) -> list[RepoDataRecord]:
    """Records called ``name``; under strict priority only from the first channel with it."""
    found: list[RepoDataRecord] = []
    first_channel = None
    for repo in index.repos:
        if name not in repo.names:
            continue
        if channel_priority == "strict":
            if first_channel is None:
                first_channel = repo.channel
            elif repo.channel != first_channel:
                continue
        found.extend(repo.sparse.load_records(PackageName(name)))
    return found


def _parse(text: str) -> MatchSpec:
    return parse_spec(text, "query", allow_glob=True)


def search(
    index: Index, text: str, channel_priority: ChannelPriority = "flexible"
) -> list[RepoDataRecord]:
    """Every record matching ``text``, by name, newest first (channel order kept for
    equal versions). A name glob (``numpy*``) searches every matching name."""
    spec = _parse(text)
    name = spec_name(spec)
    if "*" in name:
        names = sorted(n for n in index.package_names() if fnmatch.fnmatchcase(n, name))
    else:
        names = [name]
    result: list[RepoDataRecord] = []
    for candidate in names:
        records = _records_named(index, candidate, channel_priority)
        matching = [record for record in records if spec.matches(record)]
        result.extend(sorted(matching, key=_sort_key, reverse=True))
    return result


def not_found(index: Index, text: str) -> PackagesNotFoundError:
    """``search`` found nothing: conda's error, with the versions the channels do have
    of a package that exists (a glob or a typo has none)."""
    name = spec_name(_parse(text))
    available: dict[str, list[str]] = {}
    if "*" not in name:
        versions = sort_versions({str(r.version) for r in _records_named(index, name, "disabled")})
        if versions:
            available[text] = versions
    return PackagesNotFoundError(
        [text],
        channels=[channel.name for channel in index.channels],
        subdirs=index.subdirs,
        available=available,
    )


def best_match(
    index: Index, spec: MatchSpec, channel_priority: ChannelPriority = "strict"
) -> RepoDataRecord | None:
    """The record a solver would prefer for ``spec`` on its own."""
    if spec.name is None:
        return None
    candidates = [
        r for r in _records_named(index, spec.name.normalized, channel_priority) if spec.matches(r)
    ]
    return max(candidates, key=_sort_key, default=None)


@dataclass
class DependencyNode:
    """One line of ``depends``: the entry, the record it resolves to (``None`` when
    nothing in the index satisfies it or it is a virtual package), and its own
    dependencies when expanded."""

    spec: str
    record: RepoDataRecord | None
    children: list[DependencyNode] = field(default_factory=list)
    #: ``missing`` (nothing satisfies it), ``virtual`` or ``repeat`` (expanded above)
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "record": record_to_json(self.record) if self.record is not None else None,
            "note": self.note,
            "depends": [child.to_json() for child in self.children],
        }


def _label(record: RepoDataRecord) -> str:
    return f"{record_name(record)} {record.version} {record.build}"


def depends(
    index: Index,
    text: str,
    *,
    tree: bool = False,
    channel_priority: ChannelPriority = "strict",
    max_depth: int = 50,
) -> DependencyNode:
    """The dependencies of the best record matching ``text``, each resolved to its best
    match; with ``tree`` recursively (each package expanded once)."""
    spec = parse_spec(text, "query")
    root_record = best_match(index, spec, channel_priority)
    if root_record is None:
        raise PackagesNotFoundError(
            [text],
            channels=[channel.name for channel in index.channels],
            subdirs=index.subdirs,
        )
    root = DependencyNode(text, root_record)
    expanded: set[str] = {record_name(root_record)}

    def expand(node: DependencyNode, depth: int) -> None:
        assert node.record is not None
        for dep in node.record.depends:
            name = dependency_name(dep)
            if name.startswith("__"):
                node.children.append(DependencyNode(dep, None, note="virtual"))
                continue
            try:
                dep_spec = MatchSpec(dep, strict=False)
            except Exception:
                node.children.append(DependencyNode(dep, None, note="unparsable"))
                continue
            record = best_match(index, dep_spec, channel_priority)
            child = DependencyNode(dep, record, note="" if record is not None else "missing")
            node.children.append(child)
            if record is None or not tree or depth >= max_depth:
                continue
            if record_name(record) in expanded:
                child.note = "repeat"
                continue
            expanded.add(record_name(record))
            expand(child, depth + 1)

    expand(root, 1)
    return root


def render_depends(root: DependencyNode, tree: bool) -> str:
    assert root.record is not None
    lines = [f"{_label(root.record)}  ({channel_label(root.record)})"]

    def walk(node: DependencyNode, prefix: str) -> None:
        for position, child in enumerate(node.children):
            last = position == len(node.children) - 1
            branch = "└─ " if last else "├─ "
            if child.record is not None:
                text = f"{child.spec}  ->  {_label(child.record)}"
            else:
                text = child.spec
            if child.note == "repeat":
                text += "  (expanded above)"
            elif child.note == "missing":
                text += "  (nothing in the channels provides it)"
            elif child.note == "virtual":
                text += "  (virtual package: provided by the system)"
            lines.append(f"{prefix}{branch if tree else '  '}{text}")
            walk(child, prefix + ("   " if last else "│  "))

    walk(root, "")
    return "\n".join(lines)


@dataclass(frozen=True)
class Dependent:
    """A record that depends on the queried name, and the ``depends`` entry that does."""

    record: RepoDataRecord
    spec: str

    def to_json(self) -> dict[str, Any]:
        return {**record_to_json(self.record), "depends_on": self.spec}


def whoneeds(
    index: Index,
    name: str,
    *,
    all_versions: bool = False,
    channel_priority: ChannelPriority = "flexible",
) -> list[Dependent]:
    """Records whose ``depends`` name ``name``: the newest version of each dependent
    package (every version with ``all_versions``), sorted by name."""
    name = name.strip().lower()
    if not name or " " in name:
        raise InvalidInputError(f"whoneeds {name!r}", "expected one package name", "e.g. numpy")
    found: dict[str, list[Dependent]] = {}
    for dependent_name in sorted(index.package_names()):
        for record in _records_named(index, dependent_name, channel_priority):
            for dep in record.depends:
                if dependency_name(dep) == name:
                    found.setdefault(dependent_name, []).append(Dependent(record, dep))
                    break
    result: list[Dependent] = []
    for dependent_name in sorted(found):
        entries = sorted(found[dependent_name], key=lambda d: _sort_key(d.record), reverse=True)
        if not all_versions:
            newest = entries[0].record.version
            entries = [entry for entry in entries if entry.record.version == newest]
        seen: set[tuple[str, str]] = set()
        for entry in entries:  # one line per version and depends entry, not per build
            key = (str(entry.record.version), entry.spec)
            if key not in seen:
                seen.add(key)
                result.append(entry)
    return result


def render_records(records: list[RepoDataRecord]) -> str:
    """``search`` as ``conda search`` prints it: a header, one row per record (by name,
    newest first), the channel by its canonical name, then a count."""
    if not records:
        return ""
    rows: list[tuple[str, ...]] = [("# Name", "Version", "Build", "Channel")]
    rows.extend((record_name(r), str(r.version), str(r.build), channel_label(r)) for r in records)
    count = len(records)
    return "\n".join([*columns(rows), f"# {count} record{'s' if count != 1 else ''}"])


def render_dependents(dependents: list[Dependent]) -> str:
    """``whoneeds``: a header, one row per dependent (by name), the ``depends`` entry
    that names the package, then a count."""
    if not dependents:
        return ""
    rows: list[tuple[str, ...]] = [("# Name", "Version", "Build", "Channel", "Depends on")]
    rows.extend(
        (
            record_name(d.record),
            str(d.record.version),
            str(d.record.build),
            channel_label(d.record),
            d.spec,
        )
        for d in dependents
    )
    count = len(dependents)
    return "\n".join([*columns(rows), f"# {count} dependent{'s' if count != 1 else ''}"])
