"""
Benchmarks: plus against the raw engines it drives, on real and conda-forge-sized channels.

    python benchmarks/run.py                 # everything available; prints a table
    python benchmarks/run.py --quick         # small channel only, one repeat

Every measurement runs in a fresh process (so peak RSS is the process's own) and times the
work after the imports: loading the index and solving. Raw and warm plus runs alternate;
the table gives the best of each and the median of the pairwise warm/raw ratios (the
steadier figure when a 0.4 s measurement varies by 0.1 s from run to run).

Three ways to solve each workload:

- ``plus``: what ``python -m conda_solver_plus solve`` does (core + backend), cold (an empty
  solver cache) and warm (the cache the cold run left);
- ``raw``: the engine alone on the same files and request — py-rattler's
  ``solve_with_sparse_repodata``, or libmambapy's ``Database`` + ``Solver`` — the floor;
- where conda imports: ``conda create --dry-run`` with ``--solver=plus`` and the other
  installed solvers, as whole commands.

Channels: ``../shared/data/repodata/lockfile-union`` (real records) and a copy of its
conda-forge grown to conda-forge size by ``../shared/tools/grow_channel.py`` (same solutions,
~300k linux-64 records), made once into ``--data`` (default ``~/.cache/conda-solver-plus-bench``).

Sharded against monolithic repodata through real conda, served over HTTP with the bytes
each command downloads, is ``benchmarks/shards.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"
REPODATA = SHARED / "data" / "repodata"
UNION = REPODATA / "lockfile-union"
SUDOKU = REPODATA / "mamba-testdata" / "sudoku"
PYTORCH_LOCK = REPODATA / "lockfiles" / "pixi" / "examples-pytorch" / "pixi.lock"

#: a fixed linux machine, so runs are comparable across hosts
LINUX_VIRTUAL = {"__glibc": "2.39", "__unix": "0", "__linux": "6.1", "__archspec": "1"}

WORKLOADS = {
    "create-datasci": {"specs": ["python=3.12", "numpy", "scipy", "pandas"], "virtual": {}},
    "pytorch-cuda": {"specs": ["pytorch=*=*cuda*"], "virtual": {"__cuda": "12.6"}},
    "pytorch-torchvision": {"specs": ["pytorch", "torchvision"], "virtual": {}},
    "update-all-pytorch-lock": {
        "specs": [],
        "update_all": True,
        "history": ["pytorch"],
        "prefix_from_lock": "cf-channel",
        "virtual": {"__cuda": "12.1"},
    },
    "sudoku-unsat": {
        "specs": [f"sudoku_{r}_{c}" for r in range(9) for c in range(9)],
        "virtual": {},
        "channel": "sudoku",
        "subdir": "noarch",
    },
}


# -- child side: one measurement ----------------------------------------------------------


def _virtual(extra: dict[str, str]):
    from conda_solver_plus.virtual import make_virtual

    merged = {**LINUX_VIRTUAL, **extra}
    return [make_virtual(name, version) for name, version in merged.items()]


def _prefix_from_lock(env: str, channel: Path, prefix: Path, history: list[str]) -> None:
    """A real conda prefix (conda-meta records + history) holding a pixi lock environment,
    with each record taken from ``channel``'s repodata by file name."""
    import yaml

    data = yaml.safe_load(PYTORCH_LOCK.read_text())
    wanted = {
        item["conda"].rsplit("/", 1)[-1]: item["conda"].split("/")[-2]
        for item in data["environments"][env]["packages"]["linux-64"]
        if "conda" in item
    }
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True, exist_ok=True)
    for subdir in ("linux-64", "noarch"):
        repodata = json.loads((channel / subdir / "repodata.json").read_text())
        for key in ("packages", "packages.conda"):
            for fn, record in repodata.get(key, {}).items():
                if wanted.get(fn) != subdir:
                    continue
                record = dict(record, fn=fn, subdir=subdir)
                record["channel"] = channel.as_uri()
                record["url"] = f"{channel.as_uri()}/{subdir}/{fn}"
                record.update(files=[], paths_data={"paths": [], "paths_version": 1})
                stem = fn.removesuffix(".conda").removesuffix(".tar.bz2")
                (meta / f"{stem}.json").write_text(json.dumps(record))
    (meta / "history").write_text(
        "==> 2024-01-01 00:00:00 <==\n# cmd: pixi\n# update specs: "
        + json.dumps(history).replace('"', "'")
        + "\n"
    )


