"""Classic conda's answers where conda defines them (issue 17), on both engines.

Each test is one point where plus once answered differently from classic conda, now either
classic's answer or a documented choice (docs/differences.md):

- a requested package that tracks a feature gets its newest version (classic maximises the
  versions of requested packages before it minimises tracked features);
- channel priority ``disabled``: version first, then channel order, then build number;
- an explicit spec against a pin of the same package is a configuration conflict (the
  modern behaviour, documented);
- ``pip`` comes with python (``add_pip_as_python_dependency``) through real conda;
- repodata patches reach installed packages: an installed record whose file its channel
  still serves is solved with the channel's current metadata.

The channel data is conda's own solver-test data (PyPI ``pytest-conda-solvers``) or
channels written by the test; the real-conda tests run ``python -m conda ... --dry-run
--json`` in a subprocess (classic too, where its answer is the reference).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conda_solver_plus.core import SolveOptions, solve
from conda_solver_plus.exceptions import UnsatisfiableError
from conda_solver_plus.features import record_features, tracked_features
from conda_solver_plus.repodata.gateway import load_index
from conda_solver_plus.state import SolverInputState

from .channels import install_record, repodata_entry, write_files
from .corpus import ARCH, CONDA_DEFAULT_AGGRESSIVE, needs_corpus_channels, write_prefix
from .engines import REPO_ROOT, conda_subprocess_env

needs_channels = needs_corpus_channels


def _solve(backend, channel_dirs, specs, tmp_path, *, prefix=None, priority="strict", **kw):
    index = load_index(channel_dirs, [ARCH, "noarch"], cache_dir=tmp_path / "cache")
    sis = SolverInputState(prefix, specs, virtual_packages={}, **kw)
    options = SolveOptions(channel_priority=priority, cache_dir=tmp_path / "cache")
    return solve(sis, index, backend, options)


def _dists(out) -> set[str]:
    """``channel::name-version-build`` of each record, the way conda's tests write them."""
    return {
        f"{(r.channel or '').rstrip('/').rsplit('/', 1)[-1]}::"
        f"{r.name.normalized}-{r.version}-{r.build}"
        for r in out.records.values()
    }


def conda_requires():
    """Skip (or fail in a real-stack run) where conda does not import."""
    from .engines import require_module

    require_module("conda", "the request runs through real conda")


def run_conda(tmp_path: Path, *args: str, solver: str, engine: str | None = None, **env):
    """``python -m conda ARGS --dry-run --json --solver=SOLVER``; the JSON answer."""
    environment = conda_subprocess_env(
        tmp_path, CONDA_REPODATA_USE_SHARDS="false", CONDA_SUBDIR=ARCH, **env
    )
    if engine is not None:
        environment["CONDA_SOLVER_PLUS_BACKEND"] = engine
    command = [sys.executable, "-m", "conda", *args, "--dry-run", "--json", f"--solver={solver}"]
    proc = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=600)
    return proc.returncode, json.loads(proc.stdout or "{}"), proc.stderr


def _linked(answer: dict) -> dict[str, str]:
    return {p["name"]: p["version"] for p in answer.get("actions", {}).get("LINK", [])}


def _linked_builds(answer: dict) -> set[str]:
    links = answer.get("actions", {}).get("LINK", [])
    return {f"{p['name']}-{p['version']}-{p['build_string']}" for p in links}


# -- 1: a requested package that tracks a feature ------------------------------------------


@needs_channels
def test_a_requested_tracker_gets_its_newest_version(backend, channels, tmp_path):
    """``install mkl`` on conda's legacy channel-1: mkl 11.0 tracks the feature ``mkl``,
    10.3 does not. Classic maximises the version of a requested package before it
    minimises tracked features, so it installs mkl 11.0 with its dependencies (the
    engines alone rank every tracking build last and pick 10.3)."""
    out = _solve(backend, [channels["channel-1"]], ["mkl"], tmp_path)
    mkl = out.records["mkl"]
    assert str(mkl.version) == "11.0"
    assert "mkl" in tracked_features(mkl)
    # its featured dependency is there, with the tracker that turns its feature on
    assert record_features(out.records["mkl-rt"]) == {"mkl"}
    assert {f"{n}-{r.version}-{r.build}" for n, r in out.records.items()} == INSTALL_MKL


