"""
The answers plus gives to every benchmark and agreement request, to compare before and after
a change that must not change them (issue 23: "answers are identical before and after on
every benchmark and agreement request, sharded and monolithic, CLI and conda").

    python benchmarks/answers.py OUT.json                  # solve every case, write answers
    python benchmarks/answers.py --compare A.json B.json   # the differing cases; exit 1 if any

The plus under test is the one ``import conda_solver_plus`` finds (put a checkout first on
``PYTHONPATH`` to test it); its checkout's ``tests`` provide the agreement requests, and
every subprocess (the CLI, conda) loads that same checkout (checked, and written to the
output's ``meta``).

**Requests.** ``benchmarks/run.py``'s workloads (their virtual packages: glibc 2.39, the
CUDA each names; the ``update --all`` of the pixi lock's ``cf-channel`` environment),
``benchmarks/shards.py``'s (the same data-science specs; the 4-record channel's ``shout``),
``tests/test_conda_agreement.py``'s (glibc 2.28; the locked environment installed by
conda-libmamba-solver, made once and kept, so every run starts from the same prefix),
``tests/test_conda_shards.py``'s realistic ones, and the 259-package request of the issue.

**Where.** *union*: the shared conda-forge, pytorch and nvidia records; *grown*:
``run.py``'s conda-forge-sized channel and its sharded copy made by ``shards.py``; *sudoku*
(unsolvable; plus's own time limit of 15 s, as ``run.py`` gives it), *tiny* (``shards.py``'s
floor) and a shards-only copy of the union's conda-forge. A sharded copy has CEP-16 files
(written by ``conda-solver-plus shard``) beside ``repodata.json``, as conda-forge serves
both; the copies are made once into ``--data`` and reused.

**How.** Each case is one request on one engine (``--backend`` /
``CONDA_SOLVER_PLUS_BACKEND``) through one front end and repodata form:

- ``cli-mono``: ``python -m conda_solver_plus solve --json`` on the local monolithic
  channel (on the grown one, the first solve starts plus's local split of the large file
  and later ones of the group read it);
- ``cli-sharded``: the same on the local sharded copy (the CLI reads the shards);
- ``cli-http``: the sharded copy served from 127.0.0.1 (``channel_server.py``);
- ``conda-mono``: ``python -m conda ... --dry-run --json --solver=plus`` on the local
  monolithic channel (``file://``), conda's shards off (``CONDA_REPODATA_USE_SHARDS``);
- ``conda-sharded``: conda on the served sharded copy, shards on (served: with
  ``repodata.json`` beside the shards, conda 26.7 reads a ``file://`` channel's monolithic
  file even with shards on);
- ``conda-mono-http``: conda on the served sharded copy, shards off (``shards.py``'s
  monolithic row).

Cases of one (place, form, engine) share their caches, in a fixed order, as a user's
commands in a row do; ``--jobs`` groups run at once. Each case runs with
``PYTHONHASHSEED=0`` and at most :data:`CASE_MEMORY` of address space. The answer is the
sorted records ``channel/subdir::name-version-build`` (the CLI's environment; conda's ``+``
LINK and ``-`` UNLINK), the channel by the name the request gives it, so the same answer
reads the same in every form and on any port; an unsolvable request gives
``{"error": kind}`` (the CLI's error type, conda's exception name, ``timeout`` or
``exit N``). Run times and each failing case's output go to ``meta``, which ``--compare``
ignores. Every case gives one answer on unchanged code (issue 25 removed the two that did
not: resolvo's libhwloc tie and sudoku through conda, both from conda's frozenset of specs),
so ``--compare`` counts every difference.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402  (the shared channels, the grown channel, the pixi-lock prefix)
import shards  # noqa: E402  (the grown sharded channel, the 4-record channel)
from channel_server import serve  # noqa: E402

#: the issue's request through conda on the grown sharded channel (259 packages)
BIG = shards.REQUESTS["large"]
SUBDIR = "linux-64"
#: what a case may take before it counts as ``timeout`` (the grown channel, cold)
CASE_TIMEOUT = 300.0
#: the address space a case may take: a request that runs away (sudoku once took 24 GB
#: through conda) fails alone instead of the machine's out-of-memory killer picking
CASE_MEMORY = 4 << 30
CLI_FORMS = ("cli-mono", "cli-sharded", "cli-http")
CONDA_FORMS = ("conda-mono", "conda-sharded")
ENGINES = ("libmamba", "rattler")


@dataclass(frozen=True)
class Request:
    """One request: specs on named channels of a place, with fixed virtual packages."""

    id: str
    specs: tuple[str, ...]
    channels: tuple[str, ...] = ("conda-forge",)
    verb: str = "create"  # create, install or update-all
    #: ``CONDA_OVERRIDE_*`` settings (the CLI reads them as conda does)
    virtual: tuple[tuple[str, str], ...] = ()
    #: the prefix the request changes (a key of :func:`master_prefixes`), or none
    prefix: str | None = None
    #: plus's own time limit (``CONDA_SOLVER_PLUS_TIMEOUT``), for a request no engine
    #: finishes in minutes
    plus_timeout: float | None = None


@dataclass(frozen=True)
class Place:
    """Channels in two forms, by the names requests use: ``mono`` (monolithic only) and
    ``sharded`` (CEP-16 files, with or without ``repodata.json`` beside them)."""

    name: str
    mono: dict[str, Path]
    sharded: dict[str, Path]
    forms: tuple[str, ...]
    requests: tuple[Request, ...]


@dataclass
class Case:
    place: Place
    request: Request
    form: str
    engine: str

    @property
    def id(self) -> str:
        return f"{self.place.name}/{self.request.id}/{self.form}/{self.engine}"


@dataclass
class Setup:
    """What every case needs: the plus under test, the served data, a scratch directory."""

    root: Path  # the checkout of the plus under test
    data: Path
    url: str  # where ``data`` is served
    scratch: Path
    prefixes: dict[str, Path]


# -- requests -------------------------------------------------------------------------------


def overrides(virtual: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """``CONDA_OVERRIDE_*`` for virtual packages given as name -> version (``__unix`` is
    there on any linux; no ``__cuda`` means none). ``run.py``'s ``__archspec`` 1 is a
    package made directly; the variable takes a microarchitecture name, the generic one."""
    settings = {"CONDA_OVERRIDE_CUDA": ""}
    for name, version in virtual.items():
        if name == "__archspec":
            settings["CONDA_OVERRIDE_ARCHSPEC"] = "x86_64"
        elif name != "__unix":
            settings[f"CONDA_OVERRIDE_{name.lstrip('_').upper()}"] = version
    return tuple(sorted(settings.items()))


def benchmark_requests(place: str) -> list[Request]:
    """``benchmarks/run.py``'s workloads (sudoku has its own place) and the issue's big one."""
    out = []
    workloads = cast(dict[str, dict[str, Any]], run.WORKLOADS)
    for name, workload in workloads.items():
        if (workload.get("channel") == "sudoku") != (place == "sudoku"):
            continue
        virtual = overrides({**run.LINUX_VIRTUAL, **workload["virtual"]})
        if workload.get("update_all"):
            prefix = f"{workload['prefix_from_lock']}@{place}"
            out.append(Request(name, (), verb="update-all", virtual=virtual, prefix=prefix))
        elif place == "sudoku":
            out.append(
                Request(
                    name, tuple(workload["specs"]), ("sudoku",), virtual=virtual, plus_timeout=15
                )
            )
        else:
            out.append(Request(name, tuple(workload["specs"]), virtual=virtual))
    if place != "sudoku":
        out.append(Request("big-259", tuple(BIG), virtual=overrides(run.LINUX_VIRTUAL)))
    return out


def agreement_requests() -> list[Request]:
    """tests/test_conda_agreement.py's requests with its virtual packages, and
    tests/test_conda_shards.py's realistic ones."""
    from tests.test_conda_agreement import REQUESTS
    from tests.test_conda_shards import REALISTIC

    out = []
    for r in REQUESTS:
        virtual = (("CONDA_OVERRIDE_CUDA", r.cuda), ("CONDA_OVERRIDE_GLIBC", "2.28"))
        if r.command == "update":
            assert r.args == ("--all",), r
            verb, specs = "update-all", tuple[str, ...]()
        else:
            verb, specs = r.command, r.args
        prefix = f"agreement-{r.locked}@union" if r.locked else None
        out.append(Request(f"agreement-{r.id}", specs, r.channels, verb, virtual, prefix))
    plain = (("CONDA_OVERRIDE_CUDA", ""), ("CONDA_OVERRIDE_GLIBC", "2.28"))
    out += [Request(f"shards-{name}", specs, virtual=plain) for name, specs in REALISTIC.items()]
    return out