def _channels(config: dict, workload: dict) -> tuple[list[Path], str]:
    if workload.get("channel") == "sudoku":
        return [SUDOKU], workload.get("subdir", "noarch")
    return [Path(config["conda_forge"])], "linux-64"


def measure_plus(config: dict, workload: dict) -> dict:
    from conda_solver_plus.backends import get_backend
    from conda_solver_plus.core import SolveOptions, solve
    from conda_solver_plus.repodata.gateway import load_index
    from conda_solver_plus.state import SolverInputState

    channels, subdir = _channels(config, workload)
    # built by the parent, so parsing the channel for it does not count in this process's RSS
    prefix = Path(config["workdir"]) / "prefix" if workload.get("prefix_from_lock") else None
    cache = Path(config["cache"])
    backend = get_backend(config["backend"])
    if hasattr(backend, "cache_dir"):
        backend.cache_dir = cache
    started = time.perf_counter()
    index = load_index(channels, [subdir], cache_dir=cache)
    sis = SolverInputState(
        prefix,
        workload["specs"],
        command="update" if workload.get("update_all") else "install",
        update_modifier="update_all" if workload.get("update_all") else None,
        virtual_packages={v.name.normalized: v for v in _virtual(workload["virtual"])},
    )
    out = solve(sis, index, backend, SolveOptions(channel_priority="strict", timeout=60))
    return {"seconds": time.perf_counter() - started, "records": len(out.records)}


def measure_raw(config: dict, workload: dict) -> dict:
    channels, subdir = _channels(config, workload)
    specs = list(workload["specs"] or workload.get("history", []))
    virtual = _virtual(workload["virtual"])
    if config["backend"] == "rattler":
        import rattler

        started = time.perf_counter()
        sparse = []
        for channel in channels:
            for sd in dict.fromkeys([subdir, "noarch"]):
                path = channel / sd / "repodata.json"
                if path.exists():
                    sparse.append(
                        rattler.SparseRepoData(rattler.Channel(channel.as_uri()), sd, path)
                    )
        records = asyncio.run(
            rattler.solve_with_sparse_repodata(
                [rattler.MatchSpec(s) for s in specs],
                sparse,
                virtual_packages=virtual,
                channel_priority=rattler.ChannelPriority.Strict,
            )
        )
        return {"seconds": time.perf_counter() - started, "records": len(records)}
    from libmambapy import solver
    from libmambapy import specs as mamba_specs
    from libmambapy.solver import libsolv

    started = time.perf_counter()
    db = libsolv.Database(mamba_specs.ChannelResolveParams(platforms={subdir, "noarch"}))
    for position, channel in enumerate(channels):
        for sd in dict.fromkeys([subdir, "noarch"]):
            path = channel / sd / "repodata.json"
            if path.exists():
                repo = db.add_repo_from_repodata_json(
                    path=str(path), url=f"{channel.as_uri()}/{sd}", channel_id=channel.as_uri()
                )
                db.set_repo_priority(repo, libsolv.Priorities(len(channels) - position, 1))
    installed = db.add_repo_from_packages(
        [
            mamba_specs.PackageInfo(
                name=v.name.normalized, version=str(v.version), build_string=str(v.build_string)
            )
            for v in virtual
        ],
        name="installed",
    )
    db.set_installed_repo(installed)
    Request = solver.Request
    outcome = libsolv.Solver().solve(
        db,
        Request(
            jobs=[Request.Install(mamba_specs.MatchSpec.parse(s)) for s in specs],
            flags=Request.Flags(strict_repo_priority=True),
        ),
    )
    if not isinstance(outcome, solver.Solution):
        return {"seconds": time.perf_counter() - started, "records": "unsat"}
    count = len(outcome.to_install())
    return {"seconds": time.perf_counter() - started, "records": count}


