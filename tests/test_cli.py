"""The standalone CLI as users and scripts see it: ``python -m conda_solver_plus`` in a
subprocess, against the synthetic channel in ``tests/data/demo-channel``.

The contract (see :mod:`conda_solver_plus.cli`): exit 0 with the solution, exit 1 when the
request cannot be met (explanation on stderr, or an ``{"error": ...}`` object with
``--json``), exit 2 for bad input with exactly one line on stderr and never a traceback.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .channels import loopback_server, openssl_prefix

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "tests" / "data" / "demo-channel"
DEMO_URL = DEMO.as_uri()
RECORD_KEYS = {"name", "version", "build", "build_number", "channel", "subdir", "fn", "url"}


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    """A clean environment: no engine choice, no CUDA/glibc overrides, a private cache."""
    result = isolated_from_condarc(os.environ, tmp_path_factory.mktemp("home"))
    result["CONDA_SOLVER_PLUS_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    return result


def isolated_from_condarc(environ, home: Path) -> dict[str, str]:
    """``environ`` without engine choices, CUDA/glibc overrides and anything that points
    the CLI at a user's conda configuration: a fresh ``HOME``, no ``CONDARC``,
    ``CONDA_PREFIX``, ``XDG_CONFIG_HOME`` or ``CONDA_<setting>`` (conda's defaults hold)."""
    dropped = ("CONDARC", "CONDA_PREFIX", "CONDA_ROOT", "XDG_CONFIG_HOME")
    settings = ("CONDA_CHANNEL", "CONDA_PINNED", "CONDA_ADD_PIP", "CONDA_EXCLUDE")
    result = {
        k: v
        for k, v in environ.items()
        if not k.startswith(("CONDA_OVERRIDE_", "CONDA_SOLVER_PLUS_", *settings))
        and k not in dropped
    }
    result["HOME"] = str(home)
    return result


def cli(env, *args: str, channel: Path | str | None = DEMO, subdir: str = "linux-64"):
    argv = [sys.executable, "-m", "conda_solver_plus", *args]
    if channel is not None:
        argv += ["-c", str(channel)]
    if subdir:
        argv += ["--subdir", subdir]
    if "--backend" not in args:
        argv += ["--backend", "rattler"]
    # run from the checkout so `-m conda_solver_plus` is the code under test
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


def solved(env, *args: str, **kwargs) -> dict[str, dict]:
    proc = cli(env, "solve", *args, "--json", **kwargs)
    assert proc.returncode == 0, proc.stderr
    return {r["name"]: r for r in json.loads(proc.stdout)["records"]}


def assert_one_line_error(proc, *needles: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


# -- exit 0 -------------------------------------------------------------------------------


def test_json_records(env):
    proc = cli(env, "solve", "python=3.12", "numpy", "--json")
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert set(payload) == {"records", "transaction"}
    records = payload["records"]
    # without a prefix or lockfile everything is new
    transaction = payload["transaction"]
    assert sorted(r["name"] for r in transaction["install"]) == sorted(r["name"] for r in records)
    assert not any(transaction[kind] for kind in ("remove", "update", "downgrade"))
    for record in records:
        assert set(record) == RECORD_KEYS, record
        assert record["channel"] == DEMO_URL
        assert record["url"] == f"{DEMO_URL}/{record['subdir']}/{record['fn']}"
        assert isinstance(record["build_number"], int)
    by_name = {r["name"]: r for r in records}
    assert len(by_name) == len(records)
    assert by_name["python"]["version"] == "3.12.8"
    assert by_name["numpy"]["build"] == "py312h58c1407_1"
    assert by_name["python_abi"]["build"] == "5_cp312"
    assert by_name["tzdata"]["subdir"] == "noarch"
    assert by_name["numpy"]["fn"] == "numpy-2.0.2-py312h58c1407_1.conda"
    assert by_name["libffi"]["fn"].endswith(".tar.bz2")  # listed under "packages"
    # dependencies come before their dependents
    order = [r["name"] for r in records]
    assert order.index("python") < order.index("numpy")
    assert order.index("libgcc") < order.index("python")


def test_numpy_pip_picks_python_for_both(env):
    records = solved(env, "numpy", "pip")
    assert records["pip"]["subdir"] == "noarch"
    assert {"setuptools", "wheel"} <= set(records)
    # numpy 2.0 exists only for python 3.12, pip allows <3.13: the newest of both wins
    assert records["numpy"]["version"] == "2.0.2"
    assert records["python"]["version"] == "3.12.8"


def test_python_311_gets_the_311_numpy_build(env):
    records = solved(env, "python=3.11", "numpy")
    assert records["numpy"]["build"] == "py311h64a7726_0"
    assert records["python_abi"]["version"] == "3.11"


def test_human_output(env):
    """``conda list``'s table: a header, rows sorted by name, the channel's canonical name
    (no subdir: noarch and linux-64 records show the same channel), then a count."""
    proc = cli(env, "solve", "python=3.12", "numpy")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["#", "Name", "Version", "Build", "Channel"]
    rows = [line.split() for line in lines[1:-1]]
    names = [row[0] for row in rows]
    assert names == sorted(names)
    by_name = {row[0]: row for row in rows}
    assert by_name["numpy"] == ["numpy", "2.0.2", "py312h58c1407_1", DEMO_URL]
    assert by_name["tzdata"][3] == DEMO_URL  # a noarch record
    assert lines[-1] == f"# {len(rows)} packages"
    # columns line up: every row's version starts where the header's does
    column = lines[0].index("Version")
    assert all(line[column - 2 : column] == "  " and line[column] != " " for line in lines[1:-1])
    assert not proc.stdout.lstrip().startswith("{")


def test_repeated_runs_exit_cleanly(env):
    """py-rattler's async solve leaves a native thread finishing its Python work after the
    result is delivered; exiting right away used to crash the interpreter (exit 139/134)
    in roughly a third of the runs."""
    for _ in range(4):
        proc = cli(env, "solve", "numpy", "pip", "--json")
        assert proc.returncode == 0, (proc.returncode, proc.stderr)
        assert "Fatal Python error" not in proc.stderr


def test_closed_stdout_is_not_a_traceback(env):
    argv = [sys.executable, "-m", "conda_solver_plus", "solve", "numpy", "pip", "-c", str(DEMO)]
    argv += ["--subdir", "linux-64", "--backend", "rattler", "--json"]
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT, text=True
    )
    proc.stdout.close()  # like `... | head -0`
    stderr = proc.stderr.read()
    proc.stderr.close()
    returncode = proc.wait(timeout=120)
    assert "Traceback" not in stderr, stderr
    assert "Exception ignored" not in stderr, stderr
    assert returncode not in (0, 3, 134, 139), (returncode, stderr)


# -- exit 1 -------------------------------------------------------------------------------


def test_unsatisfiable(env):
    # numpy 2.0 is only built for python 3.12
    proc = cli(env, "solve", "python=3.11", "numpy=2.0")
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert "python" in proc.stderr and "numpy" in proc.stderr
    assert "python_abi" in proc.stderr


def test_unsatisfiable_json(env):
    proc = cli(env, "solve", "python=3.11", "numpy=2.0", "--json")
    assert proc.returncode == 1, proc.stderr
    error = json.loads(proc.stdout)["error"]
    assert error["type"] == "Unsatisfiable"
    assert "numpy" in error["message"]
    assert error["requested"] == ["python 3.11.*", "numpy 2.0.*"]


def test_glibc_too_old_is_unsatisfiable(env):
    proc = cli(env, "solve", "numpy", "--virtual", "__glibc=2.12", "--json")
    assert proc.returncode == 1, proc.stderr
    error = json.loads(proc.stdout)["error"]
    assert error["type"] == "Unsatisfiable"
    assert "__glibc" in error["message"]


def test_missing_package(env):
    proc = cli(env, "solve", "nosuchpkg")
    assert proc.returncode == 1
    assert "nosuchpkg" in proc.stderr
    assert DEMO_URL in proc.stderr  # names the channel searched
    assert "did you mean" not in proc.stderr

    proc = cli(env, "solve", "nosuchpkg", "--json")
    assert proc.returncode == 1
    error = json.loads(proc.stdout)["error"]
    assert error["type"] == "PackagesNotFound"
    assert error["packages"] == ["nosuchpkg"]
    assert error["channels"] == [DEMO_URL]


def test_missing_version_is_not_found(env):
    proc = cli(env, "solve", "numpy=3", "--json")
    assert proc.returncode == 1
    error = json.loads(proc.stdout)["error"]
    assert error["type"] == "PackagesNotFound"
    assert error["suggestions"] == {}


def test_typo_gets_a_suggestion(env):
    proc = cli(env, "solve", "numpyy")
    assert proc.returncode == 1
    assert "numpyy" in proc.stderr
    assert "did you mean: numpy?" in proc.stderr

    proc = cli(env, "solve", "numpyy", "--json")
    assert json.loads(proc.stdout)["error"]["suggestions"] == {"numpyy": ["numpy"]}


# -- exit 2 -------------------------------------------------------------------------------


def test_missing_channel_dir(env, tmp_path):
    missing = tmp_path / "no-such-channel"
    assert_one_line_error(cli(env, "solve", "numpy", channel=missing), str(missing))


def test_channel_without_repodata(env, tmp_path):
    (tmp_path / "linux-64").mkdir()
    assert_one_line_error(cli(env, "solve", "numpy", channel=tmp_path), "no repodata.json")


def test_repodata_not_json(env, tmp_path):
    path = tmp_path / "linux-64" / "repodata.json"
    path.parent.mkdir()
    path.write_text('{"info": {"subdir": "linux-64"}, "packages": {')
    assert_one_line_error(cli(env, "solve", "numpy", channel=tmp_path), str(path))

    proc = cli(env, "solve", "numpy", "--json", channel=tmp_path)
    error = json.loads(proc.stdout)["error"]
    assert error["type"] == "InvalidInput"
    assert error["source"] == str(path)


def test_repodata_wrong_types(env, tmp_path):
    path = tmp_path / "linux-64" / "repodata.json"
    path.parent.mkdir()
    record = {"name": "foo", "version": 1.0, "build": "0", "build_number": 0, "depends": []}
    path.write_text(
        json.dumps(
            {
                "info": {"subdir": "linux-64"},
                "packages": {"foo-1.0-0.tar.bz2": {**record, "subdir": "linux-64"}},
                "packages.conda": {},
            }
        )
    )
    assert_one_line_error(cli(env, "solve", "foo", channel=tmp_path), str(path))


@pytest.mark.parametrize("spec", ["numpy>=", "=1.0", "pkg[version=", "numpy ==="])
def test_invalid_spec(env, spec):
    assert_one_line_error(cli(env, "solve", spec), repr(spec))


def test_unknown_backend(env):
    assert_one_line_error(cli(env, "solve", "numpy", "--backend", "foo"), "foo")


def test_prefix_is_a_file(env, tmp_path):
    prefix = tmp_path / "env"
    prefix.write_text("not an environment\n")
    assert_one_line_error(cli(env, "solve", "numpy", "--prefix", str(prefix)), str(prefix))


def test_virtual_without_equals(env):
    assert_one_line_error(cli(env, "solve", "mylib", "--virtual", "__cuda"), "__cuda")


def test_no_channel_and_no_specs(env):
    assert_one_line_error(cli(env, "solve", "numpy", channel=None), "channel")
    assert_one_line_error(cli(env, "solve"), "nothing to solve")


# -- virtual packages -----------------------------------------------------------------------


def test_cuda_variant_follows_virtual_package(env):
    with_cuda = solved(env, "mylib", "--virtual", "__cuda=12.6")
    assert with_cuda["mylib"]["build"].startswith("cuda126_")
    assert "cuda-version" in with_cuda

    without = solved(env, "mylib", "--virtual", "__cuda=")
    assert without["mylib"]["build"].startswith("cpu_")
    assert "cuda-version" not in without

    # a driver older than the variant needs is as good as none
    old_driver = solved(env, "mylib", "--virtual", "__cuda=11.8")
    assert old_driver["mylib"]["build"].startswith("cpu_")


# -- remote channel ---------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_http_channel_then_offline(env, tmp_path):
    handler = functools.partial(_QuietHandler, directory=str(DEMO.parent))
    env = {**env, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    cache = ["--cache-dir", str(tmp_path / "cache")]
    with loopback_server(handler) as port:
        url = f"http://127.0.0.1:{port}/demo-channel"
        online = solved(env, "numpy", "pip", *cache, channel=url)
    assert online["numpy"]["channel"] == url
    assert online["numpy"]["url"] == f"{url}/linux-64/numpy-2.0.2-py312h58c1407_1.conda"
    # the server is gone: --offline answers from the cache
    assert solved(env, "numpy", "pip", "--offline", *cache, channel=url) == online
    proc = cli(
        env, "solve", "numpy", "--offline", "--cache-dir", str(tmp_path / "empty"), channel=url
    )
    assert_one_line_error(proc, url, "offline")


# -- existing prefix ----------------------------------------------------------------------


def _snapshot(root: Path) -> dict[str, tuple[bytes | None, int]]:
    result: dict[str, tuple[bytes | None, int]] = {".": (None, root.stat().st_mtime_ns)}
    for path in sorted(root.rglob("*")):
        stat = path.stat()
        content = path.read_bytes() if path.is_file() else None
        result[str(path.relative_to(root))] = (content, stat.st_mtime_ns)
    return result


@pytest.fixture
def prefix(tmp_path) -> Path:
    return openssl_prefix(tmp_path / "env", DEMO)


def test_prefix_installed_record_is_kept(env, prefix):
    before = _snapshot(prefix)
    records = solved(env, "python=3.11", "--prefix", str(prefix))
    # python 3.11 accepts openssl >=3.3.2: the installed record stays
    assert records["openssl"]["version"] == "3.3.2"
    assert records["ca-certificates"]["version"] == "2025.1.31"
    assert records["python"]["version"] == "3.11.11"
    assert _snapshot(prefix) == before, "solving must not write to the prefix"

    # the same request without the prefix takes the newest openssl
    assert solved(env, "python=3.11")["openssl"]["version"] == "3.4.0"


def test_prefix_record_released_when_needed(env, prefix):
    before = _snapshot(prefix)
    records = solved(env, "python=3.12", "--prefix", str(prefix))
    # python 3.12 needs openssl >=3.4.0: the installed 3.3.2 has to go
    assert records["openssl"]["version"] == "3.4.0"
    assert records["python"]["version"] == "3.12.8"
    assert _snapshot(prefix) == before


def test_prefix_alone_keeps_the_environment(env, prefix):
    """No specs: the installed records stay and their missing dependencies are filled in."""
    records = solved(env, "--prefix", str(prefix))
    assert {n: r["version"] for n, r in records.items()} == {
        "_libgcc_mutex": "0.1",
        "_openmp_mutex": "4.5",
        "ca-certificates": "2025.1.31",
        "libgcc": "14.2.0",
        "libgomp": "14.2.0",
        "openssl": "3.3.2",
    }


def test_corrupt_prefix_record_is_bad_input(env, prefix):
    bad = prefix / "conda-meta" / "zlib-1.0-0.json"
    bad.write_text("{not json")
    assert_one_line_error(cli(env, "solve", "numpy", "--prefix", str(prefix)), str(bad))


# -- explain --------------------------------------------------------------------------------


def test_explain_prints_provenance(env):
    proc = cli(env, "explain", "python=3.12", "numpy")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "engine: rattler" in out
    assert "python 3.12.*" in out and "<- requested" in out
    assert "requested as numpy" in out
    assert "dependency of numpy via 'python_abi 3.12.* *_cp312'" in out
    assert "dependency of python via 'tzdata'" in out


def test_explain_json(env, prefix):
    proc = cli(env, "explain", "python=3.11", "--prefix", str(prefix), "--json")
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["backend"] == "rattler"
    assert payload["specs"]["python"] == {"spec": "python 3.11.*", "reason": "requested"}
    assert payload["specs"]["openssl"]["reason"].startswith("history (")
    assert "openssl" in payload["locked"]
    why = {r["name"]: r["why"] for r in payload["records"]}
    assert why["python"] == "requested as python 3.11.*"
    assert why["openssl"].startswith("in history as openssl")
    assert why["tzdata"] == "dependency of python via 'tzdata'"
    for record in payload["records"]:
        assert set(record) == {*RECORD_KEYS, "why"}


# -- lockfiles --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["pixi.lock", "conda-lock.yml", "env.txt"])
def test_lock_out_then_locked_gives_the_same_environment(env, tmp_path, name):
    lock = tmp_path / name
    first = solved(env, "python=3.11", "numpy", "--lock-out", str(lock))
    assert lock.is_file()
    again = solved(env, "--locked", str(lock))  # channel and platform given again
    assert again == first
    # without -c/--subdir the lockfile's own channels and platform are used
    proc = cli(env, "solve", "--locked", str(lock), "--json", channel=None, subdir="")
    assert proc.returncode == 0, proc.stderr
    assert {r["name"]: r for r in json.loads(proc.stdout)["records"]} == first


def test_locked_update_changes_only_what_it_must(env, tmp_path):
    lock = tmp_path / "pixi.lock"
    before = solved(env, "python=3.11", "numpy", "--lock-out", str(lock))
    # a locked python keeps its minor version unless asked, as an installed one does
    held = cli(env, "solve", "numpy>=2", "--locked", str(lock))
    assert held.returncode == 1 and "python keeps its installed minor version" in held.stderr
    after = solved(env, "numpy>=2", "python=3.12", "--locked", str(lock), "--lock-out", str(lock))
    # numpy 2 exists for python 3.12 only; the python 3.11 builds follow python
    changed = {n for n in before if before[n]["url"] != after[n]["url"]}
    assert changed == {"numpy", "python", "python_abi"}
    assert set(after) == set(before)
    assert after["numpy"]["version"] == "2.0.2" and after["python"]["version"] == "3.12.8"
    assert solved(env, "--locked", str(lock)) == after  # the lockfile was updated in place


def test_lock_options_bad_input(env, tmp_path):
    assert_one_line_error(cli(env, "solve", "numpy", "--lock-env", "gpu"), "--lock-env")
    missing = tmp_path / "pixi.lock"
    assert_one_line_error(cli(env, "solve", "--locked", str(missing)), str(missing))
    broken = tmp_path / "env.txt"
    broken.write_text("@EXPLICIT\nnot a url\n")
    assert_one_line_error(cli(env, "solve", "--locked", str(broken)), f"{broken}:2")


# -- exclude-newer ----------------------------------------------------------------------------


def test_exclude_newer_package_and_channel(env, tmp_path):
    # numpy 2.0.2 was published 2024-11-22, 1.26.4 on 2024-02-06
    assert solved(env, "numpy")["numpy"]["version"] == "2.0.2"
    held = solved(env, "numpy", "--exclude-newer-package", "numpy=2024-06-01")
    assert held["numpy"]["version"] == "1.26.4"
    assert held["python"]["version"] == "3.12.8"  # no cutoff for the rest
    # a global cutoff that would hide everything, with the channel exempted
    free = solved(
        env,
        "numpy",
        "--exclude-newer",
        "2020-01-01",
        "--exclude-newer-channel",
        "demo-channel=false",
    )
    assert free["numpy"]["version"] == "2.0.2"
    hidden = cli(env, "solve", "numpy", "--exclude-newer", "2020-01-01")
    assert hidden.returncode == 1 and "numpy" in hidden.stderr


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--exclude-newer", "soon"], "exclude-newer: 'soon' is neither"),
        (["--exclude-newer-package", "numpy"], "expected KEY=CUTOFF"),
        (["--exclude-newer-channel", "demo-channel=tomorrow"], "demo-channel"),
    ],
)
def test_exclude_newer_bad_input(env, args, needle):
    assert_one_line_error(cli(env, "solve", "numpy", *args), needle)


