"""Crash-freedom: many randomized solve requests against the shared channels, counting every
way a solve can end.

Requests are drawn (seeded) from the real repodata in ``../shared/data/repodata``: some
likely satisfiable (existing names, existing versions, channel priorities, virtual
packages, ``--no-deps``/``--only-deps``), some unsatisfiable by construction (a record
pinned next to a version of one of its dependencies that its constraint excludes, a
version newer than any, a name no channel has, a pin contradicting the request, a
virtual package the system lacks), some against an existing prefix (update-all, freeze,
remove, install more). Each request is the argument vector of the standalone CLI and runs

- *in one process*: a long-lived worker calls the CLI's ``main`` for request after request
  (state or threads leaking between solves would show here), and
- *in separate processes*: ``python -m conda_solver_plus ...`` per request.

Every solve is bounded by ``--timeout`` (the engine's limit, a clear ``SolveTimeout``
error) and by a watchdog (timeout + grace) that counts a *hang*. Workers run under an
address-space limit (``RLIMIT_AS``) so a runaway allocation ends as a counted crash rather
than by exhausting the machine's memory.

Outcomes: ``ok`` (exit 0), ``unsatisfiable`` / ``not-found`` / ``pin-conflict`` /
``timeout`` (exit 1, by error type), ``invalid-input`` (exit 2: a generator bug or a real
input problem, listed), and the failures: ``internal-error`` (exit 3), ``crash`` (killed by
a signal, e.g. SIGSEGV or SIGABRT on a failed allocation), ``hang``.

The ``sudoku`` channel (mamba's synthetic 729-record SAT stress test) is excluded unless
``--include-sudoku``: with a few cells fixed resolvo's *conflict report* (not the search)
grows without bound (``resolvo::conflict::DisplayUnsat::fmt_graph`` asked for 5 GiB and
more), which the time limit cannot stop. With ``--include-sudoku`` those requests run in
separate processes only, under the memory limit, and are reported on their own.

Usage::

    nice .venv/bin/python benchmarks/crash_freedom.py               # 1000 + 1000, rattler
    nice .venv/bin/python benchmarks/crash_freedom.py --backend libmamba \\
        --python /work/scratch/venv-conda/bin/python                  # once libmamba exists
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "repodata"

#: name -> (channel directories relative to SHARED, subdir)
CHANNEL_SETS: dict[str, tuple[list[str], str]] = {
    "conda-forge/linux-64": (["lockfile-union/conda-forge"], "linux-64"),
    "conda-forge/osx-arm64": (["lockfile-union/conda-forge"], "osx-arm64"),
    "conda-forge/win-64": (["lockfile-union/conda-forge"], "win-64"),
    "pytorch+nvidia+conda-forge": (
        ["lockfile-union/pytorch", "lockfile-union/nvidia", "lockfile-union/conda-forge"],
        "linux-64",
    ),
    "robostack-jazzy+conda-forge": (
        ["lockfile-union/robostack-jazzy", "lockfile-union/conda-forge"],
        "linux-64",
    ),
    "py39-subchannel": (["conda-forge-py39-subchannel/conda-forge"], "linux-64"),
    "conda-testdata": (["conda-testdata/r", "conda-testdata/main"], "linux-64"),
}
SUDOKU = "mamba-testdata/sudoku"

FAILURES = ("internal-error", "crash", "hang", "worker-lost")


# -- request generation (in the parent) ------------------------------------------------------


class ChannelSet:
    """One channel set's index, loaded once, for drawing names, versions and records."""

    def __init__(self, name: str, cache: Path) -> None:
        from conda_solver_plus.repodata.gateway import load_index

        self.name = name
        dirs, self.subdir = CHANNEL_SETS[name]
        self.channels = [str(SHARED / d) for d in dirs]
        self.index = load_index(self.channels, [self.subdir], cache_dir=cache)
        self.names = sorted(n for n in self.index.package_names() if not n.startswith("__"))
        self._records: dict[str, list] = {}

    def records(self, name: str) -> list:
        from rattler import PackageName

        if name not in self._records:
            found = []
            for repo in self.index.repos:
                if name in repo.sparse.package_names():
                    found.extend(repo.sparse.load_records(PackageName(name)))
            self._records[name] = found
        return self._records[name]