def peak_rss_mb() -> float:
    """This process's peak RSS. Linux's ``ru_maxrss`` survives ``fork`` + ``exec`` (a child
    of a big parent starts "big"), so read the address space's own high-water mark."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(config: dict) -> None:
    workload = WORKLOADS[config["workload"]]
    started = time.perf_counter()
    try:
        if config["mode"] == "raw":
            result = measure_raw(config, workload)
        else:
            result = measure_plus(config, workload)
        result["ok"] = True
    except Exception as exc:
        kind = type(exc).__name__
        if kind in ("SolverError", "UnsatisfiableError"):  # a proof is a result too
            result = {"ok": True, "records": "unsat", "seconds": time.perf_counter() - started}
        else:  # reported in the table, not a crash of the benchmark
            result = {"ok": False, "error": f"{kind}: {str(exc)[:200]}"}
    result["rss_mb"] = peak_rss_mb()
    print(json.dumps(result), flush=True)
    os._exit(0)  # skip interpreter teardown (py-rattler's runtime threads)


# -- parent side ----------------------------------------------------------------------------


def run_child(config: dict, timeout: float) -> dict:
    try:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", json.dumps(config)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timeout ({timeout:g}s)"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return {"ok": False, "error": f"exit {proc.returncode}: {proc.stderr.strip()[-200:]}"}


def grown_channel(data: Path) -> Path:
    target = data / "conda-forge-grown"
    if not (target / "GROWN.json").exists():
        print(f"growing conda-forge into {target} (once; a few minutes)...", flush=True)
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                str(SHARED / "tools" / "grow_channel.py"),
                str(UNION / "conda-forge"),
                str(target),
                "--names",
                "60",
                "--versions",
                "4",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return target


def conda_commands(
    channel: Path, workload: str, pythons: dict[str, str] | None = None
) -> list[tuple[str, str, list[str]]]:
    """``conda create --dry-run`` per installed solver, where conda imports here.

    ``pythons`` maps a solver name to another interpreter with conda to time it in: a solver
    whose requirements clash with plus's (conda-rattler-solver 0.2 pins an older py-rattler)
    cannot share one environment with it."""
    pythons = pythons or {}
    try:
        import conda  # noqa: F401
        from conda.plugins.manager import get_plugin_manager
    except ImportError:
        return []
    solvers = sorted({*get_plugin_manager().get_solvers(), *pythons})
    specs = WORKLOADS[workload]["specs"]
    commands = []
    labels = []
    for name in solvers:
        if name == "plus":
            labels += [(f"plus[{engine}]", name, engine) for engine in ("libmamba", "rattler")]
        else:
            labels.append((name, name, ""))
    for label, name, engine in labels:
        commands.append(
            (
                label,
                engine,
                [
                    pythons.get(name, sys.executable),
                    "-m",
                    "conda",
                    "create",
                    "-n",
                    "bench-x",
                    "--dry-run",
                    "--json",
                    f"--solver={name}",
                    "--override-channels",
                    "-c",
                    channel.as_uri(),
                    *specs,
                ],
            )
        )
    return commands


def fmt(result: dict) -> str:
    if not result.get("ok"):
        return "-"
    return f"{result['seconds']:.3f}"


def conda_create_rows(
    channel: Path, repeat: int, timeout: float, pkgs_dir: Path, pythons: dict[str, str]
) -> list[tuple[str, float | None, float | None, int | None, str]]:
    """``(solver, best warm seconds, its peak RSS MB, packages linked, note)`` for ``conda
    create --dry-run`` with every installed solver (``None`` where it failed); the first
    run of each fills conda's own repodata cache."""
    commands = conda_commands(channel, "create-datasci", pythons)
    env = dict(os.environ, CONDA_REPODATA_USE_SHARDS="false", CONDA_PKGS_DIRS=str(pkgs_dir))
    times: dict[str, list[tuple[float | None, float | None, int | None, str]]] = {
        name: [] for name, _, _ in commands
    }
    for _ in range(repeat + 1):
        for name, engine, command in commands:  # interleaved across solvers
            if times[name] and times[name][-1][0] is None:
                continue  # failed or timed out once: not again
            run_env = dict(env, CONDA_SOLVER_PLUS_BACKEND=engine) if engine else env
            times[name].append(run_measured(command, run_env, timeout))
    rows = []
    for name, runs in times.items():
        warm = [run for run in runs[1:] if run[0] is not None]
        notes = sorted({run[3] for run in runs if run[3]})
        best = min(warm, key=lambda run: run[0] or 0.0) if warm else (None, None, None, "")
        rows.append((name, best[0], best[1], best[2], "; ".join(notes)))
    return rows


#: runs a command and writes its peak RSS (KiB) to the file argv[1]. A child's peak RSS
#: starts at what its parent had when it forked (Linux keeps the high-water mark across
#: fork and exec), so the command must be forked from this small process, not from the
#: benchmark, which holds hundreds of MB of results and imports
_LAUNCHER = (
    "import resource, subprocess, sys, time; "
    "started = time.perf_counter(); "
    "code = subprocess.call(sys.argv[2:]); "
    "elapsed = time.perf_counter() - started; "
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss; "
    "open(sys.argv[1], 'w').write(f'{peak} {elapsed}'); "
    "sys.exit(code)"
)


