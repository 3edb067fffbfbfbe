"""
Sharded against monolithic repodata through real conda: ``conda create --dry-run`` per
solver, cold and warm, wall time, peak RSS and bytes downloaded, in one interleaved run.

    python benchmarks/shards.py                       # the grown (conda-forge-sized) channel
    python benchmarks/shards.py --repeat 3 --conda-python rattler=/tmp/crs-venv/bin/python

The channel is ``run.py``'s grown conda-forge (~310k ``linux-64`` + 151k ``noarch``
records, 87k names; made once into ``--data``), ``linux-64`` and ``noarch`` copied (hard
links) into ``--data/grown-sharded`` and sharded there with
``python -m conda_solver_plus shard`` (CEP-16 files beside the monolithic ones, as
conda-forge serves both). It is served from 127.0.0.1 by ``channel_server.py`` (ETag and
304s as channel hosts answer; no ``Cache-Control``, so every command revalidates), which
counts the bytes of every response.

Each row is one solver on one repodata path:

- ``shards``: ``CONDA_REPODATA_USE_SHARDS=true`` — plus (both engines), and
  conda-libmamba-solver and conda-rattler-solver on conda's own shard path;
- ``monolithic``: ``CONDA_REPODATA_USE_SHARDS=false`` — plus (through its local shard
  cache), conda-libmamba-solver and classic on the whole ``repodata.json``;
- ``floor``: conda itself (``classic`` and ``libmamba``) on a 4-record local channel: what
  any ``conda create`` costs before repodata matters.

*Cold*: empty conda package/repodata caches and an empty plus cache (everything is
downloaded, split or parsed once). *Warm*: the caches the previous run of the same row left.
Rows alternate within every round, so a busy moment of the machine hits all of them alike;
the table gives the cold run, the median and best warm runs, the warm run's peak RSS
(median) and the bytes each downloaded.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402  (benchmarks/run.py: the grown channel, the RSS launcher)
from channel_server import Traffic, serve  # noqa: E402

#: the requests a run can time (``--request``): the data-science stack, and the 259-package
#: one issue 23 profiled through conda
REQUESTS = {
    "data-science": ["python=3.12", "numpy", "scipy", "pandas"],
    "large": [
        "python=3.12",
        "numpy",
        "scipy",
        "pandas",
        "matplotlib-base",
        "scikit-learn",
        "jupyterlab",
        "pytorch",
        "polars",
        "pyarrow",
        "networkx",
        "plotly",
        "sympy",
    ],
}
SPECS = REQUESTS["data-science"]
SUBDIRS = ("linux-64", "noarch")


@dataclass
class Row:
    label: str
    solver: str
    path: str  # shards, monolithic, floor
    env: dict[str, str] = field(default_factory=dict)
    python: str = sys.executable
    channel: str = "grown"  # or "tiny"
    #: the checkout plus is imported from (``--plus-source``): this one by default
    source: Path = HERE.parent
    cold: tuple | None = None
    warm: list[tuple] = field(default_factory=list)
    cold_bytes: int = 0
    cold_requests: int = 0
    warm_bytes: list[int] = field(default_factory=list)
    warm_requests: list[int] = field(default_factory=list)


def sharded_channel(data: Path) -> Path:
    """The grown channel's ``linux-64`` and ``noarch`` with CEP-16 files beside them,
    written by plus's shard command (once)."""
    grown = run.grown_channel(data)
    target = data / "grown-sharded"
    done = target / "SHARDED"
    if done.exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    for subdir in SUBDIRS:
        (target / subdir).mkdir(parents=True)
        for name in ("repodata.json", "repodata.json.zst"):
            os.link(grown / subdir / name, target / subdir / name)
    print(f"sharding {target} (once)...", flush=True)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "conda_solver_plus", "shard", str(target)],
        check=True,
        cwd=HERE.parent,
        env=dict(os.environ, PYTHONPATH=str(HERE.parent)),
    )
    done.write_text(json.dumps({"seconds": round(time.perf_counter() - started, 1)}))
    return target