# -- timeout ----------------------------------------------------------------------------------

SUDOKU = ROOT.parent / "shared" / "data" / "repodata" / "mamba-testdata" / "sudoku"


@pytest.mark.skipif(not SUDOKU.is_dir(), reason=f"shared sudoku channel not found at {SUDOKU}")
@pytest.mark.parametrize("how", ["option", "environment"])
def test_timeout_stops_the_solve_with_a_clear_error(env, how):
    """The sudoku channel (81 cells, each pulling in all others) takes resolvo ~0.2 s to
    prove unsatisfiable; a 0.01 s limit stops it first, naming request and time."""
    specs = [f"sudoku_{r}_{c}" for r in range(9) for c in range(9)]
    if how == "option":
        proc = cli(env, "solve", *specs, "--timeout", "0.01", channel=SUDOKU)
    else:
        proc = cli(env, "solve", *specs, channel=SUDOKU)
        assert proc.returncode == 1 and "Cannot solve" in proc.stderr  # no limit: proved
        proc = cli({**env, "CONDA_SOLVER_PLUS_TIMEOUT": "0.01"}, "solve", *specs, channel=SUDOKU)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "Solving sudoku_0_0, sudoku_0_1" in proc.stderr and "and 75 more specs" in proc.stderr
    assert "(engine: rattler) was stopped after" in proc.stderr and "limit 0.01s" in proc.stderr