def run_measured(
    command: list[str], env: dict[str, str], timeout: float, cwd: Path | None = None
) -> tuple[float | None, float | None, int | None, str]:
    """``(seconds, peak RSS MB, packages linked, note)`` of one ``conda create --dry-run
    --json``; the peak RSS and the time are the command's own, taken by the launcher
    (:data:`_LAUNCHER`), which waits for it blocking: ``Popen.wait(timeout)`` polls with
    sleeps of up to 50 ms, which would round every time up by as much. ``cwd`` matters
    for ``python -m``, which puts it first on ``sys.path``: a checkout there shadows the
    one ``PYTHONPATH`` names."""
    with tempfile.TemporaryFile() as out, tempfile.NamedTemporaryFile("r") as rss:
        launched = [sys.executable, "-c", _LAUNCHER, rss.name, *command]
        started = time.perf_counter()
        proc = subprocess.Popen(
            launched,
            stdout=out,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            cwd=cwd,
        )
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the launcher and the command it runs
            proc.wait()
            return None, None, None, f"timeout ({timeout:g}s)"
        if code:
            return None, None, None, f"exit {code}"
        out.seek(0)
        linked = len(conda_json(out.read().decode()).get("actions", {}).get("LINK", []))
        measured = rss.read().split()
        peak_kib = float(measured[0]) if measured else 0.0
        elapsed = float(measured[1]) if len(measured) > 1 else time.perf_counter() - started
    return elapsed, peak_kib / 1024, linked, ""