def _spec_for(rng: random.Random, channel_set: ChannelSet, name: str) -> str:
    records = channel_set.records(name)
    if not records or rng.random() < 0.5:
        return name
    record = rng.choice(records)
    version = str(record.version)
    form = rng.random()
    if form < 0.4:
        return f"{name}>={version}"
    if form < 0.7:
        return f"{name}={version}"
    if form < 0.85:
        return f"{name}<={version}"
    return f"{name}=={version}={record.build}"


def _unsatisfiable_pair(rng: random.Random, channel_set: ChannelSet) -> list[str] | None:
    """``A==v=b`` plus a version of one of A's dependencies that A's constraint excludes."""
    from rattler import MatchSpec

    for _ in range(50):
        records = channel_set.records(rng.choice(channel_set.names))
        if not records:
            continue
        record = rng.choice(records)
        constrained = [d for d in record.depends if " " in d and not d.startswith("__")]
        if not constrained:
            continue
        dependency = rng.choice(constrained)
        try:
            spec = MatchSpec(dependency, strict=False)
        except Exception:
            continue
        dep_name = spec.name.normalized
        if dep_name is None:
            continue
        excluded = [r for r in channel_set.records(dep_name) if not spec.matches(r)]
        if not excluded:
            continue
        other = rng.choice(excluded)
        return [
            f"{record.name.normalized}=={record.version}={record.build}",
            f"{dep_name}=={other.version}={other.build}",
        ]
    return None


def _options(rng: random.Random) -> list[str]:
    options = ["--channel-priority", rng.choices(["strict", "flexible", "disabled"], [6, 3, 1])[0]]
    roll = rng.random()
    if roll < 0.05:
        options.append("--no-deps")
    elif roll < 0.10:
        options.append("--only-deps")
    if rng.random() < 0.10:
        options.append("--add-pip")
    roll = rng.random()
    if roll < 0.10:
        options += ["--virtual", "__glibc=2.17"]
    elif roll < 0.20:
        options += ["--virtual", "__cuda=12.6"]
    elif roll < 0.25:
        options += ["--virtual", "__cuda="]
    return options


def _write_prefix(prefix: Path, records: list, requested: list[str]) -> None:
    """A prefix as conda leaves it: one conda-meta record per package, and a history."""
    from rattler import PrefixPaths, PrefixRecord

    meta = prefix / "conda-meta"
    meta.mkdir(parents=True, exist_ok=True)
    for record in records:
        dist = f"{record.name.normalized}-{record.version}-{record.build}"
        PrefixRecord(record, PrefixPaths()).write_to_path(meta / f"{dist}.json", pretty=False)
    (meta / "history").write_text(
        f"==> 2025-01-01 00:00:00 <==\n# cmd: conda create {' '.join(requested)}\n"
        f"# update specs: {requested!r}\n"
    )