#: time limits the one rule refuses (conda_solver_plus.settings): 0 used to mean "no limit"
#: under conda while the CLI refused it, and conda let nan and inf through
REFUSED_TIMEOUTS = ["0", "-5", "nan", "inf", "ten", "   0.0"]


@pytest.mark.parametrize("value", REFUSED_TIMEOUTS)
@pytest.mark.parametrize("how", ["option", "environment"])
def test_timeout_must_be_a_positive_finite_number(env, how, value):
    """The same rule and the same one-line error as under conda (tests/test_solver.py)."""
    if how == "option":
        proc = cli(env, "solve", "numpy", f"--timeout={value}")
        source = "--timeout"
    else:
        proc = cli({**env, "CONDA_SOLVER_PLUS_TIMEOUT": value}, "solve", "numpy")
        source = "CONDA_SOLVER_PLUS_TIMEOUT"
    needle = "not a number" if value == "ten" else "must be a positive number of seconds"
    assert_one_line_error(proc, f"{source}: ", needle, "for no limit")
    if how == "option":
        error = json.loads(cli(env, "solve", "numpy", "--json", f"--timeout={value}").stdout)
        assert error["error"]["type"] == "InvalidInput" and error["error"]["source"] == source


def test_timeout_unset_or_empty_is_no_limit(env):
    assert "numpy" in solved({**env, "CONDA_SOLVER_PLUS_TIMEOUT": ""}, "numpy")
    assert "numpy" in solved(env, "numpy", "--timeout", "30")


