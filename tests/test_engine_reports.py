"""Conflict causes as data (issue 23 item 6): what each engine's failure report yields.

The attempt loop releases the installed packages an engine names in conflict
(``EngineUnsolvable.names``), and the errors name the specs without candidates
(``missing``). Every report here comes from a real solve on a small channel written for
the test, never from stored text:

- **libmamba**: the names and the missing specs come from libmamba's problems graph
  (``UnSolvable.problems_graph``: package, constraint and unresolved-dependency nodes).
  libsolv's problem lines are read only where the graph names nothing
  (:func:`~conda_solver_plus.backends.libmamba_problems.line_facts`) and for two kinds of
  chain the graph leaves out ("nothing provides X needed by D", "D is excluded by strict
  repo priority"); each regex of that fallback is checked here on a real report, and the
  graph is checked to name at least what the lines name;
- **rattler**: py-rattler's ``SolverError`` carries nothing but its message (0.28: no
  attribute besides ``args``), so :func:`~conda_solver_plus.backends.rattler.parse_report`
  is the documented way in; each of its regexes is checked on a real report.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rattler
from rattler import MatchSpec
from rattler.exceptions import SolverError

from conda_solver_plus import rattler_async
from conda_solver_plus.backends import EngineRequest, EngineUnsolvable
from conda_solver_plus.backends.rattler import (
    _LEADING_NAME,
    _NO_CANDIDATES,
    _NO_CANDIDATES_NESTED,
    RattlerBackend,
    parse_report,
    sources,
)
from conda_solver_plus.repodata.gateway import index_from_files
from conda_solver_plus.repodata.model import ChannelRef, Index

from .engines import engine_problem

SUBDIR = "linux-64"

needs_libmamba = pytest.mark.skipif(
    engine_problem("libmamba") is not None, reason="the libmamba engine cannot be used here"
)


def _channel(root: Path, name: str, packages: list[tuple[str, str, list[str]]]):
    """A one-subdir channel ``root/name`` serving ``packages`` (name, version, depends)."""
    url = f"https://reports.invalid/{name}"
    entries = {}
    for package, version, depends in packages:
        entries[f"{package}-{version}-0.tar.bz2"] = {
            "name": package,
            "version": version,
            "build": "0",
            "build_number": 0,
            "depends": depends,
        }
    path = root / name / SUBDIR / "repodata.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"info": {"subdir": SUBDIR}, "packages": entries}))
    return ChannelRef(given=str(root / name), url=url, name=url), path


def _index(tmp_path: Path, *channels: list[tuple[str, str, list[str]]]) -> Index:
    refs = [_channel(tmp_path, f"c{n}", packages) for n, packages in enumerate(channels)]
    return index_from_files([(ref, SUBDIR, path) for ref, path in refs])


#: ``a 1.0`` needs ``b >=2``, which no channel has; ``c`` needs ``d``, which does not exist
PACKAGES = [("a", "1.0", ["b >=2"]), ("b", "1.0", []), ("c", "1.0", ["d"])]
#: ``a 1.0`` needs ``b >=2``, which exists: asking for ``b <2`` too is a conflict
CONFLICTING = [("a", "1.0", ["b >=2"]), ("b", "1.0", []), ("b", "2.0", [])]


def _unsolvable(engine, index: Index, *specs: str, constraints=()) -> EngineUnsolvable:
    request = EngineRequest(
        specs=[MatchSpec(spec) for spec in specs],
        constraints=[MatchSpec(spec) for spec in constraints],
    )
    with pytest.raises(EngineUnsolvable) as caught:
        engine.solve(index, request)
    return caught.value


class _Libsolv:
    """The libmamba engine, and libsolv's own problem lines of its last failed solve
    (``problems_to_str``, which the engine's message leaves out when there is a single
    problem): captured around the engine's call of ``summarize``, so they are the lines
    of the real solve."""

    def __init__(self, tmp_path: Path, monkeypatch) -> None:
        from conda_solver_plus.backends import libmamba, libmamba_problems

        self.problems = libmamba_problems
        self.engine = libmamba.LibMambaBackend(cache_dir=tmp_path / "cache", load="full")
        self.lines: list[str] = []
        summarize = libmamba.summarize

        def capturing(db, installed, outcome):
            if hasattr(outcome, "problems_to_str"):
                self.lines = outcome.problems_to_str(db).splitlines()
            return summarize(db, installed, outcome)

        monkeypatch.setattr(libmamba, "summarize", capturing)

    def unsolvable(self, index: Index, *specs: str, constraints=()) -> EngineUnsolvable:
        return _unsolvable(self.engine, index, *specs, constraints=constraints)


# -- libmamba: the problems graph, and the line fallback --------------------------------------


@needs_libmamba
@pytest.mark.parametrize(
    ("spec", "name", "missing"),
    [("nonexistent >=1", "nonexistent", "nonexistent>=1"), ("b >=5", "b", "b>=5")],
)
def test_libmamba_names_a_missing_request_from_the_graph(
    tmp_path, monkeypatch, spec, name, missing
):
    libsolv = _Libsolv(tmp_path, monkeypatch)
    error = libsolv.unsolvable(_index(tmp_path, PACKAGES), spec)
    # libsolv's line names nothing ("unsupported request": libmamba 2.8.1 never writes
    # "nothing provides requested SPEC" for these jobs), so only the graph has the name
    assert libsolv.lines[1:] == ["  - unsupported request"], libsolv.lines
    assert libsolv.problems.line_facts(libsolv.lines) == (set(), [])
    assert error.names == {name}
    assert error.missing == [missing]


@needs_libmamba
def test_libmamba_names_a_dependency_nothing_provides_from_the_graph(tmp_path, monkeypatch):
    libsolv = _Libsolv(tmp_path, monkeypatch)
    error = libsolv.unsolvable(_index(tmp_path, PACKAGES), "c")
    # "nothing provides d needed by c-1.0-0": _NOTHING_PROVIDES and _DIST on a real line
    assert any("nothing provides d needed by c-1.0-0" in line for line in libsolv.lines)
    names, missing = libsolv.problems.line_facts(libsolv.lines)
    assert names == {"c", "d"} and missing == ["d"]
    assert names <= error.names  # the graph names at least what the lines name
    assert error.missing == ["d"]
    assert any(chain.problem == "missing" and chain.names[-1] == "d" for chain in error.chains)


@needs_libmamba
def test_libmamba_names_both_sides_of_a_conflict_from_the_graph(tmp_path, monkeypatch):
    libsolv = _Libsolv(tmp_path, monkeypatch)
    error = libsolv.unsolvable(_index(tmp_path, CONFLICTING), "a", "b <2")
    names, missing = libsolv.problems.line_facts(libsolv.lines)
    assert "a" in names  # _DIST on "package a-1.0-0 requires b >=2, ..."
    assert names <= error.names
    assert {"a", "b"} <= error.names and error.missing == missing == []


@needs_libmamba
def test_libmamba_leaves_pins_and_guards_out_of_the_names(tmp_path, monkeypatch):
    libsolv = _Libsolv(tmp_path, monkeypatch)
    error = libsolv.unsolvable(_index(tmp_path, CONFLICTING), "a", constraints=["b <2"])
    assert {"a", "b"} <= error.names
    # libmamba's stand-in package for the pin is "pin-<hash>" or "pin on b <2"
    assert not [name for name in error.names if name.startswith(("pin", "_plus_when_"))]


@needs_libmamba
def test_libmamba_chains_a_package_excluded_by_strict_priority(tmp_path, monkeypatch):
    libsolv = _Libsolv(tmp_path, monkeypatch)
    # the first channel has only b 1.0; strict priority excludes the second channel's b 2.0
    index = _index(tmp_path, [("b", "1.0", [])], [("b", "2.0", [])])
    error = libsolv.unsolvable(index, "b >=2")
    assert any("b-2.0-0 is excluded by strict repo priority" in line for line in libsolv.lines)
    excluded = [chain for chain in error.chains if chain.problem == "excluded"]  # _EXCLUDED
    assert excluded and excluded[0].names[-1] == "b", error.chains
    assert "b" in error.names


# -- rattler: the message is all there is ------------------------------------------------------


def _rattler_report(index: Index, *specs: str) -> str:
    """resolvo's own message for ``specs`` over ``index`` (a real solve, as the engine runs
    it), checking on the way that ``SolverError`` carries nothing else."""
    with pytest.raises(SolverError) as caught:
        rattler_async.run(
            rattler.solve_with_sparse_repodata(
                specs=[MatchSpec(spec) for spec in specs], sparse_repodata=sources(index)
            )
        )
    assert not [name for name in vars(caught.value) if not name.startswith("_")]
    return str(caught.value)


def test_rattler_reads_a_missing_request_from_its_report(tmp_path):
    report = _rattler_report(_index(tmp_path, PACKAGES), "nonexistent >=1")
    assert any(_NO_CANDIDATES.search(line) for line in report.splitlines()), report
    names, missing = parse_report(report)
    assert names == {"nonexistent"} and missing == ["nonexistent >=1"]


def test_rattler_reads_a_missing_dependency_from_its_report(tmp_path):
    report = _rattler_report(_index(tmp_path, PACKAGES), "c")
    stripped = [line.lstrip("─│└├ ").strip() for line in report.splitlines()]
    assert any(_NO_CANDIDATES_NESTED.match(line) for line in stripped), report
    names, missing = parse_report(report)
    assert {"c", "d"} <= names and missing == ["d *"]


def test_rattler_reads_both_sides_of_a_conflict_from_its_report(tmp_path):
    report = _rattler_report(_index(tmp_path, CONFLICTING), "a", "b <2")
    stripped = [line.lstrip("─│└├ ").strip() for line in report.splitlines()]
    assert any(_LEADING_NAME.match(line) for line in stripped), report
    names, missing = parse_report(report)
    assert {"a", "b"} <= names and missing == []


def test_rattler_engine_reports_what_the_parser_reads(tmp_path):
    error = _unsolvable(RattlerBackend(), _index(tmp_path, CONFLICTING), "a", "b <2")
    assert {"a", "b"} <= error.names