def _make_prefixes(
    rng: random.Random, sets: dict[str, ChannelSet], where: Path, per_set: int, timeout: float
) -> tuple[dict[str, list[tuple[Path, list[str]]]], Counter]:
    """Environments to update: solved (in this process) from a few random names."""
    from conda_solver_plus.backends import get_backend
    from conda_solver_plus.core import SolveOptions, solve
    from conda_solver_plus.exceptions import SolverPlusError
    from conda_solver_plus.specs import parse_spec
    from conda_solver_plus.state import SolverInputState
    from conda_solver_plus.virtual import virtual_packages

    prefixes: dict[str, list[tuple[Path, list[str]]]] = {name: [] for name in sets}
    outcomes: Counter = Counter()
    for name, channel_set in sets.items():
        virtual = virtual_packages(channel_set.subdir, {"__cuda": "12.6"})
        for attempt in range(per_set * 4):
            if len(prefixes[name]) >= per_set:
                break
            requested = rng.sample(channel_set.names, k=min(3, len(channel_set.names)))
            sis = SolverInputState(
                None, [parse_spec(s) for s in requested], virtual_packages=virtual
            )
            try:
                out = solve(
                    sis, channel_set.index, get_backend("rattler"), SolveOptions(timeout=timeout)
                )
            except SolverPlusError as exc:
                outcomes[f"setup {exc.error_type}"] += 1
                continue
            outcomes["setup ok"] += 1
            prefix = where / f"{name.replace('/', '_')}-{attempt}"
            _write_prefix(prefix, out.current_solution, requested)
            prefixes[name].append((prefix, requested))
    return prefixes, outcomes


def generate(
    count: int,
    rng: random.Random,
    sets: dict[str, ChannelSet],
    prefixes: dict[str, list[tuple[Path, list[str]]]],
) -> list[dict]:
    requests = []
    kinds = ["install"] * 50 + ["prefix"] * 15 + ["conflict"] * 12 + ["newer"] * 6
    kinds += ["missing"] * 5 + ["pin"] * 6 + ["virtual"] * 6
    for number in range(count):
        set_name = rng.choice(sorted(sets))
        channel_set = sets[set_name]
        kind = rng.choice(kinds)
        specs: list[str] = []
        extra: list[str] = []
        if kind == "prefix" and prefixes[set_name]:
            prefix, requested = rng.choice(prefixes[set_name])
            extra += ["--prefix", str(prefix)]
            action = rng.choice(["update-all", "freeze", "remove", "install", "update"])
            if action == "update-all":
                extra.append("--update-all")
            elif action == "freeze":
                extra.append("--freeze-installed")
                specs.append(_spec_for(rng, channel_set, rng.choice(channel_set.names)))
            elif action == "remove":
                extra.append("--remove")
                specs.append(rng.choice(requested))
            elif action == "update":
                extra.append("--update")
                specs.append(rng.choice(requested))
            else:
                specs += [_spec_for(rng, channel_set, n) for n in rng.sample(channel_set.names, 2)]
        elif kind == "conflict":
            specs = _unsatisfiable_pair(rng, channel_set) or ["python>=999"]
        elif kind == "newer":
            specs = [f"{rng.choice(channel_set.names)}>=99999"]
        elif kind == "missing":
            specs = ["no-such-package-" + "".join(rng.choices("abcdefghij", k=6))]
        elif kind == "pin":
            name = rng.choice(channel_set.names)
            versions = sorted({str(r.version) for r in channel_set.records(name)})
            if len(versions) >= 2:
                first, second = rng.sample(versions, 2)
                specs = [f"{name}=={first}"]
                extra += ["--pin", f"{name}=={second}"]
            else:
                specs = [f"{name}<0.0.0a0"]
        elif kind == "virtual":
            specs = [rng.choice(["__cuda>=99", "__glibc>=99", "__osx>=99", "__win"])]
            if rng.random() < 0.5:
                specs.append(rng.choice(channel_set.names))
        else:
            size = rng.randint(1, min(4, len(channel_set.names)))
            specs = [_spec_for(rng, channel_set, n) for n in rng.sample(channel_set.names, size)]
        argv = ["solve", *specs, "--json", "--subdir", channel_set.subdir]
        for channel in channel_set.channels:
            argv += ["-c", channel]
        argv += extra + _options(rng)
        requests.append({"id": number, "set": set_name, "kind": kind, "argv": argv})
    return requests