#: classic's answer to ``create mkl`` on channel-1 (conda 26.7.1, pip not added)
INSTALL_MKL = {
    "mkl-11.0-np17py33_p1",
    "mkl-rt-11.0-p0",
    "mkl-service-1.0.0-py33_p0",
    "numpy-1.7.1-py33_p0",
    "openssl-1.0.1c-0",
    "python-3.3.2-0",
    "readline-6.2-0",
    "scipy-0.12.0-np17py33_p0",
    "sqlite-3.7.13-0",
    "system-5.8-1",
    "tk-8.5.13-0",
    "zlib-1.2.7-0",
}


@needs_channels
def test_a_requested_tracker_through_conda_is_classics_answer(channels, tmp_path, engine_name):
    """The same through real conda, against classic's answer asked at test time."""
    conda_requires()
    args = ["create", "-p", str(tmp_path / "env"), "mkl", "--override-channels"]
    args += ["-c", channels["channel-1"].as_uri()]
    no_pip = {"CONDA_ADD_PIP_AS_PYTHON_DEPENDENCY": "false"}
    answers = []
    for solver, engine in (("classic", None), ("plus", engine_name)):
        code, answer, stderr = run_conda(tmp_path, *args, solver=solver, engine=engine, **no_pip)
        assert code == 0, (solver, answer, stderr)
        answers.append(_linked_builds(answer))
    assert answers[0] == answers[1] == INSTALL_MKL


@needs_channels
def test_an_unrequested_tracker_still_costs(backend, channels, tmp_path):
    """The version rule is for requested packages only: numpy alone stays featureless
    (conda's test_update_prune_1), nothing tracking mkl comes in."""
    out = _solve(backend, [channels["channel-1"]], ["numpy", "python=2.7.3"], tmp_path)
    assert f"{out.records['numpy'].version}-{out.records['numpy'].build}" == "1.7.1-py27_0"
    assert "mkl" not in out.records


@needs_channels
def test_a_requested_tracker_keeps_the_requested_version(backend, channels, tmp_path):
    """With the version fixed by the request, the tracked build is still chosen as the
    request says (mkl 10.3 asked for: no tracker at all)."""
    out = _solve(backend, [channels["channel-1"]], ["mkl=10.3"], tmp_path)
    assert str(out.records["mkl"].version) == "10.3"
    assert not tracked_features(out.records["mkl"])


# -- 2: channel priority disabled ----------------------------------------------------------

