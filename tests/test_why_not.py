"""``why-not SPEC`` (conda_solver_plus/why_not.py) on real conda-forge records
(``../shared/data/repodata/lockfile-union``), on every engine: in-process, through the
standalone CLI (in-process ``main``) and through real conda (``conda plus why-not`` in a
subprocess against a prefix written from the same records).

The environments are ones users have: python 3.11 with pandas 2.2.1, whose builds need
``numpy <2``, asking for ``numpy>=2.1`` — kept out by a pin in ``conda-meta/pinned``, by
a history spec, by the request itself, or possible once pandas moves. Expected answers
come from the data: the chain and culprit must name the spec or pin the test put in, the
transaction of a possible answer must bring a numpy that ``numpy>=2.1`` matches, the
"newest as it is" must be the newest numpy that fits what holds it, and an unavailable
SPEC must list the versions the repodata file has, newest first.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from rattler import BuildString, MatchSpec, PackageRecord, Version

from conda_solver_plus import cli
from conda_solver_plus.repodata.gateway import load_index
from conda_solver_plus.session import SolveSession
from conda_solver_plus.settings import Settings
from conda_solver_plus.state import SolverInputState
from conda_solver_plus.virtual import virtual_packages
from conda_solver_plus.why_not import WhyNot, standalone_command, why_not

from .channels import channel_entries as conda_forge_entries
from .channels import write_channel_prefix
from .engines import conda_subprocess_env, require_module

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "repodata"
CONDA_FORGE = SHARED / "lockfile-union" / "conda-forge"
pytestmark = [
    pytest.mark.shared,
    pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared channel data not found at {SHARED}"),
]

#: the environment of every prefix case: pandas 2.2.1's builds need numpy <2
ENVIRONMENT = ("python=3.11", "pandas=2.2.1")
TARGET = "numpy>=2.1"
GLIBC = {"__glibc": "2.28"}


def repodata_records() -> list[dict]:
    """Every linux-64 record of the channel, read straight from the file (the second
    path the expected answers are computed on)."""
    return list(channel_entries("linux-64").values())


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    return load_index([CONDA_FORGE], ["linux-64"], cache_dir=cache, roots=None)


@pytest.fixture
def session(engine_name, tmp_path) -> SolveSession:
    return SolveSession(Settings(backend=engine_name, cache_dir=tmp_path / "cache"))


def ask(target, specs, index, session, prefix=None, virtual=GLIBC, **state) -> WhyNot:
    sis = SolverInputState(
        prefix, specs, virtual_packages=virtual_packages("linux-64", virtual), **state
    )
    command = lambda s: standalone_command(s, prefix=prefix and str(prefix))  # noqa: E731
    return why_not(target, sis, index, session, install_command=command)


@pytest.fixture(scope="module")
def environment(index, tmp_path_factory) -> list:
    """The records of ``ENVIRONMENT`` (one solve, on the rattler engine: any answer will
    do, it becomes the prefix's installed state)."""
    settings = Settings(backend="rattler", cache_dir=tmp_path_factory.mktemp("cache"))
    sis = SolverInputState(None, ENVIRONMENT, virtual_packages=virtual_packages("linux-64", GLIBC))
    return SolveSession(settings).solve(sis, index).current_solution


def write_prefix(prefix: Path, records, history: list[str], pinned: str = "") -> Path:
    """``prefix`` holding ``records`` of the shared conda-forge channel."""
    return write_channel_prefix(prefix, CONDA_FORGE, records, history, pinned)


def channel_entries(subdir: str) -> dict[str, dict]:
    return conda_forge_entries(CONDA_FORGE, subdir)


def newest_fitting(spec: str, python_minor: str) -> Version:
    """The newest numpy version the file has for ``python_minor`` that ``spec`` (the
    dependency holding it) allows."""
    allowed = MatchSpec(spec)
    versions = [
        Version(r["version"])
        for r in repodata_records()
        if r["name"] == "numpy"
        and allowed.matches(as_record(r))
        and any(f"python >={python_minor}," in d for d in r["depends"])
    ]
    return max(versions)


def pandas_numpy_dependency(environment) -> str:
    pandas = next(r for r in environment if r.name.normalized == "pandas")
    return next(d for d in pandas.depends if d.startswith("numpy"))


def cli_solve(session: SolveSession, args: list[str]) -> dict:
    """``conda-solver-plus solve ARGS --json`` (in-process ``main``) on the channel with
    ``session``'s engine: name -> record."""
    import contextlib
    import io

    argv = ["solve", *args, "-c", str(CONDA_FORGE), "--override-channels", "--no-add-pip"]
    argv += ["--subdir", "linux-64", "--virtual", "__glibc=2.28", "--json"]
    argv += ["--backend", session.backend.name, "--cache-dir", str(session.settings.cache_dir)]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(argv) == 0
    return {r["name"]: as_record(r) for r in json.loads(out.getvalue())["records"]}


def as_record(entry: dict) -> PackageRecord:
    """A repodata (or ``--json``) entry as a record a match spec can be matched against."""
    return PackageRecord(
        name=entry["name"],
        version=entry["version"],
        build=BuildString(entry["build"]),
        build_number=entry.get("build_number", 0),
        subdir=entry.get("subdir", "linux-64"),
    )


# -- in-process, both engines --------------------------------------------------------------


def test_pin_keeps_it_out(index, session, environment, tmp_path):
    """A pin on pandas in conda-meta/pinned: blocked, the pin named with its file, the
    chain through pandas' numpy dependency; the newest numpy as it is is the newest that
    dependency allows for python 3.11."""
    prefix = write_prefix(tmp_path / "env", environment, ["python=3.11", "pandas"], "pandas 2.2.1")
    answer = ask(TARGET, [], index, session, prefix=prefix)
    assert answer.verdict == "blocked" and answer.exit_code == 1
    pinned = [c for c in answer.culprits if c.kind == "pinned"]
    assert [c.spec for c in pinned] == [str(MatchSpec("pandas 2.2.1"))]
    assert pinned[0].origin == f"{prefix / 'conda-meta' / 'pinned'}:1"  # file:line
    dependency = pandas_numpy_dependency(environment)
    assert any(
        step.name == "numpy" and dependency.split(" ", 1)[1] in " ".join(step.specs)
        for chain in answer.chains
        for step in chain.steps
    ), answer.render()
    installed_numpy = next(r for r in environment if r.name.normalized == "numpy")
    assert answer.current is not None and answer.current.version == installed_numpy.version
    assert answer.newest_as_is is not None
    assert answer.newest_as_is.version == newest_fitting(dependency, "3.11")
    assert not answer.transaction and not answer.command
    assert [(w.kind, w.name, w.enough) for w in answer.ways_out] == [("pinned", "pandas", True)]


def test_pin_on_the_package_itself(index, session, environment, tmp_path):
    """``numpy <2`` pinned: conda refuses the request before solving; the pin is the
    culprit and the one-step chain says what it conflicts with."""
    prefix = write_prefix(tmp_path / "env", environment, ["python=3.11", "pandas"], "numpy <2")
    answer = ask(TARGET, [], index, session, prefix=prefix)
    assert answer.verdict == "blocked"
    assert [(c.kind, c.spec) for c in answer.culprits] == [("pinned", str(MatchSpec("numpy <2")))]
    assert answer.chains[0].partners == (str(MatchSpec("numpy <2")),)


def test_history_spec_keeps_it_out(index, session, environment, tmp_path):
    """pandas=2.2.1 asked for at creation (the history): blocked, the history culprit
    names the spec and conda-meta/history."""
    prefix = write_prefix(tmp_path / "env", environment, ["python=3.11", "pandas=2.2.1"])
    answer = ask(TARGET, [], index, session, prefix=prefix)
    assert answer.verdict == "blocked"
    history = [c for c in answer.culprits if c.kind == "history" and c.name == "pandas"]
    assert history and "2.2.1" in history[0].spec, answer.render()
    assert "conda-meta/history" in history[0].origin
    # the chain: the engine's own (libmamba), or its report where it gives none (rattler)
    assert answer.chains or "pandas 2.2.1" in answer.engine_message
    # requesting pandas too lifts its history spec: enough, and that request solves with a
    # numpy SPEC matches when the standalone CLI is asked for it (a second path)
    lifted = next(w for w in answer.ways_out if w.name == "pandas")
    assert lifted.kind == "history" and lifted.enough
    command = shlex.split(lifted.change.split(": ", 1)[1])
    assert command[:4] == ["conda", "install", "-p", str(prefix)]
    assert sorted(command[4:]) == sorted([TARGET, "pandas"])
    records = cli_solve(session, [*command[4:], "-p", str(prefix)])
    assert MatchSpec(TARGET).matches(records["numpy"])
    # python's history spec (and its installed hold: one change) does not free numpy alone
    assert [w.enough for w in answer.ways_out if w.name == "python"] == [False]


def test_possible_when_pandas_may_move(index, session, environment, tmp_path):
    """Only ``pandas`` asked for: numpy>=2.1 is possible; the transaction moves numpy to
    a version SPEC matches and pandas to a build whose numpy dependency allows it."""
    prefix = write_prefix(tmp_path / "env", environment, ["python=3.11", "pandas"])
    answer = ask(TARGET, [], index, session, prefix=prefix)
    assert answer.verdict == "possible" and answer.exit_code == 0, answer.render()
    change = answer.transaction
    assert change is not None
    _old, numpy = change.updated["numpy"]
    assert MatchSpec(TARGET).matches(numpy)
    moved = {**change.updated, **change.revised, **change.superseded, **change.downgraded}
    pandas = moved["pandas"][1]
    assert any(MatchSpec(d).matches(numpy) for d in pandas.depends if d.startswith("numpy"))
    assert answer.command == f"conda install -p {prefix} 'numpy>=2.1'"
    assert "## Package Plan ##" in answer.render()
    # conda's --freeze-installed is released when the request needs it (the attempts):
    # the same packages move
    frozen = ask(TARGET, [], index, session, prefix=prefix, update_modifier="freeze_installed")
    assert frozen.verdict == "possible" and frozen.transaction is not None
    assert frozen.transaction.to_json() == change.to_json()


def test_request_itself_and_present(index, session):
    """Without a prefix: ``numpy<2`` requested is the culprit (no record satisfies both);
    a SPEC the environment already satisfies is "present", exit 0."""
    both = ask(TARGET, ["python=3.11", "pandas=2.2.1"], index, session)
    assert both.verdict == "blocked"
    enough = {w.name: w.enough for w in both.ways_out if w.kind == "requested"}
    assert enough == {"pandas": True, "python": False}, both.render()
    blocked = ask(TARGET, ["python=3.12", "numpy<2"], index, session)
    assert blocked.verdict == "blocked"
    assert [(c.kind, c.spec) for c in blocked.culprits] == [
        ("requested", str(MatchSpec("numpy<2")))
    ]
    assert blocked.newest_as_is is not None
    assert blocked.newest_as_is.version == newest_fitting("numpy <2", "3.12")
    present = ask("numpy>=1.20", ["python=3.11", "numpy"], index, session)
    assert present.verdict == "present" and present.exit_code == 0
    assert present.current is not None and MatchSpec("numpy>=1.20").matches(present.current)


def test_strict_channel_priority(session, tmp_path):
    """nvidia before conda-forge, strict: nvidia has cuda-version but not 12.6, which only
    conda-forge has (read from the files). The culprit is channel priority, and flexible
    priority is enough; the newest cuda-version as it is is nvidia's newest."""
    channels = [CONDA_FORGE.parent / "nvidia", CONDA_FORGE]
    index = load_index(channels, ["linux-64"], cache_dir=tmp_path / "cache", roots=None)
    by_channel = {
        channel.name: {
            e["version"]
            for subdir in ("linux-64", "noarch")
            for e in _entries(channel / subdir / "repodata.json")
            if e["name"] == "cuda-version"
        }
        for channel in channels
    }
    assert "12.6" in by_channel["conda-forge"] and "12.6" not in by_channel["nvidia"]
    answer = ask("cuda-version=12.6", [], index, session, virtual={**GLIBC, "__cuda": "12.6"})
    assert answer.verdict == "blocked"
    assert [c.kind for c in answer.culprits] == ["channel-priority"], answer.render()
    assert [(w.kind, w.enough) for w in answer.ways_out] == [("channel-priority", True)]
    assert answer.newest_as_is is not None
    assert answer.newest_as_is.version == max(Version(v) for v in by_channel["nvidia"])


def _entries(path: Path) -> list[dict]:
    data = json.loads(path.read_text()) if path.is_file() else {}
    return [*data.get("packages", {}).values(), *data.get("packages.conda", {}).values()]


def test_no_channel_has_it(index, session):
    """A version no record has: the newest versions the file has; a typo: close names."""
    missing = ask("numpy>=9", ["python=3.11"], index, session)
    assert missing.verdict == "unavailable" and missing.exit_code == 1
    versions = sorted(
        {Version(r["version"]) for r in repodata_records() if r["name"] == "numpy"}, reverse=True
    )
    assert missing.available == [str(v) for v in versions[: len(missing.available)]]
    assert len(missing.available) == 5
    typo = ask("nunpy", ["python=3.11"], index, session)
    assert typo.verdict == "unavailable" and "numpy" in typo.suggestions
    assert "did you mean numpy" in typo.render()


# -- the standalone CLI --------------------------------------------------------------------


def test_cli_json_text_and_bad_input(engine_name, environment, tmp_path, capsys, monkeypatch):
    """``conda-solver-plus why-not`` on a prefix: the JSON answer (exit 1, the pin named),
    the text answer of a possible SPEC (exit 0), a SPEC that does not parse (exit 2, one
    line)."""
    monkeypatch.setenv("CONDA_SOLVER_PLUS_CACHE", str(tmp_path / "cache"))
    prefix = write_prefix(tmp_path / "env", environment, ["python=3.11", "pandas"], "pandas 2.2.1")
    common = ["-c", str(CONDA_FORGE), "--override-channels", "--subdir", "linux-64"]
    common += ["--backend", engine_name, "--virtual", "__glibc=2.28", "-p", str(prefix)]
    assert cli.main(["why-not", TARGET, *common, "--json"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["possible"] is False and payload["verdict"] == "blocked"
    pin = {"kind": "pinned", "spec": str(MatchSpec("pandas 2.2.1"))}
    assert pin.items() <= payload["culprits"][0].items()
    assert payload["current"]["name"] == "numpy" and payload["chains"]
    assert cli.main(["why-not", TARGET, *common, "--ignore-pinned"]) == 0
    text = capsys.readouterr().out
    assert f"{TARGET} is possible. To get it: conda install -p {prefix} --no-pin" in text
    assert "The following packages will be UPDATED:" in text
    assert cli.main(["why-not", "numpy>=>2", *common]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "numpy>=>2" in err


def test_cli_locked(engine_name, tmp_path, capsys, monkeypatch):
    """``--locked FILE``: the lockfile's environment is the one asked about (its channels,
    platform and records); possible once pandas moves, with the command that writes the
    lockfile back."""
    monkeypatch.setenv("CONDA_SOLVER_PLUS_CACHE", str(tmp_path / "cache"))
    lock = tmp_path / "pixi.lock"
    options = ["--backend", engine_name, "--virtual", "__glibc=2.28", "--no-add-pip"]
    channel = ["-c", str(CONDA_FORGE), "--override-channels", "--subdir", "linux-64"]
    assert cli.main(["solve", *ENVIRONMENT, *channel, *options, "--lock-out", str(lock)]) == 0
    capsys.readouterr()
    assert cli.main(["why-not", TARGET, "--locked", str(lock), *options, "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["verdict"] == "possible"
    assert payload["current"]["name"] == "numpy"
    assert not MatchSpec(TARGET).matches(as_record(payload["current"]))
    updated = {entry["name"]: entry["to"] for entry in payload["transaction"]["update"]}
    assert MatchSpec(TARGET).matches(as_record(updated["numpy"]))
    assert f"--locked {lock} --lock-out {lock}" in payload["command"]


# -- through real conda --------------------------------------------------------------------


def test_conda_plus_why_not(engine_name, environment, tmp_path, capsys, monkeypatch):
    """``conda plus why-not -p PREFIX numpy>=2.1 --json`` in a subprocess gives the answer
    the standalone CLI gives for the same prefix (verdict, culprits, chains' ends, the
    newest numpy as it is), and the conda command for a possible answer uses conda's
    -n/-p."""
    require_module("conda", "conda plus is a conda subcommand")
    prefix = write_prefix(tmp_path / "env", environment, ["python=3.11", "pandas"], "pandas 2.2.1")
    env = conda_subprocess_env(
        tmp_path,
        CONDA_REPODATA_USE_SHARDS="false",
        CONDA_SUBDIR="linux-64",
        CONDA_OVERRIDE_GLIBC="2.28",
        CONDA_SOLVER_PLUS_BACKEND=engine_name,
    )
    command = [sys.executable, "-m", "conda", "plus", "why-not", "-p", str(prefix), TARGET]
    command += ["--override-channels", "-c", CONDA_FORGE.as_uri(), "--json"]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    through_conda = json.loads(proc.stdout)

    monkeypatch.setenv("CONDA_SOLVER_PLUS_CACHE", str(tmp_path / "cache"))
    standalone = ["why-not", TARGET, "-c", str(CONDA_FORGE), "--override-channels"]
    standalone += ["--subdir", "linux-64", "--backend", engine_name, "--no-add-pip"]
    standalone += ["--virtual", "__glibc=2.28", "-p", str(prefix), "--json"]
    assert cli.main(standalone) == 1
    direct = json.loads(capsys.readouterr().out)
    assert through_conda["verdict"] == direct["verdict"] == "blocked"
    assert through_conda["engine"] == engine_name
    assert [(c["kind"], c["spec"]) for c in through_conda["culprits"]] == [
        (c["kind"], c["spec"]) for c in direct["culprits"]
    ]
    assert through_conda["culprits"][0]["origin"].startswith(str(prefix / "conda-meta" / "pinned"))
    for key in ("current", "newest_as_is"):
        assert through_conda[key]["version"] == direct[key]["version"], key
    assert through_conda["ways_out"] == direct["ways_out"]
    assert through_conda["ways_out"][0]["enough"] is True