def sudoku_requests(count: int, rng: random.Random) -> list[dict]:
    requests = []
    cells = [(i, j) for i in range(9) for j in range(9)]
    for number in range(count):
        fixed = dict.fromkeys(rng.sample(cells, rng.randint(0, 6)))
        specs = [
            f"sudoku_{i}_{j}={rng.randint(1, 9)}" if (i, j) in fixed else f"sudoku_{i}_{j}"
            for i, j in cells
        ]
        argv = ["solve", *specs, "--json", "--subdir", "linux-64", "-c", str(SHARED / SUDOKU)]
        kind = f"{len(fixed)} fixed"
        requests.append({"id": number, "set": "sudoku", "kind": kind, "argv": argv})
    return requests


# -- classification ---------------------------------------------------------------------------

_ERROR_KINDS = {
    "Unsatisfiable": "unsatisfiable",
    "PackagesNotFound": "not-found",
    "SpecsConfigurationConflict": "pin-conflict",
    "SolveTimeout": "timeout",
}


def classify(code: int | None, stdout: str, stderr: str) -> tuple[str, str]:
    """(outcome, detail) for one finished CLI run."""
    if code == 0:
        return "ok", ""
    if code == 1:
        try:
            kind = json.loads(stdout)["error"]["type"]
        except (ValueError, KeyError, TypeError):
            return "internal-error", f"exit 1 without a JSON error: {stderr[-300:]}"
        return _ERROR_KINDS.get(kind, f"error {kind}"), ""
    if code == 2:
        return "invalid-input", stderr.strip()[-300:]
    if code is not None and code < 0:
        name = signal.Signals(-code).name
        memory = " (allocation failed)" if "memory allocation" in stderr else ""
        return "crash", f"{name}{memory}: {stderr.strip()[-300:]}"
    return "internal-error", f"exit {code}: {stderr.strip()[-300:]}"


