"""Solve strategies (``--strategy``, ``CONDA_SOLVER_PLUS_STRATEGY``, ``plus_solve_strategy``):
``highest``, ``lowest``, ``lowest-direct``, on both engines, standalone and through real
conda, on real conda-forge repodata (``../shared/data/repodata/conda-forge-py39-subchannel``:
every version of 63 names, curl from 7.52.1 to 8.7.1).

Expected versions are computed from the repodata (the lowest and highest versions the
channel has) or from a second real path: ``lowest-direct`` must give what a plain highest
solve gives once the requested package is fixed to the version ``lowest-direct`` chose.
The libmamba engine hands such requests to the rattler engine with one warning line
(:mod:`conda_solver_plus.backends.libmamba`); both engines must give the same answer.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from rattler import LockFile, MatchSpec, Version

from conda_solver_plus.backends import EngineRequest, EngineUnsolvable
from conda_solver_plus.cli import main
from conda_solver_plus.exceptions import InvalidInputError
from conda_solver_plus.lockfile import read_lockfile
from conda_solver_plus.repodata.gateway import load_index
from conda_solver_plus.settings import resolve_strategy

from .channels import install_record
from .engines import plus_conda_env, require_module

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "repodata"
CONDA_FORGE = SHARED / "conda-forge-py39-subchannel" / "conda-forge"
pytestmark = pytest.mark.skipif(
    not CONDA_FORGE.is_dir(), reason=f"shared channel data not found at {CONDA_FORGE}"
)


@pytest.fixture(scope="module")
def versions() -> dict[str, list[Version]]:
    """name -> every version the channel has for linux-64 (and noarch), ascending."""
    found: dict[str, set[str]] = {}
    for subdir in ("linux-64", "noarch"):
        data = json.loads((CONDA_FORGE / subdir / "repodata.json").read_text())
        for key in ("packages", "packages.conda"):
            for record in data.get(key, {}).values():
                found.setdefault(record["name"], set()).add(record["version"])
    return {name: sorted(Version(v) for v in texts) for name, texts in found.items()}


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("plus-cache")


@pytest.fixture(autouse=True)
def no_strategy_from_outside(monkeypatch):
    monkeypatch.delenv("CONDA_SOLVER_PLUS_STRATEGY", raising=False)


def run(capsys, cache: Path, engine: str, *args: str, command: str = "solve"):
    """``conda-solver-plus COMMAND ARGS --json`` in-process on the channel: (exit code,
    the JSON answer or ``None``, stderr)."""
    argv = [command, *args, "--json", "--override-channels", "-c", str(CONDA_FORGE)]
    argv += ["--subdir", "linux-64", "--backend", engine, "--cache-dir", str(cache)]
    code = main(argv)
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else None), err


def versions_of(answer: dict) -> dict[str, str]:
    return {record["name"]: record["version"] for record in answer["records"]}


def rattler_notices(caplog) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelname == "WARNING" and "rattler engine" in record.getMessage()
    ]


# -- the settings -----------------------------------------------------------------------


def test_flag_over_environment_over_condarc(monkeypatch):
    condarc = {"plus_solve_strategy": "lowest"}
    assert resolve_strategy() == "highest"
    assert resolve_strategy(None, condarc) == "lowest"
    monkeypatch.setenv("CONDA_SOLVER_PLUS_STRATEGY", "Lowest-Direct")
    assert resolve_strategy(None, condarc) == "lowest-direct"
    assert resolve_strategy("highest", condarc) == "highest"
    monkeypatch.setenv("CONDA_SOLVER_PLUS_STRATEGY", "")  # empty is unset
    assert resolve_strategy(None, condarc, default="lowest-direct") == "lowest"
    assert resolve_strategy(None, {}, default="lowest-direct") == "lowest-direct"


@pytest.mark.parametrize(
    "env, condarc, named",
    [
        ("newest", "", "CONDA_SOLVER_PLUS_STRATEGY='newest'"),
        ("", "plus_solve_strategy: minimal\n", "plus_solve_strategy: 'minimal' (.condarc)"),
    ],
)
def test_a_bad_strategy_is_one_line_naming_its_source(
    capsys, monkeypatch, tmp_path, cache, env, condarc, named
):
    monkeypatch.setenv("CONDA_SOLVER_PLUS_STRATEGY", env)
    (tmp_path / "condarc").write_text(condarc)
    monkeypatch.setenv("CONDARC", str(tmp_path / "condarc"))
    code, _, err = run(capsys, cache, "rattler", "curl")
    assert code == 2
    assert err.startswith(f"error: {named}: unknown solve strategy")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_the_flag_refuses_what_is_no_strategy(capsys, cache):
    with pytest.raises(SystemExit) as exit_:
        run(capsys, cache, "rattler", "curl", "--strategy", "newest")
    assert exit_.value.code == 2
    assert "invalid choice: 'newest'" in capsys.readouterr().err


def test_plus_solve_strategy_in_condarc_applies(capsys, monkeypatch, tmp_path, cache, versions):
    (tmp_path / "condarc").write_text("plus_solve_strategy: lowest\n")
    monkeypatch.setenv("CONDARC", str(tmp_path / "condarc"))
    code, answer, err = run(capsys, cache, "rattler", "curl")
    assert code == 0, err
    assert Version(versions_of(answer)["curl"]) == versions["curl"][0]


# -- both engines ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def highest_with_lowest_curl(versions, cache) -> dict[str, str]:
    """The second path: a plain highest solve with curl fixed to the channel's lowest."""
    lowest = versions["curl"][0]
    argv = ["solve", f"curl=={lowest}", "--json", "--override-channels", "-c", str(CONDA_FORGE)]
    argv += ["--subdir", "linux-64", "--backend", "rattler", "--cache-dir", str(cache)]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0
    return versions_of(json.loads(out.getvalue()))


