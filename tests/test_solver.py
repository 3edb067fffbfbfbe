"""The conda adapter against real conda (skipped where conda does not import).

conda is not installable from PyPI; see README "Development" for running these with conda
from source. These tests use conda's own objects end to end: the plugin manager, Channels
on a local file channel, PrefixData on a real prefix, and conda's exceptions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .engines import REPO_ROOT, conda_subprocess_env, require_module

conda = require_module("conda", "the conda adapter runs inside conda")

from conda.base.context import context, reset_context  # noqa: E402
from conda.exceptions import PackagesNotFoundError, UnsatisfiableError  # noqa: E402
from conda.models.channel import Channel  # noqa: E402
from conda.models.records import PackageRecord  # noqa: E402

from .channels import repodata_entry, write_package_channel  # noqa: E402

DEMO = Path(__file__).parent / "data" / "demo-channel"


@pytest.fixture(autouse=True)
def _conda_env(monkeypatch, tmp_path, engine_name):
    """Every test here runs once per engine (``engine_name``, tests/conftest.py), selected
    the way a user would: ``CONDA_SOLVER_PLUS_BACKEND``."""
    monkeypatch.setenv("CONDA_REPODATA_USE_SHARDS", "false")
    monkeypatch.setenv("CONDA_PKGS_DIRS", str(tmp_path / "pkgs"))
    monkeypatch.setenv("CONDA_SOLVER_PLUS_BACKEND", engine_name)
    reset_context()
    yield
    reset_context()


def plus_solver_class():
    return context.plugin_manager.get_solver_backend("plus")


@pytest.mark.conda_main
def test_plugin_is_registered_as_plus():
    from conda_solver_plus.conda.solver import PlusSolver

    assert plus_solver_class() is PlusSolver


@pytest.mark.conda_main
def test_solve_final_state_returns_linkable_conda_records(tmp_path):
    solver = demo_solver(tmp_path / "env", specs_to_add=["numpy"])
    records = list(solver.solve_final_state())
    names = [r.name for r in records]
    assert "numpy" in names and "python" in names
    assert names.index("python") < names.index("numpy")  # dependency order
    for record in records:
        assert isinstance(record, PackageRecord)
        assert record.url.startswith(DEMO.as_uri())
        assert record.fn and record.url.endswith(record.fn)
        assert record.md5 or record.sha256


def test_unsatisfiable_is_conda_error_without_retry(tmp_path):
    solver = demo_solver(tmp_path / "env", specs_to_add=["numpy", "python<3"])
    with pytest.raises((UnsatisfiableError, PackagesNotFoundError)) as info:
        solver.solve_final_state()
    assert info.value.allow_retry is False


@pytest.mark.conda_main
def test_missing_package_is_packages_not_found(tmp_path):
    solver = demo_solver(tmp_path / "env", specs_to_add=["definitely-not-a-package"])
    with pytest.raises(PackagesNotFoundError):
        solver.solve_final_state()


def test_installed_records_and_history_are_respected(tmp_path):
    prefix = tmp_path / "env"
    first = demo_solver(prefix, specs_to_add=["python"]).solve_final_state()
    _write_prefix(prefix, first, ["python"])
    python = next(r for r in first if r.name == "python")
    second = demo_solver(prefix, specs_to_add=["pip"]).solve_final_state()
    kept = next(r for r in second if r.name == "python")
    assert (kept.version, kept.build) == (python.version, python.build)
    assert "pip" in {r.name for r in second}


# -- a real conda create/install/update/remove cycle on packages built here ---------------
#
# The packages are built by ``write_package_channel`` (tests/channels.py: plain tarfile,
# conda's v1 ``.tar.bz2`` layout: ``info/index.json``, ``info/files``, ``info/paths.json``
# and the payload), indexed with a repodata.json written there, and installed by conda
# itself in a subprocess (``python -m conda``), so conda downloads, extracts and links
# them into a real prefix.


@pytest.fixture(scope="module")
def built_channel(tmp_path_factory) -> Path:
    """libcolor 1.0, greet 1.0 and 2.0 (the newest), shout 0.1 as real packages for this
    machine's subdir (``BUILT_PACKAGES`` in tests/channels.py)."""
    return write_package_channel(tmp_path_factory.mktemp("built-channel"), context.subdir)


