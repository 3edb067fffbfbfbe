"""
libsolv's answer read back: the final environment, or why there is none, as plain data.

:func:`summarize` turns libsolv's outcome into JSON-able data (a solve may run in a child
process, :mod:`.child_process`): the ``(name, url, filename)`` of each package of the final
environment, or the unsolvable report — the message (libsolv's problem lines, which
conda-libmamba-solver users know, then libmamba's tree), the package names in conflict,
the specs without candidates and the paths from the requested specs to the clash
(:func:`graph_chains`), all read from libmamba's problems graph.
"""

from __future__ import annotations

import re

from ..exceptions import ChainStep, ConflictChain
from .libmamba_binding import mamba_solver
from .libmamba_conditions import GUARD_PREFIX

__all__ = ["graph_chains", "summarize"]

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: libsolv's problem lines: "nothing provides [requested ]SPEC[ needed by DIST]"
_NOTHING_PROVIDES = re.compile(r"nothing provides (?:requested )?(.+?)(?: needed by |$)")
#: a package as libsolv prints it: name-version-build (the name may contain dashes)
_DIST = re.compile(r"^([A-Za-z0-9_][A-Za-z0-9_.\-]*?)-[^-\s]+-[^-\s]+$")


def summarize(db, installed, outcome) -> dict:
    """libsolv's answer as plain data (it may have to cross a process boundary): the
    final environment's ``(name, url, filename)`` or the unsolvable report."""
    if not isinstance(outcome, mamba_solver.Solution):
        return {"unsolvable": _unsolvable(db, outcome)}
    removed = {(p.package_url, p.filename) for p in outcome.to_remove()}
    kept = [
        p for p in db.packages_in_repo(installed) if (p.package_url, p.filename) not in removed
    ]
    return {
        "packages": [
            (p.name, p.package_url, p.filename)
            for p in [*kept, *outcome.to_install()]
            # virtual packages and the dummies behind Pin jobs have no URL
            if p.package_url
        ]
    }


def _unsolvable(db, outcome) -> dict:
    # libsolv's own lines ("Encountered problems while solving:\n  - nothing provides ..."),
    # which conda-libmamba-solver users know, then libmamba's tree
    problems = [
        line
        for line in _ANSI.sub("", outcome.problems_to_str(db)).splitlines()
        if line.strip() != "- unsupported request"
    ]
    tree = _ANSI.sub("", outcome.explain_problems(db, mamba_solver.ProblemsMessageFormat()))
    graph = outcome.problems_graph(db)
    nodes, edges = graph.graph()
    names: set[str] = set()
    missing: list[str] = []
    root = graph.root_node()
    Graph = mamba_solver.ProblemsGraph
    for node_id, node in nodes.items():
        if isinstance(node, Graph.RootNode):
            continue
        name = str(node.name)
        # libmamba names the dummy package behind a Pin job "pin-<hash>"; a guard stands
        # for a conditional dependency (WhenTranslation)
        if name and not name.startswith(("pin-", GUARD_PREFIX)):
            names.add(name.lower())
        if isinstance(node, Graph.UnresolvedDependencyNode) and (root, node_id) in edges:
            missing.append(str(node))
    # the graph is simplified; libsolv's own lines still name every package involved
    for line in problems:
        found = _NOTHING_PROVIDES.search(line)
        if found:
            spec = found.group(1).strip()
            names.add(spec.split()[0].lower())
            if spec not in missing:
                missing.append(spec)
        for token in line.replace(",", " ").split():
            dist = _DIST.match(token)
            if dist and dist.group(1) != "pin" and not dist.group(1).startswith(GUARD_PREFIX):
                names.add(dist.group(1).lower())
    message = "\n".join([*problems, tree] if len(problems) > 1 else [tree])
    chains = [chain.to_json() for chain in graph_chains(graph, problems)]
    return {"message": message, "names": sorted(names), "missing": missing, "chains": chains}


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
