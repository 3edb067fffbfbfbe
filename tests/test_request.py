"""
conda's rules, one at a time, through the engine request they produce
(:mod:`conda_solver_plus.solving.request`).

No repodata and no SAT solver: the input state is built in memory, the index is empty
(nothing newer exists) unless a test needs a channel to offer a newer version, and
:class:`tests.fake_engine.FakeEngine` records what the core asks. The rule each test
checks is in its name; the rules themselves are documented in the module under test.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from rattler import MatchSpec, RepoDataRecord

from conda_solver_plus.backends import EngineRequest, EngineTimeout, EngineUnsolvable
from conda_solver_plus.core import SolveOptions, build_request, solve
from conda_solver_plus.exceptions import SolveTimeoutError, UnsatisfiableError
from conda_solver_plus.records import record_name
from conda_solver_plus.repodata.model import Index
from conda_solver_plus.solving.attempts import MAX_ATTEMPTS
from conda_solver_plus.state import (
    DepsModifier,
    SolverInputState,
    SolverOutputState,
    UpdateModifier,
)

from .fake_engine import FakeEngine, channel_index, empty_index, record

PYTHON = record("python", "3.11.4", "h0_0")
NUMPY = record("numpy", "1.26.4", "py311_0", depends=["python >=3.11,<3.12"])
PANDAS = record("pandas", "2.2.0", "py311_0", depends=["numpy >=1.26", "python >=3.11,<3.12"])
OPENSSL = record("openssl", "3.0.0", "0")
LIBFOO = record("libfoo", "1.0", "0")


def state(
    requested: Sequence[str] = (),
    installed: Sequence[RepoDataRecord] = (),
    history: Sequence[str] = (),
    **kwargs: Any,
) -> SolverInputState:
    """An input state in memory: no prefix on disk."""
    return SolverInputState(
        None,
        list(requested),
        installed={record_name(r): r for r in installed},
        history={spec.split()[0]: spec for spec in history},
        **kwargs,
    )


def request_for(
    sis: SolverInputState, index: Index | None = None
) -> tuple[EngineRequest, SolverOutputState]:
    """The request of a first attempt, and the output state that records why."""
    out = SolverOutputState(sis)
    return build_request(sis, out, index or empty_index(), SolveOptions()), out


def texts(specs: list[MatchSpec]) -> list[str]:
    return [str(spec) for spec in specs]


def names(records: list[RepoDataRecord]) -> list[str]:
    return sorted(record_name(r) for r in records)


@pytest.fixture
def newer_channel(tmp_path: Path) -> Index:
    """A channel offering newer builds of numpy, openssl and python than the installed."""
    newer = [
        record("numpy", "2.0.0", "py311_0", depends=["python >=3.11,<3.12"]),
        record("openssl", "3.0.1", "0"),
        record("python", "3.12.1", "h0_0"),
    ]
    return channel_index(tmp_path, newer)


@pytest.fixture
def channel(tmp_path: Path) -> Index:
    """A channel serving the records these tests install."""
    return channel_index(tmp_path, [PYTHON, NUMPY, PANDAS, OPENSSL, LIBFOO])


# -- requested specs and history --------------------------------------------------------


def test_requested_specs_are_required_as_written():
    request, out = request_for(state(["numpy >=1.26"]))
    assert texts(request.specs) == ["numpy >=1.26"]
    assert out.specs.reason("numpy") == "requested"


def test_requested_names_tell_the_engine_what_the_user_asked_for():
    """Classic maximises the versions of requested packages first (legacy features):
    the names asked for by name reach the engine; a feature and the history do not, and
    a removal asks for nothing."""
    sis = state(["numpy >=1.26", "mkl@"], installed=[PYTHON], history=["python"])
    request, _ = request_for(sis)
    assert request.requested_names == {"numpy"}
    removal = state(["numpy"], installed=[PYTHON, NUMPY], command="remove")
    assert request_for(removal)[0].requested_names == frozenset()


def test_installed_records_take_their_channels_patched_metadata(tmp_path):
    """An installed record whose file its channel still serves is solved with the
    channel's metadata (a repodata patch); the log says why."""
    from conda_solver_plus.solving.installed import use_channel_metadata

    patched = record("numpy", "1.26.4", "py311_0", depends=["python >=3.11,<3.12", "libfoo"])
    index = channel_index(tmp_path, [PYTHON, patched])
    installed = next(
        r for r in index.repos[0].sparse.load_all_records() if r.name.normalized == "numpy"
    )
    stale = record("numpy", "1.26.4", "py311_0", depends=["python >=3.11,<3.12"])
    sis = state([], installed=[stale])
    assert stale.url == installed.url  # the same file of the same channel
    assert use_channel_metadata(sis, index) == ["numpy"]
    assert list(sis.installed["numpy"].depends) == list(installed.depends)
    assert "current metadata" in (sis.installed.reason("numpy") or "")


