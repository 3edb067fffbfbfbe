"""No surprise downgrades (conda_solver_plus/solving/downgrades.py) on real conda-forge
records (``../shared/data/repodata/lockfile-union``), on every engine: in-process, through
the standalone CLI (in-process ``main``) and through real conda (``conda install -v`` in a
subprocess against a prefix written from the same records).

The environment is one users have: python 3.12 with the newest libffi, 3.7.0, which the
newest libglib (2.88.3) does not accept (it needs ``libffi >=3.5.2,<3.6``). Installing
libglib downgrades libffi: the request forces it, and the answer must say so — the
requested spec, the record and dependency that exclude the installed libffi, and what
keeping libffi would cost (an older libglib, computed by a second solve with a pin).
A downgrade the user asks for (a spec or a pin) is made and says so; a solve without
downgrades costs no extra engine call. Neither engine downgrades libffi (or anything else
in the requests tried for issue 25) without need, so the guard's other half — keeping a
package an engine downgraded for nothing — is shown with an engine wrapper that does what
conda-libmamba-solver #71 shows libsolv doing, unless the request forbids it.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rattler import MatchSpec, Version

from conda_solver_plus import cli
from conda_solver_plus.backends import get_backend
from conda_solver_plus.core import solve
from conda_solver_plus.exceptions import SolverPlusError
from conda_solver_plus.explain import render_provenance
from conda_solver_plus.provenance import render_downgrades
from conda_solver_plus.records import dependency_name
from conda_solver_plus.repodata.gateway import load_index
from conda_solver_plus.session import SolveSession
from conda_solver_plus.settings import Settings
from conda_solver_plus.solving import downgrades
from conda_solver_plus.specs import spec_name
from conda_solver_plus.state import SolverInputState, SolverOutputState
from conda_solver_plus.virtual import virtual_packages

from .channels import write_channel_prefix
from .engines import conda_subprocess_env, require_module

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "repodata"
CONDA_FORGE = SHARED / "lockfile-union" / "conda-forge"
pytestmark = [
    pytest.mark.shared,
    pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared channel data not found at {SHARED}"),
]

#: the prefix: python 3.12 with the newest libffi; only python was asked for by name
ENVIRONMENT = ("python=3.12", "libffi>=3.7")
HISTORY = ["python=3.12"]
GLIBC = {"__glibc": "2.28"}


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    return load_index([CONDA_FORGE], ["linux-64"], cache_dir=cache, roots=None)


@pytest.fixture(scope="module")
def environment(index, tmp_path_factory) -> list:
    """The records of ``ENVIRONMENT`` (one solve on the rattler engine: any answer will
    do, it becomes the prefix's installed state)."""
    settings = Settings(backend="rattler", cache_dir=tmp_path_factory.mktemp("cache"))
    sis = SolverInputState(None, ENVIRONMENT, virtual_packages=virtual_packages("linux-64", GLIBC))
    return SolveSession(settings).solve(sis, index).current_solution


def write_prefix(prefix: Path, records, pinned: str = "") -> Path:
    """``prefix`` holding ``records``, ``HISTORY`` as the specs of its creation."""
    return write_channel_prefix(prefix, CONDA_FORGE, records, HISTORY, pinned)


@pytest.fixture
def prefix(environment, tmp_path) -> Path:
    return write_prefix(tmp_path / "env", environment)


class CountingEngine:
    """The real engine, counting its calls (what the guard costs)."""

    def __init__(self, engine) -> None:
        self.engine, self.name, self.calls = engine, engine.name, 0

    def solve(self, index, request):
        self.calls += 1
        return self.engine.solve(index, request)


def run(specs, index, engine_name, prefix, tmp_path, engine=None, **state):
    """``specs`` solved against ``prefix`` in-process: (input state, output state)."""
    sis = SolverInputState(
        prefix, specs, virtual_packages=virtual_packages("linux-64", GLIBC), **state
    )
    session = SolveSession(Settings(backend=engine_name, cache_dir=tmp_path / "cache"))
    return sis, solve(sis, index, engine or session.backend, session.options)


def files(records) -> set[tuple[str, str]]:
    return {(record.subdir, record.file_name) for record in records}


def installed_libffi(environment):
    return next(r for r in environment if r.name.normalized == "libffi")


# -- in-process, both engines --------------------------------------------------------------


def test_forced_downgrade_names_the_request(index, engine_name, environment, prefix, tmp_path):
    """``install libglib``: libffi goes down, forced by the requested spec through the
    libglib record's own dependency; keeping libffi would mean the libglib a solve with
    ``libffi >=3.7.0`` pinned gives (a second solve, the expected cost)."""
    sis, out = run(["libglib"], index, engine_name, prefix, tmp_path)
    old = installed_libffi(environment)
    assert out.records["libffi"].version < old.version
    cause = out.downgrades["libffi"]
    assert (cause.kind, cause.spec) == ("requested", str(sis.requested["libglib"]))
    assert cause.origin == sis.requested.reason("libglib")
    libglib = out.records["libglib"]
    dependency = next(d for d in libglib.depends if dependency_name(d) == "libffi")
    assert not MatchSpec(dependency, strict=False).matches(old)
    assert (cause.path, cause.dependency) == ((f"libglib {libglib.version}",), dependency)
    assert cause.proven and out.downgrade_checks["libffi"].verdict == "forced"

    _, kept = run(
        ["libglib"],
        index,
        engine_name,
        prefix,
        tmp_path,
        pinned_packages=[f"libffi >={old.version}"],
    )
    assert kept.records["libffi"].version == old.version
    assert cause.cost == (f"libglib {libglib.version} -> {kept.records['libglib'].version}",)
    assert cause.text == (
        f"forced by libglib (requested on the command line): libglib {libglib.version} "
        f"needs {dependency}; keeping it would move {cause.cost[0]}"
    )


def test_only_deps_keeps_the_cause_it_drops(index, engine_name, prefix, tmp_path):
    """``install libglib --only-deps``: libglib itself is not installed, its dependencies
    are, libffi goes down for them, and the cause still names the libglib record the
    engine's answer had (it was worked out before --only-deps dropped it)."""
    _, full = run(["libglib"], index, engine_name, prefix, tmp_path)
    _, out = run(["libglib"], index, engine_name, prefix, tmp_path, deps_modifier="only_deps")
    assert "libglib" not in out.records and "libffi" in out.downgrades
    assert out.downgrades["libffi"] == full.downgrades["libffi"]


def test_asked_downgrades_are_made_and_say_so(index, engine_name, environment, tmp_path):
    """A downgrade the user's own spec asks for — a requested ``libffi<3.6``, a pin added
    to conda-meta/pinned before ``install numpy`` — happens, named by that spec, with no
    check (``asked``)."""
    prefix = write_prefix(tmp_path / "env", environment)
    sis, out = run(["libffi<3.6"], index, engine_name, prefix, tmp_path)
    cause = out.downgrades["libffi"]
    assert (cause.kind, cause.spec, cause.path) == ("requested", str(sis.requested["libffi"]), ())
    assert out.downgrade_checks["libffi"].verdict == "asked"
    assert cause.text == f"requested as {sis.requested['libffi']} (requested on the command line)"

    pinned = write_prefix(tmp_path / "pinned", environment, pinned="libffi <3.6")
    sis, out = run(["numpy"], index, engine_name, pinned, tmp_path)
    cause = out.downgrades["libffi"]
    assert (cause.kind, cause.spec) == ("pinned", str(sis.pinned["libffi"]))
    assert cause.origin == f"{pinned / 'conda-meta' / 'pinned'}:1"
    assert out.records["libffi"].version < installed_libffi(environment).version


def test_no_downgrade_costs_no_engine_call(index, engine_name, prefix, tmp_path):
    """``update --all`` of the prefix downgrades nothing: the engine is called once per
    attempt, nothing more; ``install libglib`` does make the guard ask again."""
    counting = CountingEngine(get_backend(engine_name))
    _, out = run(
        [], index, engine_name, prefix, tmp_path, engine=counting,
        command="update", update_modifier="update_all",
    )  # fmt: skip
    assert not out.downgrades and not out.downgrade_checks
    assert counting.calls == out.attempts
    counting.calls = 0
    _, out = run(["libglib"], index, engine_name, prefix, tmp_path, engine=counting)
    assert out.downgrades and counting.calls > out.attempts


#: a second prefix: python 3.12 with the newest numpy, scipy, pandas and sympy (and so the
#: newest icu and libsqlite); matplotlib's python 3.12 build brings Qt 6.7 and an older icu
STACK = ("python=3.12", "numpy", "scipy", "pandas", "sympy")


@pytest.fixture(scope="module")
def stack(index, tmp_path_factory) -> list:
    settings = Settings(backend="rattler", cache_dir=tmp_path_factory.mktemp("cache"))
    sis = SolverInputState(None, STACK, virtual_packages=virtual_packages("linux-64", GLIBC))
    return SolveSession(settings).solve(sis, index).current_solution


def test_a_downgrade_that_follows_a_forced_one_needs_no_engine_call(
    index, engine_name, stack, tmp_path
):
    """``install matplotlib`` into the stack: the downgrades whose installed build needs a
    forced one at its installed version (libsqlite needs the icu that has to go) are
    forced from the data, without an engine call — and a second solve confirms it: the
    requested matplotlib with that package kept has no answer."""
    prefix = write_prefix(tmp_path / "env", stack)
    counting = CountingEngine(get_backend(engine_name))
    sis, out = run(["matplotlib"], index, engine_name, prefix, tmp_path, engine=counting)
    follows = {n: c for n, c in out.downgrades.items() if c.kind == "follows"}
    assert follows and all(out.downgrade_checks[n].verdict == "forced" for n in out.downgrades)
    for cause in follows.values():
        via = cause.via.split(" ")[0]
        assert out.downgrades[via].kind == "requested" and out.downgrades[via].proven
    # the engine's answer, one check of all of them together, one for each of the others
    assert counting.calls == out.attempts + 1 + len(out.downgrades) - len(follows)
    matplotlib = f"matplotlib >={out.records['matplotlib'].version}"
    for name in follows:
        keep = f"{name} >={sis.installed[name].version}"
        with pytest.raises(SolverPlusError) as failed:
            run([matplotlib], index, engine_name, prefix, tmp_path, pinned_packages=[keep])
        assert failed.value.exit_code == 1


def test_spent_time_limit_leaves_the_engines_answer(index, engine_name, prefix, tmp_path):
    """The check runs within the solve's one time limit: with it spent, the guard calls
    no engine, the engine's answer stands and the downgrade says it was not checked."""
    sis, solved = run(["libglib"], index, engine_name, prefix, tmp_path)
    records = list(solved.records.values())
    session = SolveSession(Settings(backend=engine_name, cache_dir=tmp_path / "cache"))
    options = dataclasses.replace(session.options, timeout=0.001).started()
    time.sleep(0.01)  # the deadline has passed
    counting = CountingEngine(get_backend(engine_name))
    out = SolverOutputState(sis)
    assert downgrades.guard(counting, index, sis, out, options, records) is records
    assert counting.calls == 0
    assert out.downgrade_checks["libffi"].verdict == "unchecked"
    assert "Downgrades not checked (the time limit ran out): libffi" in render_downgrades(out)


class DowngradesWithoutNeed:
    """The real engine made to downgrade libffi although nothing needs it, as
    conda-libmamba-solver #71 shows libsolv downgrading flask — unless the request
    requires libffi at a lower bound, which is what the guard asks. Neither engine here
    downgrades without need on this data (issue 25's report lists the requests tried),
    so this stands in for one that does."""

    def __init__(self, engine) -> None:
        self.engine, self.name = engine, engine.name

    def solve(self, index, request):
        bounded = any(
            spec_name(spec) == "libffi" and str(spec.version or "").startswith(">=")
            for spec in request.specs
        )
        if not bounded:
            trade = MatchSpec("libffi <3.7", strict=False)
            request = dataclasses.replace(request, constraints=[*request.constraints, trade])
        return self.engine.solve(index, request)


def test_downgrade_without_need_is_not_made(index, engine_name, environment, prefix, tmp_path):
    """``install numpy`` on an engine that downgrades libffi for nothing: the guard finds
    the answer that keeps libffi, takes it (the requested numpy is no worse), and it is
    the plain engine's answer; explain says what it kept."""
    trading = DowngradesWithoutNeed(get_backend(engine_name))
    sis, out = run(["numpy"], index, engine_name, prefix, tmp_path, engine=trading)
    check = out.downgrade_checks["libffi"]
    old = installed_libffi(environment)
    assert check.verdict == "avoided" and Version(check.proposed) < old.version
    assert out.records["libffi"].version == old.version
    assert not out.downgrades
    _, plain = run(["numpy"], index, engine_name, prefix, tmp_path)
    assert files(out.records.values()) == files(plain.records.values())
    text = render_provenance(sis, out)
    assert (
        f"libffi: the engine proposed {check.proposed}, kept at {out.records['libffi'].version}"
        in text
    )


# -- the standalone CLI (in-process main) -----------------------------------------------------


def test_plan_json_and_explain_say_why(engine_name, prefix, tmp_path, capsys, monkeypatch):
    """The plan has a ``why:`` line under libffi's DOWNGRADED line, naming the request and
    the libglib record the JSON answer has; ``--json`` and ``explain --json`` carry the
    cause as data."""
    monkeypatch.setenv("CONDA_SOLVER_PLUS_CACHE", str(tmp_path / "cache"))
    args = ["libglib", "-c", str(CONDA_FORGE), "--override-channels", "--subdir", "linux-64"]
    args += ["--backend", engine_name, "--virtual", "__glibc=2.28", "-p", str(prefix)]
    assert cli.main(["solve", *args, "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    libglib = next(r for r in payload["records"] if r["name"] == "libglib")
    (downgrade,) = payload["transaction"]["downgrade"]
    assert downgrade["name"] == "libffi"
    cause = downgrade["cause"]
    assert (cause["kind"], cause["spec"], cause["proven"]) == ("requested", "libglib", True)
    assert cause["path"] == [f"libglib {libglib['version']}"]

    assert cli.main(["solve", *args]) == 0
    plan = capsys.readouterr().out
    section = plan.split("The following packages will be DOWNGRADED:", 1)[1].splitlines()
    line = next(i for i, text in enumerate(section) if text.strip().startswith("libffi "))
    assert section[line + 1] == f"    why: {cause['text']}"
    assert f"libglib {libglib['version']} needs {cause['dependency']}" in cause["text"]

    assert cli.main(["explain", *args, "--json"]) == 0
    explained = json.loads(capsys.readouterr().out)
    assert explained["downgrades"]["libffi"]["text"] == cause["text"]
    assert explained["downgrade_checks"]["libffi"]["verdict"] == "forced"


# -- through real conda ------------------------------------------------------------------------


def test_conda_install_v_says_what_forces_the_downgrade(
    engine_name, environment, prefix, tmp_path
):
    """``conda install libglib --update-specs -v --dry-run --solver=plus``: conda's plan
    downgrades libffi and plus's ``-v`` report names the request that forces it, in the
    words the standalone CLI uses."""
    require_module("conda", "the solve runs through real conda")
    env = conda_subprocess_env(
        tmp_path,
        CONDA_REPODATA_USE_SHARDS="false",
        CONDA_SUBDIR="linux-64",
        CONDA_OVERRIDE_GLIBC="2.28",
        CONDA_SOLVER_PLUS_BACKEND=engine_name,
        CONDA_SOLVER_PLUS_CACHE=str(tmp_path / "plus-cache"),
    )
    # --update-specs: conda's first attempt would otherwise freeze the installed packages
    command = [sys.executable, "-m", "conda", "install", "-p", str(prefix), "libglib", "-v"]
    command += ["--update-specs"]
    command += ["--dry-run", "--solver=plus", "--override-channels", "-c", CONDA_FORGE.as_uri()]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr  # --dry-run exits 1 on old condas
    assert "will be DOWNGRADED:" in proc.stdout, proc.stdout + proc.stderr
    downgraded = proc.stdout.split("will be DOWNGRADED:", 1)[1]
    assert "libffi" in downgraded.split("\n\n", 2)[1], proc.stdout
    assert "Downgrades, and what forces each:" in proc.stderr, proc.stderr
    old = installed_libffi(environment)
    label = f"libffi {old.version}-{old.build} --> "
    line = next(text for text in proc.stderr.splitlines() if text.strip().startswith(label))
    assert ": forced by libglib (requested on the command line): libglib " in line
    assert " needs libffi " in line and "; keeping it would move libglib " in line


def test_a_channel_priority_move_is_made_not_avoided(channels, engine_name, tmp_path, capsys):
    """conda's test_priority_1, third step: python 2.7.15 and pandas 0.23.4 installed from
    channel-4 (locked with priority disabled); with flexible priority and channel-2 first,
    the requested python and pandas move to channel-2's older builds and take their
    dependencies along. Those are channel priority's moves, not surprises: the guard must
    not keep channel-4's python by way of a floor on its dependencies, and the plan says
    the channel moved them."""
    from .channels import install_record

    ch2, ch4 = channels["channel-2"], channels["channel-4"]
    base = ["-c", str(ch2), "-c", str(ch4), "--override-channels", "--subdir", "linux-64"]
    base += ["--backend", engine_name, "--cache-dir", str(tmp_path / "cache")]
    specs = ["pandas", "python=2.7"]
    assert cli.main(["solve", *base, "--channel-priority", "disabled", *specs, "--json"]) == 0
    first = json.loads(capsys.readouterr().out)["records"]
    by_name = {r["name"]: r for r in first}
    assert by_name["python"]["url"].startswith(ch4.as_uri())  # the newest: channel-4's
    prefix = tmp_path / "env"
    for record in first:
        channel = ch2 if record["url"].startswith(ch2.as_uri()) else ch4
        history = next((s for s in specs if s.split("=")[0] == record["name"]), None)
        install_record(prefix, channel, record["subdir"], record["fn"], history)
    argv = ["explain", *base, "--channel-priority", "flexible", "-p", str(prefix), *specs]
    assert cli.main([*argv, "--json"]) == 0
    explained = json.loads(capsys.readouterr().out)
    final = {r["name"]: r for r in explained["records"]}
    for name in ("python", "pandas"):
        assert final[name]["url"].startswith(ch2.as_uri()), name
        assert explained["downgrade_checks"][name]["verdict"] == "channel"