def tiny_channel(data: Path) -> Path:
    """A 4-record local channel (tests/channels.py's packages) for conda's floor."""
    sys.path.insert(0, str(HERE.parent))
    from tests.channels import write_package_channel

    target = data / "tiny-channel"
    if not (target / "linux-64" / "repodata.json").exists():
        write_package_channel(target, "linux-64")
    return target


def source_rows(sources: dict[str, Path]) -> list[Row]:
    """plus from other checkouts (``--plus-source LABEL=PATH``: a commit to compare with,
    e.g. a ``git worktree``), on both engines and both repodata paths, interleaved with
    this checkout's rows."""
    out = []
    for label, path in sources.items():
        for engine in ("libmamba", "rattler"):
            for kind, shards in (("shards", "true"), ("monolithic", "false")):
                env = {"CONDA_REPODATA_USE_SHARDS": shards, "ENGINE": engine}
                out.append(Row(f"plus[{engine}] {label}", "plus", kind, env, source=path))
    return out


def rows(pythons: dict[str, str]) -> list[Row]:
    shards = {"CONDA_REPODATA_USE_SHARDS": "true"}
    mono = {"CONDA_REPODATA_USE_SHARDS": "false"}
    out = [
        Row("conda floor (classic, 4 records)", "classic", "floor", mono, channel="tiny"),
        Row("conda floor (libmamba, 4 records)", "libmamba", "floor", mono, channel="tiny"),
    ]
    for engine in ("libmamba", "rattler"):
        out.append(Row(f"plus[{engine}]", "plus", "shards", {**shards, "ENGINE": engine}))
    out.append(Row("conda-libmamba-solver", "libmamba", "shards", shards))
    if "rattler" in pythons:
        out.append(Row("conda-rattler-solver", "rattler", "shards", shards, pythons["rattler"]))
    for engine in ("libmamba", "rattler"):
        out.append(Row(f"plus[{engine}]", "plus", "monolithic", {**mono, "ENGINE": engine}))
    out.append(Row("conda-libmamba-solver", "libmamba", "monolithic", mono))
    out.append(Row("classic", "classic", "monolithic", mono))
    return out


def command(row: Row, channel: str, prefix_name: str) -> list[str]:
    specs = ["shout"] if row.channel == "tiny" else SPECS
    return [
        row.python,
        "-m",
        "conda",
        "create",
        "-n",
        prefix_name,
        "--dry-run",
        "--json",
        f"--solver={row.solver}",
        "--override-channels",
        "-c",
        channel,
        *specs,
    ]


def environment(row: Row, work: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CONDA_", "PYTHONPATH"))
    }
    settings = dict(row.env)
    engine = settings.pop("ENGINE", "")
    env.update(settings)
    env.update(
        CONDARC=str(work / "condarc"),
        CONDA_PKGS_DIRS=str(work / "pkgs"),
        CONDA_SOLVER_PLUS_CACHE=str(work / "plus-cache"),
        CONDA_NUMBER_CHANNEL_NOTICES="0",
        CONDA_AUTO_UPDATE_CONDA="false",
        CONDA_SUBDIR="linux-64",
        CONDA_OVERRIDE_GLIBC="2.39",
        CONDA_OVERRIDE_CUDA="",
    )
    if engine:
        env["CONDA_SOLVER_PLUS_BACKEND"] = engine
    if row.solver == "plus" and row.python == sys.executable:
        env["PYTHONPATH"] = str(row.source)
    return env