#: conda's test_conda_downgrade: classic's answer for ``conda-build`` on channel-2 then
#: channel-4 with channel priority disabled (channel-2 wins the ties of conda-env, libffi
#: and zlib although channel-4 has higher build numbers of the same versions)
CONDA_BUILD_DISABLED = {
    "channel-4::ca-certificates-2018.03.07-0",
    "channel-2::conda-env-2.6.0-0",
    "channel-2::libffi-3.2.1-1",
    "channel-4::libgcc-ng-8.2.0-hdf63c60_0",
    "channel-4::libstdcxx-ng-8.2.0-hdf63c60_0",
    "channel-2::zlib-1.2.11-0",
    "channel-4::ncurses-6.1-hf484d3e_0",
    "channel-4::openssl-1.0.2p-h14c3975_0",
    "channel-4::patchelf-0.9-hf484d3e_2",
    "channel-4::tk-8.6.7-hc745277_3",
    "channel-4::xz-5.2.4-h14c3975_4",
    "channel-4::yaml-0.1.7-had09818_2",
    "channel-4::libedit-3.1.20170329-h6b74fdf_2",
    "channel-4::readline-7.0-ha6073c6_4",
    "channel-4::sqlite-3.24.0-h84994c4_0",
    "channel-4::python-3.7.0-hc3d631a_0",
    "channel-4::asn1crypto-0.24.0-py37_0",
    "channel-4::beautifulsoup4-4.6.3-py37_0",
    "channel-4::certifi-2018.8.13-py37_0",
    "channel-4::chardet-3.0.4-py37_1",
    "channel-4::cryptography-vectors-2.3-py37_0",
    "channel-4::filelock-3.0.4-py37_0",
    "channel-4::glob2-0.6-py37_0",
    "channel-4::idna-2.7-py37_0",
    "channel-4::markupsafe-1.0-py37h14c3975_1",
    "channel-4::pkginfo-1.4.2-py37_1",
    "channel-4::psutil-5.4.6-py37h14c3975_0",
    "channel-4::pycosat-0.6.3-py37h14c3975_0",
    "channel-4::pycparser-2.18-py37_1",
    "channel-4::pysocks-1.6.8-py37_0",
    "channel-4::pyyaml-3.13-py37h14c3975_0",
    "channel-4::ruamel_yaml-0.15.46-py37h14c3975_0",
    "channel-4::six-1.11.0-py37_1",
    "channel-4::cffi-1.11.5-py37h9745a5d_0",
    "channel-4::setuptools-40.0.0-py37_0",
    "channel-4::cryptography-2.3-py37hb7f436b_0",
    "channel-4::jinja2-2.10-py37_0",
    "channel-4::pyopenssl-18.0.0-py37_0",
    "channel-4::urllib3-1.23-py37_0",
    "channel-4::requests-2.19.1-py37_0",
    "channel-4::conda-4.5.10-py37_0",
    "channel-4::conda-build-3.12.1-py37_0",
}


@needs_channels
def test_disabled_priority_breaks_version_ties_by_channel(backend, channels, tmp_path):
    out = _solve(
        backend,
        [channels["channel-2"], channels["channel-4"]],
        ["conda-build"],
        tmp_path,
        priority="disabled",
    )
    assert _dists(out) == CONDA_BUILD_DISABLED


@needs_channels
def test_disabled_priority_still_takes_the_newest_version(backend, channels, tmp_path):
    """The order of channels only breaks ties: with channel-4 listed last, its newer
    python still wins over channel-2's."""
    out = _solve(
        backend,
        [channels["channel-2"], channels["channel-4"]],
        ["python"],
        tmp_path,
        priority="disabled",
    )
    assert "channel-4::python-3.7.0-hc3d631a_0" in _dists(out)


@needs_channels
def test_disabled_priority_with_the_channels_swapped(backend, channels, tmp_path):
    """With channel-4 first, the ties go to channel-4's builds."""
    out = _solve(
        backend,
        [channels["channel-4"], channels["channel-2"]],
        ["conda-build"],
        tmp_path,
        priority="disabled",
    )
    dists = _dists(out)
    assert "channel-4::zlib-1.2.11-ha838bed_2" in dists
    assert "channel-4::libffi-3.2.1-hd88cf55_4" in dists


@needs_channels
def test_disabled_priority_honours_a_build_number_spec(backend, channels, tmp_path):
    """A spec on the build number sees the real build numbers: zlib build 2 is
    channel-4's, and so is taken although channel-2 is listed first."""
    out = _solve(
        backend,
        [channels["channel-2"], channels["channel-4"]],
        ["zlib[build_number=2]"],
        tmp_path,
        priority="disabled",
    )
    assert "channel-4::zlib-1.2.11-ha838bed_2" in _dists(out)


# -- 3: ties decided (plus's answers, documented in docs/differences.md) ----------------------