# -- why, unsatisfiable explanation, repoquery -------------------------------------------------


def query_cli(env, *args: str):
    argv = [sys.executable, "-m", "conda_solver_plus", *args, "-c", str(DEMO)]
    argv += ["--subdir", "linux-64"]
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


def test_why_prints_the_chain(env):
    proc = cli(env, "why", "libopenblas", "numpy")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "numpy: requested as numpy"
    assert lines[-1].strip().startswith("libopenblas: dependency of libblas via")
    missing = cli(env, "why", "mylib", "numpy")
    assert missing.returncode == 1 and "mylib is not in the result" in missing.stderr


def test_unsatisfiable_names_chain_and_culprit(env):
    proc = cli(env, "solve", "mylib=*=*cuda*", "--virtual", "__cuda=")
    assert proc.returncode == 1
    assert "mylib" in proc.stderr and "__cuda" in proc.stderr
    assert "CONDA_OVERRIDE_CUDA" in proc.stderr
    as_json = cli(env, "solve", "mylib=*=*cuda*", "--virtual", "__cuda=", "--json")
    error = json.loads(as_json.stdout)["error"]
    assert error["chains"][0]["steps"][0]["name"] == "mylib"
    assert error["chains"][0]["problem"] == "missing"
    assert [c["kind"] for c in error["culprits"]] == ["virtual"]


