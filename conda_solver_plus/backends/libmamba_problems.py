"""
libsolv's answer read back: the final environment, or why there is none, as plain data.

:func:`summarize` turns libsolv's outcome into JSON-able data (a solve may run in a child
process, :mod:`.child_process`): the ``(name, url, filename)`` of each package of the final
environment, or the unsolvable report — the message (libsolv's problem lines, which
conda-libmamba-solver users know, then libmamba's tree), the package names in conflict,
the specs without candidates and the paths from the requested specs to the clash
(:func:`graph_names`, :func:`graph_missing`, :func:`graph_chains`), all read from
libmamba's problems graph (``UnSolvable.problems_graph``: package, constraint and
unresolved-dependency nodes, the specs on its edges). libsolv's problem lines are text
for people; they are parsed only as a fallback — where the graph names nothing
(:func:`line_facts`), and for two chains the graph leaves out ("nothing provides X needed
by D", "D is excluded by strict repo priority").
"""

from __future__ import annotations

import re

from ..exceptions import ChainStep, ConflictChain
from .libmamba_binding import mamba_solver
from .libmamba_conditions import GUARD_PREFIX

__all__ = ["graph_chains", "summarize"]

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# libsolv's problem lines, read only where the problems graph has nothing (line_facts) and
# for the chains it leaves out (_GraphPaths.line_chains); tests/test_engine_reports.py
# checks each on a real report
#: "nothing provides [requested ]SPEC[ needed by DIST]" (libmamba 2.8.1 writes "requested"
#: for none of this engine's jobs: a missing requested spec is an "unsupported request")
_NOTHING_PROVIDES = re.compile(r"nothing provides (?:requested )?(.+?)(?: needed by |$)")
#: a package as libsolv prints it: name-version-build (the name may contain dashes)
_DIST = re.compile(r"^([A-Za-z0-9_][A-Za-z0-9_.\-]*?)-[^-\s]+-[^-\s]+$")


def summarize(db, installed, outcome) -> dict:
    """libsolv's answer as plain data (it may have to cross a process boundary): the
    final environment's ``(name, url, filename, version, build)`` or the unsolvable
    report."""
    if not isinstance(outcome, mamba_solver.Solution):
        return {"unsolvable": _unsolvable(db, outcome)}
    removed = {(p.package_url, p.filename) for p in outcome.to_remove()}
    kept = [
        p for p in db.packages_in_repo(installed) if (p.package_url, p.filename) not in removed
    ]
    return {
        "packages": [
            (p.name, p.package_url, p.filename, p.version, p.build_string)
            for p in [*kept, *outcome.to_install()]
            # virtual packages and the dummies behind Pin jobs have no URL
            if p.package_url
        ]
    }


def _unsolvable(db, outcome) -> dict:
    """The unsolvable report as plain data: the message, and what the problems graph says
    (:func:`graph_names`, :func:`graph_missing`, :func:`graph_chains`)."""
    # libsolv's own lines ("Encountered problems while solving:\n  - nothing provides ..."),
    # which conda-libmamba-solver users know, then libmamba's tree
    problems = [
        line
        for line in _ANSI.sub("", outcome.problems_to_str(db)).splitlines()
        if line.strip() != "- unsupported request"
    ]
    tree = _ANSI.sub("", outcome.explain_problems(db, mamba_solver.ProblemsMessageFormat()))
    graph = outcome.problems_graph(db)
    names = graph_names(graph)
    missing = graph_missing(graph)
    if not names:  # a graph that names nothing: libsolv's lines are all there is
        names, missing = line_facts(problems)
    message = "\n".join([*problems, tree] if len(problems) > 1 else [tree])
    chains = [chain.to_json() for chain in graph_chains(graph, problems)]
    return {"message": message, "names": sorted(names), "missing": missing, "chains": chains}


