"""Conditional dependencies (``dep[when=CONDITION]``, conda 26.5+) on both engines.

The rattler engine hands them to resolvo; the libmamba engine translates them for libsolv
(:class:`conda_solver_plus.backends.libmamba.WhenTranslation`): a condition on virtual
packages is decided before the solve, a condition on one package becomes a guard package,
and what has no sound translation is solved by the rattler engine with one warning line.
Checked here: conda-rattler-solver's own test channel (``tests/data/conditional-repodata``,
with the answers its ``tests/test_solver.py`` expects) and channels written by the tests,
standalone (``conda_solver_plus.cli.main`` in-process, both libmamba load modes) and
through real conda (``conda create --dry-run --solver=plus`` in a subprocess); the two
engines must give the same answer everywhere. Before the translation, libmamba raised
``MambaNativeException: Found invalid version predicate in "__linux]*"`` on the first and
"nothing provides package[when ...]" on the second.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conda_solver_plus.cli import main
from conda_solver_plus.conditions import (
    AllOf,
    AnyOf,
    ConditionSyntaxError,
    Spec,
    parse_condition,
    simplify,
    split_conditional,
)
from conda_solver_plus.repodata.cache_files import atomic_write
from conda_solver_plus.repodata.shards import write_subdir_shards

from .channels import install_record, repodata_entry, write_files
from .engines import engine_params, plus_conda_env, require_module

CONDITIONAL_CHANNEL = Path(__file__).parent / "data" / "conditional-repodata"

#: (engine, libmamba load mode): the libmamba engine parses small files itself ("full",
#: the path through ``parseable_file``) or takes py-rattler's records ("sparse")
ENGINE_LOADS = [
    pytest.param("libmamba", "full", id="libmamba-full"),
    pytest.param("libmamba", "sparse", id="libmamba-sparse"),
    pytest.param("rattler", "auto", id="rattler"),
]


@pytest.fixture(params=engine_params())
def engine_name(request) -> str:
    return request.param


# -- the condition grammar -------------------------------------------------------------------


def test_a_condition_reads_as_conda_and_py_rattler_write_it():
    assert parse_condition("__linux") == Spec("__linux")
    assert parse_condition("__unix and (python >=3.12 or pypy)") == AllOf(
        (Spec("__unix"), AnyOf((Spec("python >=3.12"), Spec("pypy"))))
    )
    # ``and`` binds tighter; parentheses inside a spec's brackets belong to the spec
    assert parse_condition('a or b and c[version="(1)"]') == AnyOf(
        (Spec("a"), AllOf((Spec("b"), Spec('c[version="(1)"]'))))
    )
    for broken in ("a and", "(a", "a )", "or a"):
        with pytest.raises(ConditionSyntaxError):
            parse_condition(broken)


def test_a_conditional_dependency_splits_into_dependency_and_condition():
    assert split_conditional("linux-dependency[when=__linux]") == (
        "linux-dependency",
        Spec("__linux"),
    )
    assert split_conditional("package[when='side-dependency=0.2']") == (
        "package",
        Spec('side-dependency[version="0.2.*"]'),
    )
    # the rest of the spec stays
    assert split_conditional("a[version='>=1', when='b', build=py*]") == ("a >=1 py*", Spec("b"))
    assert split_conditional("whenever >=1") is None
    assert split_conditional("numpy >=1.2") is None


def test_known_specs_decide_or_narrow_a_condition():
    condition = parse_condition("__unix and (n=0.2 or __win)")
    on_linux = simplify(condition, lambda spec: {"__unix": True, "__win": False}.get(spec.text))
    assert on_linux == Spec("n=0.2")
    on_windows = simplify(condition, lambda spec: {"__unix": False}.get(spec.text))
    assert on_windows is False


# -- standalone -----------------------------------------------------------------------------


def solve(
    capsys,
    monkeypatch,
    engine: str,
    load: str,
    *args: str,
    channels: list[Path],
    cache: Path,
) -> tuple[int, dict[str, str], str]:
    """``conda-solver-plus solve ARGS --json`` in-process: exit code, name -> version of
    the answer, and stderr."""
    monkeypatch.setenv("CONDA_SOLVER_PLUS_LIBMAMBA_LOAD", load)
    monkeypatch.setenv("CONDA_SOLVER_PLUS_VERIFY", "1")
    argv = ["solve", *args, "--json", "--override-channels", "--backend", engine]
    argv += ["--cache-dir", str(cache)]
    for channel in channels:
        argv += ["-c", str(channel)]
    code = main(argv)
    out, err = capsys.readouterr()
    if code != 0:
        return code, {}, err + out
    records = json.loads(out)["records"]
    return code, {r["name"]: r["version"] for r in records}, err


# conda-rattler-solver's tests/test_solver.py, test_conditional_specs_in_repodata_*: the
# dependency of this platform only; package only with side-dependency 0.2
RATTLER_SOLVER_CASES = [
    (["package"], "linux-64", {"package", "linux-dependency"}),
    (["package"], "osx-arm64", {"package", "osx-dependency"}),
    (["package"], "win-64", {"package", "win-dependency"}),
    (
        ["conditional-dependency", "side-dependency=0.1"],
        "linux-64",
        {"conditional-dependency", "side-dependency"},
    ),
    (
        ["conditional-dependency", "side-dependency=0.2"],
        "linux-64",
        {"conditional-dependency", "side-dependency", "package", "linux-dependency"},
    ),
    (
        ["conditional-dependency", "side-dependency=0.2"],
        "osx-arm64",
        {"conditional-dependency", "side-dependency", "package", "osx-dependency"},
    ),
    (["conditional-dependency"], "linux-64", {"conditional-dependency"}),
    # resolvo takes side-dependency's best version, which then needs package
    (
        ["conditional-dependency", "side-dependency"],
        "linux-64",
        {"conditional-dependency", "side-dependency", "package", "linux-dependency"},
    ),
]


@pytest.mark.parametrize("engine, load", ENGINE_LOADS)
@pytest.mark.parametrize("specs, subdir, expected", RATTLER_SOLVER_CASES)
def test_conda_rattler_solvers_channel(
    capsys, caplog, monkeypatch, tmp_path, engine, load, specs, subdir, expected
):
    code, answer, err = solve(
        capsys,
        monkeypatch,
        engine,
        load,
        *specs,
        "--subdir",
        subdir,
        channels=[CONDITIONAL_CHANNEL],
        cache=tmp_path / "cache",
    )
    assert code == 0, err
    assert set(answer) == expected
    assert rattler_notices(caplog) == []  # the libmamba engine solved it itself


def test_one_cache_serves_machines_with_other_virtual_packages(capsys, monkeypatch, tmp_path):
    """The libmamba engine's ``.solv`` cache never holds a file translated for one
    machine's virtual packages: the same cache answers linux, then osx, then linux."""
    cache = tmp_path / "cache"
    plain = write_channel(tmp_path / "plain", repodata_entry("other", "1.0"))
    for subdir, dependency in [
        ("linux-64", "linux-dependency"),
        ("osx-64", "osx-dependency"),
        ("linux-64", "linux-dependency"),
    ]:
        code, answer, err = solve(
            capsys,
            monkeypatch,
            "libmamba",
            "full",
            "package",
            "--subdir",
            subdir,
            channels=[CONDITIONAL_CHANNEL, plain],
            cache=cache,
        )
        assert code == 0, err
        assert set(answer) == {"package", dependency}
    # parsed each time, never cached: a .solv file is only ever written for a file
    # without conditional dependencies (the plain channel's)
    assert len(list(cache.rglob("*.solv"))) == 1