def run_conda(
    tmp_path: Path,
    channel: Path,
    *args: str,
    env: dict[str, str] | None = None,
    channels: bool = True,
) -> subprocess.CompletedProcess:
    """Real conda from this interpreter, solving with plus (this checkout's code) on the
    engine ``CONDA_SOLVER_PLUS_BACKEND`` names; ``env`` overrides (an empty value unsets),
    ``channels=False`` for subcommands that take no channel."""
    environment = conda_subprocess_env(
        tmp_path,
        CONDA_SOLVER="plus",
        CONDA_REPODATA_USE_SHARDS="false",
        CONDA_OFFLINE="true",  # a file channel needs no network; nothing may wait on it
        CONDA_CHANNELS=channel.as_uri(),
    )
    environment.update(env or {})
    environment = {key: value for key, value in environment.items() if value}
    command = [sys.executable, "-m", "conda", *args]
    if channels:
        command += ["--override-channels", "-c", channel.as_uri(), "--yes"]
    return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=600)


def installed(prefix: Path) -> dict[str, str]:
    return {
        data["name"]: data["version"]
        for data in (json.loads(p.read_text()) for p in (prefix / "conda-meta").glob("*.json"))
    }


#: the three ways a user selects plus; each runs the whole cycle (and on each engine)
SELECTIONS = ("condarc", "environment", "flag")


def _selected_by(how: str, tmp_path: Path) -> tuple[dict[str, str], list[str]]:
    """Environment and extra arguments that select plus ``how`` a user would: ``solver:
    plus`` in a .condarc, ``CONDA_SOLVER=plus``, or ``--solver=plus`` on the command."""
    if how == "condarc":
        condarc = tmp_path / "condarc"
        condarc.write_text("solver: plus\n")
        return {"CONDARC": str(condarc), "CONDA_SOLVER": ""}, []
    if how == "environment":
        return {"CONDA_SOLVER": "plus"}, []
    return {"CONDA_SOLVER": ""}, ["--solver=plus"]


