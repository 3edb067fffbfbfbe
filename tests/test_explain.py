"""Explanations of real conflicts on ``../shared/data/repodata`` (conda-forge, pytorch and
nvidia records from lockfiles), on every available engine.

Each case is a conflict users meet — a CUDA build without a driver, python held back
against a newer numpy, strict channel priority hiding a version, a typo, a pin in
``conda-meta/pinned`` — and asserts what the explanation must *name*: the culprit in the
user's state (kind and origin), its concrete hint and the chain from the requested spec to
the clash. Whole messages are not compared: engines word their reports differently.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conda_solver_plus.core import SolveOptions, solve
from conda_solver_plus.exceptions import (
    ChainStep,
    ConflictChain,
    PackagesNotFoundError,
    SpecsConfigurationConflictError,
    UnsatisfiableError,
)
from conda_solver_plus.explain import dedupe_chains, spec_provenance, why_package
from conda_solver_plus.query import search
from conda_solver_plus.repodata.gateway import load_index
from conda_solver_plus.state import SolverInputState
from conda_solver_plus.virtual import virtual_packages

from .test_prefix import write_record

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "repodata"
UNION = SHARED / "lockfile-union"
pytestmark = [
    pytest.mark.shared,
    pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared channel data not found at {SHARED}"),
]


def solve_case(specs, channels, backend, *, virtual=None, priority="strict", **kwargs):
    sis = SolverInputState(
        kwargs.pop("prefix", None),
        specs,
        virtual_packages=virtual_packages("linux-64", virtual or {}),
        **kwargs,
    )
    index = load_index([UNION / c for c in channels], ["linux-64"])
    return sis, solve(sis, index, backend, SolveOptions(channel_priority=priority))


def unsatisfiable(*args, **kwargs) -> UnsatisfiableError:
    with pytest.raises(UnsatisfiableError) as info:
        solve_case(*args, **kwargs)
    return info.value


def culprit(error: UnsatisfiableError, kind: str, name: str):
    found = [c for c in error.explanation.culprits if c.kind == kind and name in c.name]
    assert found, f"no {kind} culprit for {name} in:\n{error}"
    return found[0]


def chain_from(error: UnsatisfiableError, first: str, last: str, problem: str):
    for chain in error.explanation.chains:
        if chain.names[0] == first and chain.names[-1] == last and chain.problem == problem:
            return chain
    raise AssertionError(f"no chain {first} -> ... -> {last} [{problem}] in:\n{error}")


def test_cuda_build_without_driver(backend):
    error = unsatisfiable(["pytorch=*=*cuda*"], ["conda-forge"], backend, virtual={"__cuda": None})
    found = culprit(error, "virtual", "__cuda")
    assert "CONDA_OVERRIDE_CUDA" in found.hint
    assert "no __cuda" in found.hint
    chain_from(error, "pytorch", "__cuda", "missing")
    assert "CONDA_OVERRIDE_CUDA" in str(error)


def test_glibc_too_old_for_new_numpy(backend):
    error = unsatisfiable(["numpy>=2.1"], ["conda-forge"], backend, virtual={"__glibc": "2.12"})
    found = culprit(error, "virtual", "__glibc")
    assert "2.12" in found.origin and ">=2.17" in found.spec
    assert "CONDA_OVERRIDE_GLIBC" in found.hint
    chain = chain_from(error, "numpy", "__glibc", "missing")
    assert chain.steps[0].versions  # the numpy candidates that need it


def test_requested_python_against_newer_numpy(backend):
    error = unsatisfiable(["python=3.9", "numpy>=2.1"], ["conda-forge"], backend)
    found = culprit(error, "requested", "numpy")
    assert "python" in found.name and "relax or drop" in found.hint
    chain = chain_from(error, "numpy", "python", "conflict")
    assert any("3.9" in partner for partner in chain.partners)


def test_conflicting_direct_specs(backend):
    error = unsatisfiable(["pytorch=2.4", "libtorch=2.5"], ["conda-forge"], backend)
    found = culprit(error, "requested", "libtorch")
    assert "pytorch" in found.name
    chain_from(error, "libtorch", "pytorch", "conflict")


def test_installed_python_minor_version_holds_back_numpy(backend):
    index = load_index([UNION / "conda-forge"], ["linux-64"])
    python = search(index, "python=3.9")[0]
    error = unsatisfiable(["numpy>=2.1"], ["conda-forge"], backend, installed={"python": python})
    found = culprit(error, "installed", "python")
    assert found.spec == "python 3.9.*"
    assert str(python.version) in found.origin
    assert "python=<version>" in found.hint


def test_history_spec_takes_part(backend, tmp_path):
    write_record(tmp_path, "python", "3.9.19", "h0755675_0_cpython")
    (tmp_path / "conda-meta" / "history").write_text(
        "==> 2024-01-01 00:00:00 <==\n# cmd: conda create python=3.9\n"
        "# update specs: ['python=3.9']\n"
    )
    error = unsatisfiable(["numpy>=2.1"], ["conda-forge"], backend, prefix=tmp_path)
    found = culprit(error, "history", "python")
    assert "conda-meta/history" in found.origin
    assert "request python explicitly" in found.hint


def test_pin_in_conda_meta_pinned(backend, tmp_path):
    (tmp_path / "conda-meta").mkdir()
    (tmp_path / "conda-meta" / "pinned").write_text("python 3.9.*\n")
    with pytest.raises(SpecsConfigurationConflictError) as info:
        solve_case(["python", "numpy>=2.1"], ["conda-forge"], backend, prefix=tmp_path)
    message = str(info.value)
    assert "python 3.9.*" in message
    assert str(tmp_path / "conda-meta" / "pinned") in message
    assert "--ignore-pinned" in message


def test_pin_is_a_culprit_when_the_pin_alone_is_not_the_cause(backend):
    """The pin takes part, but dropping it would not help (python=3.9 is requested too):
    unsatisfiable, with the pin named as a culprit with its origin and hint."""
    error = unsatisfiable(
        ["python=3.9", "numpy>=2.1"],
        ["conda-forge"],
        backend,
        pinned_packages=["python 3.9.*"],
        pinned_source="pinned_packages setting",
    )
    found = culprit(error, "pinned", "python")
    assert found.spec == "python 3.9.*"
    assert found.origin == "pinned_packages setting"
    assert "--ignore-pinned" in found.hint


def test_strict_priority_hides_newer_pytorch(backend):
    error = unsatisfiable(
        ["pytorch>=2.5"], ["pytorch", "conda-forge"], backend, virtual={"__cuda": "12.1"}
    )
    found = culprit(error, "channel-priority", "pytorch")
    assert found.origin.endswith("lockfile-union/pytorch")
    assert "flexible" in found.hint and "conda-forge::pytorch" in found.hint
    chain = chain_from(error, "pytorch", "pytorch", "excluded")
    assert "priority" in chain.detail
    # the same request solves from the lower channel once priority is flexible
    _, out = solve_case(
        ["pytorch>=2.5"],
        ["pytorch", "conda-forge"],
        backend,
        virtual={"__cuda": "12.1"},
        priority="flexible",
    )
    assert out.records["pytorch"].channel.rstrip("/").endswith("conda-forge")


def test_strict_priority_hides_cuda_version(backend):
    error = unsatisfiable(["cuda-version=12.6"], ["nvidia", "conda-forge"], backend)
    found = culprit(error, "channel-priority", "cuda-version")
    assert found.origin.endswith("lockfile-union/nvidia")
    assert "conda-forge::cuda-version" in found.hint


def test_missing_package_suggests_close_names(backend):
    with pytest.raises(PackagesNotFoundError) as info:
        solve_case(["numpyy", "scipy"], ["conda-forge"], backend)
    error = info.value
    assert error.specs == ["numpyy"]
    assert error.suggestions == {"numpyy": ["numpy"]}
    assert error.subdirs == ["linux-64", "noarch"]
    assert error.channels[0].endswith("lockfile-union/conda-forge")
    assert "did you mean: numpy?" in str(error)


def test_missing_version_names_channels_without_suggestion(backend):
    with pytest.raises(PackagesNotFoundError) as info:
        solve_case(["numpy=9.9"], ["conda-forge"], backend)
    assert info.value.specs == ["numpy 9.9.*"]
    assert info.value.suggestions == {}
    assert "Subdirs searched: linux-64, noarch" in str(info.value)


def test_explanation_is_short_and_json_has_all(backend):
    error = unsatisfiable(["python=3.9", "numpy>=2.1"], ["conda-forge"], backend)
    chains = error.explanation.chains
    # the engines report one branch per candidate version; deduplicated that is a few
    assert 1 <= len(chains) <= 4
    assert len({(c.names, c.problem) for c in chains}) == len(chains)
    payload = error.to_json()
    assert payload["chains"] and payload["culprits"]
    assert payload["engine_message"] == error.explanation.engine_message
    assert ConflictChain.from_json(payload["chains"][0]) == chains[0]


def test_provenance_of_specs_and_records(backend, tmp_path):
    write_record(tmp_path, "python", "3.12.4", "h194c7f8_0_cpython")
    (tmp_path / "conda-meta" / "history").write_text(
        "==> 2024-01-01 00:00:00 <==\n# update specs: ['python=3.12']\n"
    )
    sis, out = solve_case(["scipy"], ["conda-forge"], backend, prefix=tmp_path)
    provenance = {item["name"]: item for item in spec_provenance(sis, out)}
    assert provenance["scipy"]["reason"] == "requested"
    assert any(s.startswith("requested: scipy") for s in provenance["scipy"]["sources"])
    python = provenance["python"]
    assert any("conda-meta/history" in s for s in python["sources"])
    assert any(s.startswith("installed: 3.12.4") for s in python["sources"])
    assert any("constrained to python 3.12.*" in c for c in python["changes"])
    chain = why_package("libgfortran5", sis, out)
    assert chain[0].startswith("scipy: requested")
    assert chain[-1].startswith("libgfortran5: dependency of")
    assert why_package("not-in-the-result", sis, out) == []


def test_dedupe_merges_versions_and_keeps_shortest_path():
    def step(name, spec="", *versions):
        return ChainStep(name, (spec,) if spec else (), versions)

    long = ConflictChain(
        (step("numpy", "numpy >=2.1", "2.4.6"), step("python_abi"), step("python")), "conflict"
    )
    short = [
        ConflictChain((step("numpy", "numpy >=2.1", v), step("python", ">=3.12")), "conflict")
        for v in ("2.1.0", "2.2.2")
    ]
    other = ConflictChain((step("python", "python 3.9.*", "3.9.19"),), "conflict")
    result = dedupe_chains([long, *short, other])
    assert [chain.names for chain in result] == [("numpy", "python"), ("python",)]
    assert result[0].steps[0].versions == ("2.1.0", "2.2.2")