def test_history_spec_is_kept_and_its_record_preferred():
    request, out = request_for(
        state(installed=[PYTHON, NUMPY], history=["numpy 1.26.*"], requested=["pandas"])
    )
    assert "numpy 1.26.*" in texts(request.specs)
    assert out.specs.reason("numpy").startswith("history")
    assert NUMPY in request.locked
    assert out.locked.reason("numpy") == "installed, in history"


def test_exact_history_spec_is_relaxed_after_a_conflict():
    sis = state(installed=[PYTHON, NUMPY], history=["numpy 1.26.4 py311_0"])
    out = SolverOutputState(sis)
    out.conflicts.set("numpy", MatchSpec("numpy"), reason="test")
    request = build_request(sis, out, empty_index(), SolveOptions())
    # the build is dropped, the version kept
    assert "numpy ==1.26.4" in texts(request.specs)
    assert NUMPY not in request.locked


# -- installed packages: kept, frozen, released -----------------------------------------


def test_installed_packages_are_kept_by_name_and_preferred():
    request, out = request_for(state(["pandas"], installed=[PYTHON, NUMPY]))
    assert {"numpy", "python"} <= set(texts(request.specs))
    assert names(request.locked) == ["numpy", "python"]
    assert request.pinned == []
    assert out.specs.reason("numpy") == "installed (kept)"


def test_freeze_installed_freezes_installed_records():
    sis = state(["pandas"], installed=[PYTHON, NUMPY], update_modifier="freeze_installed")
    request, out = request_for(sis)
    assert names(request.pinned) == ["numpy", "python"]
    assert request.locked == []
    assert out.frozen.reason("numpy") == "frozen (--freeze-installed or name-only pin)"


def test_a_released_package_is_neither_kept_nor_locked():
    sis = state(["pandas"], installed=[PYTHON, NUMPY])
    out = SolverOutputState(sis)
    out.conflicts.set("numpy", MatchSpec("numpy"), reason="test")
    request = build_request(sis, out, empty_index(), SolveOptions())
    assert "numpy" not in texts(request.specs)
    assert names(request.locked) == ["python"]


# -- pins --------------------------------------------------------------------------------


def test_a_pin_with_a_version_is_a_constraint():
    request, out = request_for(
        state(["pandas"], installed=[PYTHON, NUMPY], pinned_packages=["numpy 1.26.*"])
    )
    assert "numpy 1.26.*" in texts(request.constraints)
    assert out.constraints.reason("numpy") == "pinned (pinned_packages setting)"


def test_a_name_only_pin_freezes_the_installed_record():
    request, _ = request_for(
        state(["pandas"], installed=[PYTHON, NUMPY], pinned_packages=["numpy"])
    )
    assert names(request.pinned) == ["numpy"]
    assert "numpy" not in texts(request.constraints)


# -- python's minor version ---------------------------------------------------------------


def test_python_keeps_its_minor_version_unless_requested():
    request, out = request_for(state(["numpy"], installed=[PYTHON]))
    assert "python 3.11.*" in texts(request.constraints)
    assert out.constraints.reason("python") == "python keeps its minor version unless requested"

    request, _ = request_for(state(["python 3.12"], installed=[PYTHON]))
    assert "python 3.11.*" not in texts(request.constraints)


def test_packages_built_for_python_follow_a_requested_python(newer_channel):
    request, _ = request_for(state(["python"], installed=[PYTHON, NUMPY]), newer_channel)
    # a newer python exists: numpy (built for 3.11) is kept by name but not locked
    assert "numpy" in texts(request.specs)
    assert names(request.locked) == []


# -- aggressive updates and update modifiers ------------------------------------------------


def test_aggressive_update_is_required_and_kept_when_already_the_newest():
    sis = state(["numpy"], installed=[OPENSSL], aggressive_update_packages=["openssl"])
    request, out = request_for(sis)
    assert "openssl" in texts(request.specs)
    assert out.specs.reason("openssl") == "aggressive_update_packages"
    assert out.locked.reason("openssl") == "always update; already the newest"


def test_aggressive_update_never_downgrades_and_may_move(newer_channel):
    sis = state(["numpy"], installed=[OPENSSL], aggressive_update_packages=["openssl"])
    request, _ = request_for(sis, newer_channel)
    assert "openssl >=3.0.0" in texts(request.constraints)
    assert OPENSSL not in request.locked


def test_update_specs_keeps_a_requested_package_that_is_already_the_newest(newer_channel):
    request, out = request_for(state(["openssl"], installed=[OPENSSL]))
    assert out.locked.reason("openssl") == "requested, installed is the newest"

    request, _ = request_for(state(["openssl"], installed=[OPENSSL]), newer_channel)
    assert OPENSSL not in request.locked  # a newer build exists: the request floats