def conda_list(prefix: Path, tmp_path: Path, channel: Path) -> dict[str, str]:
    """``conda list --json`` of ``prefix``: what conda itself reads from conda-meta."""
    proc = run_conda(tmp_path, channel, "list", "-p", str(prefix), "--json", channels=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {entry["name"]: entry["version"] for entry in json.loads(proc.stdout)}


@pytest.mark.slow
@pytest.mark.parametrize("how", SELECTIONS)
def test_real_conda_create_install_update_remove(built_channel, tmp_path, how, engine_name):
    """A real create / install / update --all / remove cycle: conda downloads, extracts and
    links the packages built here, with plus selected ``how`` and on ``engine_name`` — and
    plus's ``-v`` report says it answered, on that engine."""
    prefix = tmp_path / "env"
    env, extra = _selected_by(how, tmp_path)

    def conda(*args: str) -> None:
        proc = run_conda(tmp_path, built_channel, *args, *extra, "-v", env=env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert f"Specs handed to the {engine_name} engine" in proc.stderr, proc.stderr

    conda("create", "-p", str(prefix), "greet=1.0")
    assert conda_list(prefix, tmp_path, built_channel) == {"greet": "1.0", "libcolor": "1.0"}
    assert (prefix / "share" / "greet" / "VERSION").read_text() == "greet 1.0\n"

    conda("install", "-p", str(prefix), "shout")
    # greet was asked for as 1.0 and stays there; shout accepts any greet
    expected = {"greet": "1.0", "libcolor": "1.0", "shout": "0.1"}
    assert conda_list(prefix, tmp_path, built_channel) == expected
    assert (prefix / "share" / "shout" / "VERSION").is_file()

    conda("update", "-p", str(prefix), "--all")
    assert conda_list(prefix, tmp_path, built_channel)["greet"] == "2.0"
    assert (prefix / "share" / "greet" / "VERSION").read_text() == "greet 2.0\n"

    conda("remove", "-p", str(prefix), "shout")
    assert conda_list(prefix, tmp_path, built_channel) == {"greet": "2.0", "libcolor": "1.0"}
    assert not (prefix / "share" / "shout").exists()
    assert installed(prefix) == {"greet": "2.0", "libcolor": "1.0"}


def dry_run_create(
    tmp_path: Path, channel: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """``conda create --dry-run --json greet`` into a fresh prefix, with extra ``args``."""
    prefix = str(tmp_path / "env")
    return run_conda(
        tmp_path, channel, "create", "-p", prefix, "greet", "--dry-run", "--json", *args, env=env
    )


def linked_versions(proc: subprocess.CompletedProcess) -> dict[str, str]:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {r["name"]: r["version"] for r in json.loads(proc.stdout)["actions"]["LINK"]}


#: conda's exclude-newer settings (``--exclude-newer``, ``exclude_newer_package``,
#: ``channel_settings[].exclude_newer``) are on conda's main branch, in no release up to
#: 26.7.1; plus reads them where conda has them (``PlusSolver.exclude_newer_settings``)
conda_has_exclude_newer = pytest.mark.skipif(
    not hasattr(context, "exclude_newer"),
    reason=f"conda {conda.__version__} has no exclude_newer setting (no release has it yet)",
)


#: conda's shards on (its default) and off: with them on, conda hands the solver a
#: subclass of plus it makes on the fly (``PartialPlusSolver``), which must keep plus's
#: exclude-newer capabilities (issue 24)
use_shards = pytest.mark.parametrize("shards", ["true", "false"], ids=["shards", "no-shards"])


@pytest.mark.conda_main
@conda_has_exclude_newer
@use_shards
def test_real_conda_exclude_newer_global_cutoff(built_channel, tmp_path, shards):
    # greet 2.0 is timestamped 2023-11-14, greet 1.0 2020-09-13
    env = {"CONDA_REPODATA_USE_SHARDS": shards}
    proc = dry_run_create(tmp_path, built_channel, "--exclude-newer", "2021-01-01", env=env)
    assert linked_versions(proc) == {"greet": "1.0", "libcolor": "1.0"}


@pytest.mark.conda_main
@conda_has_exclude_newer
@use_shards
def test_real_conda_exclude_newer_per_package_and_channel(
    built_channel, tmp_path, monkeypatch, shards
):
    """``exclude_newer_package`` and ``channel_settings`` in a real .condarc: conda only
    passes them to a solver that declares support, and the answer must honour them."""
    env = {"CONDA_REPODATA_USE_SHARDS": shards}
    condarc = tmp_path / "condarc"
    condarc.write_text(
        'exclude_newer_package:\n  greet: "2021-01-01"\n'
        f"channel_settings:\n  - channel: {built_channel.as_uri()}\n"
        '    exclude_newer: "1999-01-01"\n'
    )
    monkeypatch.setenv("CONDARC", str(condarc))
    proc = dry_run_create(tmp_path, built_channel, env=env)
    # greet's own cutoff (2021) wins over the channel's (1999), which hides libcolor
    # 1.0 (2020) — so no greet can be installed: a clear unsatisfiable error, naming it
    assert proc.returncode != 0
    assert "libcolor" in proc.stdout + proc.stderr
    condarc.write_text('exclude_newer_package:\n  greet: "2021-01-01"\n')
    proc = dry_run_create(tmp_path, built_channel, env=env)
    assert linked_versions(proc) == {"greet": "1.0", "libcolor": "1.0"}


@pytest.mark.conda_main
@conda_has_exclude_newer
@use_shards
def test_real_conda_cutoff_hiding_every_version_is_packages_not_found(
    built_channel, tmp_path, shards
):
    """A cutoff before every greet: classic says ``PackagesNotFoundInChannelsError``
    (conda's ``PackagesNotFoundError`` kind), and so must plus on both engines; the rattler
    engine answered with an unsatisfiable error."""
    env = {"CONDA_REPODATA_USE_SHARDS": shards}
    proc = dry_run_create(tmp_path, built_channel, "--exclude-newer", "2001-01-01", env=env)
    assert proc.returncode != 0
    error = json.loads(proc.stdout)
    assert error["exception_name"] == "PackagesNotFoundInChannelsError", error
    assert "greet" in error["error"]


@pytest.mark.conda_main
def test_subclasses_of_plus_keep_its_exclude_newer_capabilities():
    """conda's plugin manager subclasses the solver on the fly when shards are on, the way
    this test does, and conda >= 26.9 resets undeclared capability flags on subclasses; a
    subclass that declares a flag itself keeps its own value."""
    import functools

    plus = plus_solver_class()
    init = functools.partialmethod(plus.__init__, build_repodata_subset=None)
    partial = type(f"Partial{plus.__name__}", (plus,), {"__init__": init})
    own = type("Cautious", (plus,), {"supports_exclude_newer_package": False})
    for flag in ("global", "channel", "package"):
        assert getattr(partial, f"supports_exclude_newer_{flag}") is True
    assert own.supports_exclude_newer_global is True
    assert own.supports_exclude_newer_package is False


@pytest.mark.conda_main
def test_plus_works_where_classic_cannot_run(built_channel, tmp_path):
    """conda is moving classic (and pycosat) out into conda-pycosat-solver; plus derives
    from conda's ``BaseSolver`` and needs neither. Here pycosat cannot be imported: the
    classic solver fails, plus answers (on the engine of the run)."""
    import conda.core.solve

    from conda_solver_plus.conda.solver import PlusSolver

    if hasattr(conda.core.solve, "BaseSolver"):
        assert conda.core.solve.Solver not in PlusSolver.__mro__
    blocker = tmp_path / "no-pycosat"
    blocker.mkdir()
    (blocker / "pycosat.py").write_text(
        "raise ImportError('pycosat is not installed (classic moved to conda-pycosat-solver)')\n"
    )
    env = {"PYTHONPATH": os.pathsep.join([str(blocker), str(REPO_ROOT)])}
    classic = dry_run_create(tmp_path, built_channel, "--solver=classic", env=env)
    assert classic.returncode != 0
    assert "pycosat" in classic.stdout + classic.stderr
    plus = dry_run_create(tmp_path, built_channel, env=env)
    assert linked_versions(plus) == {"greet": "2.0", "libcolor": "1.0"}


@pytest.mark.conda_main
def test_real_conda_shows_plus_hints_as_its_own(tmp_path):
    """A pin that takes part in a conflict (``b_pkg<2`` pinned and requested beside
    ``a_pkg``, which needs ``b_pkg >=2``): conda prints plus's hints in its "Next steps"
    under stable codes, and ``--json`` carries them in ``guidance``. The message still
    names the culprits; on a conda without the hook it carries the hints too."""
    from conda_solver_plus.conda.errors import conda_takes_error_hints

    packages = dict(
        [
            repodata_entry("a_pkg", "1.0", depends=["b_pkg >=2"]),
            repodata_entry("b_pkg", "1.0"),
            repodata_entry("b_pkg", "2.0"),
        ]
    )
    channel = tmp_path / "channel"
    for subdir, records in ((context.subdir, {}), ("noarch", packages)):
        (channel / subdir).mkdir(parents=True)
        (channel / subdir / "repodata.json").write_text(
            json.dumps({"info": {"subdir": subdir}, "packages": records})
        )
    env = {"CONDA_PINNED_PACKAGES": "b_pkg<2"}
    args = ("create", "-p", str(tmp_path / "env"), "a_pkg", "b_pkg<2", "--dry-run")
    text = run_conda(tmp_path, channel, *args, env=env)
    assert text.returncode != 0
    shown = text.stdout + text.stderr
    assert "What in your setup takes part in this conflict" in shown, shown
    assert "b_pkg <2 (pinned, from pinned_packages" in shown
    # libmamba's stand-in package for the pin ("pin on b_pkg <2") reads as a pin
    assert "pin on b_pkg <2 pin on" not in shown
    proc = run_conda(tmp_path, channel, *args, "--json", env=env)
    error = json.loads(proc.stdout)
    assert error["exception_name"] == "PlusUnsatisfiableError", error
    if not conda_takes_error_hints():
        assert "--ignore-pinned" in error["error"]
        return
    assert "(plus_pinned) b_pkg: remove or widen the pin" in shown
    assert shown.count("--ignore-pinned") == 1  # in "Next steps", not repeated in the text
    codes = {hint["hint_code"]: hint["text"] for hint in error["guidance"]["hints"]}
    assert "plus_pinned" in codes
    assert "--ignore-pinned" in codes["plus_pinned"]
    assert "b_pkg <2" in error["guidance"]["cause"]


def _write_prefix(prefix: Path, records, history: list[str]) -> None:
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True)
    for record in records:
        data = dict(record.dump())
        data.update(files=[], paths_data={"paths": [], "paths_version": 1})
        (meta / f"{record.name}-{record.version}-{record.build}.json").write_text(json.dumps(data))
    (meta / "history").write_text(
        f"==> 2024-01-01 00:00:00 <==\n# cmd: conda create\n# update specs: {history!r}\n"
    )


def demo_solver(prefix: Path, **kwargs):
    return plus_solver_class()(
        str(prefix), [Channel(DEMO.as_uri())], ("linux-64", "noarch"), **kwargs
    )


def test_virtual_package_blocker_is_conda_system_error(tmp_path, monkeypatch):
    monkeypatch.setenv("CONDA_OVERRIDE_CUDA", "")  # no CUDA driver on this "machine"
    reset_context()
    solver = demo_solver(tmp_path / "env", specs_to_add=["mylib=*=cuda*"])
    with pytest.raises(UnsatisfiableError) as info:
        solver.solve_final_state()
    message = str(info.value)
    assert "incompatible with your system" in message
    assert "mylib -> __cuda" in message and ">=12.0" in message
    assert "Your installed version is: not available" in message
    assert info.value.allow_retry is False


def test_install_and_remove_in_one_request(tmp_path):
    prefix = tmp_path / "env"
    first = demo_solver(prefix, specs_to_add=["python=3.12", "numpy"]).solve_final_state()
    _write_prefix(prefix, first, ["python=3.12", "numpy"])
    final = demo_solver(
        prefix, specs_to_add=["openssl"], specs_to_remove=["numpy"]
    ).solve_final_state()
    names = {r.name for r in final}
    assert "numpy" not in names
    assert {"python", "openssl"} <= names


def test_request_failing_only_on_a_pin_is_a_configuration_conflict(tmp_path, monkeypatch):
    from conda.exceptions import SpecsConfigurationConflictError

    monkeypatch.setenv("CONDA_PINNED_PACKAGES", "python=3.11")
    reset_context()
    solver = demo_solver(tmp_path / "env", specs_to_add=["numpy=2.0.2"])  # needs 3.12
    with pytest.raises(SpecsConfigurationConflictError) as info:
        solver.solve_final_state()
    assert info.value._kwargs["requested_specs"] == ["numpy=2.0.2"]
    assert info.value._kwargs["pinned_specs"] == ["python=3.11"]


SUDOKU = Path(__file__).resolve().parents[2] / "shared/data/repodata/mamba-testdata/sudoku"


@pytest.mark.skipif(not SUDOKU.is_dir(), reason=f"shared sudoku channel not found at {SUDOKU}")
def test_plus_timeout_in_condarc_stops_a_runaway_solve(tmp_path, monkeypatch, engine_name):
    """``plus_timeout`` in .condarc bounds the solve on both engines; libsolv cannot prove
    the sudoku unsatisfiable in minutes, resolvo needs ~0.2 s, so 0.01 s stops both."""
    condarc = tmp_path / "condarc"
    condarc.write_text(f"plus_timeout: 0.01\nplus_backend: {engine_name}\n")
    monkeypatch.setenv("CONDARC", str(condarc))
    monkeypatch.delenv("CONDA_SOLVER_PLUS_BACKEND")
    reset_context([condarc])
    from conda.exceptions import CondaError

    assert demo_solver(tmp_path / "env").settings().timeout == 0.01
    solver = plus_solver_class()(
        str(tmp_path / "env"),
        [Channel(SUDOKU.as_uri())],
        subdirs=("linux-64", "noarch"),
        specs_to_add=[f"sudoku_{r}_{c}" for r in range(9) for c in range(9)],
    )
    with pytest.raises(CondaError) as info:
        solver.solve_final_state()
    message = str(info.value)
    assert "Solving sudoku_" in message and "and 75 more specs" in message
    assert "was stopped after" in message
    assert f"(engine: {engine_name})" in message and "plus_timeout in .condarc" in message


#: time limits the one rule refuses (conda_solver_plus.settings): ``0`` used to mean "no
#: limit" under conda while the CLI refused it, and conda let ``nan`` and ``inf`` through
REFUSED_TIMEOUTS = ["0", "-5", "nan", "inf", "soon"]


@pytest.mark.parametrize("value", REFUSED_TIMEOUTS)
@pytest.mark.parametrize("how", ["condarc", "environment"])
def test_plus_timeout_must_be_a_positive_finite_number(tmp_path, monkeypatch, how, value):
    """The same rule and error text as the standalone CLI (tests/test_cli.py), as conda's
    ``CondaValueError`` naming the setting."""
    from conda.exceptions import CondaValueError

    if how == "condarc":
        condarc = tmp_path / "condarc"
        condarc.write_text(f'plus_timeout: "{value}"\n')
        reset_context([condarc])
        source = "plus_timeout (.condarc)"
    else:
        monkeypatch.setenv("CONDA_SOLVER_PLUS_TIMEOUT", value)
        reset_context()
        source = "CONDA_SOLVER_PLUS_TIMEOUT"
    needle = "not a number" if value == "soon" else "must be a positive number of seconds"
    with pytest.raises(CondaValueError) as info:
        demo_solver(tmp_path / "env", specs_to_add=["numpy"]).solve_final_state()
    assert f"{source}: " in str(info.value) and needle in str(info.value)
    assert "for no limit" in str(info.value)


def test_plus_timeout_sources(tmp_path, monkeypatch):
    """The environment variable wins over .condarc; empty or unset is no limit."""
    condarc = tmp_path / "condarc"
    condarc.write_text("plus_timeout: 7\n")
    reset_context([condarc])
    # a solver resolves its settings once (PlusSolver.settings): a new one for each case
    assert demo_solver(tmp_path / "env").settings().timeout == 7
    monkeypatch.setenv("CONDA_SOLVER_PLUS_TIMEOUT", "2.5")
    solver = demo_solver(tmp_path / "env")
    assert solver.settings().timeout == 2.5
    monkeypatch.setenv("CONDA_SOLVER_PLUS_TIMEOUT", "60")
    assert solver.settings().timeout == 2.5  # resolved once, for the whole solve
    monkeypatch.setenv("CONDA_SOLVER_PLUS_TIMEOUT", "")
    assert demo_solver(tmp_path / "env").settings().timeout == 7
    reset_context([])
    assert demo_solver(tmp_path / "env").settings().timeout is None


# -- custom multichannels share one channel priority (conda/conda#15750) --------------------


def _noarch_channel(root: Path, packages: dict[str, str]) -> Path:
    """A file channel whose noarch subdir lists ``{name: version}`` (repodata only: these
    solves are never linked)."""
    entries = dict(repodata_entry(name, version) for name, version in packages.items())
    for subdir, listed in (("noarch", entries), (context.subdir, {})):
        (root / subdir).mkdir(parents=True)
        (root / subdir / "repodata.json").write_text(
            json.dumps({"info": {"subdir": subdir}, "packages": listed})
        )
    return root


@pytest.fixture
def multichannel_condarc(tmp_path, monkeypatch) -> Path:
    """``custom_multichannels: {custom: [first, second]}`` with strict priority; foo 1.0 is
    in the first member, foo 2.0 in the second, foo 3.0 in an outside channel."""
    first = _noarch_channel(tmp_path / "first", {"foo": "1.0"})
    second = _noarch_channel(tmp_path / "second", {"foo": "2.0"})
    _noarch_channel(tmp_path / "outside", {"foo": "3.0"})
    condarc = tmp_path / "condarc"
    condarc.write_text(
        f"custom_multichannels:\n  custom:\n    - {first.as_uri()}\n    - {second.as_uri()}\n"
        "channel_priority: strict\n"
    )
    monkeypatch.setenv("CONDARC", str(condarc))
    reset_context([condarc])
    return condarc


def test_strict_custom_multichannel_falls_back_to_a_later_subchannel(
    multichannel_condarc, tmp_path
):
    """conda's test_strict_custom_multichannel_allows_fallback_to_later_subchannel, offline:
    the first subchannel has foo but no foo >=2, the second has one."""
    assert [str(c) for c in context.custom_multichannels["custom"]]  # conda read the condarc

    def solve(spec: str):
        channels = [Channel("custom"), Channel((tmp_path / "outside").as_uri())]
        solver = plus_solver_class()(
            str(tmp_path / "env"), channels, (context.subdir, "noarch"), specs_to_add=[spec]
        )
        return {r.name: r for r in solver.solve_final_state()}

    foo = solve("foo>=2")["foo"]
    assert foo.version == "2.0"
    assert foo.url == (tmp_path / "second" / "noarch" / "foo-2.0-0.tar.bz2").as_uri()
    assert foo.channel.canonical_name == "custom"
    with pytest.raises(UnsatisfiableError):  # the channel after the group stays outranked
        solve("foo>=3")


def test_real_conda_strict_custom_multichannel(multichannel_condarc, tmp_path):
    """The same through conda's CLI: ``-c custom --strict-channel-priority``."""
    env = conda_subprocess_env(
        tmp_path,
        CONDARC=str(multichannel_condarc),
        CONDA_REPODATA_USE_SHARDS="false",
        CONDA_OFFLINE="true",
    )
    command = [sys.executable, "-m", "conda", "create", "-p", str(tmp_path / "env"), "foo>=2"]
    command += ["--dry-run", "--json", "--override-channels", "-c", "custom"]
    command += ["--strict-channel-priority", "--solver", "plus"]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    linked = json.loads(proc.stdout)["actions"]["LINK"]
    assert [(r["name"], r["version"]) for r in linked] == [("foo", "2.0")]
    assert linked[0]["base_url"] == (tmp_path / "second").as_uri()


# -- conda-build ----------------------------------------------------------------------------
#
# conda-build (not installable from PyPI, so not needed here) solves its build, host and
# test environments through ``conda_build.environ.install_actions``. This replays that
# function's calls to the adapter exactly: conda's own ``Index`` over the channels, per-subdir
# ``expanded_channels``, the ``_index`` it sets on the solver, ``CONDA_SUBDIR`` for the
# target platform and ``txn.prefix_setups[prefix]`` looked up by the prefix object it passed.


def conda_build_install_actions(prefix, channel_urls: list[str], specs: list[str], subdir: str):
    """conda_build.environ.install_actions (conda-build 26.7), minus conda-build."""
    from conda.common.io import env_vars
    from conda.core.index import Index
    from conda.models.match_spec import MatchSpec

    subdir_kwargs = {"CONDA_SUBDIR": subdir} if subdir not in (None, "", "noarch") else {}
    # conda-build's get_build_index indexes noarch recipes against the native subdir
    platform = context.subdir if subdir == "noarch" else subdir
    with env_vars(
        {
            "CONDA_ALLOW_NON_CHANNEL_URLS": "true",
            "CONDA_SOLVER_IGNORE_TIMESTAMPS": "false",
            **subdir_kwargs,
        },
        callback=reset_context,
    ):
        index = Index(channels=channel_urls, prepend=False, platform=platform, use_local=False)
        channels = tuple(index.expanded_channels) or None
        subdirs = tuple(index._subdirs) or None
        solver_backend = context.plugin_manager.get_cached_solver_backend()
        assert solver_backend is plus_solver_class()
        solver = solver_backend(
            prefix, channels, subdirs, specs_to_add=tuple(MatchSpec(s) for s in specs)
        )
        if index:
            solver._index = index.copy()
        txn = solver.solve_for_transaction(prune=False, ignore_pinned=False)
        return list(txn.prefix_setups[prefix].link_precs)


@pytest.fixture
def build_channel(tmp_path) -> Path:
    """A conda-build output folder: libdep 1.0/2.0 (noarch) and libz 1.2/1.3 for linux-64
    and osx-arm64 (repodata only; nothing is linked)."""
    root = tmp_path / "output"

    def entry(name, version, subdir, depends=()):
        return repodata_entry(name, version, subdir, depends, extension=".conda")

    for subdir in ("noarch", "linux-64", "osx-arm64"):
        if subdir == "noarch":
            conda_packages = dict(entry("libdep", v, subdir) for v in ("1.0", "2.0"))
        else:
            conda_packages = dict(entry("libz", v, subdir, ["libdep"]) for v in ("1.2", "1.3"))
        (root / subdir).mkdir(parents=True)
        (root / subdir / "repodata.json").write_text(
            json.dumps(
                {"info": {"subdir": subdir}, "packages": {}, "packages.conda": conda_packages}
            )
        )
    return root


#: conda-build is neither on PyPI (only 2.1.5 from 2017) nor in ../shared/wheels; where it
#: is installed (a conda environment) these run
NO_CONDA_BUILD = "conda-build is not installed (not on PyPI; install it from conda-forge)"


@pytest.fixture
def as_conda_build(monkeypatch):
    monkeypatch.setenv("CONDA_SOLVER", "plus")
    monkeypatch.setenv("CONDA_OFFLINE", "true")
    reset_context()
    # conda caches the solver class of the first call, whatever `solver` said then
    context.plugin_manager.get_cached_solver_backend.cache_clear()
    yield
    context.plugin_manager.get_cached_solver_backend.cache_clear()


@pytest.mark.filterwarnings("ignore:conda.common.io.env_vars:PendingDeprecationWarning")
@pytest.mark.parametrize("subdir", ["linux-64", "osx-arm64", "noarch"])
def test_conda_build_install_actions(build_channel, tmp_path, as_conda_build, subdir):
    """The host/build environment solve of a recipe for ``subdir``: into a prefix that does
    not exist yet, given as a ``Path`` (looked up by that object afterwards)."""
    prefix = tmp_path / "croot" / "_h_env_placehold"
    specs = ["libdep 1.*"] if subdir == "noarch" else ["libz", "libdep 1.*"]
    records = conda_build_install_actions(prefix, [build_channel.as_uri()], specs, subdir)
    found = {r.name: (r.version, r.subdir) for r in records}
    native = context.subdir if subdir == "noarch" else subdir
    expected = {"libdep": ("1.0", "noarch")}
    if subdir != "noarch":
        expected["libz"] = ("1.3", native)
    assert found == expected
    for record in records:
        assert record.url.startswith(build_channel.as_uri())
    assert not prefix.exists()  # the solver writes nothing
    # conda-build's string prefixes (its croot paths) work the same way
    assert conda_build_install_actions(str(prefix), [build_channel.as_uri()], specs, subdir)


@pytest.mark.filterwarnings("ignore:conda.common.io.env_vars:PendingDeprecationWarning")
def test_conda_build_errors_are_dependency_needs_building(build_channel, tmp_path, as_conda_build):
    """conda-build acts on its own DependencyNeedsBuildingError only (build the missing
    dependency from another recipe, or render a non-final recipe); it names what is
    missing and carries plus's explanation."""
    exceptions = pytest.importorskip("conda_build.exceptions", reason=NO_CONDA_BUILD)
    channel = [build_channel.as_uri()]
    with pytest.raises(exceptions.DependencyNeedsBuildingError) as info:
        conda_build_install_actions(tmp_path / "env", channel, ["not-built-yet >=1"], "linux-64")
    assert info.value.packages == ["not-built-yet"]
    assert "not-built-yet" in str(info.value)
    assert "not available from the channels searched" in str(info.value)

    (build_channel / "noarch" / "repodata.json").write_text(
        json.dumps(
            {
                "info": {"subdir": "noarch"},
                "packages": {
                    "needy-1.0-0.tar.bz2": {
                        "name": "needy",
                        "version": "1.0",
                        "build": "0",
                        "build_number": 0,
                        "depends": ["libmissing >=1"],
                        "subdir": "noarch",
                    }
                },
            }
        )
    )
    with pytest.raises(exceptions.DependencyNeedsBuildingError) as info:
        conda_build_install_actions(tmp_path / "env", channel, ["needy"], "linux-64")
    assert info.value.packages == ["libmissing"]  # the dependency to build first
    assert "needy" in str(info.value) and "libmissing >=1" in str(info.value)


def test_conda_errors_stay_conda_errors_outside_conda_build(build_channel, tmp_path):
    """Without conda-build's index on the solver, a missing package is conda's own error."""
    solver = plus_solver_class()(
        str(tmp_path / "env"),
        [Channel(build_channel.as_uri())],
        (context.subdir, "noarch"),
        specs_to_add=["not-built-yet"],
    )
    with pytest.raises(PackagesNotFoundError):
        solver.solve_final_state()


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_real_conda_build_get_package_records(build_channel, tmp_path, as_conda_build):
    """Where conda-build is importable: its own entry point for every environment solve."""
    environ = pytest.importorskip("conda_build.environ", reason=NO_CONDA_BUILD)
    output_folder = tmp_path / "conda-bld"  # conda-build indexes it: not the test channel
    records = environ.get_package_records(
        str(tmp_path / "croot" / "_h_env"),
        ["libz", "libdep 1.*"],
        "host",
        subdir=context.subdir,
        bldpkgs_dirs=[str(output_folder / context.subdir)],
        channel_urls=(build_channel.as_uri(),),
        output_folder=str(output_folder),
        max_env_retry=0,
    )
    assert {r.name: r.version for r in records} == {"libdep": "1.0", "libz": "1.3"}
    exceptions = pytest.importorskip("conda_build.exceptions", reason=NO_CONDA_BUILD)
    with pytest.raises(exceptions.DependencyNeedsBuildingError) as info:
        environ.get_package_records(
            str(tmp_path / "croot" / "_h_env"),
            ["libz >=2"],
            "host",
            subdir=context.subdir,
            bldpkgs_dirs=[str(output_folder / context.subdir)],
            channel_urls=(build_channel.as_uri(),),
            output_folder=str(output_folder),
            max_env_retry=0,
        )
    assert info.value.packages == ["libz"]


def test_legacy_feature_spec_from_conda(tmp_path):
    """conda's ``mkl@`` (a MatchSpec with ``track_features``) turns the feature on: numpy
    comes in its ``features: mkl`` build, returned as a conda record with that field."""
    from conda.models.match_spec import MatchSpec

    from .corpus import package_root, write_channels

    root = package_root()
    if root is None:
        pytest.skip("pytest-conda-solvers (its channel data) is not installed")
    channel = write_channels(root, tmp_path / "channels")["channel-1"]
    solver = plus_solver_class()(
        str(tmp_path / "env"),
        [Channel(channel.as_uri())],
        subdirs=("linux-64", "noarch"),
        specs_to_add=[MatchSpec("numpy"), MatchSpec("python=2.7.3"), MatchSpec("mkl@")],
    )
    records = {r.name: r for r in solver.solve_final_state()}
    assert records["numpy"].features == ("mkl",)
    assert not any(name.startswith("_legacy-feature-") for name in records)