def places(data: Path) -> list[Place]:
    copies = data / "answers-channels"
    union = {name: run.UNION / name for name in ("conda-forge", "pytorch", "nvidia")}
    tiny = shards.tiny_channel(data)
    datasci = Request("create-datasci", ("python=3.12", "numpy", "scipy", "pandas"))
    return [
        Place(
            "grown",
            {"conda-forge": run.grown_channel(data)},
            {"conda-forge": shards.sharded_channel(data)},
            (*CLI_FORMS, *CONDA_FORMS, "conda-mono-http"),
            tuple(benchmark_requests("grown")),
        ),
        Place(
            "union",
            union,
            {name: copies / "union" / name for name in union},
            (*CLI_FORMS, *CONDA_FORMS),
            tuple(benchmark_requests("union") + agreement_requests()),
        ),
        Place(
            "union-shards-only",
            {"conda-forge": union["conda-forge"]},
            {"conda-forge": copies / "union-shards-only" / "conda-forge"},
            ("cli-sharded", "conda-sharded"),
            (datasci,),
        ),
        Place(
            "sudoku",
            {"sudoku": run.SUDOKU},
            {"sudoku": copies / "sudoku"},
            ("cli-mono", "cli-sharded", *CONDA_FORMS),
            tuple(benchmark_requests("sudoku")),
        ),
        Place(
            "tiny",
            {"conda-forge": tiny},
            {"conda-forge": copies / "tiny" / tiny.name},
            ("cli-mono", "cli-sharded", *CONDA_FORMS),
            (Request("shout", ("shout",)),),
        ),
    ]


