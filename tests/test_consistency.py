"""Consistency of answers: the check itself, and the libmamba regression it found.

The channels are conda's own test channels as the pytest-conda-solvers package ships them
(old anaconda ``channel-2`` and ``channel-4`` snapshots), laid out as real channel
directories; prefixes are real ``conda-meta`` directories.
"""

from __future__ import annotations

import pytest
from rattler import MatchSpec

from conda_solver_plus.backends import get_backend
from conda_solver_plus.consistency import unmet_dependencies, verify_requested
from conda_solver_plus.core import SolveOptions, solve
from conda_solver_plus.repodata.gateway import load_index
from conda_solver_plus.state import SolverInputState
from conda_solver_plus.virtual import make_virtual

from .corpus import ARCH, needs_corpus_channels, record_dist, write_prefix
from .engines import engine_params

pytestmark = needs_corpus_channels
LINUX = {"__glibc": make_virtual("__glibc", "2.17"), "__unix": make_virtual("__unix", "0")}


def _solve(backend: str, channels: list, prefix, specs: list[str], priority: str, **kwargs):
    index = load_index(channels, [ARCH], cache_dir=prefix.parent / "cache")
    sis = SolverInputState(prefix, specs, virtual_packages=LINUX, **kwargs)
    return solve(sis, index, get_backend(backend), SolveOptions(channel_priority=priority))


def test_verification_is_on_in_the_test_run():
    # tests/conftest.py turns it on, so every solve of the suite checks its answer
    assert verify_requested()


def test_unmet_dependencies_of_a_solution_and_of_a_broken_copy(channels, tmp_path):
    out = _solve("rattler", [channels["channel-4"]], tmp_path / "p", ["requests"], "strict")
    records = list(out.records.values())
    assert unmet_dependencies(records, LINUX.values()) == []

    without_python = [r for r in records if r.name.normalized != "python"]
    unmet = unmet_dependencies(without_python, LINUX.values())
    assert unmet, "everything here depends on python"
    assert all(MatchSpec(dep).name.normalized == "python" for _, dep in unmet)
    # only the records asked about are checked
    requests = [r for r in without_python if r.name.normalized == "requests"]
    assert {r.name.normalized for r, _ in unmet_dependencies(without_python, of=requests)} == {
        "requests"
    }


def test_virtual_dependencies_are_met_by_the_machine(channels, tmp_path):
    cuda = make_virtual("__cuda", "12.0")
    sis_virtual = {**LINUX, "__cuda": cuda}
    index = load_index([channels["channel-1"]], [ARCH], cache_dir=tmp_path / "cache")
    sis = SolverInputState(tmp_path / "p", ["cudatoolkit"], virtual_packages=sis_virtual)
    out = solve(sis, index, get_backend("rattler"), SolveOptions())
    toolkit = out.records["cudatoolkit"]
    assert any(MatchSpec(d).name.normalized == "__cuda" for d in toolkit.depends)
    assert unmet_dependencies([toolkit], sis_virtual.values()) == []
    assert [dep for _, dep in unmet_dependencies([toolkit], LINUX.values())] == [
        d for d in toolkit.depends if MatchSpec(d).name.normalized == "__cuda"
    ]


@pytest.mark.parametrize("backend", engine_params())
def test_channel_move_leaves_no_dependent_behind(backend, channels, tmp_path):
    """conda's test_conda_downgrade, third step: python 3.7 and its packages come from the
    lower-priority channel-4; asking for ``conda<4.4.10`` needs python 3.6, which
    channel-2 (first) has. Every python-3.7 package must follow python: libsolv keeps an
    installed package whose dependency has left the installed repo ("dontfix"), so
    dropping outranked records alone gave python 3.6 with conda-build built for 3.7."""
    both = [channels["channel-2"], channels["channel-4"]]
    first = _solve(backend, both, tmp_path / "p0", ["conda-build"], "disabled")
    assert str(first.records["python"].version).startswith("3.7")
    prefix = tmp_path / "prefix"
    write_prefix(
        prefix, [record_dist(r) for r in first.records.values()], ["conda-build"], channels
    )

    out = _solve(backend, both, prefix, ["itsdangerous", "conda<4.4.10", "python"], "flexible")
    final = out.records
    assert unmet_dependencies(final.values(), LINUX.values()) == []
    assert str(final["python"].version).startswith("3.6")
    assert MatchSpec("conda<4.4.10").matches(final["conda"])
    assert "py36" in str(final["conda-build"].build)
    assert "itsdangerous" in final