def test_explain_json_has_provenance(env):
    proc = cli(env, "explain", "numpy", "--pin", "python 3.12.*", "--json")
    assert proc.returncode == 0, proc.stderr
    provenance = {item["name"]: item for item in json.loads(proc.stdout)["provenance"]}
    assert provenance["numpy"]["reason"] == "requested"
    assert provenance["python"]["sources"] == ["pinned: python 3.12.* (--pin)"]
    assert provenance["python"]["changes"][0].startswith("constrained to python 3.12.*")


def test_search_depends_whoneeds(env):
    search = query_cli(env, "search", "numpy>=2", "--json")
    assert search.returncode == 0, search.stderr
    assert [r["version"] for r in json.loads(search.stdout)["records"]] == ["2.0.2"]
    assert query_cli(env, "search", "numpy>=3").returncode == 1
    tree = query_cli(env, "depends", "numpy", "--tree")
    assert tree.returncode == 0, tree.stderr
    assert tree.stdout.startswith("numpy 2.0.2") and "└─ " in tree.stdout
    needs = query_cli(env, "whoneeds", "libcblas", "--json")
    assert [d["name"] for d in json.loads(needs.stdout)["dependents"]] == ["numpy"]
    missing = query_cli(env, "depends", "nosuchpackage")
    assert missing.returncode == 1 and "nosuchpackage" in missing.stderr


