"""plus gives conda-libmamba-solver's package sets for realistic requests, through real conda.

Each request runs ``conda ... --dry-run --json`` in a subprocess on the shared conda-forge,
pytorch and nvidia records (``../shared/data/repodata/lockfile-union``, see its SOURCES.md):
once with ``--solver=libmamba`` (conda-libmamba-solver, the reference, asked at test time)
and once with ``--solver=plus`` per engine. The LINK and UNLINK sets (name, version, build,
channel) must be the same, except for the differences listed in ``KNOWN_DIFFERENCES``, each
with its reason and a check that the reason is the cause; a difference that is not listed,
or a listed one that no longer shows, fails. docs/differences.md describes them.

Skipped with a reason where ``../shared`` is absent (a user's checkout) or conda or
conda-libmamba-solver do not import; in a real-stack run the latter fail instead.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .engines import conda_subprocess_env, require_module

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "repodata"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.shared,
    pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared channel data not found at {SHARED}"),
]
UNION = SHARED / "lockfile-union"
PYTORCH_LOCK = SHARED / "lockfiles" / "pixi" / "examples-pytorch" / "pixi.lock"

require_module("conda", "the requests run through real conda")
require_module("conda_libmamba_solver", "its answers are the expected package sets")

#: one linked or unlinked package as conda's JSON reports it: name, version, build, channel
Package = tuple[str, str, str, str]


@dataclass(frozen=True)
class Answer:
    """What one ``conda ... --dry-run --json`` would do to the prefix."""

    link: frozenset[Package]
    unlink: frozenset[Package]
    #: name -> full record of every package conda would fetch (the pkgs dirs start empty)
    fetch: dict[str, dict] = field(compare=False, hash=False)

    def lines(self) -> list[str]:
        """The answer as sorted ``+``/``-`` lines, for assertion messages."""
        return sorted(f"+ {' '.join(p)}" for p in self.link) + sorted(
            f"- {' '.join(p)}" for p in self.unlink
        )


@dataclass(frozen=True)
class Request:
    """A realistic conda command on the shared channels (``id`` names it in the tests)."""

    id: str
    command: str  # create, install or update
    args: tuple[str, ...]
    channels: tuple[str, ...]  # lockfile-union channel names, highest priority first
    #: ``CONDA_OVERRIDE_CUDA``; empty means no ``__cuda`` (a GPU host must not change answers)
    cuda: str = ""
    #: the pixi.lock environment installed into the prefix first (update/install requests)
    locked: str | None = None


#: pixi.toml of examples-pytorch: the specs, channels and ``__cuda`` its ``cf-channel``
#: environment was locked with (2024-09: pytorch 2.4.0 cuda120 on python 3.12)
LOCKED_ENV = ("cf-channel", ("pytorch",), ("conda-forge",), "12.1")

REQUESTS = [
    Request("data-science", "create", ("python", "numpy", "scipy", "pandas"), ("conda-forge",)),
    # the same spec gives the cuda120 build where the driver is there, a CPU build where not
    Request("pytorch-2.4-cuda", "create", ("pytorch=2.4",), ("conda-forge",), cuda="12.1"),
    Request("pytorch-2.4-no-cuda", "create", ("pytorch=2.4",), ("conda-forge",)),
    Request("pytorch-cpu", "create", ("pytorch",), ("conda-forge",)),
    # the pixi.toml's pytorch-channel and nvidia-channel environments
    Request(
        "pytorch-channel-cuda",
        "create",
        ("pytorch", "pytorch-cuda", "numpy<2"),
        ("pytorch", "conda-forge"),
        cuda="12.1",
    ),
    Request(
        "nvidia-channel-cuda",
        "create",
        ("pytorch", "pytorch-cuda", "numpy<2"),
        ("nvidia", "pytorch", "conda-forge"),
        cuda="11.8",
    ),
    # the locked cf-channel environment, a year later: update everything, add scipy
    Request("locked-update-all", "update", ("--all",), LOCKED_ENV[2], LOCKED_ENV[3], "cf-channel"),
    Request("locked-install-scipy", "install", ("scipy",), LOCKED_ENV[2], "12.1", "cf-channel"),
]


def conda_env(tmp_path: Path, cuda: str, **extra: str) -> dict[str, str]:
    """The environment of a conda subprocess: this checkout's plus, an empty package cache
    in ``tmp_path`` (nothing is ever downloaded), monolithic repodata (plus reads
    repodata.json, and sharded loading would be a second variable), no network chatter,
    and fixed virtual packages so the answer does not depend on the host."""
    return conda_subprocess_env(
        tmp_path,
        CONDA_REPODATA_USE_SHARDS="false",
        CONDA_SUBDIR="linux-64",
        CONDA_OVERRIDE_CUDA=cuda,
        CONDA_OVERRIDE_GLIBC="2.28",
        **extra,
    )


def run_conda(
    tmp_path: Path,
    command: str,
    prefix: Path,
    args: Iterable[str],
    channels: Iterable[str],
    *,
    solver: str,
    engine: str | None = None,
    cuda: str = "",
    extra_env: dict[str, str] | None = None,
    root: Path = UNION,
) -> Answer:
    """``conda COMMAND -p PREFIX ARGS --dry-run --json`` on the union channels (or those
    under ``root``) with ``solver`` (and plus's ``engine``); fails the test with conda's
    output on an error."""
    env = conda_env(tmp_path, cuda, **(extra_env or {}))
    if engine is not None:
        env["CONDA_SOLVER_PLUS_BACKEND"] = engine
    cmd = [sys.executable, "-m", "conda", command, "-p", str(prefix), *args]
    cmd += ["--dry-run", "--json", f"--solver={solver}", "--override-channels"]
    for channel in channels:
        cmd += ["-c", (root / channel).as_uri()]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}"
    actions = json.loads(proc.stdout).get("actions", {})  # none: nothing to do

    def packages(key: str) -> frozenset[Package]:
        return frozenset(
            (p["name"], p["version"], p["build_string"], p["channel"])
            for p in actions.get(key, [])
        )

    fetch = {record["name"]: record for record in actions.get("FETCH", [])}
    return Answer(packages("LINK"), packages("UNLINK"), fetch)


def install_answer(prefix: Path, answer: Answer, specs: Iterable[str]) -> None:
    """Make ``prefix`` hold what ``answer`` links, the way conda leaves it: one
    ``conda-meta/<dist>.json`` per package (the repodata record plus the link fields; no
    files, as nothing was downloaded) and a history entry with the requested ``specs``."""
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True)
    specs = list(specs)
    dists = []
    for name, version, build, _ in sorted(answer.link):
        record = answer.fetch[name]
        dist = f"{name}-{version}-{build}"
        dists.append(f"+{record['channel']}::{dist}")
        requested = next((s for s in specs if re.split(r"[\s=<>!~]", s)[0] == name), "")
        (meta / f"{dist}.json").write_text(
            json.dumps(
                {
                    **record,
                    "files": [],
                    "paths_data": {"paths": [], "paths_version": 1},
                    "requested_spec": requested,
                    "extracted_package_dir": f"/opt/pkgs/{dist}",
                    "package_tarball_full_path": f"/opt/pkgs/{record['fn']}",
                },
                indent=2,
            )
        )
    (meta / "history").write_text(
        "==> 2024-09-24 10:00:00 <==\n"
        f"# cmd: conda create -p {prefix} {' '.join(specs)}\n"
        "# conda version: 24.7.1\n"
        + "".join(f"{d}\n" for d in dists)
        + f"# update specs: {specs!r}\n"
    )


def lock_specs(env: str) -> list[str]:
    """``name==version=build`` of every conda package of a pixi.lock environment
    (linux-64), to ask conda for exactly the locked set."""
    import yaml

    data = yaml.safe_load(PYTORCH_LOCK.read_text())
    specs = []
    for item in data["environments"][env]["packages"]["linux-64"]:
        if url := item.get("conda"):
            stem = url.rsplit("/", 1)[1].removesuffix(".conda").removesuffix(".tar.bz2")
            name, version, build = stem.rsplit("-", 2)
            specs.append(f"{name}=={version}={build}")
    return specs


@pytest.fixture(scope="module")
def locked_prefix(tmp_path_factory) -> Callable[[str], Path]:
    """A prefix holding a pixi.lock environment, as conda-libmamba-solver installs it when
    asked for each locked record, with the pixi.toml specs as its history: an environment
    solved a year before the channel's newest records."""
    prefixes: dict[str, Path] = {}

    def get(env: str) -> Path:
        if env not in prefixes:
            name, specs, channels, cuda = LOCKED_ENV
            assert env == name
            tmp = tmp_path_factory.mktemp(f"locked-{env}")
            prefix = tmp / "env"
            answer = run_conda(
                tmp, "create", prefix, lock_specs(env), channels, solver="libmamba", cuda=cuda
            )
            install_answer(prefix, answer, specs)
            prefixes[env] = prefix
        return prefixes[env]

    return get


def solve(request: Request, tmp_path: Path, prefix: Path, **kwargs) -> Answer:
    """``request`` through real conda into ``prefix``."""
    return run_conda(
        tmp_path,
        request.command,
        prefix,
        request.args,
        request.channels,
        cuda=request.cuda,
        **kwargs,
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory, locked_prefix) -> Callable[[Request], tuple[Answer, Path]]:
    """conda-libmamba-solver's answer to a request (once per module) and the prefix it
    was asked for."""
    answers: dict[str, tuple[Answer, Path]] = {}

    def get(request: Request) -> tuple[Answer, Path]:
        if request.id not in answers:
            tmp = tmp_path_factory.mktemp(f"libmamba-{request.id}")
            prefix = locked_prefix(request.locked) if request.locked else tmp / "env"
            answers[request.id] = (solve(request, tmp, prefix, solver="libmamba"), prefix)
        return answers[request.id]

    return get


# ---- known differences ------------------------------------------------------------------


def dependency_closure(roots: Iterable[str], records: dict[str, dict]) -> set[str]:
    """``roots`` and every package they pull in, by name, among ``records``."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen or name not in records:
            continue
        seen.add(name)
        todo += [dep.split()[0] for dep in records[name].get("depends", [])]
    return seen


def changed_names(expected: Answer, actual: Answer) -> set[str]:
    """Names whose linking or unlinking differs between the two answers."""
    return {p[0] for p in (expected.link ^ actual.link) | (expected.unlink ^ actual.unlink)}


def installed_record(prefix: Path, name: str) -> dict:
    """The ``conda-meta`` record of ``name`` in ``prefix``."""
    for path in (prefix / "conda-meta").glob(f"{name}-*.json"):
        record = json.loads(path.read_text())
        if record["name"] == name:
            return record
    raise AssertionError(f"{name} is not installed in {prefix}")


def pip_as_python_dependency(context: Context) -> None:
    """conda adds ``pip`` to every python 2/3 record's depends by default
    (``add_pip_as_python_dependency: true``; classic conda does, the rattler engine does
    through py-rattler). libmambapy 2.8.1 accepts the flag but adds pip only where pip is in
    python's own repo — never on a real channel, where pip is noarch — so
    conda-libmamba-solver installs python without pip (conda-libmamba-solver#930,
    conda#16125). plus's libmamba engine adds pip to python's depends itself
    (``backends.libmamba.with_pip_for_python``), so both engines follow the setting.

    The difference must be exactly pip and what it pulls in, added; and with the setting
    off, the engine must give conda-libmamba-solver's answer."""
    expected, actual = context.expected, context.actual
    names = {package[0] for package in actual.link - expected.link}
    assert "pip" in names, f"listed pip difference no longer shows:\n{context.diff()}"
    assert not {p[0] for p in expected.link - actual.link}, context.diff()
    assert actual.unlink == expected.unlink, context.diff()
    pulled_in = dependency_closure(["pip"], actual.fetch) - {p[0] for p in expected.link}
    assert names == pulled_in, context.diff()
    without = context.rerun(extra_env={"CONDA_ADD_PIP_AS_PYTHON_DEPENDENCY": "false"})
    assert not changed_names(expected, without), "\n".join(without.lines())


def libhwloc_side(answer: Answer, connected_to: Answer) -> set[str]:
    """The packages of ``answer`` that differ from ``connected_to`` and hang together with
    libhwloc through depends (either direction, in either answer's records)."""
    changed = changed_names(answer, connected_to)
    edges = [
        (record["name"], dep.split()[0])
        for each in (answer, connected_to)
        for record in each.fetch.values()
        for dep in record.get("depends", [])
    ]
    side, todo = set(), ["libhwloc"]
    while todo:
        name = todo.pop()
        if name in side:
            continue
        side.add(name)
        todo += [b for a, b in edges if a == name and b in changed]
        todo += [a for a, b in edges if b == name and a in changed]
    return side


def resolvo_takes_the_other_libhwloc(context: Context) -> None:
    """``pytorch=2.4`` on conda-forge with CUDA has two equally good environments:
    libhwloc 2.11.1 with the newest libxml2 and icu 78, or libhwloc 2.11.2, which takes
    libxml2 < 2.14 and so icu 75. libsolv takes the first, resolvo (the rattler engine)
    the second — every run, whatever the hash seed (the three-run test below holds the
    rattler engine to one answer). The difference must be exactly that choice and pip
    with what it pulls in (:func:`pip_as_python_dependency`)."""
    expected, actual = context.expected, context.actual
    chosen = {p[0]: p[1] for p in actual.link}
    assert chosen.get("libhwloc") != {p[0]: p[1] for p in expected.link}.get("libhwloc"), (
        f"listed libhwloc difference no longer shows:\n{context.diff()}"
    )
    tie = libhwloc_side(expected, actual)
    pip = dependency_closure(["pip"], actual.fetch) - {p[0] for p in expected.link}
    assert "pip" in pip and changed_names(expected, actual) == tie | pip, context.diff()


def python_kept_by_update_all(context: Context) -> set[str]:
    """conda-libmamba-solver's ``update --all`` gives every installed package an update
    job except python, which only gets its minor-version pin: libsolv keeps the installed
    python 3.12.x and updates its dependencies (libffi, xz) past what the newest python
    3.12 accepts. plus updates python like every other installed package (within its minor
    version, as classic conda does), so python's own dependencies stay within its bounds.

    The difference must be python, updated by plus and kept by conda-libmamba-solver, and
    nothing but packages reachable from the old and the new python's dependencies; returns
    the names it accounts for."""
    expected, actual = context.expected, context.actual
    old = installed_record(context.prefix, "python")
    assert "python" not in {p[0] for p in expected.link}, "conda-libmamba-solver updated python"
    new = actual.fetch.get("python")
    assert new is not None, f"listed python difference no longer shows:\n{context.diff()}"
    assert new["version"].split(".")[:2] == old["version"].split(".")[:2]
    old_deps = [dep.split()[0] for dep in old["depends"]]
    return dependency_closure(["python"], actual.fetch) | dependency_closure(
        old_deps, expected.fetch
    )


def python_updated_and_pip_added(context: Context) -> None:
    """``update --all`` of the locked environment on the libmamba engine: python is updated
    (:func:`python_kept_by_update_all`) and pip added with what it pulls in
    (:func:`pip_as_python_dependency`: the locked environment was installed without it),
    nothing else."""
    accounted = python_kept_by_update_all(context)
    added = {p[0] for p in context.actual.link - context.expected.link}
    assert "pip" in added, context.diff()
    accounted |= dependency_closure(["pip"], context.actual.fetch)
    assert changed_names(context.expected, context.actual) <= accounted, context.diff()


def rattler_update_all(context: Context) -> None:
    """``update --all`` of the year-old locked environment on the rattler engine: python is
    updated (:func:`python_kept_by_update_all`) and pip added with its dependencies
    (:func:`pip_as_python_dependency`, the locked environment was installed without it).
    Beyond those, resolvo reaches a different, equally consistent environment: it decides
    package by package where libsolv decides job by job (here e.g. other builds of libgcc,
    tbb and sympy, older mpc and mpfr), and it drops packages nothing needs any more (gmp)
    where libsolv keeps them. So only the two causes above are checked, and that the
    answers do differ."""
    python_kept_by_update_all(context)
    assert "pip" in {p[0] for p in context.actual.link - context.expected.link}, context.diff()
    assert context.actual != context.expected, "listed difference no longer shows"


@dataclass
class Context:
    """One comparison: the request, both answers, and a way to ask plus again."""

    request: Request
    engine: str
    prefix: Path
    expected: Answer
    actual: Answer
    rerun: Callable[..., Answer]

    def diff(self) -> str:
        """The differing lines, for assertion messages."""
        missing = sorted(set(self.expected.lines()) - set(self.actual.lines()))
        extra = sorted(set(self.actual.lines()) - set(self.expected.lines()))
        return f"conda-libmamba-solver only: {missing}\nplus[{self.engine}] only: {extra}"


#: (request id, engine) -> the check that plus's answer differs from conda-libmamba-solver's
#: for the documented reason (docstring), and still does
KNOWN_DIFFERENCES: dict[tuple[str, str], Callable[[Context], None]] = {
    # every fresh environment has python in it; the locked one was installed without pip,
    # and adding scipy leaves its python as it is
    **{
        (r.id, engine): pip_as_python_dependency
        for r in REQUESTS
        if r.command == "create"
        for engine in ("libmamba", "rattler")
    },
    ("pytorch-2.4-cuda", "rattler"): resolvo_takes_the_other_libhwloc,
    ("locked-update-all", "libmamba"): python_updated_and_pip_added,
    ("locked-update-all", "rattler"): rattler_update_all,
}


@pytest.mark.parametrize("request_", REQUESTS, ids=[r.id for r in REQUESTS])
def test_plus_gives_conda_libmamba_solvers_package_set(
    request_: Request, engine_name: str, reference, tmp_path: Path
) -> None:
    """plus, on each engine, links and unlinks what conda-libmamba-solver does."""
    expected, prefix = reference(request_)
    assert expected.link, "conda-libmamba-solver would change nothing: not a useful case"

    def rerun(**kwargs) -> Answer:
        return solve(request_, tmp_path, prefix, solver="plus", engine=engine_name, **kwargs)

    context = Context(request_, engine_name, prefix, expected, rerun(), rerun)
    known = KNOWN_DIFFERENCES.get((request_.id, engine_name))
    if known is not None:
        known(context)
    else:
        assert context.actual == expected, context.diff()


# ---- one answer, whatever chance decides ------------------------------------------------

#: realistic requests whose answer must not depend on chance (issue 25): pytorch with a
#: tie between two equally good answers (libhwloc 2.11.2 with icu 75, or 2.11.1 with icu
#: 78) that used to go either way through conda, the data-science stack, and ``update
#: --all`` of the year-old locked environment
REPRODUCIBLE = (
    next(r for r in REQUESTS if r.id == "pytorch-channel-cuda"),
    Request(
        "data-science",
        "create",
        ("python=3.12", "numpy", "scipy", "pandas", "matplotlib", "scikit-learn"),
        ("conda-forge",),
    ),
    next(r for r in REQUESTS if r.id == "locked-update-all"),
)
#: per run: the hash seed, and the copy of the channels (0: the union itself)
RUNS = (("0", 0), ("1", 1), ("4242", 2))


@pytest.fixture(scope="module")
def reordered_unions(tmp_path_factory) -> list[Path]:
    """The union channels, then two copies as another writer could serve them: the records
    of every repodata.json in another (seeded) order, the second copy also with
    ``packages.conda`` before ``packages``. Same records, same answer expected."""
    import random

    roots = [UNION]
    for copy in (1, 2):
        root = tmp_path_factory.mktemp(f"union-reordered-{copy}")
        shuffle = random.Random(copy)
        for channel in ("conda-forge", "pytorch", "nvidia"):
            for source in (UNION / channel).glob("*/repodata.json"):
                repodata = json.loads(source.read_text())
                keys = list(repodata)[:: -1 if copy == 2 else 1]
                reordered = {}
                for key in keys:
                    value = repodata[key]
                    if key in ("packages", "packages.conda"):
                        entries = list(value.items())
                        shuffle.shuffle(entries)
                        value = dict(entries)
                    reordered[key] = value
                target = root / channel / source.parent.name / "repodata.json"
                target.parent.mkdir(parents=True)
                target.write_text(json.dumps(reordered))
        roots.append(root)
    return roots


def final_environment(prefix: Path, answer: Answer) -> frozenset[tuple[str, str, str]]:
    """(name, version, build) of the environment ``answer`` leaves in ``prefix``."""
    meta = prefix / "conda-meta"
    installed = (
        {
            (record["name"], record["version"], record["build"])
            for record in (json.loads(path.read_text()) for path in meta.glob("*.json"))
        }
        if meta.is_dir()
        else set()
    )
    removed = {package[:3] for package in answer.unlink}
    return frozenset((installed - removed) | {package[:3] for package in answer.link})


def cli_arguments(request: Request, prefix: Path, engine: str, root: Path, cache: Path) -> list:
    """The standalone CLI's ``solve`` for ``request`` (same virtual packages as the conda
    runs)."""
    argv = ["solve", "--json", "--backend", engine, "--subdir", "linux-64"]
    argv += ["--virtual", "__glibc=2.28", "--virtual", f"__cuda={request.cuda}"]
    argv += ["--override-channels", "--cache-dir", str(cache)]
    for channel in request.channels:
        argv += ["-c", (root / channel).as_uri()]
    if request.command == "create":
        return argv + list(request.args)
    return [*argv, "-p", str(prefix), "--update-all"]


def environment_of(cli_output: str) -> frozenset[tuple[str, str, str]]:
    """(name, version, build) of the CLI's ``--json`` environment."""
    records = json.loads(cli_output)["records"]
    return frozenset((r["name"], r["version"], r["build"]) for r in records)


@pytest.mark.parametrize("request_", REPRODUCIBLE, ids=[r.id for r in REPRODUCIBLE])
def test_one_answer_whatever_the_hash_seed_or_the_order_of_records(
    request_: Request, engine_name: str, reordered_unions, locked_prefix, tmp_path: Path, capsys
) -> None:
    """The same request on the same records gives one environment on each engine, through
    conda, standalone and in-process, in processes with different ``PYTHONHASHSEED`` (conda
    keeps the requested specs in a frozenset, whose order changes with it) over copies of
    the channels with the records in other orders (libsolv breaks ties by the order records
    were added). The union itself is the first run."""
    from conda_solver_plus import cli

    prefix = locked_prefix(request_.locked) if request_.locked else tmp_path / "env"
    answers: dict[str, set[frozenset]] = {"conda": set(), "standalone": set(), "in-process": set()}
    for seed, copy in RUNS:
        root = reordered_unions[copy]
        work = tmp_path / f"run-{seed}"
        answer = solve(
            request_,
            work,
            prefix,
            solver="plus",
            engine=engine_name,
            root=root,
            extra_env={"PYTHONHASHSEED": seed},
        )
        answers["conda"].add(final_environment(prefix, answer))
        argv = cli_arguments(request_, prefix, engine_name, root, work / "cache")
        env = {**conda_subprocess_env(work), "PYTHONHASHSEED": seed}
        cmd = [sys.executable, "-m", "conda_solver_plus", *argv]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}"
        answers["standalone"].add(environment_of(proc.stdout))
        capsys.readouterr()
        assert cli.main(cli_arguments(request_, prefix, engine_name, root, work / "cache-2")) == 0
        answers["in-process"].add(environment_of(capsys.readouterr().out))
    for front_end, seen in answers.items():
        first = min(seen, key=sorted)
        assert len(seen) == 1, f"{front_end}: {len(seen)} answers in {len(RUNS)} runs: " + str(
            [sorted(a ^ first) for a in seen]
        )
    assert answers["conda"] == answers["standalone"] == answers["in-process"], answers