def _limit_memory(gigabytes: float) -> None:
    if gigabytes > 0:
        limit = int(gigabytes * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


# -- in one process -----------------------------------------------------------------------------


def worker(requests_file: Path, results_file: Path, start: int, memory_gb: float) -> None:
    """Run requests ``start..`` through the CLI's ``main`` in this one process, appending one
    JSON line per finished request; a line ``{"started": id}`` marks the one in flight."""
    _limit_memory(memory_gb)
    from conda_solver_plus.cli import main

    requests = json.loads(requests_file.read_text())
    with open(results_file, "a") as results:
        for request in requests[start:]:
            results.write(json.dumps({"started": request["id"]}) + "\n")
            results.flush()
            out, err = io.StringIO(), io.StringIO()
            started = time.monotonic()
            try:
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                    code = main(request["argv"])
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 2
            except BaseException as exc:  # anything escaping main is a bug of ours
                code = 3
                err.write(f"{type(exc).__name__}: {exc}")
            outcome, detail = classify(code, out.getvalue(), err.getvalue())
            line = {"id": request["id"], "outcome": outcome, "detail": detail}
            line["seconds"] = round(time.monotonic() - started, 3)
            results.write(json.dumps(line) + "\n")
            results.flush()


def run_in_one_process(
    requests: list[dict], python: str, env: dict, timeout: float, grace: float, memory_gb: float
) -> list[dict]:
    """Run all requests in one worker process; restart it after a crash or hang."""
    results: dict[int, dict] = {}
    with tempfile.TemporaryDirectory(prefix="crash-freedom-") as tmp:
        requests_file = Path(tmp) / "requests.json"
        requests_file.write_text(json.dumps(requests))
        results_file = Path(tmp) / "results.jsonl"
        results_file.touch()
        start = 0
        while start < len(requests):
            argv = [python, __file__, "--worker", str(requests_file), str(results_file)]
            argv += ["--start", str(start), "--memory-gb", str(memory_gb)]
            process = subprocess.Popen(
                argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            stderr_lines: list[str] = []
            last_progress = time.monotonic()
            seen = 0
            while process.poll() is None:
                time.sleep(0.2)
                lines = results_file.read_text().splitlines()
                if len(lines) != seen:
                    seen, last_progress = len(lines), time.monotonic()
                elif time.monotonic() - last_progress > timeout + grace:
                    process.kill()
                    break
            _, stderr = process.communicate()
            stderr_lines = stderr.decode(errors="replace").strip().splitlines()
            in_flight = None
            for line in results_file.read_text().splitlines():
                entry = json.loads(line)
                if "started" in entry:
                    in_flight = entry["started"]
                else:
                    results[entry["id"]] = entry
                    in_flight = None
            if in_flight is None:
                break  # the worker finished everything
            code = process.returncode
            if code == -signal.SIGKILL and time.monotonic() - last_progress > timeout + grace:
                outcome, detail = "hang", f"no answer after {timeout + grace:.0f}s"
            else:
                outcome, detail = classify(code, "", "\n".join(stderr_lines[-5:]))
                if outcome == "ok":  # the worker exited 0 mid-request: should not happen
                    outcome = "worker-lost"
            results[in_flight] = {"id": in_flight, "outcome": outcome, "detail": detail}
            start = in_flight + 1
    return [results[r["id"]] for r in requests if r["id"] in results]


# -- in separate processes ------------------------------------------------------------------------


def run_in_processes(
    requests: list[dict], python: str, env: dict, timeout: float, grace: float, memory_gb: float
) -> list[dict]:
    results = []
    for request in requests:
        started = time.monotonic()
        try:
            proc = subprocess.run(
                [python, "-m", "conda_solver_plus", *request["argv"]],
                capture_output=True,
                text=True,
                env=env,
                cwd=ROOT,
                timeout=timeout + grace,
                preexec_fn=lambda: _limit_memory(memory_gb),
            )
        except subprocess.TimeoutExpired:
            outcome, detail = "hang", f"no answer after {timeout + grace:.0f}s"
        else:
            outcome, detail = classify(proc.returncode, proc.stdout, proc.stderr)
        results.append(
            {
                "id": request["id"],
                "outcome": outcome,
                "detail": detail,
                "seconds": round(time.monotonic() - started, 3),
            }
        )
    return results


# -- report ---------------------------------------------------------------------------------------


def summarize(mode: str, requests: list[dict], results: list[dict]) -> dict:
    by_id = {r["id"]: r for r in requests}
    outcomes = Counter(r["outcome"] for r in results)
    by_kind: dict[str, Counter] = {}
    for result in results:
        kind = by_id[result["id"]]["kind"]
        by_kind.setdefault(kind, Counter())[result["outcome"]] += 1
    seconds = [r["seconds"] for r in results if "seconds" in r]
    problems = [
        {**r, "argv": " ".join(by_id[r["id"]]["argv"])}
        for r in results
        if r["outcome"] in FAILURES or r["outcome"] == "invalid-input"
    ]
    return {
        "mode": mode,
        "requests": len(requests),
        "finished": len(results),
        "failures": sum(outcomes[k] for k in FAILURES),
        "outcomes": dict(outcomes),
        "by_kind": {k: dict(v) for k, v in sorted(by_kind.items())},
        "seconds_median": round(statistics.median(seconds), 3) if seconds else None,
        "seconds_max": round(max(seconds), 3) if seconds else None,
        "seconds_total": round(sum(seconds), 1),
        "problems": problems[:30],
    }


def print_summary(summary: dict) -> None:
    print(
        f"\n{summary['mode']}: {summary['finished']}/{summary['requests']} requests, "
        f"failures {summary['failures']}, median {summary['seconds_median']} s, "
        f"max {summary['seconds_max']} s, total {summary['seconds_total']} s"
    )
    for outcome, n in sorted(summary["outcomes"].items(), key=lambda item: -item[1]):
        print(f"  {n:>5}  {outcome}")
    for kind, outcomes in summary["by_kind"].items():
        print(f"    {kind:<10} {dict(outcomes)}")
    for problem in summary["problems"][:10]:
        print(f"  ! {problem['outcome']}: {problem['detail'][:200]}")
        print(f"      {problem['argv'][:300]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="in one process")
    parser.add_argument("--subprocess-requests", type=int, default=1000)
    parser.add_argument("--backend", default="rattler", choices=["rattler", "libmamba", "auto"])
    parser.add_argument("--python", default=sys.executable, help="interpreter for the workers")
    parser.add_argument("--timeout", type=float, default=60, help="engine limit per solve (s)")
    parser.add_argument("--grace", type=float, default=30, help="watchdog margin (s)")
    parser.add_argument("--memory-gb", type=float, default=4, help="RLIMIT_AS per worker")
    parser.add_argument("--prefixes-per-set", type=int, default=6)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--include-sudoku", type=int, default=0, metavar="N")
    parser.add_argument("--json", type=Path, help="write the full summary here")
    parser.add_argument("--worker", nargs=2, type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker, args.start, args.memory_gb)
        return 0
    if not SHARED.is_dir():
        print(f"{SHARED} is absent: nothing to run against", file=sys.stderr)
        return 2

    sys.path.insert(0, str(ROOT))
    rng = random.Random(args.seed)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="crash-freedom-prefixes-") as tmp:
        tmp_path = Path(tmp)
        sets = {name: ChannelSet(name, tmp_path / "cache") for name in CHANNEL_SETS}
        prefixes, setup = _make_prefixes(rng, sets, tmp_path, args.prefixes_per_set, args.timeout)
        total = args.requests + args.subprocess_requests
        requests = generate(total, rng, sets, prefixes)
        print(
            f"generated {len(requests)} requests over {len(sets)} channel sets "
            f"({dict(setup)} prefix setup solves) in {time.monotonic() - started:.1f} s"
        )
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CONDA_OVERRIDE_", "CONDA_SOLVER_PLUS_"))
        }
        env["CONDA_SOLVER_PLUS_BACKEND"] = args.backend
        env["CONDA_SOLVER_PLUS_TIMEOUT"] = str(args.timeout)
        env["CONDA_SOLVER_PLUS_CACHE"] = str(tmp_path / "cache")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        limits = (args.timeout, args.grace, args.memory_gb)
        in_process = requests[: args.requests]
        separate = requests[args.requests :]
        summaries = []
        phase = time.monotonic()
        results = run_in_one_process(in_process, args.python, env, *limits)
        summaries.append(summarize("one process", in_process, results))
        summaries[-1]["wall_seconds"] = round(time.monotonic() - phase, 1)
        print_summary(summaries[-1])
        phase = time.monotonic()
        summaries.append(
            summarize(
                "separate processes",
                separate,
                run_in_processes(separate, args.python, env, *limits),
            )
        )
        summaries[-1]["wall_seconds"] = round(time.monotonic() - phase, 1)
        print_summary(summaries[-1])
        if args.include_sudoku:
            sudoku = sudoku_requests(args.include_sudoku, rng)
            summaries.append(
                summarize(
                    "sudoku (separate processes, memory-limited)",
                    sudoku,
                    run_in_processes(sudoku, args.python, env, *limits),
                )
            )
            print_summary(summaries[-1])
    failures = sum(s["failures"] for s in summaries if not s["mode"].startswith("sudoku"))
    report = {
        "backend": args.backend,
        "seed": args.seed,
        "timeout": args.timeout,
        "memory_gb": args.memory_gb,
        "setup": dict(setup),
        "summaries": summaries,
        "failures": failures,
        "wall_seconds": round(time.monotonic() - started, 1),
    }
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    print(f"\nfailures (crashes + hangs + internal errors): {failures}; "
          f"{report['wall_seconds']} s in all")  # fmt: skip
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