# -- conda's defaults (issue 18) ------------------------------------------------------------

SHARED = ROOT.parent / "shared" / "data" / "repodata"
PYTORCH = SHARED / "rattler-pytorch" / "pytorch"
CONDA_FORGE = SHARED / "lockfile-union" / "conda-forge"
needs_shared = pytest.mark.skipif(
    not (PYTORCH.is_dir() and CONDA_FORGE.is_dir()),
    reason="needs ../shared/data/repodata (rattler-pytorch, lockfile-union)",
)


@pytest.fixture
def home(env, tmp_path):
    """An environment whose HOME (and so ``~/.condarc``) is a fresh directory."""
    return {**env, "HOME": str(tmp_path)}


@needs_shared
def test_flexible_priority_by_default_strict_from_condarc(home, tmp_path):
    """conda's default priority is flexible: the cuda120 build only conda-forge has is
    found although the pytorch channel comes first; strict in ~/.condarc refuses it."""
    args = ("pytorch=*=cuda120*", "-c", str(PYTORCH), "--virtual", "__cuda=12.6", "--json")
    proc = cli(home, "solve", *args, channel=CONDA_FORGE)
    assert proc.returncode == 0, proc.stderr
    records = {r["name"]: r for r in json.loads(proc.stdout)["records"]}
    assert records["pytorch"]["build"].startswith("cuda120")
    assert records["pytorch"]["channel"] == CONDA_FORGE.as_uri()

    (tmp_path / ".condarc").write_text("channel_priority: strict\n")
    strict = cli(home, "solve", *args[:-1], channel=CONDA_FORGE)
    assert strict.returncode == 1
    assert "strict channel priority takes pytorch only from" in strict.stderr
    # the flag wins over .condarc
    flag = cli(home, "solve", *args, "--channel-priority", "flexible", channel=CONDA_FORGE)
    assert flag.returncode == 0, flag.stderr


@needs_shared
def test_pip_comes_with_python_as_in_conda_create(home, tmp_path):
    """conda create python=3.12 numpy scipy pandas on conda-forge gives 43 records, pip,
    setuptools, wheel and packaging among them (add_pip_as_python_dependency)."""
    specs = ("python=3.12", "numpy", "scipy", "pandas", "--json")
    proc = cli(home, "solve", *specs, channel=CONDA_FORGE)
    assert proc.returncode == 0, proc.stderr
    names = {r["name"] for r in json.loads(proc.stdout)["records"]}
    assert {"pip", "setuptools", "wheel", "packaging"} <= names
    assert len(names) == 43
    without = cli(home, "solve", *specs, "--no-add-pip", channel=CONDA_FORGE)
    assert "pip" not in {r["name"] for r in json.loads(without.stdout)["records"]}
    (tmp_path / ".condarc").write_text("add_pip_as_python_dependency: false\n")
    configured = cli(home, "solve", *specs, channel=CONDA_FORGE)
    assert len(json.loads(configured.stdout)["records"]) == 39


def test_channels_and_pins_from_condarc(home, tmp_path):
    (tmp_path / ".condarc").write_text(f"channels: [{DEMO}]\npinned_packages: ['python 3.11.*']\n")
    proc = cli(home, "solve", "numpy", "--json", channel=None)
    assert proc.returncode == 0, proc.stderr
    records = {r["name"]: r for r in json.loads(proc.stdout)["records"]}
    assert records["python"]["version"] == "3.11.11"  # the pin of ~/.condarc
    conflict = cli(home, "solve", "python=3.12", channel=None)
    assert conflict.returncode == 1
    assert "pinned_packages (~/.condarc)" in conflict.stderr
    assert cli(home, "solve", "python=3.12", "--ignore-pinned", channel=None).returncode == 0
    # --override-channels: only -c; none given is bad input naming what to do
    assert_one_line_error(
        cli(home, "solve", "numpy", "--override-channels", channel=None), "pass -c CHANNEL"
    )


