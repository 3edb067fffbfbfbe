"""The conda adapter against real conda (skipped where conda does not import).

conda is not installable from PyPI; see README "Development" for running these with conda
from source. These tests use conda's own objects end to end: the plugin manager, Channels
on a local file channel, PrefixData on a real prefix, and conda's exceptions.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

conda = pytest.importorskip("conda")

from conda.base.context import context, reset_context  # noqa: E402
from conda.exceptions import PackagesNotFoundError, UnsatisfiableError  # noqa: E402
from conda.models.channel import Channel  # noqa: E402
from conda.models.records import PackageRecord  # noqa: E402

DEMO = Path(__file__).parent / "data" / "demo-channel"


@pytest.fixture(autouse=True)
def _conda_env(monkeypatch, tmp_path):
    monkeypatch.setenv("CONDA_REPODATA_USE_SHARDS", "false")
    monkeypatch.setenv("CONDA_PKGS_DIRS", str(tmp_path / "pkgs"))
    monkeypatch.setenv("CONDA_SOLVER_PLUS_BACKEND", "rattler")
    reset_context()
    yield
    reset_context()


def plus_solver_class():
    return context.plugin_manager.get_solver_backend("plus")


def test_plugin_is_registered_as_plus():
    from conda_solver_plus.solver import PlusSolver

    assert plus_solver_class() is PlusSolver


def test_solve_final_state_returns_linkable_conda_records(tmp_path):
    solver = plus_solver_class()(
        str(tmp_path / "env"),
        [Channel(DEMO.as_uri())],
        subdirs=("linux-64", "noarch"),
        specs_to_add=["numpy"],
    )
    records = list(solver.solve_final_state())
    names = [r.name for r in records]
    assert "numpy" in names and "python" in names
    assert names.index("python") < names.index("numpy")  # dependency order
    for record in records:
        assert isinstance(record, PackageRecord)
        assert record.url.startswith(DEMO.as_uri())
        assert record.fn and record.url.endswith(record.fn)
        assert record.md5 or record.sha256


def test_unsatisfiable_is_conda_error_without_retry(tmp_path):
    solver = plus_solver_class()(
        str(tmp_path / "env"),
        [Channel(DEMO.as_uri())],
        subdirs=("linux-64", "noarch"),
        specs_to_add=["numpy", "python<3"],
    )
    with pytest.raises((UnsatisfiableError, PackagesNotFoundError)) as info:
        solver.solve_final_state()
    assert info.value.allow_retry is False


def test_missing_package_is_packages_not_found(tmp_path):
    solver = plus_solver_class()(
        str(tmp_path / "env"),
        [Channel(DEMO.as_uri())],
        subdirs=("linux-64", "noarch"),
        specs_to_add=["definitely-not-a-package"],
    )
    with pytest.raises(PackagesNotFoundError):
        solver.solve_final_state()


def test_installed_records_and_history_are_respected(tmp_path):
    prefix = tmp_path / "env"
    first = plus_solver_class()(
        str(prefix), [Channel(DEMO.as_uri())], ("linux-64", "noarch"), specs_to_add=["python"]
    ).solve_final_state()
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True)
    for record in first:
        data = dict(record.dump())
        data.update(files=[], paths_data={"paths": [], "paths_version": 1})
        (meta / f"{record.name}-{record.version}-{record.build}.json").write_text(json.dumps(data))
    python = next(r for r in first if r.name == "python")
    (meta / "history").write_text(
        "==> 2024-01-01 00:00:00 <==\n# cmd: conda create\n# update specs: ['python']\n"
    )
    second = plus_solver_class()(
        str(prefix), [Channel(DEMO.as_uri())], ("linux-64", "noarch"), specs_to_add=["pip"]
    ).solve_final_state()
    kept = next(r for r in second if r.name == "python")
    assert (kept.version, kept.build) == (python.version, python.build)
    assert "pip" in {r.name for r in second}


SUDOKU = Path(__file__).resolve().parents[2] / "shared/data/repodata/mamba-testdata/sudoku"


@pytest.mark.skipif(not SUDOKU.is_dir(), reason=f"shared sudoku channel not found at {SUDOKU}")
@pytest.mark.parametrize("backend", ["rattler", "libmamba"])
def test_plus_timeout_in_condarc_stops_a_runaway_solve(tmp_path, monkeypatch, backend):
    """``plus_timeout`` in .condarc bounds the solve on both engines; libsolv cannot prove
    the sudoku unsatisfiable in minutes, resolvo needs ~0.2 s, so 0.01 s stops both."""
    if backend == "libmamba":
        pytest.importorskip("libmambapy")
    condarc = tmp_path / "condarc"
    condarc.write_text(f"plus_timeout: 0.01\nplus_backend: {backend}\n")
    monkeypatch.setenv("CONDARC", str(condarc))
    monkeypatch.delenv("CONDA_SOLVER_PLUS_BACKEND")
    reset_context([condarc])
    from conda.exceptions import CondaError

    from conda_solver_plus.solver import _timeout

    assert _timeout() == 0.01
    solver = plus_solver_class()(
        str(tmp_path / "env"),
        [Channel(SUDOKU.as_uri())],
        subdirs=("linux-64", "noarch"),
        specs_to_add=[f"sudoku_{r}_{c}" for r in range(9) for c in range(9)],
    )
    with pytest.raises(CondaError) as info:
        solver.solve_final_state()
    message = str(info.value)
    assert "Solving sudoku_" in message and "and 75 more specs" in message
    assert "was stopped after" in message
    assert f"(engine: {backend})" in message and "plus_timeout in .condarc" in message


def test_plus_timeout_must_be_a_number(tmp_path, monkeypatch):
    from conda.exceptions import CondaValueError

    from conda_solver_plus.solver import _timeout

    condarc = tmp_path / "condarc"
    condarc.write_text("plus_timeout: soon\n")
    reset_context([condarc])
    with pytest.raises(CondaValueError, match="plus_timeout"):
        _timeout()
    monkeypatch.setenv("CONDA_SOLVER_PLUS_TIMEOUT", "2.5")
    assert _timeout() == 2.5  # the environment variable wins