def measure(row: Row, work: Path, url: str, tiny: Path, traffic: Traffic, timeout: float):
    channel = tiny.as_uri() if row.channel == "tiny" else url
    traffic.reset()
    # run in the row's work directory: `python -m` puts the working directory first on
    # sys.path, where a checkout would shadow the one the row's PYTHONPATH names
    result = run.run_measured(
        command(row, channel, "bench-x"), environment(row, work), timeout, cwd=work
    )
    return result, traffic.body_bytes, traffic.requests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument(
        "--data", type=Path, default=Path.home() / ".cache/conda-solver-plus-bench"
    )
    parser.add_argument("--repeat", type=int, default=3, help="warm runs per row")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument(
        "--conda-python",
        action="append",
        default=[],
        metavar="SOLVER=PYTHON",
        help="run conda --solver=SOLVER with another interpreter (its own environment)",
    )
    parser.add_argument("--only", action="append", help="rows whose label contains this")
    parser.add_argument(
        "--plus-source",
        action="append",
        default=[],
        metavar="LABEL=PATH",
        help="also time plus imported from another checkout (before/after a change)",
    )
    parser.add_argument(
        "--request", choices=sorted(REQUESTS), default="data-science", help="what to solve"
    )
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    global SPECS
    SPECS = REQUESTS[args.request]
    if not run.UNION.is_dir():
        print(f"shared channel data not found at {run.UNION}", file=sys.stderr)
        return 2
    channel = sharded_channel(args.data)
    tiny = tiny_channel(args.data)
    pythons = dict(item.split("=", 1) for item in args.conda_python)
    sources = {label: Path(path) for label, path in (i.split("=", 1) for i in args.plus_source)}
    table = rows(pythons) + source_rows(sources)
    if args.only:
        table = [r for r in table if any(o in f"{r.label} {r.path}" for o in args.only)]
    works = {id(row): Path(tempfile.mkdtemp(prefix="plus-shards-bench-")) for row in table}
    with serve(channel) as (url, traffic):
        for round_ in range(args.repeat + 1):  # round 0: cold
            for row in table:
                if row.cold is not None and row.cold[0] is None:
                    continue  # failed cold: not again
                work = works[id(row)]
                result, fetched, requests = measure(row, work, url, tiny, traffic, args.timeout)
                if round_ == 0:
                    row.cold, row.cold_bytes, row.cold_requests = result, fetched, requests
                else:
                    row.warm.append(result)
                    row.warm_bytes.append(fetched)
                    row.warm_requests.append(requests)
                print(progress_line(row, round_, result, fetched, requests), flush=True)
    for work in works.values():
        shutil.rmtree(work, ignore_errors=True)
    print()
    print(markdown(table))
    if args.json_out:
        args.json_out.write_text(json.dumps([row_json(row) for row in table], indent=1))
    return 0


def progress_line(row: Row, round_: int, result: tuple, fetched: int, requests: int) -> str:
    seconds, rss, linked, note = result
    kind = "cold" if round_ == 0 else f"warm{round_}"
    shown = f"{seconds:.2f}s {rss:.0f}MB {linked} pkgs" if seconds else note
    traffic = f"{fetched / 1e6:8.2f} MB in {requests} requests"
    return f"{row.label:<36} {row.path:<10} {kind:<6} {shown:<28} {traffic}"


def _ok(runs: list[tuple]) -> list[tuple]:
    return [r for r in runs if r[0] is not None]


def markdown(table: list[Row]) -> str:
    lines = [
        "| solver | repodata | cold s | cold fetched MB (requests) | warm s (median) "
        "| warm s (best) | warm peak RSS MB | warm fetched MB (requests) | packages |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in table:
        warm = _ok(row.warm)
        cold = row.cold or (None, None, None, "not run")
        cold_s = f"{cold[0]:.2f}" if cold[0] else cold[3]
        median = f"{statistics.median(r[0] for r in warm):.2f}" if warm else "-"
        best = f"{min(r[0] for r in warm):.2f}" if warm else "-"
        rss = f"{statistics.median(r[1] for r in warm):.0f}" if warm else "-"
        fetched = (
            f"{statistics.median(row.warm_bytes) / 1e6:.2f} "
            f"({statistics.median(row.warm_requests):.0f})"
            if row.warm_bytes
            else "-"
        )
        linked = warm[0][2] if warm else cold[2]
        lines.append(
            f"| {row.label} | {row.path} | {cold_s} "
            f"| {row.cold_bytes / 1e6:.2f} ({row.cold_requests}) | {median} "
            f"| {best} | {rss} | {fetched} | {linked if linked is not None else '-'} |"
        )
    return "\n".join(lines)


def row_json(row: Row) -> dict:
    return {
        "label": row.label,
        "path": row.path,
        "cold": row.cold,
        "cold_bytes": row.cold_bytes,
        "cold_requests": row.cold_requests,
        "warm": row.warm,
        "warm_bytes": row.warm_bytes,
        "warm_requests": row.warm_requests,
    }


if __name__ == "__main__":
    sys.exit(main())