def conda_json(text: str) -> dict:
    """The result document of ``conda ... --json``: the last one, after any progress
    records conda's JSON reporters print before it (one per line)."""
    text = text.replace("\0", "")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        start = text.rfind("\n{\n")
        return json.loads(text[start + 1 :]) if start >= 0 else {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="small channel, one repeat")
    parser.add_argument("--repeat", type=int, default=5, help="warm runs (best is kept)")
    parser.add_argument(
        "--data", type=Path, default=Path.home() / ".cache/conda-solver-plus-bench"
    )
    parser.add_argument("--workload", action="append", choices=sorted(WORKLOADS))
    parser.add_argument("--backend", action="append")
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--no-conda", action="store_true", help="skip the conda create rows")
    parser.add_argument(
        "--conda-only", action="store_true", help="only the conda create rows (no engine rows)"
    )
    parser.add_argument(
        "--conda-python",
        action="append",
        default=[],
        metavar="SOLVER=PYTHON",
        help="time conda --solver=SOLVER with another interpreter (its own environment)",
    )
    parser.add_argument(
        "--conda-timeout", type=float, default=300, help="limit per conda create (seconds)"
    )
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    if args.child:
        child(json.loads(args.child))
        return 0
    if not UNION.is_dir():
        print(f"shared channel data not found at {UNION}; nothing to measure", file=sys.stderr)
        return 2
    sys.path.insert(0, str(HERE.parent))
    from conda_solver_plus.backends import available_backends

    backends = args.backend or available_backends()
    channels = {"lockfile-union": UNION / "conda-forge"}
    if not args.quick:
        channels["grown (conda-forge size)"] = grown_channel(args.data)
    repeat = 1 if args.quick else args.repeat
    rows = []
    for channel_label, channel in channels.items() if not args.conda_only else ():
        for workload in args.workload or list(WORKLOADS):
            if workload == "sudoku-unsat" and channel_label != "lockfile-union":
                continue  # its own channel: one row is enough
            for backend in backends:
                work = Path(tempfile.mkdtemp(prefix="plus-bench-"))
                base = {
                    "workload": workload,
                    "backend": backend,
                    "conda_forge": str(channel),
                    "cache": str(work / "cache"),
                    "workdir": str(work),
                }
                if WORKLOADS[workload].get("prefix_from_lock"):
                    _prefix_from_lock(
                        WORKLOADS[workload]["prefix_from_lock"],
                        channel,
                        work / "prefix",
                        WORKLOADS[workload]["history"],
                    )
                timeout = min(args.timeout, 15) if workload == "sudoku-unsat" else args.timeout
                cold = run_child({**base, "mode": "plus"}, timeout)
                raw, warm = [], []
                for _ in range(repeat):  # interleaved, so a busy moment hits both alike
                    raw.append(run_child({**base, "mode": "raw"}, timeout))
                    warm.append(run_child({**base, "mode": "plus"}, timeout))
                shutil.rmtree(work, ignore_errors=True)
                best_raw = min(
                    (r for r in raw if r.get("ok")), key=lambda r: r["seconds"], default=raw[0]
                )
                best_warm = min(
                    (r for r in warm if r.get("ok")), key=lambda r: r["seconds"], default=warm[0]
                )
                # each warm run against the raw run just before it: the machine's drift and
                # the file system's moods hit both halves of a pair alike
                pairs = sorted(
                    w["seconds"] / r["seconds"]
                    for r, w in zip(raw, warm, strict=True)
                    if r.get("ok") and w.get("ok") and r["seconds"] > 0
                )
                rows.append(
                    {
                        "channel": channel_label,
                        "workload": workload,
                        "backend": backend,
                        "raw": best_raw,
                        "cold": cold,
                        "warm": best_warm,
                        "paired": pairs[len(pairs) // 2] if pairs else None,
                    }
                )
                print(_row(rows[-1]), flush=True)
    if rows:
        print()
        print(_table(rows))
    conda_rows = []
    for channel_label, channel in channels.items() if not args.no_conda else ():
        # conda's own index handling is most of a whole command on the big channel, and
        # classic needs minutes there: fewer repeats and a time limit per command
        big = channel_label != "lockfile-union"
        rows_here = conda_create_rows(
            channel,
            repeat=min(repeat, 2) if big else repeat,
            timeout=args.conda_timeout,
            pkgs_dir=args.data / "pkgs",
            pythons=dict(item.split("=", 1) for item in args.conda_python),
        )
        conda_rows += [(channel_label, *row) for row in rows_here]
    if conda_rows:
        print()
        print("conda create --dry-run python=3.12 numpy scipy pandas (whole command, warm)")
        print(_conda_table(conda_rows, list(channels)))
    if args.json_out:
        args.json_out.write_text(json.dumps({"rows": rows, "conda": conda_rows}, indent=1))
    return 0


def _conda_table(conda_rows: list[tuple], channels: list[str]) -> str:
    """Markdown: per channel and solver the best warm time, its peak RSS and the number of
    packages linked, with the time's ratio to plus[libmamba] (the project's default)."""
    lines = [
        "| channel | solver | warm s | peak RSS MB | packages | time / plus[libmamba] | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for channel_label in channels:
        here = [row for row in conda_rows if row[0] == channel_label]
        plus = next((row[2] for row in here if row[1] == "plus[libmamba]" and row[2]), None)
        for _, name, seconds, rss, linked, note in here:
            ratio = f"{seconds / plus:.1f}x" if seconds and plus else "-"
            shown = f"{seconds:.2f}" if seconds else "failed"
            memory = f"{rss:.0f}" if rss else "-"
            lines.append(
                f"| {channel_label} | {name} | {shown} | {memory} | {linked or '-'} | "
                f"{ratio} | {note} |"
            )
    return "\n".join(lines)


def _row(row: dict) -> str:
    return (
        f"{row['channel']:<26} {row['workload']:<24} {row['backend']:<9} "
        f"raw {fmt(row['raw']):>7}  cold {fmt(row['cold']):>7}  warm {fmt(row['warm']):>7}"
    )


def _ratio(a: dict, b: dict) -> str:
    if a.get("ok") and b.get("ok") and b["seconds"] > 0:
        return f"{a['seconds'] / b['seconds']:.2f}"
    return "-"


def _table(rows: list[dict]) -> str:
    header = (
        "| channel | workload | engine | raw s | plus cold s | plus warm s | warm/raw | "
        "paired median | RSS raw MB | RSS plus MB | RSS ratio | records | note |"
    )
    lines = [header, "|" + "---|" * 13]
    for row in rows:
        raw, cold, warm = row["raw"], row["cold"], row["warm"]
        rss = (
            f"{warm['rss_mb'] / raw['rss_mb']:.2f}"
            if warm.get("rss_mb") and raw.get("rss_mb")
            else "-"
        )
        note = "; ".join(
            f"{label}: {r['error']}"
            for label, r in (("raw", raw), ("plus", warm))
            if not r.get("ok")
        )
        records = warm.get("records", raw.get("records", "-"))
        if raw.get("ok") and warm.get("ok") and raw["records"] != warm["records"]:
            note += f" (raw {raw['records']} records)"
        lines.append(
            f"| {row['channel']} | {row['workload']} | {row['backend']} | {fmt(raw)} | "
            f"{fmt(cold)} | {fmt(warm)} | {_ratio(warm, raw)} | "
            f"{'-' if row.get('paired') is None else format(row['paired'], '.2f')} | "
            f"{raw.get('rss_mb', 0):.0f} | "
            f"{warm.get('rss_mb', 0):.0f} | {rss} | {records} | {note} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