# -- fixtures: sharded copies and installed prefixes, made once -----------------------------


def plus_env(root: Path, work: Path, **settings: str) -> dict[str, str]:
    """A subprocess environment loading the plus of ``root`` (tests/engines.py's), with
    conda's and plus's caches, .condarc and envs in ``work``."""
    from tests.engines import conda_subprocess_env

    env = conda_subprocess_env(
        work,
        CONDARC=str(work / "condarc"),
        CONDA_ENVS_DIRS=str(work / "envs"),
        CONDA_SOLVER_PLUS_CACHE=str(work / "plus-cache"),
        CONDA_SUBDIR=SUBDIR,
        **settings,
    )
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(root), env["PYTHONPATH"]
    return env


def sharded_copy(root: Path, source: Path, target: Path, keep_json: bool = True) -> None:
    """``source``'s linux-64 and noarch at ``target`` with CEP-16 files written by
    ``conda-solver-plus shard`` (without ``keep_json``, the monolithic files go), once."""
    done = target / "SHARDED"
    if done.exists():
        return
    shutil.rmtree(target, ignore_errors=True)
    for subdir in (SUBDIR, "noarch"):
        if (source / subdir / "repodata.json").exists():
            (target / subdir).mkdir(parents=True)
            shutil.copyfile(source / subdir / "repodata.json", target / subdir / "repodata.json")
    with tempfile.TemporaryDirectory() as work:
        subprocess.run(
            [sys.executable, "-m", "conda_solver_plus", "shard", "-q", str(target)],
            check=True,
            env=plus_env(root, Path(work)),
        )
    if not keep_json:
        for path in target.glob("*/repodata.json*"):
            path.unlink()
    done.write_text(json.dumps({"made_by": str(root)}))


def make_copies(root: Path, all_places: list[Place]) -> None:
    for place in all_places:
        if place.name == "grown":
            continue  # shards.sharded_channel made it
        for name, sharded in place.sharded.items():
            keep_json = place.name != "union-shards-only"
            sharded_copy(root, place.mono[name], sharded, keep_json)


