"""
The one reduction: sources and the request's root names to the repos the engines read.

Every channel subdir is a *source* (:class:`Source`): read whole (a small monolithic file,
:class:`WholeFile`), through the local split of a large monolithic file
(:class:`.split.SplitFile`), through a CEP-16 shard index with plus's content-addressed
store (:class:`.sharded.ShardedSubdir`) or with conda's ``repodata_shards.db``
(``conda_solver_plus.conda.shard_subsets``). :func:`reduce` walks all of them together
from the root names (:mod:`.roots`): a name reached in one source is read in every source
that lists it, and a dependency met only through a source read whole still brings its
shards (:func:`.shards.walk`). Each split or sharded source then becomes a small subset
``repodata.json`` of what the walk reached; a source read whole stays as it is.

The subsets of a request are remembered in a manifest under one key — every source's exact
content (:attr:`Source.key`) and the root names — so repeating a request reads the
manifest and nothing else (:mod:`.subsets`).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from rattler import PackageName

from ..records import dependency_names
from . import subsets
from .cache_files import file_key
from .model import SubdirRepo
from .roots import RootNames
from .shards import walk


class Source(Protocol):
    """One channel subdir as the reduction reads it (a :class:`.shards.ShardSource` of the
    walk, plus what it becomes)."""

    @property
    def key(self) -> str | None:
        """What identifies this source's exact content in the subset manifest (``None``:
        unknown, so the request is not remembered)."""
        ...

    def has(self, name: str) -> bool:
        """Does this source list ``name``?"""
        ...

    def dependencies(self, names: Collection[str]) -> Mapping[str, set[str]]:
        """Read the records of ``names`` (all listed here); per name, the package names
        they depend on (virtual ``__`` names left out)."""
        ...

    def listed(self) -> frozenset[str]:
        """Every package name this source lists ("did you mean", strict priority)."""
        ...

    def write_subset(self, names: set[str], cache_dir: Path) -> Path | None:
        """The subset file holding the records of ``names``; ``None``: read whole."""
        ...

    def repo(self, subset: Path | None) -> SubdirRepo:
        """What the engines read: the subset file (or the whole source, for ``None``)."""
        ...


class WholeFile:
    """A monolithic repodata file read whole by the engines (small, or its split is not
    ready yet), walked through py-rattler's lazy parser: its records still lead to names
    the sharded and split sources must provide."""

    def __init__(self, repo: SubdirRepo) -> None:
        self._repo = repo

    @property
    def key(self) -> str | None:
        path = self._repo.repodata_file
        return None if path is None else "whole:" + file_key(path)

    def has(self, name: str) -> bool:
        return name in self._repo.names

    def dependencies(self, names: Collection[str]) -> dict[str, set[str]]:
        return {
            name: {
                dep
                for record in self._repo.sparse.load_records(PackageName(name))
                for dep in dependency_names(record)
                if not dep.startswith("__")
            }
            for name in names
        }

    def listed(self) -> frozenset[str]:
        return self._repo.names

    def write_subset(self, names: set[str], cache_dir: Path) -> Path | None:
        return None

    def repo(self, subset: Path | None) -> SubdirRepo:
        return self._repo


def root_set(sources: Sequence[Source], roots: RootNames) -> set[str]:
    """The names a walk starts from: ``roots`` lowercased, globs (``numpy*``) expanded
    against every name the sources list; a callable ``roots`` chooses from all of them;
    ``None`` is all of them."""
    if roots is not None and not callable(roots):
        names = {name.lower() for name in roots if name}
        patterns = {name for name in names if any(c in name for c in "*?[")}
        if not patterns:
            return names
        every = _every_name(sources)
        return (names - patterns) | {n for p in patterns for n in fnmatch.filter(every, p)}
    every = _every_name(sources)
    return every if roots is None else {name.lower() for name in roots(every)}


def _every_name(sources: Sequence[Source]) -> set[str]:
    names: set[str] = set()
    for source in sources:
        names |= source.listed()
    return names


def reduce(sources: Sequence[Source], roots: RootNames, cache_dir: Path) -> list[SubdirRepo]:
    """The repos the engines read, one per source in order: every source reduced to what
    ``roots`` reach across all of them (a source read whole stays whole)."""
    if all(isinstance(source, WholeFile) for source in sources):
        return [source.repo(None) for source in sources]  # small channels: nothing to reduce
    paths = subset_files(sources, roots, cache_dir)
    return [source.repo(path) for source, path in zip(sources, paths, strict=True)]


def subset_files(
    sources: Sequence[Source], roots: RootNames, cache_dir: Path
) -> list[Path | None]:
    """The subset file of each source (``None``: read whole) holding what ``roots`` reach
    across all of them. A request made before with the same sources in the same state
    reads its manifest and nothing else."""
    names = root_set(sources, roots)
    keys = [source.key for source in sources]
    known = None if None in keys else [key for key in keys if key is not None]
    paths = subsets.cached_subsets(cache_dir, known, names) if known else None
    if paths is None:
        reached = walk(sources, names)
        paths = [
            source.write_subset(found, cache_dir)
            for source, found in zip(sources, reached, strict=True)
        ]
        if known:
            subsets.remember_subsets(cache_dir, known, names, paths)
    return paths