def write_channel(root: Path, *entries: tuple[str, dict]) -> Path:
    repodata = {"info": {"subdir": "noarch"}, "packages": dict(entries)}
    return write_files(root, {"noarch/repodata.json": json.dumps(repodata)})


@pytest.fixture
def own_channel(tmp_path: Path) -> Path:
    """Records written here: ``x`` needs ``d`` when ``n`` 0.2 is installed, ``y`` needs
    ``n``, ``w`` needs ``x`` and ``y`` through ``z``; ``u`` needs ``d`` on a unix
    machine with n 0.2; ``g`` needs ``d`` on a glibc 2.28 or newer; ``e`` needs ``d``
    when ``n`` 0.2 is installed and ``d`` needs ``missing``."""
    return write_channel(
        tmp_path / "own",
        repodata_entry("x", "1.0", depends=["d[when='n=0.2']"]),
        repodata_entry("y", "1.0", depends=["n"]),
        repodata_entry("z", "1.0", depends=["y"]),
        repodata_entry("w", "1.0", depends=["x", "z"]),
        repodata_entry("u", "1.0", depends=["d[when='__unix and n=0.2']"]),
        repodata_entry("g", "1.0", depends=["d[when='__glibc>=2.28']"]),
        repodata_entry("n", "0.1"),
        repodata_entry("n", "0.2"),
        repodata_entry("d", "1.0"),
    )


