"""Adding an engine is one module plus one registry entry (issue 23 item 4d).

:class:`TinyEngine` below is a whole engine: a ``name``, the ``library`` that provides it
and a ``solve()`` that takes, for each spec and then each dependency, the first record
of the index that fits (repos in priority order, each repo's records in file-name order)
— so for ``python_abi`` it answers 3.11 where a real engine answers 3.12, which is how
these tests tell that it was the one that solved. It is registered through
``backends.ENGINES`` alone (``monkeypatch.setitem``), and then reaches every front end
that names engines: ``--backend``'s choices and the solve (``cli.main`` in-process),
:class:`~conda_solver_plus.session.SolveSession`, the unknown-engine error and the conda
plugin's user agent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rattler import MatchSpec, PackageName, RepoDataRecord

from conda_solver_plus import backends, cli
from conda_solver_plus.backends import EngineRequest, EngineUnsolvable, engine_library
from conda_solver_plus.exceptions import InvalidInputError
from conda_solver_plus.repodata.gateway import load_index
from conda_solver_plus.session import SolveSession
from conda_solver_plus.settings import Settings
from conda_solver_plus.specs import spec_name
from conda_solver_plus.state import SolverInputState

from .engines import require_module

DEMO = Path(__file__).parent / "data" / "demo-channel"


class TinyEngine:
    """The first fitting record for each name (see the module)."""

    name = "tiny"
    library = "tiny-solver-lib"

    def solve(self, index, request: EngineRequest) -> list[RepoDataRecord]:
        chosen: dict[str, RepoDataRecord] = {}
        todo = [spec for spec in request.specs if not spec_name(spec).startswith("__")]
        while todo:
            spec = todo.pop(0)
            name = spec_name(spec)
            if name in chosen or name.startswith("__"):
                continue
            fits = [spec, *(c for c in request.constraints if spec_name(c) == name)]
            record = self._first(index, name, fits)
            if record is None:
                raise EngineUnsolvable(f"nothing fits {spec}", {name}, [str(spec)])
            chosen[name] = record
            todo += [MatchSpec(dep, strict=False) for dep in record.depends]
        return list(chosen.values())

    @staticmethod
    def _first(index, name: str, specs: list[MatchSpec]) -> RepoDataRecord | None:
        for repo in index.repos:
            records = sorted(
                repo.sparse.load_records(PackageName(name)), key=lambda r: r.file_name
            )
            for record in records:
                if all(spec.matches(record) for spec in specs):
                    return record
        return None


@pytest.fixture
def tiny(monkeypatch, tmp_path):
    """The tiny engine in the registry, and a clean environment for the front ends (no
    engine chosen elsewhere, no user .condarc, a private cache)."""
    monkeypatch.setitem(backends.ENGINES, "tiny", f"{__name__}:TinyEngine")
    for name in ("CONDA_SOLVER_PLUS_BACKEND", "CONDARC", "CONDA_PREFIX", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CONDA_SOLVER_PLUS_CACHE", str(tmp_path / "cache"))
    return "tiny"


def test_the_cli_solves_with_an_engine_only_the_registry_names(tiny, capsys):
    code = cli.main(
        [
            *("solve", "python_abi", "_libgcc_mutex", "--json"),
            *("--backend", tiny, "-c", str(DEMO), "--subdir", "linux-64"),
        ]
    )
    output = capsys.readouterr()
    assert code == 0, output.err
    records = {r["name"]: r for r in json.loads(output.out)["records"]}
    assert set(records) == {"python_abi", "_libgcc_mutex"}
    assert records["python_abi"]["version"] == "3.11"  # the tiny engine's answer


def test_the_cli_lists_registered_engines_as_backend_choices(tiny, capsys):
    with pytest.raises(SystemExit):
        cli.main(["solve", "--help"])
    assert "{auto,libmamba,rattler,tiny}" in capsys.readouterr().out


def test_a_solve_session_uses_an_engine_only_the_registry_names(tiny, tmp_path):
    session = SolveSession(Settings(backend=tiny, cache_dir=tmp_path / "cache"))
    assert isinstance(session.backend, TinyEngine)
    index = load_index([DEMO], ["linux-64"], cache_dir=tmp_path / "cache")
    sis = SolverInputState(tmp_path / "env", ["python_abi"])
    out = session.solve(sis, index)
    assert {name: str(r.version) for name, r in out.records.items()} == {"python_abi": "3.11"}
    assert out.engine == "tiny"


def test_an_unknown_engine_error_names_the_registered_ones(tiny):
    with pytest.raises(InvalidInputError, match="auto, libmamba, rattler, tiny"):
        SolveSession(Settings(backend="nonesuch"))


def test_the_conda_plugin_user_agent_names_the_registered_engines_library(tiny, monkeypatch):
    require_module("conda", "the conda plugin")
    from conda_solver_plus.conda.solver import PlusSolver

    assert engine_library(TinyEngine()) == "tiny-solver-lib"
    monkeypatch.setenv("CONDA_SOLVER_PLUS_BACKEND", tiny)
    PlusSolver.user_agent.cache_clear()
    try:
        agent = PlusSolver.user_agent()
    finally:
        PlusSolver.user_agent.cache_clear()
    # not installed, so no version: the engine's library, not its name, is what is named
    assert agent.endswith(" tiny-solver-lib"), agent