def test_exclude_newer_from_condarc(home, tmp_path):
    """conda's exclude_newer and exclude_newer_package keys (numpy 2.0.2 was published
    2024-11-22, 1.26.4 on 2024-02-06); the command line wins over them."""
    (tmp_path / ".condarc").write_text("exclude_newer_package: {numpy: 2024-06-01}\n")
    proc = cli(home, "solve", "numpy", "--json")
    assert proc.returncode == 0, proc.stderr
    records = {r["name"]: r for r in json.loads(proc.stdout)["records"]}
    assert records["numpy"]["version"] == "1.26.4"
    assert records["python"]["version"] == "3.12.8"
    flag = cli(home, "solve", "numpy", "--json", "--exclude-newer-package", "numpy=2025-01-01")
    assert {r["name"]: r for r in json.loads(flag.stdout)["records"]}["numpy"]["version"] == (
        "2.0.2"
    )
    (tmp_path / ".condarc").write_text("exclude_newer: 2020-01-01\n")
    hidden = cli(home, "solve", "numpy")
    assert hidden.returncode == 1 and "numpy" in hidden.stderr


def test_broken_condarc_is_one_line_naming_it(home, tmp_path):
    (tmp_path / ".condarc").write_text("channel_priority: sometimes\n")
    assert_one_line_error(cli(home, "solve", "numpy"), "channel_priority (~/.condarc)")


def test_help_shows_defaults_and_their_source(home, tmp_path):
    def solve_help() -> str:
        proc = cli(home, "solve", "--help", channel=None, subdir="")
        assert proc.returncode == 0, proc.stderr
        return " ".join(proc.stdout.split())

    text = solve_help()
    assert "(default: flexible, conda's default)" in text
    assert "(default: yes, conda's default)" in text
    (tmp_path / ".condarc").write_text(
        "channel_priority: strict\nadd_pip_as_python_dependency: false\n"
    )
    text = solve_help()
    assert "(default: strict, from ~/.condarc)" in text
    assert "(default: no, from ~/.condarc)" in text
    assert f"configuration files read: {tmp_path / '.condarc'}" in " ".join(
        cli(home, "--help", channel=None, subdir="").stdout.split()
    )


def test_every_option_has_help():
    import argparse

    from conda_solver_plus.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = [
        f"{name} {'/'.join(action.option_strings) or action.dest}"
        for name, sub in commands.choices.items()
        for action in sub._actions
        if not action.help or action.help == argparse.SUPPRESS
    ]
    assert not missing, missing
    assert set(commands.choices) >= {"solve", "explain", "why", "search", "depends", "whoneeds"}


# -- the transaction and empty results (issue 18) ------------------------------------------


def test_prefix_solve_prints_the_transaction(env, prefix):
    proc = cli(env, "solve", "python=3.12", "--prefix", str(prefix))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "## Package Plan ##" in out and f"environment location: {prefix}" in out
    plan = out[out.index("## Package Plan ##") :]
    assert "The following NEW packages will be INSTALLED:" in plan
    assert any(
        line.split() == ["python", f"{DEMO_URL}/linux-64::python-3.12.8-h9e4cc4f_1_cpython"]
        for line in plan.splitlines()
    )
    assert any(
        line.split() == ["openssl", "3.3.2-hb9d3cd8_0", "-->", "3.4.0-hb9d3cd8_0"]
        for line in plan.splitlines()
    )
    assert "ca-certificates" not in plan  # unchanged
    payload = json.loads(
        cli(env, "solve", "python=3.12", "--prefix", str(prefix), "--json").stdout
    )
    update = payload["transaction"]["update"]
    assert [(u["name"], u["from"]["version"], u["to"]["version"]) for u in update] == [
        ("openssl", "3.3.2", "3.4.0")
    ]
    assert "python" in {r["name"] for r in payload["transaction"]["install"]}


def test_remove_lists_every_package_that_goes(env, tmp_path):
    """Removing numpy also drops what only numpy needed: the plan names each of them."""
    lock = tmp_path / "pixi.lock"
    before = solved(env, "python=3.12", "numpy", "--lock-out", str(lock))
    proc = cli(env, "solve", "--remove", "numpy", "--locked", str(lock))
    assert proc.returncode == 0, proc.stderr
    plan = proc.stdout[proc.stdout.index("## Package Plan ##") :]
    assert "removed specs:" in plan and "    - numpy" in plan
    removed = plan.split("The following packages will be REMOVED:")[1].split()
    gone = {entry.rsplit("-", 2)[0] for entry in removed}
    after = solved(env, "--remove", "numpy", "--locked", str(lock))
    assert gone == set(before) - set(after)
    assert {"numpy", "libcblas", "libblas"} <= gone


def test_locked_solve_without_changes_says_so(env, tmp_path):
    lock = tmp_path / "pixi.lock"
    solved(env, "python=3.11", "--lock-out", str(lock))
    proc = cli(env, "solve", "--locked", str(lock))
    assert proc.returncode == 0, proc.stderr
    assert f"environment location: {lock} (lockfile)" in proc.stdout
    assert "Nothing to change" in proc.stdout


def test_empty_results(env, prefix):
    removed = cli(env, "solve", "--remove", "openssl", "ca-certificates", "--prefix", str(prefix))
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.startswith("# No packages: the environment is empty")
    search = query_cli(env, "search", "numpy>=3")
    assert search.returncode == 1 and search.stdout == ""
    assert "  - numpy>=3 (the channels have: 2.0.2, 1.26.4)" in search.stderr
    nobody = query_cli(env, "whoneeds", "numpy")
    assert nobody.returncode == 0 and nobody.stdout == ""
    assert "Nothing in the channels depends on numpy" in nobody.stderr