OWN_CASES = [
    # the condition's package comes in through another record: its best version, then d
    (["x", "y"], [], {"x": "1.0", "y": "1.0", "n": "0.2", "d": "1.0"}),
    (["y", "x"], [], {"x": "1.0", "y": "1.0", "n": "0.2", "d": "1.0"}),
    (["w"], [], {"w": "1.0", "x": "1.0", "y": "1.0", "z": "1.0", "n": "0.2", "d": "1.0"}),
    (["x", "n=0.1"], [], {"x": "1.0", "n": "0.1"}),
    (["x"], [], {"x": "1.0"}),
    # a condition on a virtual package and a package: decided on one, a guard for the other
    (["u", "n"], [], {"u": "1.0", "n": "0.2", "d": "1.0"}),
    (["u", "n"], ["--subdir", "win-64"], {"u": "1.0", "n": "0.2"}),
    # a virtual package's version
    (["g"], ["--virtual", "__glibc=2.31"], {"g": "1.0", "d": "1.0"}),
    (["g"], ["--virtual", "__glibc=2.17"], {"g": "1.0"}),
    # conditional specs in the request itself, in either order
    (["d[when='n=0.2']", "n"], [], {"n": "0.2", "d": "1.0"}),
    (["n", "d[when='n=0.2']"], [], {"n": "0.2", "d": "1.0"}),
    (["d[when='n=0.2']", "n=0.1"], [], {"n": "0.1"}),
    (["d[when=__win]", "n"], [], {"n": "0.2"}),
    (["d[when=__linux]"], [], {"d": "1.0"}),
]


@pytest.mark.parametrize("engine, load", ENGINE_LOADS)
@pytest.mark.parametrize("specs, options, expected", OWN_CASES)
def test_records_written_here(
    capsys, caplog, monkeypatch, tmp_path, own_channel, engine, load, specs, options, expected
):
    options = options or ["--subdir", "linux-64"]
    code, answer, err = solve(
        capsys,
        monkeypatch,
        engine,
        load,
        *specs,
        *options,
        channels=[own_channel],
        cache=tmp_path / "cache",
    )
    assert code == 0, err
    assert answer == expected
    assert rattler_notices(caplog) == []


RESOLVO_PANICS = pytest.mark.xfail(
    strict=True,
    reason="py-rattler 0.28 (resolvo 0.12.1) panics building the conflict report of a "
    "conditional requirement: 'assertion left == right failed', resolvo src/conflict.rs:371",
)


@pytest.mark.parametrize(
    "engine, load",
    [*ENGINE_LOADS[:2], pytest.param("rattler", "auto", id="rattler", marks=RESOLVO_PANICS)],
)
def test_a_guard_in_a_conflict_reads_as_its_dependency(
    capsys, monkeypatch, tmp_path, engine, load
):
    """``e`` needs ``d`` when ``n`` 0.2 is there, and nothing provides what ``d`` needs:
    unsolvable with n 0.2, solvable with n 0.1; the report names ``d``, never the guard."""
    channel = write_channel(
        tmp_path / "broken",
        repodata_entry("e", "1.0", depends=["d[when='n=0.2']"]),
        repodata_entry("d", "1.0", depends=["missing"]),
        repodata_entry("n", "0.1"),
        repodata_entry("n", "0.2"),
    )
    common = dict(channels=[channel], cache=tmp_path / "cache")
    code, answer, _ = solve(capsys, monkeypatch, engine, load, "e", "n", **common)
    assert code == 0 and answer == {"e": "1.0", "n": "0.1"}
    code, _, report = solve(capsys, monkeypatch, engine, load, "e", "n=0.2", **common)
    assert code == 1, report
    assert "missing" in report and "_plus_when_" not in report
    assert "d[when=" in report and "Traceback" not in report


