"""Provenance travels as data (issue 23 item 6): why each record is in an answer, and
which part of the user's state each spec handed to the engine repeats, are fields set
where they are decided — never read back out of the sentences ``explain`` prints.

``why NAME`` used to recover each step's parent by parsing "dependency of X via ..."
out of the previous step's reason, and ``explain`` decided whether a source repeats a
spec's reason by comparing the first word of the reason with the source's label. Both
now read :class:`~conda_solver_plus.state.RecordReason` and
:meth:`~conda_solver_plus.state.TrackedMap.source`; the text users see is unchanged
(tests/test_explain.py, tests/test_cli.py and tests/test_conda_cli.py compare it).

Real solves on the demo channel (tests/data/demo-channel), on every engine.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from rattler import MatchSpec

from conda_solver_plus.core import SolveOptions, solve
from conda_solver_plus.explain import render_provenance, spec_provenance, why_package
from conda_solver_plus.records import dependency_names
from conda_solver_plus.repodata.gateway import load_index
from conda_solver_plus.session import SolveSession
from conda_solver_plus.settings import Settings
from conda_solver_plus.state import RecordReason, SolverInputState, TrackedMap
from conda_solver_plus.virtual import virtual_packages

from .channels import openssl_prefix
from .engines import engine_params

DEMO = Path(__file__).resolve().parent / "data" / "demo-channel"


@pytest.fixture(scope="module")
def demo_index():
    return load_index([str(DEMO)], ["linux-64"])


@pytest.fixture
def prefix(tmp_path) -> Path:
    """openssl 3.3.2 installed as asked for (in the history), ca-certificates with it."""
    return openssl_prefix(tmp_path / "env", DEMO)


def solved(engine: str, index, tmp_path: Path, specs: list[str], **state):
    backend = SolveSession(Settings(backend=engine)).backend
    sis = SolverInputState(
        state.pop("prefix", None),
        [MatchSpec(s) for s in specs],
        virtual_packages=virtual_packages("linux-64"),
        **state,
    )
    # pip comes with python, as in conda (add_pip_as_python_dependency)
    options = SolveOptions(cache_dir=tmp_path / "cache", add_pip_as_python_dependency=True)
    return sis, solve(sis, index, backend, options)


@pytest.mark.parametrize("engine", engine_params())
def test_each_dependency_names_the_record_that_pulled_it_in(engine, demo_index, tmp_path):
    _, out = solved(engine, demo_index, tmp_path, ["numpy", "python=3.12"])
    reasons = out.record_reasons
    assert set(reasons) == {record.name.normalized for record in out.current_solution}
    assert reasons["numpy"] == RecordReason("requested as numpy")
    records = dict(out.records.items())
    pulled = {
        name: reason
        for name, reason in reasons.items()
        if reason.parent is not None and name != "pip"
    }
    assert pulled, "a solve of numpy has dependencies"
    for name, reason in pulled.items():
        # the parent is in the answer and names the record in its depends
        assert name in set(dependency_names(records[reason.parent])), (name, reason)
    # pip is there because conda adds it to python (not through python's depends)
    assert reasons["pip"].parent == "python"
    assert "add_pip_as_python_dependency" in reasons["pip"].text
    # the text users see (explain --json's "why") is the reasons' text
    assert out.why == {name: reason.text for name, reason in reasons.items()}


@pytest.mark.parametrize("engine", engine_params())
def test_why_follows_the_parents(engine, demo_index, tmp_path):
    sis, out = solved(engine, demo_index, tmp_path, ["numpy"])
    chain = why_package("libcblas", sis, out)
    names = [line.split(":", 1)[0] for line in chain]
    assert names[0] == "numpy" and names[-1] == "libcblas"
    for parent, child in itertools.pairwise(names):
        assert out.record_reasons[child].parent == parent
        assert chain[names.index(child)] == f"{child}: {out.record_reasons[child].text}"
    assert why_package("not-in-the-answer", sis, out) == []


def test_why_reads_the_parent_not_the_sentence(demo_index, tmp_path):
    """The chain comes from ``RecordReason.parent``: a reason worded in any way (here one
    that names another package first) still leads to the record that pulled it in.
    Parsing the sentence, the old code stopped at the wrong package."""
    sis, out = solved("rattler", demo_index, tmp_path, ["numpy"])
    parent = out.record_reasons["libcblas"].parent
    assert parent is not None
    out.record_reasons["libcblas"] = RecordReason("dependency of zlib, as it happens", parent)
    chain = why_package("libcblas", sis, out)
    assert chain[-1] == "libcblas: dependency of zlib, as it happens"
    assert chain[-2].startswith(f"{parent}: ") and chain[0].startswith("numpy: requested")


def test_tracked_map_keeps_the_source_of_each_value():
    specs: TrackedMap[str, str] = TrackedMap("specs")
    specs.set("numpy", "numpy", reason="requested", source="requested")
    specs.set("numpy", "numpy >=2", reason="something else", overwrite=False, source="history")
    assert specs.source("numpy") == "requested"  # a value not applied changes nothing
    specs.set("numpy", "numpy 1.*", reason="history (conda-meta/history:3)", source="history")
    assert specs.source("numpy") == "history"
    specs.set("zlib", "zlib", reason="installed (kept)")
    assert specs.source("zlib") is None
    specs.pop("numpy", reason="new attempt")
    assert specs.source("numpy") is None and specs.reason("numpy") is None


@pytest.mark.parametrize("engine", engine_params())
def test_specs_know_the_state_they_repeat(engine, demo_index, tmp_path, prefix):
    sis, out = solved(engine, demo_index, tmp_path, ["python=3.11"], prefix=prefix)
    assert out.specs.source("python") == "requested"
    assert out.specs.source("openssl") == "history"
    assert out.specs.source("ca-certificates") is None  # kept as installed
    text = render_provenance(sis, out)
    # a source repeating the reason is folded into it, the others are listed under it
    assert "<- requested on the command line" in text and "from requested:" not in text
    assert "<- history (" in text and "from history:" not in text
    assert "from installed: 3.3.2 hb9d3cd8_0" in text


def test_a_reason_worded_like_a_source_is_not_folded(demo_index, tmp_path, prefix):
    """Whether a source repeats a spec's reason is ``TrackedMap.source``, not the
    reason's first word: a reason that happens to start with "history" but was not
    set from the history keeps the history source under it."""
    sis, out = solved("rattler", demo_index, tmp_path, ["python=3.11"], prefix=prefix)
    spec = out.specs["openssl"]
    out.specs.set("openssl", spec, reason="history of this spec: none", source=None)
    text = render_provenance(sis, out)
    assert "<- history of this spec: none" in text
    assert "from history: openssl (" in text


@pytest.mark.parametrize("engine", engine_params())
def test_constraints_are_named_by_their_spec(engine, demo_index, tmp_path, prefix):
    """``conda update`` never downgrades what it was not asked about: the constraint is
    keyed ``openssl (no downgrade)`` and shows under openssl."""
    sis, out = solved(
        engine, demo_index, tmp_path, ["python=3.11"], prefix=prefix, command="update"
    )
    assert "openssl (no downgrade)" in out.constraints
    openssl = {item["name"]: item for item in spec_provenance(sis, out)}["openssl"]
    assert any(
        change.startswith("constrained to openssl >=3.3.2 (conda update never downgrades)")
        for change in openssl["changes"]
    )


def test_changes_between_attempts_are_listed(demo_index, tmp_path, prefix):
    """A spec that changed between attempts lists the spec of each attempt (read from the
    spec map's log, split where a new attempt cleared it), and a released package says so;
    a spec the same in every attempt lists none."""
    sis, out = solved("rattler", demo_index, tmp_path, ["python=3.11"], prefix=prefix)
    first, python = out.specs["openssl"], out.specs["python"]
    relaxed = MatchSpec("openssl 3.3.*")
    out.reset_request()  # attempt 2: openssl relaxed, python as before
    out.specs.set("openssl", relaxed, reason="history openssl relaxed after a conflict")
    out.specs.set("python", python, reason="requested")
    out.conflicts.set("openssl", first, reason="reported by the engine (attempt 1)")
    provenance = {item["name"]: item for item in spec_provenance(sis, out)}
    history = sis.history.reason("openssl")
    assert provenance["openssl"]["changes"][:2] == [
        f"attempt 1: {first} (history ({history}))",
        f"attempt 2: {relaxed} (history openssl relaxed after a conflict)",
    ]
    released = "released: may change (reported by the engine (attempt 1))"
    assert released in provenance["openssl"]["changes"]
    assert not any(change.startswith("attempt") for change in provenance["python"]["changes"])