def _installed(backend, channels, specs, tmp_path):
    """A prefix holding the answer for ``specs`` on channel-4, with ``specs`` as history."""
    first = _solve(backend, [channels["channel-4"]], specs, tmp_path)
    prefix = tmp_path / "prefix"
    dists = [
        f"channel-4/{r.subdir}::{r.name.normalized}-{r.version}-{r.build}"
        for r in first.records.values()
    ]
    write_prefix(prefix, dists, specs, channels)
    return first, prefix


@needs_channels
def test_python2_update_keeps_the_installed_cryptography(backend, channels, tmp_path):
    """conda's test_python2_update: moving a python 2.7 environment to python 3.7, classic
    downgrades cryptography from the installed 2.3 to 2.2.2 (and drops
    cryptography-vectors); plus keeps 2.3, rebuilt for python 3.7 — a newer version and
    one change fewer. Documented in docs/differences.md."""
    first, prefix = _installed(backend, channels, ["conda", "python=2"], tmp_path)
    assert str(first.records["cryptography"].version) == "2.3"
    out = _solve(backend, [channels["channel-4"]], ["python=3.7"], tmp_path, prefix=prefix)
    assert str(out.records["python"].version) == "3.7.0"
    assert "channel-4::conda-4.5.10-py37_0" in _dists(out)
    assert str(out.records["cryptography"].version) == "2.3"
    assert "cryptography-vectors" in out.records


@needs_channels
def test_python_update_leaves_ncurses_and_libedit_in_place(backend, channels, tmp_path):
    """conda's test_fast_update_with_update_modifier_not_set: ``install python`` in a
    python 2.7 environment. Classic also updates ncurses 6.0 -> 6.1 and libedit; plus
    changes only what python 3.6 needs (openssl, xz) — fewer changes. Documented."""
    specs = ["python=2", "openssl==1.0.2l", "sqlite=3.21"]
    first, prefix = _installed(backend, channels, specs, tmp_path)
    out = _solve(
        backend,
        [channels["channel-4"]],
        ["python"],
        tmp_path,
        prefix=prefix,
        aggressive_update_packages=CONDA_DEFAULT_AGGRESSIVE,  # conda's: openssl moves
    )
    assert str(out.records["python"].version) == "3.6.4"
    for name in ("ncurses", "libedit"):
        assert out.records[name].file_name == first.records[name].file_name


UNION_CF = Path(__file__).resolve().parents[2] / "shared/data/repodata/lockfile-union/conda-forge"


@pytest.mark.skipif(not UNION_CF.is_dir(), reason=f"shared channel data not found at {UNION_CF}")
def test_pytorch_ties_are_the_sat_engines_answer(backend, tmp_path):
    """``create pytorch python=3.12`` on the shared conda-forge records: classic optimises
    versions over the whole environment (libxml2 2.15.3, libsqlite 3.53.4, sympy build 106
    with gmpy2); plus on both engines, like conda-libmamba-solver and
    conda-rattler-solver, decides package by package: libxml2 2.13.8, libsqlite 3.53.3,
    sympy build 6 without gmpy2. Documented in docs/differences.md."""
    from conda_solver_plus.virtual import make_virtual

    virtual = {n: make_virtual(n, v) for n, v in (("__glibc", "2.28"), ("__unix", "0"))}
    index = load_index([UNION_CF], [ARCH, "noarch"], cache_dir=tmp_path / "cache")
    sis = SolverInputState(None, ["pytorch", "python=3.12"], virtual_packages=virtual)
    options = SolveOptions(channel_priority="flexible", cache_dir=tmp_path / "cache")
    records = solve(sis, index, backend, options).records
    assert str(records["libxml2"].version) == "2.13.8"
    assert str(records["libsqlite"].version) == "3.53.3"
    assert records["sympy"].build_number == 6
    assert "gmpy2" not in records


# -- 4: an explicit spec against a pin of the same package ---------------------------------