UNTRANSLATABLE = [
    pytest.param(
        [repodata_entry("x", "1.0", depends=["d[when='n=0.2 or m']"])],
        ["x", "m"],
        {"x": "1.0", "m": "1.0", "d": "1.0"},
        "more than one package",
        id="two-packages",
    ),
    pytest.param(
        [
            repodata_entry("x", "1.0", depends=["d[when='n 0.2 special']"]),
            ("n-0.2-special.tar.bz2", {**repodata_entry("n", "0.2")[1], "build": "special"}),
        ],
        ["x", "n=0.2=special"],
        {"x": "1.0", "n": "0.2", "d": "1.0"},
        "builds of n 0.2",
        id="build-string",
    ),
]


@pytest.mark.parametrize("engine", ["libmamba", "rattler"])
@pytest.mark.parametrize("extra, specs, expected, why", UNTRANSLATABLE)
def test_what_libsolv_cannot_take_is_solved_by_rattler_with_one_line(
    capsys, caplog, monkeypatch, tmp_path, engine, extra, specs, expected, why
):
    channel = write_channel(
        tmp_path / "own",
        *extra,
        repodata_entry("n", "0.1"),
        repodata_entry("n", "0.2"),
        repodata_entry("m", "1.0"),
        repodata_entry("d", "1.0"),
    )
    code, answer, err = solve(
        capsys,
        monkeypatch,
        engine,
        "auto",
        *specs,
        "--subdir",
        "linux-64",
        channels=[channel],
        cache=tmp_path / "cache",
    )
    assert code == 0, err
    assert answer == expected
    said = rattler_notices(caplog)
    if engine == "libmamba":
        assert len(said) == 1 and why in said[0], said
    else:
        assert said == []