def master_prefixes(data: Path) -> dict[str, Path]:
    """Installed environments the update/install requests start from, made once into
    ``data`` (so before and after start from the same files): run.py's pixi-lock prefix
    on the union and the grown channel, and tests/test_conda_agreement.py's locked
    environment as conda-libmamba-solver installs it."""
    from tests.test_conda_agreement import LOCKED_ENV, install_answer, lock_specs, run_conda

    out = {}
    base = data / "answers-prefixes"
    for place, channel in (
        ("union", run.UNION / "conda-forge"),
        ("grown", run.grown_channel(data)),
    ):
        workloads = cast(dict[str, dict[str, Any]], run.WORKLOADS)
        for workload in workloads.values():
            env = workload.get("prefix_from_lock")
            if env:
                prefix = base / f"{env}@{place}"
                if not (prefix / "conda-meta" / "history").exists():
                    shutil.rmtree(prefix, ignore_errors=True)
                    run._prefix_from_lock(env, channel, prefix, workload["history"])
                out[f"{env}@{place}"] = prefix
    env, specs, channels, cuda = LOCKED_ENV
    prefix = base / f"agreement-{env}@union"
    if not (prefix / "conda-meta" / "history").exists():
        shutil.rmtree(prefix, ignore_errors=True)
        with tempfile.TemporaryDirectory() as tmp:
            answer = run_conda(
                Path(tmp),
                "create",
                prefix,
                lock_specs(env),
                channels,
                solver="libmamba",
                cuda=cuda,
            )
        install_answer(prefix, answer, specs)
    out[f"agreement-{env}@union"] = prefix
    return out


def prefix_for(case: Case, setup: Setup, work: Path) -> Path:
    """A copy of the case's prefix whose records name the channels the case uses."""
    master = setup.prefixes[case.request.prefix or ""]
    prefix = work / "prefixes" / f"{case.request.id}-{case.form}"
    shutil.rmtree(prefix, ignore_errors=True)
    shutil.copytree(master, prefix)
    for path in (prefix / "conda-meta").iterdir():
        text = path.read_text()
        for name, directory in case.place.mono.items():
            text = text.replace(directory.as_uri(), channel_url(case, setup, name))
        path.write_text(text)
    return prefix


# -- one case -------------------------------------------------------------------------------


def channel_url(case: Case, setup: Setup, name: str) -> str:
    if case.form in ("cli-mono", "conda-mono"):
        return case.place.mono[name].as_uri()
    if case.form == "cli-sharded":
        return case.place.sharded[name].as_uri()
    served = case.place.sharded[name].relative_to(setup.data)
    return f"{setup.url}/{served.as_posix()}"


def command(case: Case, setup: Setup, work: Path) -> list[str]:
    request = case.request
    channels = [arg for name in request.channels for arg in ("-c", channel_url(case, setup, name))]
    prefix = prefix_for(case, setup, work) if request.prefix else work / "env"
    if case.form.startswith("cli"):
        cmd = [sys.executable, "-m", "conda_solver_plus", "solve", "--json", "-q"]
        cmd += ["--override-channels", *channels, "--subdir", SUBDIR, "--backend", case.engine]
        cmd += ["--cache-dir", str(work / "plus-cache")]
        if request.prefix:
            cmd += ["-p", str(prefix)]
        if request.verb == "update-all":
            cmd.append("--update-all")
        return [*cmd, *request.specs]
    verb = ["update", "--all"] if request.verb == "update-all" else [request.verb]
    return [
        sys.executable,
        "-m",
        "conda",
        *verb,
        "-p",
        str(prefix),
        *request.specs,
        "--dry-run",
        "--json",
        "--solver=plus",
        "--override-channels",
        *channels,
    ]


def environment(case: Case, setup: Setup, work: Path) -> dict[str, str]:
    settings = dict(case.request.virtual)
    settings["CONDA_SOLVER_PLUS_BACKEND"] = case.engine
    settings["PYTHONHASHSEED"] = "0"  # what depends on set order does so alike every run
    settings["CONDA_REPODATA_USE_SHARDS"] = "true" if case.form == "conda-sharded" else "false"
    if case.request.plus_timeout:
        settings["CONDA_SOLVER_PLUS_TIMEOUT"] = str(case.request.plus_timeout)
    return plus_env(setup.root, work, **settings)


def channel_names(case: Case, setup: Setup) -> dict[str, str]:
    """The case's channel URLs -> the names its request gives them, so a record shows the
    same in every form (a directory, its sharded copy, served on any port)."""
    return {channel_url(case, setup, name).rstrip("/"): name for name in case.place.mono}