def test_lowest_direct_is_lowest_for_the_request_highest_below(
    capsys, caplog, cache, engine_name, versions, highest_with_lowest_curl
):
    caplog.set_level(logging.WARNING)
    code, answer, err = run(
        capsys, cache, engine_name, "curl", "--strategy", "lowest-direct", command="explain"
    )
    assert code == 0, err
    assert answer["strategy"] == "lowest-direct"
    chosen = versions_of(answer)
    assert Version(chosen["curl"]) == versions["curl"][0]
    # its dependencies are what a highest solve picks for that curl
    assert chosen == highest_with_lowest_curl
    said = rattler_notices(caplog)
    assert len(said) == (1 if engine_name == "libmamba" else 0), said
    if said:
        assert "'lowest-direct'" in said[0]


def test_lowest_is_lowest_below_too(capsys, cache, engine_name, versions):
    code, answer, err = run(capsys, cache, engine_name, "curl", "--strategy", "lowest")
    assert code == 0, err
    lowest = versions_of(answer)
    assert Version(lowest["curl"]) == versions["curl"][0]
    code, answer, err = run(capsys, cache, engine_name, "curl", "--strategy", "lowest-direct")
    direct = versions_of(answer)
    assert lowest["curl"] == direct["curl"]
    # no package of the lowest answer is newer than in the lowest-direct one, and
    # curl's dependencies (openssl, ca-certificates) are older there
    shared = set(lowest) & set(direct)
    assert all(Version(lowest[name]) <= Version(direct[name]) for name in shared)
    assert any(Version(lowest[name]) < Version(direct[name]) for name in shared)


def test_a_lowest_solve_is_no_case_for_the_feature_rules(capsys, caplog, cache, versions):
    """A requested package below a newer build that tracks a feature (python 3.9.0 under
    pypy's python builds) is what a lowest strategy asks for, not the engines' feature
    ranking at work: the solve must not go through the legacy-feature rules, which cost
    ten times the solve here and change nothing."""
    caplog.set_level(logging.INFO, logger="conda_solver_plus.features")
    args = ("python", "pip", "curl", "--strategy", "lowest-direct")
    code, answer, err = run(capsys, cache, "rattler", *args)
    assert code == 0, err
    assert not [r for r in caplog.records if "legacy features" in r.getMessage()]
    assert Version(versions_of(answer)["python"]) == versions["python"][0]


def test_a_pin_holds_under_lowest(capsys, cache, engine_name, versions):
    code, answer, err = run(
        capsys, cache, engine_name, "curl", "--strategy", "lowest", "--pin", "curl>=8"
    )
    assert code == 0, err
    at_least_8 = [v for v in versions["curl"] if v >= Version("8")]
    assert Version(versions_of(answer)["curl"]) == at_least_8[0]