# -- explain (issue 18) ---------------------------------------------------------------------


def specs_section(text: str) -> str:
    return text.split("Why each package")[0]


def test_explain_prints_each_requested_spec_once(env):
    proc = cli(env, "explain", "python=3.12", "numpy")
    assert proc.returncode == 0, proc.stderr
    section = specs_section(proc.stdout)
    assert section.count("python 3.12.*") == 1
    assert "python 3.12.*" in section and "<- requested on the command line" in section
    assert "from requested:" not in section


def test_explain_history_points_at_the_update_specs_line(env, prefix):
    history = prefix / "conda-meta" / "history"
    line = history.read_text().splitlines().index("# update specs: ['openssl']") + 1
    proc = cli(env, "explain", "python=3.11", "--prefix", str(prefix))
    assert proc.returncode == 0, proc.stderr
    assert f"<- history ({history}:{line} (" in proc.stdout


def test_explain_names_the_lockfile(env, tmp_path):
    lock = tmp_path / "pixi.lock"
    solved(env, "python=3.11", "--lock-out", str(lock))
    proc = cli(env, "explain", "numpy", "--locked", str(lock))
    assert proc.returncode == 0, proc.stderr
    assert "from installed" not in proc.stdout and "installed (kept)" not in proc.stdout
    assert f"from the lockfile: 3.11.11 h9e4cc4f_1_cpython (locked in {lock})" in proc.stdout
    assert "<- from the lockfile (kept)" in proc.stdout


def test_explain_of_a_failed_solve_shows_the_provenance_then_the_error(env):
    proc = cli(env, "explain", "numpy>=2", "python=3.11", "--pin", "libzlib 1.3.*")
    assert proc.returncode == 1
    assert proc.stdout.startswith("Specs handed to the engine (the request failed")
    assert "numpy >=2" in proc.stdout and "from pinned: libzlib 1.3.* (--pin)" in proc.stdout
    assert "Cannot solve the request" in proc.stderr
    assert "Cannot solve" not in proc.stdout


def test_why_pip_names_add_pip_as_python_dependency(env):
    proc = cli(env, "why", "pip", "python=3.12")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "python: requested as python 3.12.*"
    assert "add_pip_as_python_dependency" in lines[1] and lines[1].strip().startswith("pip:")


# -- exit status and streams of every subcommand (issue 18) ---------------------------------

SUBCOMMAND_CASES = [
    # (arguments, exit status of success, arguments that fail, exit status of the failure)
    (("solve", "numpy"), ("solve", "numpy>=3"), 1),
    (("explain", "numpy"), ("explain", "numpy>=2", "python=3.11"), 1),
    (("why", "libcblas", "numpy"), ("why", "zlib", "numpy"), 1),
    (("search", "numpy"), ("search", "numpy>=3"), 1),
    (("depends", "numpy"), ("depends", "nosuchpackage"), 1),
    (("whoneeds", "libcblas"), ("whoneeds", "two words"), 2),
]


@pytest.mark.parametrize(("ok", "failing", "status"), SUBCOMMAND_CASES)
def test_results_on_stdout_diagnostics_on_stderr(env, ok, failing, status):
    """Success: the answer on stdout, nothing on stderr, exit 0. Failure: nothing on
    stdout but explain's provenance, the diagnosis on stderr, exit 1 (2 for bad input);
    with --json the error object is on stdout instead."""
    done = query_cli(env, *ok)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() and done.stderr == ""
    failed = query_cli(env, *failing)
    assert failed.returncode == status
    assert failed.stderr.strip() and "Traceback" not in failed.stderr
    if failing[0] != "explain":
        assert failed.stdout == ""
    as_json = query_cli(env, *failing, "--json")
    assert as_json.returncode == status
    if status == 1 and failing[0] != "why":
        assert "error" in json.loads(as_json.stdout)


def test_no_subcommand_is_usage_on_stderr(env):
    proc = subprocess.run(
        [sys.executable, "-m", "conda_solver_plus"], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 2 and proc.stdout == "" and "usage:" in proc.stderr


def test_verbose_logs_go_to_stderr(env):
    proc = cli(env, "solve", "numpy", "-v", "--json")
    assert proc.returncode == 0, proc.stderr
    json.loads(proc.stdout)  # stdout stays machine-readable
    assert "INFO" in proc.stderr


def test_an_override_the_detection_refuses_is_one_error_naming_it(env):
    """``CONDA_OVERRIDE_ARCHSPEC=1`` is no microarchitecture: py-rattler's detection refuses
    it. That is the user's to fix (exit 2, naming the variable), not an internal error."""
    proc = cli({**env, "CONDA_OVERRIDE_ARCHSPEC": "1"}, "solve", "openssl", subdir="")
    assert_one_line_error(proc, "CONDA_OVERRIDE_ARCHSPEC", "'1'", "unset")