def _reported(name: str) -> bool:
    """A package name worth reporting: not the dummy package behind a ``Pin`` job
    (libmamba names it ``pin-<hash>``), not a guard standing for a conditional dependency
    (:class:`~.libmamba_conditions.WhenTranslation`)."""
    return bool(name) and not name.startswith(("pin-", "pin on ", GUARD_PREFIX))


def graph_names(graph) -> set[str]:
    """The package names in libmamba's problems graph: of every package, constraint and
    unresolved-dependency node, and of the spec on every edge."""
    nodes, edges = graph.graph()
    Graph = mamba_solver.ProblemsGraph
    names = {
        str(node.name).lower() for node in nodes.values() if not isinstance(node, Graph.RootNode)
    }
    names.update(str(spec.name).lower() for spec in edges.values())
    return {name for name in names if _reported(name)}


def graph_missing(graph) -> list[str]:
    """The specs without any candidate: the unresolved-dependency nodes of the problems
    graph, those the request asks for directly first, each once. A requested one is
    written as libmamba writes the spec (``nonexistent>=1``), a dependency as libsolv's
    problem lines write it (``__cuda >=9.0``), which is how they read before the graph
    was the source."""
    nodes, edges = graph.graph()
    root = graph.root_node()
    unresolved = [
        (node_id, node)
        for node_id, node in sorted(nodes.items())
        if isinstance(node, mamba_solver.ProblemsGraph.UnresolvedDependencyNode)
    ]
    requested = [str(node) for node_id, node in unresolved if (root, node_id) in edges]
    others = [_spec_text(node) for node_id, node in unresolved if (root, node_id) not in edges]
    return list(dict.fromkeys([*requested, *others]))


def line_facts(problems: list[str]) -> tuple[set[str], list[str]]:
    """The fallback where the graph names nothing: package names and specs without
    candidates read from libsolv's problem lines ("nothing provides [requested ]SPEC[
    needed by DIST]", and each ``name-version-build`` mentioned)."""
    names: set[str] = set()
    missing: list[str] = []
    for line in problems:
        found = _NOTHING_PROVIDES.search(line)
        if found:
            spec = found.group(1).strip()
            names.add(spec.split()[0].lower())
            if spec not in missing:
                missing.append(spec)
        for token in line.replace(",", " ").split():
            dist = _DIST.match(token)
            if dist and dist.group(1) != "pin" and _reported(dist.group(1)):
                names.add(dist.group(1).lower())
    return names, missing


_EXCLUDED = re.compile(r"package (\S+) is excluded by (.+)$")


def _spec_text(spec) -> str:
    """``python 3.10.* *_cpython`` rather than ``python[version="=3.10",...]``."""
    try:
        return spec.conda_build_form()
    except Exception:
        return str(spec)


#: the name libmamba gives the stand-in package of a ``Pin`` job ("pin on numpy <2")
_PIN_PACKAGE = "pin on "


def _node_step(node, spec: str) -> ChainStep:
    Graph = mamba_solver.ProblemsGraph
    name = str(node.name).lower()
    if name.startswith(_PIN_PACKAGE):  # a pin, not a package: "pin numpy <2"
        return ChainStep("pin", (name.removeprefix(_PIN_PACKAGE),))
    if isinstance(node, Graph.PackageNode):
        return ChainStep(name, (spec,) if spec else (), (str(node.version),))
    return ChainStep(name, (spec or _spec_text(node),))


def _dist_step(dist: str) -> ChainStep | None:
    """``numpy-2.1.0-py310h_0`` as a step (name and version)."""
    found = _DIST.match(dist)
    if not found:
        return None
    version = dist[len(found.group(1)) + 1 :].rsplit("-", 1)[0]
    return ChainStep(found.group(1).lower(), (), (version,))


def graph_chains(graph, problems: list[str]) -> list[ConflictChain]:
    """Paths in libmamba's problem graph from the root (the request) to each node in
    conflict and each unresolved dependency, plus libsolv's "nothing provides X needed
    by D" and "D is excluded" lines (the simplified graph may drop those), continued from
    the path that reaches D's name."""
    paths = _GraphPaths(graph)
    return [*paths.node_chains(), *paths.line_chains(problems)]