def openssl_environment(prefix: Path) -> Path:
    """A prefix with openssl 3.1.5 (neither the newest nor the oldest) asked for (history)
    and what it needs, from the channel."""
    linux = [
        "_libgcc_mutex-0.1-conda_forge.tar.bz2",
        "_openmp_mutex-4.5-2_gnu.tar.bz2",
        "libgomp-13.2.0-h77fa898_7.conda",
        "libgcc-ng-13.2.0-h77fa898_7.conda",
        "ca-certificates-2024.2.2-hbcca054_0.conda",
    ]
    for fn in linux:
        install_record(prefix, CONDA_FORGE, "linux-64", fn)
    install_record(
        prefix, CONDA_FORGE, "linux-64", "openssl-3.1.5-hd590300_0.conda", history_spec="openssl"
    )
    return prefix


def installed_versions(prefix: Path) -> dict[str, str]:
    return {
        meta["name"]: meta["version"]
        for meta in (json.loads(p.read_text()) for p in (prefix / "conda-meta").glob("*.json"))
    }


@pytest.mark.parametrize("strategy", ["lowest", "lowest-direct"])
def test_installed_and_history_keep_their_meaning(
    capsys, tmp_path, cache, engine_name, versions, strategy
):
    """``install curl`` into a prefix with openssl 3.1.5 asked for before: the installed
    packages stay where they are (preferred under every strategy, openssl also by its
    history spec) and curl is the lowest version that goes with them."""
    prefix = openssl_environment(tmp_path / "env")
    installed = installed_versions(prefix)
    code, answer, err = run(
        capsys, cache, engine_name, "curl", "--prefix", str(prefix), "--strategy", strategy
    )
    assert code == 0, err
    chosen = versions_of(answer)
    assert {name: chosen[name] for name in installed} == installed
    code, highest, err = run(capsys, cache, engine_name, "curl", "--prefix", str(prefix))
    assert code == 0, err
    assert Version(chosen["curl"]) < Version(versions_of(highest)["curl"])
    # with each installed package pinned where it is, no older curl can be had
    pins = [arg for name, version in installed.items() for arg in ("--pin", f"{name}={version}")]
    older = f"curl<{chosen['curl']}"
    code, _, err = run(capsys, cache, engine_name, older, "--prefix", str(prefix), *pins)
    assert code == 1, f"{older} goes with the installed packages: the strategy missed it"
    # asking for an installed package again keeps it (the strategy does not move it
    # down), where the highest strategy takes the newest
    code, again, err = run(
        capsys, cache, engine_name, "openssl", "--prefix", str(prefix), "--strategy", strategy
    )
    assert code == 0, err
    assert versions_of(again) == installed
    code, newest, err = run(capsys, cache, engine_name, "openssl", "--prefix", str(prefix))
    assert code == 0, err
    assert Version(versions_of(newest)["openssl"]) == versions["openssl"][-1]


@pytest.fixture(scope="module")
def curl_index(cache):
    return load_index([CONDA_FORGE], ["linux-64"], cache_dir=cache)


@pytest.mark.parametrize("requested", [{"curl"}, {"curl", "ncurses"}])
def test_lowest_direct_is_lowest_only_for_the_requested_names(
    backend, curl_index, versions, requested
):
    """The engines get more required specs than the user asked for (history, installed
    names kept, aggressive updates, packages released after a conflict): under
    lowest-direct only ``requested_names`` take their lowest version. py-rattler's own
    notion of "direct" is every spec handed to it; here ncurses, required but not
    requested, must get its highest version."""
    request = EngineRequest(
        specs=[MatchSpec("curl"), MatchSpec("ncurses")],
        requested_names=frozenset(requested),
        strategy="lowest-direct",
    )
    chosen = {r.name.normalized: r.version for r in backend.solve(curl_index, request)}
    assert chosen["curl"] == versions["curl"][0]
    assert chosen["ncurses"] == versions["ncurses"][0 if "ncurses" in requested else -1]
    assert "plus-indirect-requirements" not in chosen
    # a request that cannot be met names the user's specs, not the synthetic package
    request.specs.append(MatchSpec("ncurses<0.1"))
    with pytest.raises(EngineUnsolvable) as error:
        backend.solve(curl_index, request)
    assert "ncurses" in error.value.message
    assert "plus-indirect-requirements" not in error.value.message