def answer_of(case: Case, setup: Setup, code: int, stdout: str) -> dict:
    """The case's answer from the command's JSON: sorted records, or the error kind."""
    names = channel_names(case, setup)

    def label(url: str) -> str:
        return names.get(url.rstrip("/"), url)

    if case.form.startswith("cli"):
        try:
            document = json.loads(stdout)
        except json.JSONDecodeError:
            return {"error": f"exit {code}"}
        if "error" in document:
            return {"error": document["error"].get("type", f"exit {code}")}
        return {
            "records": sorted(
                f"{label(r['channel'])}/{r['subdir']}::{r['name']}-{r['version']}-{r['build']}"
                for r in document["records"]
            )
        }
    document = run.conda_json(stdout)
    if "exception_name" in document or code:
        return {"error": document.get("exception_name", f"exit {code}")}
    actions = document.get("actions", {})  # none: nothing to do
    return {
        "records": sorted(
            f"{sign}{label(p['base_url'])}/{p['platform']}::{p['dist_name']}"
            for sign, key in (("+", "LINK"), ("-", "UNLINK"))
            for p in actions.get(key, [])
        )
    }


def solve_case(case: Case, setup: Setup, work: Path) -> tuple[dict, dict]:
    """``(answer, meta)`` of one case run in ``work`` (its group's caches)."""
    cmd = command(case, setup, work)
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd,
            env=environment(case, setup, work),
            capture_output=True,
            text=True,
            timeout=CASE_TIMEOUT,
            cwd=work,
            preexec_fn=_limit_memory,
        )
    except subprocess.TimeoutExpired:
        return {"error": "timeout"}, {"seconds": CASE_TIMEOUT}
    answer = answer_of(case, setup, proc.returncode, proc.stdout)
    meta: dict[str, Any] = {
        "seconds": round(time.perf_counter() - started, 2),
        "exit": proc.returncode,
    }
    if "error" in answer:
        meta["stdout"] = proc.stdout[:1000]
        meta["stderr"] = proc.stderr[-2000:]
    return answer, meta


def _limit_memory() -> None:
    """In the case's process, before it runs: :data:`CASE_MEMORY`."""
    resource.setrlimit(resource.RLIMIT_AS, (CASE_MEMORY, CASE_MEMORY))


def run_group(cases: list[Case], setup: Setup) -> dict[str, tuple[dict, dict]]:
    """Cases of one (place, form, engine) in order, sharing one set of caches."""
    first = cases[0]
    work = setup.scratch / f"{first.place.name}-{first.form}-{first.engine}"
    work.mkdir(parents=True)
    results = {}
    for case in cases:
        results[case.id] = solve_case(case, setup, work)
        answer, meta = results[case.id]
        shown = answer.get("error") or f"{len(answer['records'])} records"
        print(f"{case.id:<64} {meta['seconds']:7.2f}s  {shown}", flush=True)
    return results


# -- the plus under test --------------------------------------------------------------------


#: prints where a subprocess imports plus from, and the class conda's ``--solver=plus`` uses
_WHICH_PLUS = (
    "import inspect, conda_solver_plus; print(conda_solver_plus.__file__); "
    "from conda.plugins.manager import get_plugin_manager; "
    "backend = get_plugin_manager().get_solver_backend('plus'); "
    "print(next(inspect.getfile(c) for c in backend.__mro__ "
    "if c.__module__.startswith('conda_solver_plus')))"
)


def check_subprocesses_load(root: Path, scratch: Path) -> list[str]:
    """The files a CLI or conda subprocess loads plus from; each must be in ``root``."""
    work = scratch / "which"
    work.mkdir()
    out = subprocess.run(
        [sys.executable, "-c", _WHICH_PLUS],
        env=plus_env(root, work),
        capture_output=True,
        text=True,
        check=True,
        cwd=work,
    ).stdout.split()
    for path in out:
        if not Path(path).resolve().is_relative_to(root):
            raise SystemExit(f"a subprocess loads plus from {path}, not from {root}")
    return out


def describe(root: Path) -> dict:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True
        ).stdout.strip()

    return {
        "root": str(root),
        "commit": git("rev-parse", "HEAD"),
        "dirty": git("status", "--short"),
    }


def cases_of(all_places: list[Place], only: list[str] | None) -> list[list[Case]]:
    """Cases grouped by (place, form, engine); the grown channel's groups first (the
    longest)."""
    groups = []
    for place in all_places:
        for form in place.forms:
            for engine in ENGINES:
                group = [Case(place, request, form, engine) for request in place.requests]
                group = [c for c in group if not only or any(o in c.id for o in only)]
                if group:
                    groups.append(group)
    return groups


