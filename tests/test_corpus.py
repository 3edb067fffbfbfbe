"""conda's solver corpus (pytest-conda-solvers) through the core, without conda.

Cases tagged ``solvers: classic`` describe the classic solver's behaviour and do not apply;
cases tagged ``libmamba`` (and untagged ones) do. ``determine_constricting_specs`` cases
exercise a method of conda's ``Solver`` class and are run by the conda adapter tests.
"""

from __future__ import annotations

import re

import pytest

from conda_solver_plus.backends import engine_problem, get_backend
from conda_solver_plus.core import SolveOptions, solve
from conda_solver_plus.exceptions import (
    PackagesNotFoundError,
    SolverPlusError,
    SpecsConfigurationConflictError,
    UnsatisfiableError,
)
from conda_solver_plus.repodata.gateway import load_index
from conda_solver_plus.state import SolverInputState
from conda_solver_plus.virtual import virtual_packages

from .corpus import (
    ARCH,
    as_list,
    expected_dists,
    load_cases,
    package_root,
    prepare,
    record_dist,
    with_env,
    write_channels,
)
from .engines import engine_params
from .transactions import transaction_diff

ROOT = package_root()
CASES = load_cases(ROOT) if ROOT else []

EXCEPTIONS = {
    "UnsatisfiableError": UnsatisfiableError,
    "PackagesNotFoundError": PackagesNotFoundError,
    "SpecsConfigurationConflictError": SpecsConfigurationConflictError,
}


#: cases where an engine legitimately differs from libmamba's observed answer
ENGINE_DIFFERENCES = {
    "rattler": {
        "B179": "libsolv keeps installed yaml-0.1.7 and so picks channel-4's pyyaml 3.13; "
        "resolvo decides pyyaml first and takes flexible-priority channel-2's 3.12",
        "C003b": "expects libsolv's problem text ('nothing provides __cuda >=9.0 needed by "
        "cudatoolkit-9.0-0'); resolvo's report names the same packages differently",
        "C004b": "expects libsolv's problem text for a missing __cuda",
    },
    "libmamba": {
        **dict.fromkeys(
            ("C003b", "C004b"),
            "upstream's test accepts the problem line of either cudatoolkit build; the case "
            "pins the 9.0 one, which libsolv names when it gets the records in the channel "
            "file's order. plus adds them in file-name order (one answer whatever a file's "
            "order: tests/test_conda_agreement.py), so libsolv names cudatoolkit-10.0-0, "
            "the other line upstream accepts",
        ),
        "B179": "the link lists are one observed libmamba run; upstream marks this case "
        "flaky and asserts only conda<4.4.10, python 3.6.2, conda-build 3.12.1 and "
        "itsdangerous 0.24, which hold here; libsolv reaches them through channel-2's "
        "pyyaml 3.12/yaml 0.1.6 instead of keeping yaml 0.1.7",
    },
}


def _libsolv_prefers_newer_timestamp() -> bool:
    """conda-forge's libsolv is patched to break a version + build-number tie by the newer
    timestamp; upstream libsolv (e.g. built from the PyPI ``solv`` sdist) is not. Ask the
    installed one with two such builds."""
    try:
        from libmambapy import solver, specs
        from libmambapy.solver import libsolv
    except ImportError:
        return True
    db = libsolv.Database(specs.ChannelResolveParams(platforms={"noarch"}))
    # build strings sort against the timestamps: unpatched libsolv takes the larger string
    builds = [("a", 1_600_000_000_000), ("b", 1_500_000_000_000)]
    repo = db.add_repo_from_packages(
        [
            specs.PackageInfo(
                name="probe", version="1", build_string=build, timestamp=ts, platform="noarch"
            )
            for build, ts in builds
        ]
    )
    db.set_repo_priority(repo, libsolv.Priorities(0, 0))
    Request = solver.Request
    outcome = libsolv.Solver().solve(
        db, Request(jobs=[Request.Install(specs.MatchSpec.parse("probe"))])
    )
    return [p.build_string for p in outcome.to_install()] == ["a"]


if engine_problem("libmamba") is None and not _libsolv_prefers_newer_timestamp():
    _NO_TIMESTAMP = (
        "this libsolv lacks conda-forge's timestamp tie-break patch; the case expects the "
        "newer of two builds with equal version and build number ({})"
    )
    ENGINE_DIFFERENCES["libmamba"].update(
        {
            "B019": _NO_TIMESTAMP.format("patchelf-0.9-hf484d3e_2"),
            "B033": _NO_TIMESTAMP.format("markupsafe-1.0-py36h14c3975_1"),
        }
    )