class _GraphPaths:
    """Shortest paths from the root of a libmamba ``ProblemsGraph`` to its nodes."""

    def __init__(self, graph) -> None:
        self.nodes, edges = graph.graph()
        self.conflicts = graph.conflicts()
        children: dict[int, list[tuple[int, str]]] = {}
        for (source, target), spec in edges.items():
            children.setdefault(source, []).append((target, _spec_text(spec)))
        root = graph.root_node()
        #: node -> (the node before it on its shortest path, the spec of that edge)
        self.parent: dict[int, tuple[int, str]] = {}
        todo, seen = [root], {root}
        while todo:  # breadth first: the shortest path to every node
            current = todo.pop(0)
            for target, spec in sorted(children.get(current, ())):
                if target not in seen:
                    seen.add(target)
                    self.parent[target] = (current, spec)
                    todo.append(target)

    def path_to(self, node_id: int) -> list[ChainStep]:
        """The steps from the request to ``node_id``; a spec and its candidates are one
        step."""
        steps: list[ChainStep] = []
        while node_id in self.parent:
            source, spec = self.parent[node_id]
            step = _node_step(self.nodes[node_id], spec)
            if steps and steps[0].name == step.name:
                merged = steps.pop(0)
                step = ChainStep(
                    step.name, merged.specs or step.specs, (*step.versions, *merged.versions)
                )
            steps.insert(0, step)
            node_id = source
        return steps

    def label(self, node_id: int) -> str:
        node = self.nodes[node_id]
        if isinstance(node, mamba_solver.ProblemsGraph.PackageNode):
            return f"{node.name} {node.version}"
        return _spec_text(node)

    def node_chains(self) -> list[ConflictChain]:
        """A chain to every reachable unresolved dependency and node in conflict."""
        chains: list[ConflictChain] = []
        for node_id, node in self.nodes.items():
            if node_id not in self.parent:
                continue
            if isinstance(node, mamba_solver.ProblemsGraph.UnresolvedDependencyNode):
                chains.append(ConflictChain(tuple(self.path_to(node_id)), "missing"))
            elif self.conflicts.has_conflict(node_id):
                others = self.conflicts.conflicts(node_id)
                partners = tuple(sorted({self.label(other) for other in others}))
                chain = ConflictChain(tuple(self.path_to(node_id)), "conflict", partners=partners)
                chains.append(chain)
        return chains

    def continued(self, dist: str) -> list[ChainStep]:
        """The path to the package of libsolv's ``dist`` text, ending in its version."""
        step = _dist_step(dist)
        if step is None:
            return []
        for node_id, node in self.nodes.items():
            if node_id in self.parent and str(node.name).lower() == step.name:
                path = self.path_to(node_id)
                return [*path[:-1], ChainStep(step.name, path[-1].specs, step.versions)]
        return [step]

    def line_chains(self, problems: list[str]) -> list[ConflictChain]:
        """Chains for libsolv's "nothing provides X needed by D" and "D is excluded"
        problem lines."""
        chains: list[ConflictChain] = []
        for line in problems:
            text = line.strip().removeprefix("- ").strip()
            found = _NOTHING_PROVIDES.search(text)
            if found and " needed by " in text:
                spec = found.group(1).strip()
                dist = text.rsplit(" needed by ", 1)[1].strip()
                steps = [*self.continued(dist), ChainStep(spec.split()[0].lower(), (spec,))]
                chains.append(ConflictChain(tuple(steps), "missing"))
                continue
            excluded = _EXCLUDED.search(text)
            if excluded:
                steps = self.continued(excluded.group(1))
                if steps:
                    chains.append(ConflictChain(tuple(steps), "excluded", excluded.group(2)))
        return chains
