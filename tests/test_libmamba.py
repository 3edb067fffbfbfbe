"""The libmamba backend on real data: one request, one answer.

libsolv's answer can depend on the order packages enter its pool, and py-rattler's sparse
loader returns the reachable records in hash order, which changes from call to call. These
tests run where libmambapy imports (a conda install), on ../shared's real channel and a real
conda prefix built from a pixi lockfile.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .engines import require_module

require_module("libmambapy", "the libmamba engine")

from conda_solver_plus.backends import libmambapy_version_supported  # noqa: E402
from conda_solver_plus.backends.libmamba import (  # noqa: E402
    LibMambaBackend,
)
from conda_solver_plus.core import SolveOptions, solve  # noqa: E402
from conda_solver_plus.lockfile import read_lockfile  # noqa: E402
from conda_solver_plus.records import dist_str  # noqa: E402
from conda_solver_plus.repodata.gateway import load_index  # noqa: E402
from conda_solver_plus.state import SolverInputState  # noqa: E402
from conda_solver_plus.virtual import virtual_packages  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "repodata"
CONDA_FORGE = SHARED / "lockfile-union" / "conda-forge"
PYTORCH_LOCK = SHARED / "lockfiles" / "pixi" / "examples-pytorch" / "pixi.lock"
needs_shared = pytest.mark.skipif(
    not CONDA_FORGE.is_dir(), reason=f"shared channel data not found at {SHARED}"
)
DEMO = Path(__file__).parent / "data" / "demo-channel"
REPO_ROOT = Path(__file__).resolve().parents[1]


# -- which libmambapy the engine takes ----------------------------------------------------


@pytest.mark.parametrize(
    ("version", "usable"),
    [
        ("2.8.1", True),
        ("2.9.0", True),
        ("2.10.0", True),  # compared as versions, not strings
        ("2.8.0", False),
        ("2.0.1", False),
        ("1.5.8", False),
        ("3.0.0", False),
        ("not-a-version", False),
    ],
)
def test_libmambapy_version_range(version, usable):
    assert libmambapy_version_supported(version) is usable


def test_installed_libmambapy_is_in_the_supported_range():
    import libmambapy

    assert libmambapy_version_supported(libmambapy.__version__)


def _solve_with_libmambapy(tmp_path: Path, libmambapy_init: str, *args: str):
    """The standalone CLI on the demo channel with a stand-in ``libmambapy`` package first
    on the path. A stand-in because libmambapy 1.x and broken installs cannot be
    installed here (libmambapy is not on PyPI; ../shared has only 2.8.1); what is under
    test is plus's reaction to what ``import libmambapy`` gives."""
    fake = tmp_path / "site" / "libmambapy"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(libmambapy_init)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(fake.parent), str(REPO_ROOT)]),
        "CONDA_SOLVER_PLUS_CACHE": str(tmp_path / "cache"),
    }
    env.pop("CONDA_SOLVER_PLUS_BACKEND", None)
    command = [sys.executable, "-m", "conda_solver_plus", "solve", "python", "-c", str(DEMO)]
    command += ["--subdir", "linux-64", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


OLD = '__version__ = "1.5.8"\n'
BROKEN = 'raise ImportError("libmamba.so.2: cannot open shared object file")\n'


@pytest.mark.parametrize(
    ("init", "named"),
    [(OLD, "libmambapy 1.5.8 is installed"), (BROKEN, "libmamba.so.2: cannot open")],
    ids=["1.x", "broken"],
)
def test_unusable_libmambapy_warns_once_and_falls_back_to_rattler(tmp_path, init, named):
    proc = _solve_with_libmambapy(tmp_path, init)
    assert proc.returncode == 0, proc.stderr
    assert "python" in proc.stdout
    warnings = [line for line in proc.stderr.splitlines() if named in line]
    assert len(warnings) == 1, proc.stderr
    assert "using the rattler engine" in warnings[0]
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("init", [OLD, BROKEN], ids=["1.x", "broken"])
def test_unusable_libmambapy_asked_for_by_name_is_an_error(tmp_path, init):
    proc = _solve_with_libmambapy(tmp_path, init, "--backend", "libmamba")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "engine cannot be used" in proc.stderr and "libmamba" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_missing_libmambapy_falls_back_quietly(tmp_path):
    """Not installed at all is the embedded default's normal case: no warning."""
    proc = _solve_with_libmambapy(tmp_path, 'raise ModuleNotFoundError("x", name="libmambapy")\n')
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


# -- optional capabilities -------------------------------------------------------------


@pytest.mark.parametrize("add_pip", [True, False])
def test_pip_as_python_dependency_on_both_engines(tmp_path, backend, add_pip):
    """conda's ``add_pip_as_python_dependency``: python (linux-64) gets pip (noarch) on
    both engines, though libmambapy 2.8.1 adds it only within one repo; off, neither does."""
    index = load_index([str(DEMO)], ["linux-64"], cache_dir=tmp_path / "cache")
    sis = SolverInputState(
        None, ["python=3.12"], virtual_packages=virtual_packages("linux-64", {})
    )
    out = solve(sis, index, backend, SolveOptions(add_pip_as_python_dependency=add_pip))
    assert ("pip" in out.records) is add_pip


def test_pip_reaches_python_through_libmambas_own_parser_and_its_solv_cache(tmp_path):
    """A channel small enough for libmamba's own JSON parser: the file it parses carries pip
    in python's depends (libmambapy 2.8.1 adds nothing across repos), the ``.solv`` written
    from it (only that path writes one) keeps pip on the next, warm solve, and the
    temporary copy is gone."""
    engine = LibMambaBackend(cache_dir=tmp_path / "engine-cache")
    index = load_index([str(DEMO)], ["linux-64"], cache_dir=tmp_path / "cache")
    sis = SolverInputState(
        None, ["python=3.12"], virtual_packages=virtual_packages("linux-64", {})
    )
    solv_dir = tmp_path / "engine-cache" / "solv"
    for _cold_then_warm in range(2):
        out = solve(sis, index, engine, SolveOptions(add_pip_as_python_dependency=True))
        assert "pip" in out.records
        assert len(list(solv_dir.glob("*.solv"))) == len(index.repos)
    assert not list(solv_dir.glob("*.pip.json"))


def test_exclude_newer_without_native_support_filters_in_python(tmp_path, backend):
    """A global cutoff on a libmambapy whose Database has no ``exclude_newer_timestamp``
    (every release so far): the records are filtered in Python, as rattler filters them."""
    index = load_index([str(DEMO)], ["linux-64"], cache_dir=tmp_path / "cache")
    records = json.loads((DEMO / "linux-64" / "repodata.json").read_text())["packages"]
    abi = {r["version"]: r["timestamp"] for r in records.values() if r["name"] == "python_abi"}
    # python_abi 3.12 is younger than 3.11: a cutoff between them leaves 3.11 the newest
    assert abi["3.11"] < abi["3.12"]
    cutoff = datetime.datetime.fromtimestamp(abi["3.12"] / 1000 - 1, tz=datetime.timezone.utc)
    for exclude_newer, expected in ((None, "3.12"), (cutoff, "3.11")):
        sis = SolverInputState(None, ["python_abi"])
        out = solve(sis, index, backend, SolveOptions(exclude_newer=exclude_newer))
        assert str(out.records["python_abi"].version) == expected


def _prefix_from_lock(prefix: Path) -> None:
    """A real conda prefix holding the lock's ``cf-channel`` environment, history
    ``pytorch``, as an outdated environment a user runs ``update --all`` on."""
    locked = read_lockfile(PYTORCH_LOCK, environment="cf-channel", platform="linux-64")
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True)
    for record in locked.by_name().values():
        data = json.loads(record.to_json())
        data.update(fn=record.file_name, url=record.url, channel=record.channel)
        stem = record.file_name.removesuffix(".conda").removesuffix(".tar.bz2")
        (meta / f"{stem}.json").write_text(json.dumps(data))
    (meta / "history").write_text(
        "==> 2024-01-01 00:00:00 <==\n# cmd: pixi\n# update specs: ['pytorch']\n"
    )


def _update_all(prefix: Path, load: str) -> list[str]:
    index = load_index([CONDA_FORGE], ["linux-64"], cache_dir=prefix.parent / "cache")
    sis = SolverInputState(
        prefix,
        [],
        command="update",
        update_modifier="update_all",
        virtual_packages=virtual_packages("linux-64", {"__cuda": "12.1"}),
    )
    backend = LibMambaBackend(load=load)
    backend.cache_dir = prefix.parent / "cache"
    out = solve(sis, index, backend, SolveOptions(channel_priority="strict"))
    return sorted(dist_str(record) for record in out.records.values())


@needs_shared
def test_sparse_loading_gives_one_answer_and_the_full_loaders(tmp_path):
    prefix = tmp_path / "env"
    _prefix_from_lock(prefix)
    full = _update_all(prefix, "full")
    sparse = [_update_all(prefix, "sparse") for _ in range(4)]
    assert all(answer == full for answer in sparse), [
        sorted(set(answer) ^ set(full)) for answer in sparse
    ]