def solve_all(out: Path, data: Path, jobs: int, only: list[str] | None) -> int:
    import conda_solver_plus

    root = Path(conda_solver_plus.__file__).resolve().parents[1]
    sys.path.insert(0, str(root))  # the checkout's tests: its requests and helpers
    # imported now, before shards.tiny_channel puts this script's checkout first on sys.path
    import tests.engines

    assert Path(tests.engines.__file__).is_relative_to(root), tests.engines.__file__
    for key in [k for k in os.environ if k.startswith("CONDA_")]:
        del os.environ[key]  # an activated environment's settings are not the cases'
    started = time.perf_counter()
    tested = describe(root)  # other work may commit to the checkout while the cases run
    all_places = places(data)
    make_copies(root, all_places)
    prefixes = master_prefixes(data)
    groups = cases_of(all_places, only)
    scratch = Path(tempfile.mkdtemp(prefix="plus-answers-"))
    try:
        loaded = check_subprocesses_load(root, scratch)
        print(f"plus under test: {root} (subprocesses load {', '.join(loaded)})", flush=True)
        with serve(data) as (url, _traffic):
            setup = Setup(root, data, url, scratch, prefixes)
            with ThreadPoolExecutor(jobs) as pool:
                results = {
                    case_id: result
                    for group in pool.map(lambda g: run_group(g, setup), groups)
                    for case_id, result in group.items()
                }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    ids = [case.id for group in groups for case in group]
    kinds = Counter(case_id.split("/")[2] for case_id in ids)
    document = {
        "meta": {
            **tested,
            "commit_at_end": describe(root)["commit"],
            "subprocesses_load": loaded,
            "seconds": round(time.perf_counter() - started, 1),
            "cases_per_form": dict(sorted(kinds.items())),
            "cases": {case_id: results[case_id][1] for case_id in ids},
        },
        "answers": {case_id: results[case_id][0] for case_id in sorted(ids)},
    }
    out.write_text(json.dumps(document, indent=1) + "\n")
    errors = Counter(a.get("error") for a in document["answers"].values() if "error" in a)
    print(
        f"{len(ids)} cases {dict(kinds)} in {document['meta']['seconds']} s; "
        f"errors {dict(errors)}; written to {out}"
    )
    return 0


# -- comparing two runs ---------------------------------------------------------------------


def differences(a: dict, b: dict) -> Iterable[tuple[str, str]]:
    """``(case id, what differs)`` for each case whose answer differs or that one side
    lacks."""
    for case_id in sorted({*a, *b}):
        if case_id not in a or case_id not in b:
            yield case_id, f"only in {'the first' if case_id in a else 'the second'}"
        elif a[case_id] != b[case_id]:
            first, second = a[case_id], b[case_id]
            if "records" in first and "records" in second:
                gone = sorted(set(first["records"]) - set(second["records"]))
                new = sorted(set(second["records"]) - set(first["records"]))
                what = f"first only {gone}; second only {new}"
            else:
                what = f"{_short(first)} -> {_short(second)}"
            yield case_id, what


def _short(answer: dict) -> str:
    return answer["error"] if "error" in answer else f"{len(answer['records'])} records"


def compare(first: Path, second: Path) -> int:
    a = json.loads(first.read_text())["answers"]
    b = json.loads(second.read_text())["answers"]
    found = [f"{case_id}: {what}" for case_id, what in differences(a, b)]
    for line in found:
        print(line)
    print(f"{len(found)} of {len({*a, *b})} cases differ")
    return 1 if found else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("out", nargs="?", type=Path, help="where to write the answers (JSON)")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"))
    parser.add_argument(
        "--data", type=Path, default=Path.home() / ".cache/conda-solver-plus-bench"
    )
    parser.add_argument("--jobs", type=int, default=2, help="groups of cases run at once")
    parser.add_argument("--only", action="append", help="cases whose id contains this")
    args = parser.parse_args(argv)
    if args.compare:
        return compare(*args.compare)
    if args.out is None:
        parser.error("give OUT.json, or --compare A.json B.json")
    if not run.UNION.is_dir():
        print(f"shared channel data not found at {run.UNION}", file=sys.stderr)
        return 2
    return solve_all(args.out, args.data, args.jobs, args.only)


if __name__ == "__main__":
    sys.exit(main())