def rattler_notices(caplog) -> list[str]:
    """The warnings that a request went to the rattler engine (in-process, pytest's log
    capture holds them; the CLI prints them on stderr)."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelname == "WARNING" and "rattler engine" in record.getMessage()
    ]


@pytest.mark.parametrize("engine", ["libmamba", "rattler"])
def test_an_installed_record_with_a_package_condition(
    capsys, caplog, monkeypatch, tmp_path, engine
):
    """libsolv never re-checks an installed record's dependency that is missing when the
    solve starts, so an installed ``conditional-dependency`` whose condition a request
    makes true is solved by the rattler engine (one line says so): package comes in."""
    prefix = tmp_path / "env"
    channel = CONDITIONAL_CHANNEL
    install_record(prefix, channel, "noarch", "conditional-dependency-0.1.0-0.tar.bz2")
    install_record(prefix, channel, "noarch", "side-dependency-0.1.0-0.tar.bz2")
    code, answer, err = solve(
        capsys,
        monkeypatch,
        engine,
        "auto",
        "side-dependency=0.2",
        "-p",
        str(prefix),
        "--subdir",
        "linux-64",
        channels=[channel],
        cache=tmp_path / "cache",
    )
    assert code == 0, err
    assert set(answer) == {
        "conditional-dependency",
        "side-dependency",
        "package",
        "linux-dependency",
    }
    assert answer["side-dependency"] == "0.2.0"
    assert len(rattler_notices(caplog)) == (1 if engine == "libmamba" else 0)


@pytest.mark.parametrize("engine, load", ENGINE_LOADS)
@pytest.mark.parametrize(
    "installed, expected",
    [
        ("side-dependency-0.2.0-0.tar.bz2", {"package": "0.1.0", "linux-dependency": "0.1.0"}),
        ("side-dependency-0.1.0-0.tar.bz2", {}),
    ],
)
def test_the_condition_met_by_an_installed_record(
    capsys, caplog, monkeypatch, tmp_path, engine, load, installed, expected
):
    """The condition's package is installed (the record carrying the condition is new):
    the installed version decides, and the libmamba engine solves it itself."""
    prefix = tmp_path / "env"
    install_record(prefix, CONDITIONAL_CHANNEL, "noarch", installed, "side-dependency")
    code, answer, err = solve(
        capsys,
        monkeypatch,
        engine,
        load,
        "conditional-dependency",
        "-p",
        str(prefix),
        "--subdir",
        "linux-64",
        channels=[CONDITIONAL_CHANNEL],
        cache=tmp_path / "cache",
    )
    assert code == 0, err
    side = installed.split("-")[2]
    assert answer == {"conditional-dependency": "0.1.0", "side-dependency": side, **expected}
    assert rattler_notices(caplog) == []


# -- through conda ----------------------------------------------------------------------------


def conda_create(
    tmp_path: Path, engine: str, *specs: str, channel: Path, shards: bool = False
) -> set[str]:
    """The names ``conda create --dry-run --solver=plus`` would link on linux-64."""
    require_module("conda", "conda must hand plus records with conditional dependencies")
    env = plus_conda_env(
        tmp_path,
        engine,
        CONDA_SOLVER_PLUS_VERIFY="1",
        CONDA_REPODATA_USE_SHARDS="true" if shards else "false",
    )
    cmd = [sys.executable, "-m", "conda", "create", "-p", str(tmp_path / "env"), *specs]
    cmd += ["--dry-run", "--json", "--solver=plus", "--override-channels", "-c", str(channel)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    assert "ERROR REPORT" not in proc.stderr and "rattler engine" not in proc.stderr
    return {package["name"] for package in json.loads(proc.stdout)["actions"]["LINK"]}


@pytest.mark.slow
@pytest.mark.parametrize(
    "specs, expected",
    [
        (["package"], {"package", "linux-dependency"}),
        (
            ["conditional-dependency", "side-dependency=0.1"],
            {"conditional-dependency", "side-dependency"},
        ),
        (
            ["conditional-dependency", "side-dependency=0.2"],
            {"conditional-dependency", "side-dependency", "package", "linux-dependency"},
        ),
        # conda's own MatchSpec takes ``[when=...]`` on the command line
        (["side-dependency=0.1", "package[when='side-dependency=0.2']"], {"side-dependency"}),
        (
            ["side-dependency=0.2", "package[when='side-dependency=0.2']"],
            {"side-dependency", "package", "linux-dependency"},
        ),
    ],
)
def test_through_conda(tmp_path, engine_name, specs, expected):
    assert conda_create(tmp_path, engine_name, *specs, channel=CONDITIONAL_CHANNEL) == expected


@pytest.mark.slow
def test_through_conda_with_shards(tmp_path, engine_name):
    """The same channel as shards only: conda hands plus the subset plus writes, which the
    libmamba engine parses as a file (the translated, never-cached path)."""
    channel = tmp_path / "sharded"
    write_files(
        channel,
        {
            "noarch/repodata.json": (CONDITIONAL_CHANNEL / "noarch" / "repodata.json").read_text(),
            "linux-64/repodata.json": json.dumps({"info": {"subdir": "linux-64"}, "packages": {}}),
        },
    )
    for subdir in ("noarch", "linux-64"):
        assert write_subdir_shards(channel / subdir, atomic_write) is not None
        (channel / subdir / "repodata.json").unlink()
    for side, expected in [
        ("0.1", {"conditional-dependency", "side-dependency"}),
        ("0.2", {"conditional-dependency", "side-dependency", "package", "linux-dependency"}),
    ]:
        specs = ("conditional-dependency", f"side-dependency={side}")
        assert (
            conda_create(tmp_path, engine_name, *specs, channel=channel, shards=True) == expected
        )
