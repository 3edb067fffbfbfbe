"""The libmamba backend on real data: one request, one answer.

libsolv's answer can depend on the order packages enter its pool, and py-rattler's sparse
loader returns the reachable records in hash order, which changes from call to call. These
tests run where libmambapy imports (a conda install), on ../shared's real channel and a real
conda prefix built from a pixi lockfile.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("libmambapy")

from conda_solver_plus.backends.libmamba import LibMambaBackend
from conda_solver_plus.core import SolveOptions, solve
from conda_solver_plus.index import load_index
from conda_solver_plus.lockfile import read_lockfile
from conda_solver_plus.records import dist_str
from conda_solver_plus.state import SolverInputState
from conda_solver_plus.virtual import virtual_packages

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "repodata"
CONDA_FORGE = SHARED / "lockfile-union" / "conda-forge"
PYTORCH_LOCK = SHARED / "lockfiles" / "pixi" / "examples-pytorch" / "pixi.lock"
pytestmark = pytest.mark.skipif(
    not CONDA_FORGE.is_dir(), reason=f"shared channel data not found at {SHARED}"
)


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


def test_sparse_loading_gives_one_answer_and_the_full_loaders(tmp_path):
    prefix = tmp_path / "env"
    _prefix_from_lock(prefix)
    full = _update_all(prefix, "full")
    sparse = [_update_all(prefix, "sparse") for _ in range(4)]
    assert all(answer == full for answer in sparse), [
        sorted(set(answer) ^ set(full)) for answer in sparse
    ]