def test_explain_says_the_strategy_only_when_not_highest(capsys, cache):
    argv = ["explain", "curl", "--override-channels", "-c", str(CONDA_FORGE)]
    argv += ["--subdir", "linux-64", "--backend", "rattler", "--cache-dir", str(cache)]
    assert main([*argv, "--strategy", "lowest"]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[1].startswith("strategy: lowest (")
    assert main(argv) == 0
    assert not any(line.startswith("strategy:") for line in capsys.readouterr().out.splitlines())


# -- lockfiles ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, marker",
    [
        ("pixi.lock", "strategy: lowest-version-direct"),
        ("conda-lock.yml", 'solve_strategy: "lowest-direct"'),
        ("env.txt", "# solve strategy: lowest-direct"),
    ],
)
def test_lockfiles_record_the_strategy_and_read_it_back(capsys, tmp_path, cache, name, marker):
    lock = tmp_path / name
    code, answer, err = run(
        capsys, cache, "rattler", "curl", "--strategy", "lowest-direct", "--lock-out", str(lock)
    )
    assert code == 0, err
    assert marker in lock.read_text()
    if name != "env.txt":
        LockFile.from_path(lock)  # py-rattler (rattler_lock) reads it
    locked = read_lockfile(lock)
    assert locked.strategy == "lowest-direct"
    assert {r.name.normalized: str(r.version) for r in locked.records} == versions_of(answer)
    # a solve from the file with no strategy of its own keeps the file's, and writes it
    again = tmp_path / f"again-{name}"
    code, _, err = run(capsys, cache, "rattler", "--locked", str(lock), "--lock-out", str(again))
    assert code == 0, err
    assert read_lockfile(again).strategy == "lowest-direct"
    # highest is the default: nothing is written for it
    code, _, err = run(
        capsys, cache, "rattler", "--locked", str(lock), "--strategy", "highest",
        "--lock-out", str(again),
    )  # fmt: skip
    assert code == 0, err
    assert "strategy" not in again.read_text() and read_lockfile(again).strategy == "highest"


def test_an_unknown_strategy_in_a_lockfile_is_bad_input(tmp_path):
    lock = tmp_path / "env.txt"
    lock.write_text("# platform: linux-64\n# solve strategy: newest\n@EXPLICIT\n")
    with pytest.raises(InvalidInputError, match="unknown solve strategy 'newest'") as error:
        read_lockfile(lock)
    assert error.value.source == f"{lock}:2"


# -- through conda -----------------------------------------------------------------------


@pytest.mark.slow
def test_through_conda(tmp_path, engine_name, versions, highest_with_lowest_curl):
    """``conda create --solver=plus`` with CONDA_SOLVER_PLUS_STRATEGY=lowest-direct: the
    same answer as standalone, curl at the channel's lowest; on libmamba one line says the
    rattler engine solved it."""
    require_module("conda", "the strategy must reach plus through conda")
    env = plus_conda_env(
        tmp_path,
        engine_name,
        CONDA_SOLVER_PLUS_VERIFY="1",
        CONDA_SOLVER_PLUS_STRATEGY="lowest-direct",
    )
    cmd = [sys.executable, "-m", "conda", "create", "-p", str(tmp_path / "env"), "curl"]
    cmd += ["--dry-run", "--json", "--solver=plus", "--override-channels", "-c", str(CONDA_FORGE)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    linked = {p["name"]: p["version"] for p in json.loads(proc.stdout)["actions"]["LINK"]}
    assert Version(linked["curl"]) == versions["curl"][0]
    assert linked == highest_with_lowest_curl
    assert proc.stderr.count("rattler engine") == (1 if engine_name == "libmamba" else 0)


@pytest.mark.slow
def test_conda_plus_explain_says_the_strategy(capsys, tmp_path, cache):
    """``conda plus explain`` with ``plus_solve_strategy`` in .condarc: the strategy in its
    JSON, and the packages of the standalone CLI's answer."""
    require_module("conda", "conda plus explain")
    env = plus_conda_env(tmp_path, "rattler", CONDA_SOLVER_PLUS_VERIFY="1")
    (tmp_path / "condarc").write_text("plus_solve_strategy: lowest\n")
    cmd = [sys.executable, "-m", "conda", "plus", "explain", "-p", str(tmp_path / "env"), "curl"]
    cmd += ["--json", "--override-channels", "-c", str(CONDA_FORGE)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    payload = json.loads(proc.stdout)
    assert payload["strategy"] == "lowest"
    code, answer, err = run(capsys, cache, "rattler", "curl", "--strategy", "lowest")
    assert code == 0, err
    assert set(payload["why"]) == set(versions_of(answer))