def test_update_all_requires_what_the_user_asked_for_and_lets_dependencies_go():
    sis = state(
        installed=[PYTHON, NUMPY, PANDAS],
        history=["pandas"],
        update_modifier=UpdateModifier.UPDATE_ALL,
    )
    request, out = request_for(sis)
    assert "pandas" in texts(request.specs)
    assert out.specs.reason("pandas") == "--update-all"
    # numpy is only a dependency: not required by name, still preferred
    assert "numpy" not in texts(request.specs)


def test_conda_update_never_downgrades_what_it_was_not_asked_about():
    request, out = request_for(state(["pandas"], installed=[PYTHON, NUMPY], command="update"))
    assert "numpy >=1.26.4" in texts(request.constraints)
    assert out.constraints.reason("numpy (no downgrade)") == "conda update never downgrades"


# -- removal ------------------------------------------------------------------------------


def test_removal_forbids_the_package_and_what_needs_it():
    sis = state(["numpy"], installed=[PYTHON, NUMPY, PANDAS], history=["pandas"], command="remove")
    request, _ = request_for(sis)
    assert {"numpy <0.0.0dev0", "pandas <0.0.0dev0"} <= set(texts(request.constraints))
    assert names(request.locked) == ["python"]
    assert "pandas" not in texts(request.specs)


def test_removal_with_an_install_forbids_the_removed_package():
    sis = state(["numpy"], installed=[PYTHON, LIBFOO], also_remove=["libfoo"])
    request, out = request_for(sis)
    assert "libfoo <0.0.0dev0" in texts(request.constraints)
    assert "libfoo" not in texts(request.specs)
    assert out.constraints.reason("libfoo") == "requested removal"


# -- deps modifiers act on the answer ---------------------------------------------------------


def test_no_deps_installs_the_requested_package_alone(channel):
    engine = FakeEngine([PYTHON, NUMPY, PANDAS])
    sis = state(["pandas"], installed=[PYTHON], deps_modifier=DepsModifier.NO_DEPS)
    out = solve(sis, channel, engine)
    assert sorted(out.records) == ["pandas", "python"]


def test_only_deps_installs_the_dependencies_alone(channel):
    engine = FakeEngine([PYTHON, NUMPY, PANDAS])
    sis = state(["pandas"], installed=[PYTHON], deps_modifier=DepsModifier.ONLY_DEPS)
    out = solve(sis, channel, engine)
    assert sorted(out.records) == ["numpy", "python"]
    assert "pandas" not in out.for_history and "numpy" in out.for_history


# -- the attempt loop ---------------------------------------------------------------------------


def test_a_conflict_releases_the_installed_package_the_engine_names(channel):
    engine = FakeEngine(
        [PYTHON, NUMPY, LIBFOO], failures=[EngineUnsolvable("libfoo is in the way", {"libfoo"})]
    )
    sis = state(["numpy"], installed=[PYTHON, LIBFOO])
    out = solve(sis, channel, engine)
    first, second = engine.requests
    assert LIBFOO in first.locked and "libfoo" in texts(first.specs)
    assert LIBFOO not in second.locked and "libfoo" not in texts(second.specs)
    assert out.conflicts.reason("libfoo") == "reported by the engine (attempt 1)"
    assert out.attempts == 2
    assert sorted(out.records) == ["numpy", "python"]


def test_a_report_naming_nothing_new_goes_to_the_last_attempt_that_releases_all(channel):
    engine = FakeEngine([PYTHON, NUMPY, LIBFOO], failures=[EngineUnsolvable("no names")])
    out = solve(state(["numpy"], installed=[PYTHON, LIBFOO]), channel, engine)
    assert len(engine.requests) == 2
    assert engine.last.locked == [] and engine.last.pinned == []
    assert set(out.conflicts) == {"python", "libfoo"}


def test_attempts_are_capped_and_the_last_failure_is_unsatisfiable(tmp_path):
    installed = [record(f"pkg{i}", "1.0") for i in range(MAX_ATTEMPTS + 2)]
    failures: list[Exception] = [
        EngineUnsolvable(f"pkg{i}", {f"pkg{i}"}) for i in range(1, MAX_ATTEMPTS + 3)
    ]
    engine = FakeEngine(installed, failures=failures)
    with pytest.raises(UnsatisfiableError):
        solve(state(["pkg0"], installed=installed), channel_index(tmp_path, installed), engine)
    assert len(engine.requests) == MAX_ATTEMPTS + 1  # the cap, then release all


def test_an_engine_timeout_is_a_solve_timeout(channel):
    engine = FakeEngine([NUMPY], failures=[EngineTimeout()])
    with pytest.raises(SolveTimeoutError):
        solve(state(["numpy"]), channel, engine, SolveOptions(timeout=5))
    assert 0 < engine.last.timeout <= 5