@needs_channels
def test_explicit_spec_against_its_pin_is_a_configuration_conflict(
    channels, tmp_path, engine_name
):
    """conda's test_pinned_override_with_explicit_spec: with ``dependent=1.0`` pinned,
    ``install dependent=2.0`` is refused with SpecsConfigurationConflictError, as
    conda-libmamba-solver does since 23.9 (classic installs 2.0; documented in
    docs/differences.md)."""
    conda_requires()
    channel = channels["channel-6"]
    prefix = tmp_path / "env"
    install_record(prefix, channel, "noarch", "dependency-1.0-0.tar.bz2")
    install_record(prefix, channel, "noarch", "dependent-1.0-0.tar.bz2", "dependent=1.0")
    args = ["install", "-p", str(prefix), "dependent=2.0", "--override-channels"]
    args += ["-c", channel.as_uri()]
    pin = {"CONDA_PINNED_PACKAGES": "dependent=1.0"}
    code, answer, _ = run_conda(tmp_path, *args, solver="plus", engine=engine_name, **pin)
    assert code != 0
    assert answer["exception_name"] == "SpecsConfigurationConflictError", answer
    # classic, the other way: the explicit spec overrides the pin
    code, answer, _ = run_conda(tmp_path, *args, solver="classic", **pin)
    assert code == 0, answer
    assert _linked(answer)["dependent"] == "2.0"


# -- 5: pip as a python dependency ---------------------------------------------------------


def _python_channel(root: Path) -> Path:
    """python in linux-64 and pip (noarch) in noarch, as on every real channel."""
    python = dict([repodata_entry("python", "3.12.0", ARCH)])
    pip = dict([repodata_entry("pip", "24.0", "noarch", depends=["python >=3.8"])])
    pip["pip-24.0-0.tar.bz2"]["noarch"] = "python"
    return write_files(
        root,
        {
            f"{ARCH}/repodata.json": json.dumps({"info": {"subdir": ARCH}, "packages": python}),
            "noarch/repodata.json": json.dumps({"info": {"subdir": "noarch"}, "packages": pip}),
        },
    )


@pytest.mark.parametrize("add_pip", ["true", "false"])
def test_pip_comes_with_python_through_conda(tmp_path, engine_name, add_pip):
    """conda's ``add_pip_as_python_dependency`` (default true) makes pip a dependency of
    python, on both engines, although pip (noarch) is not in python's subdir; off, no pip."""
    conda_requires()
    channel = _python_channel(tmp_path / "channel")
    args = ["create", "-p", str(tmp_path / "env"), "python", "--override-channels"]
    args += ["-c", channel.as_uri()]
    code, answer, stderr = run_conda(
        tmp_path,
        *args,
        solver="plus",
        engine=engine_name,
        CONDA_ADD_PIP_AS_PYTHON_DEPENDENCY=add_pip,
    )
    assert code == 0, (answer, stderr)
    assert ("pip" in _linked(answer)) is (add_pip == "true")
    assert "python" in _linked(answer)


# -- 7: repodata patches reach installed packages ------------------------------------------


def _patched_channel(root: Path, a_depends: list[str], extra: dict | None = None) -> Path:
    """A channel with ``a 1.0`` (depending on ``a_depends``), ``b 1.0`` and ``b 2.0``."""
    packages = dict(
        [
            repodata_entry("a", "1.0", ARCH, depends=a_depends),
            repodata_entry("b", "1.0", ARCH),
            repodata_entry("b", "2.0", ARCH),
        ]
    )
    packages["a-1.0-0.tar.bz2"].update(extra or {})
    return write_files(
        root,
        {
            f"{ARCH}/repodata.json": json.dumps({"info": {"subdir": ARCH}, "packages": packages}),
            "noarch/repodata.json": json.dumps({"info": {"subdir": "noarch"}, "packages": {}}),
        },
    )