#: cases whose classic and libmamba variants differ where plus deliberately follows classic
#: (conda's own test_solve.py checks a third-party solver against the classic answer);
#: the classic variant runs and the libmamba one is skipped
FOLLOWS_CLASSIC = {
    "B024": "an explicitly requested package moves to the first channel that offers it "
    "(classic); libmamba keeps the installed build from the lower-priority channel",
    "I004": "a request that fails only because of a pin raises "
    "SpecsConfigurationConflictError naming the request and the pin (classic); libmamba "
    "raises a generic UnsatisfiableError",
}


def _follows_classic(case) -> str | None:
    return FOLLOWS_CLASSIC.get(re.sub(r"[ab]$", "", case.id))


def spec_name(text) -> str:
    return re.match(r"[A-Za-z0-9_.\-]+", str(text).strip()).group(0)


def _params():
    if not CASES:
        yield pytest.param(
            None,
            None,
            marks=pytest.mark.skip(
                reason="pytest-conda-solvers is not installed (pip install .[test])"
            ),
        )
        return
    for engine in engine_params():
        backend = engine.values[0]
        for case in CASES:
            marks = list(engine.marks)
            classic_reason = _follows_classic(case)
            if classic_reason is not None:
                if not case.applicable_to("classic"):
                    reason = f"plus follows classic: {classic_reason}"
                    marks.append(pytest.mark.skip(reason=reason))
            elif not case.applicable_to("libmamba"):
                marks.append(pytest.mark.skip(reason="case describes the classic solver only"))
            elif case.kind == "determine_constricting_specs":
                marks.append(
                    pytest.mark.skip(reason="conda Solver API; covered by tests/test_solver.py")
                )
            elif case.id in ENGINE_DIFFERENCES.get(backend, {}):
                marks.append(
                    pytest.mark.xfail(strict=True, reason=ENGINE_DIFFERENCES[backend][case.id])
                )
            yield pytest.param(backend, case, id=f"{backend}-{case.id}-{case.name}", marks=marks)


@pytest.fixture(scope="session")
def corpus_channels(tmp_path_factory):
    return write_channels(ROOT, tmp_path_factory.mktemp("corpus-channels"))


def run_case(case, backend_name, channels, workdir):
    prepared = prepare(case, channels, workdir)
    with with_env(prepared.env):
        sis = SolverInputState(
            prepared.prefix,
            prepared.specs,
            virtual_packages=virtual_packages(ARCH),
            **prepared.kwargs,
        )
        index = load_index(prepared.channels, [ARCH], cache_dir=workdir / "cache")
        options = SolveOptions(
            channel_priority=prepared.channel_priority,
            add_pip_as_python_dependency=prepared.add_pip,
        )
        out = solve(sis, index, get_backend(backend_name), options)
    return sis, out


@pytest.mark.parametrize("backend_name,case", list(_params()))
def test_corpus_case(backend_name, case, corpus_channels, tmp_path):
    if case.kind == "unsatisfiable":
        error = case.data["error"]
        expected = EXCEPTIONS.get(error["exception"])
        if expected is None:
            pytest.skip(f"{error['exception']} is a classic-solver exception")
        with pytest.raises(SolverPlusError) as info:
            run_case(case, backend_name, corpus_channels, tmp_path)
        assert isinstance(info.value, expected), f"{type(info.value).__name__}: {info.value}"
        message = str(info.value)
        if isinstance(info.value, UnsatisfiableError):
            for entry in as_list(error.get("entries")):
                chain = as_list(entry)
                for spec in (chain[0], chain[-1]):
                    name = spec_name(spec)
                    assert name in message, f"{name!r} not named in:\n{message}"
            for text in as_list(error.get("message_includes")):
                assert text in message
            for text in as_list(error.get("message_excludes")):
                assert text not in message
        elif isinstance(info.value, PackagesNotFoundError):
            names = {spec_name(s) for e in as_list(error.get("entries")) for s in as_list(e)}
            got = {spec_name(s) for s in info.value.specs}
            assert got == names
        elif isinstance(info.value, SpecsConfigurationConflictError):
            assert {spec_name(s) for s in info.value.requested_specs} == {
                spec_name(s) for s in as_list(error["requested_specs"])
            }
            assert {spec_name(s) for s in info.value.pinned_specs} == {
                spec_name(s) for s in as_list(error["pinned_specs"])
            }
        return

    sis, out = run_case(case, backend_name, corpus_channels, tmp_path)
    if case.kind == "solve":
        expected = expected_dists(case.data["output"].get("final_state"))
        if not case.data["output"].get("final_state"):
            return  # must-solve case
        got = [record_dist(r) for r in out.current_solution]
        assert sorted(got) == sorted(expected)
        assert got == expected
    elif case.kind == "solve_for_diff":
        unlink, link = transaction_diff(sis, list(out.records.values()))
        assert [record_dist(r) for r in unlink] == expected_dists(
            case.data["output"].get("unlink_precs")
        )
        assert [record_dist(r) for r in link] == expected_dists(
            case.data["output"].get("link_precs")
        )
