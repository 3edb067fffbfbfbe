"""
The root names of a request: where a walk over sharded or split repodata starts.

One function, :func:`root_names`, for the standalone CLI, the conda adapter and the query
commands: the requested specs, what the prefix has installed (and what its records depend
on: a record its channel no longer lists is still kept), its history, pins, locked records,
aggressive updates, conda itself where it may be auto-updated, and ``pip`` where conda adds
it to python's dependencies. Everything else the engines meet is reached from these
through ``depends``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable

from ..records import dependency_name

#: the package names a request starts from, or a function choosing them from every name
#: the channels list (``search 'numpy*'``); ``None`` reads every name
RootNames = Iterable[str] | Callable[[set[str]], Iterable[str]] | None


def root_names(
    *,
    specs: Iterable[object] = (),
    installed: Iterable[tuple[str, Iterable[str]]] = (),
    history: Iterable[str] = (),
    aggressive: Iterable[str] = (),
    add_pip: bool = True,
) -> set[str]:
    """The package names a request starts from, lowercased, virtual ``__`` names left
    out: the names of ``specs`` (requested, pinned, history specs: spec strings or
    MatchSpecs), each ``installed`` record's ``(name, depends)`` (installed, locked or
    frozen records: a record its channel no longer lists still needs its dependencies), the
    ``history`` and ``aggressive`` names, and ``pip`` when conda adds it to python's
    dependencies (``add_pip_as_python_dependency``)."""
    names = {dependency_name(str(spec)) for spec in specs}
    for name, depends in installed:
        names.add(name)
        names.update(dependency_name(dep) for dep in depends)
    names.update(history)
    names.update(aggressive)
    if add_pip:
        names.add("pip")
    return {name.lower() for name in names if name and not name.startswith("__")}


def query_roots(command: str, query_text: str) -> RootNames:
    """What ``search``/``depends``/``whoneeds`` read of a sharded or split channel:
    ``search NAME`` and ``depends NAME`` the name and what it reaches; ``search 'GLOB*'``
    the names matching the glob (chosen from every listed name); ``whoneeds`` every
    record, since any package may depend on the name (on a sharded channel that fetches
    every shard once; later runs read them from the cache)."""
    if command == "whoneeds":
        return None
    name = dependency_name(query_text)
    if "*" in name:
        return lambda every: [n for n in every if fnmatch.fnmatchcase(n, name)]
    return [name]