@pytest.fixture
def patched(tmp_path) -> tuple[Path, Path]:
    """``(channel, prefix)``: ``a 1.0`` installed when it depended on ``b``; the channel's
    record of the same file, patched since, says ``b <2``."""
    channel = _patched_channel(tmp_path / "channel", ["b"])
    prefix = tmp_path / "env"
    install_record(prefix, channel, ARCH, "b-1.0-0.tar.bz2")
    install_record(prefix, channel, ARCH, "a-1.0-0.tar.bz2", "a")
    _patched_channel(channel, ["b <2"])  # the patch: same file, tighter depends
    return channel, prefix


def test_patched_depends_reach_the_installed_record(backend, patched, tmp_path):
    channel, prefix = patched
    with pytest.raises(UnsatisfiableError):
        _solve(backend, [channel], ["b=2"], tmp_path, prefix=prefix)
    # what the request may do under the patched record: keep b 1.0
    out = _solve(backend, [channel], ["b"], tmp_path, prefix=prefix)
    assert str(out.records["b"].version) == "1.0"
    assert list(out.records["a"].depends) == ["b <2"]


def test_a_record_that_left_its_channel_keeps_its_metadata(backend, patched, tmp_path):
    channel, prefix = patched
    _patched_channel(channel, ["b <2"])
    repodata = json.loads((channel / ARCH / "repodata.json").read_text())
    del repodata["packages"]["a-1.0-0.tar.bz2"]
    (channel / ARCH / "repodata.json").write_text(json.dumps(repodata))
    out = _solve(backend, [channel], ["b=2"], tmp_path, prefix=prefix)
    assert str(out.records["b"].version) == "2.0"
    assert list(out.records["a"].depends) == ["b"]


def test_a_rebuilt_file_of_the_same_name_is_not_the_installed_one(backend, patched, tmp_path):
    """Same file name, another md5: the channel serves another artifact, so the installed
    record keeps its own metadata."""
    channel, prefix = patched
    _patched_channel(channel, ["b <2"], extra={"md5": "f" * 32})
    out = _solve(backend, [channel], ["b=2"], tmp_path, prefix=prefix)
    assert str(out.records["b"].version) == "2.0"


def test_patched_depends_reach_the_installed_record_through_conda(patched, tmp_path, engine_name):
    """The same through real conda: classic refuses ``install b=2`` (a would break), and
    so does plus on each engine."""
    conda_requires()
    channel, prefix = patched
    args = ["install", "-p", str(prefix), "b=2", "--override-channels", "-c", channel.as_uri()]
    code, answer, _ = run_conda(tmp_path, *args, solver="classic")
    assert code != 0 and answer["exception_name"] == "UnsatisfiableError", answer
    code, answer, _ = run_conda(tmp_path, *args, solver="plus", engine=engine_name)
    # plus's subclass of conda's UnsatisfiableError
    assert code != 0 and answer["exception_name"].endswith("UnsatisfiableError"), answer
    # and a request the patched record allows goes through, leaving a in place
    args[3] = "b=1"
    code, answer, stderr = run_conda(tmp_path, *args, solver="plus", engine=engine_name)
    assert code == 0, (answer, stderr)


def test_patched_depends_reach_the_installed_record_through_the_cli(
    patched, tmp_path, engine_name
):
    """The standalone CLI reads the prefix itself (``--prefix``) and gets the same rule:
    ``solve b=2`` cannot be met (exit 1); ``solve b`` keeps b 1.0."""
    channel, prefix = patched
    argv = [sys.executable, "-m", "conda_solver_plus", "solve", "--prefix", str(prefix)]
    argv += ["-c", str(channel), "--subdir", ARCH, "--backend", engine_name, "--json"]
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}

    def run(spec: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*argv, spec], capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=300
        )

    refused = run("b=2")
    assert refused.returncode == 1, (refused.stdout, refused.stderr)
    kept = run("b")
    assert kept.returncode == 0, kept.stderr
    versions = {r["name"]: r["version"] for r in json.loads(kept.stdout)["records"]}
    assert versions == {"a": "1.0", "b": "1.0"}
