"""
Locking one environment for three platforms: ``conda-solver-plus lock`` against conda-lock
4.0.3 driving real conda, in one interleaved run, wall time and peak RSS.

    python benchmarks/lock.py                  # 5 timed runs per row after a warm-up
    python benchmarks/lock.py --repeat 3 --json-out lock.json

The environment is a data-science ``environment.yml`` (``python=3.11 numpy scipy pandas``)
on the shared conda-forge records (``../shared/data/repodata/lockfile-union/conda-forge``,
a ``file://`` channel), locked for ``linux-64``, ``osx-arm64`` and ``win-64`` into a
conda-lock ``conda-lock.yml``. (``python=3.12`` with ``matplotlib`` has no solution for
``osx-arm64`` and ``win-64`` on these records; ``python=3.11`` with numpy, scipy and
pandas solves everywhere — and with ``matplotlib-base``, ``scikit-learn``, ``jupyterlab``
too: ``--request large``.) Four rows:

- ``plus lock``: ``conda-solver-plus lock -f environment.yml -p ... --lockfile
  conda-lock.yml``, the default engine, and ``--backend rattler``;
- ``conda-lock + conda (libmamba)``: ``conda-lock lock --conda CONDA --no-mamba
  --no-micromamba --kind lock`` with ``CONDA_SOLVER=libmamba`` — conda-lock runs one
  ``conda create --dry-run --json`` per platform, one after the other, with
  ``CONDA_SUBDIR`` and a fake channel of its virtual packages;
- ``conda-lock + conda (plus)``: the same with ``CONDA_SOLVER=plus``.

What it takes to run conda-lock here, offline:

- the ``.venv``'s ``conda`` script is conda's pip entry point (``conda.cli.main_pip``),
  which refuses every command but ``init`` and ``info`` ("Conda has not been
  initialized"); ``--conda`` gets a two-line wrapper running ``PYTHON -m conda`` instead
  (plus is the editable install of this checkout: checked before the run);
- conda-lock gives conda a fresh temporary ``CONDA_PKGS_DIRS`` of its own on every run
  (``invoke_conda.conda_env_override``; ``TMPDIR`` puts it in the row's scratch
  directory), so conda's own caches are never warm; with nothing in it, every package is
  a ``FETCH`` action of the dry run, which carries URL and hashes, and nothing is
  downloaded;
- ``HTTP(S)_PROXY`` point at a closed port on 127.0.0.1: anything that tried the network
  would fail the row.

conda-lock also sets ``CONDA_ADD_PIP_AS_PYTHON_DEPENDENCY=False`` for conda, while plus's
default is conda's (``true``: pip, setuptools, wheel and packaging join python); the plus
rows run with the same ``false``, so all rows lock the same packages — checked after the
run, platform by platform, and printed under the table.

Each row has its own scratch directory (plus's repodata cache, an empty ``.condarc``);
the lockfile is deleted before every run (a fresh lock, not a re-lock). Round 0 warms
the caches and the page cache (shown as *first*); the rounds after it alternate the rows,
so a busy moment of the machine hits all of them alike; the table gives the first run, the
median and best timed runs, and the time against ``plus lock`` as the median of each
round's ratio (steadier than a ratio of medians on a loaded machine). Peak RSS (median of
the timed runs) is measured two ways:
the largest single process of the command (``ru_maxrss`` of the reaped tree, as
``/usr/bin/time`` reports it) and the whole process tree (the RSS of every live process
of the command's session summed, sampled every 100 ms; shared pages count once per
process, as in ``ps``) — plus solves platforms in processes side by side, conda-lock one
conda after another.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CONDA_FORGE = ROOT.parent / "shared" / "data" / "repodata" / "lockfile-union" / "conda-forge"
PLATFORMS = ("linux-64", "osx-arm64", "win-64")
REQUESTS = {
    "data-science": ["python=3.11", "numpy", "scipy", "pandas"],
    "large": [
        "python=3.11",
        "numpy",
        "scipy",
        "pandas",
        "matplotlib-base",
        "scikit-learn",
        "jupyterlab",
    ],
}
#: a closed port: any HTTP request a row makes fails instead of reaching the network
NO_NETWORK = "http://127.0.0.1:9"
SAMPLE_SECONDS = 0.1
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Row:
    label: str
    kind: str  # "plus" or "conda-lock"
    args: list[str] = field(default_factory=list)  # extra flags of plus lock
    solver: str = ""  # CONDA_SOLVER of the conda-lock rows
    runs: list[tuple[float, float, float]] = field(default_factory=list)  # s, MB, MB
    first: tuple[float, float, float] | None = None
    failure: str = ""
    packages: dict[str, set[tuple[str, str, str]]] = field(default_factory=dict)


def rows() -> list[Row]:
    return [
        Row("plus lock", "plus"),
        Row("plus lock --backend rattler", "plus", ["--backend", "rattler"]),
        Row("conda-lock + conda (libmamba)", "conda-lock", solver="libmamba"),
        Row("conda-lock + conda (plus)", "conda-lock", solver="plus"),
    ]


def environment_yml(path: Path, specs: list[str]) -> Path:
    lines = ["name: science", "channels:", f"  - {CONDA_FORGE.as_uri()}", "dependencies:"]
    lines += [f"  - {spec}" for spec in specs]
    lines += ["platforms:", *(f"  - {platform}" for platform in PLATFORMS)]
    path.write_text("\n".join(lines) + "\n")
    return path


def conda_wrapper(work: Path, python: Path) -> Path:
    """An executable ``conda`` for conda-lock: ``PYTHON -m conda`` (the ``.venv``'s own
    ``conda`` script is conda's pip entry point, which runs only ``init`` and ``info``)."""
    wrapper = work / "conda"
    wrapper.write_text(f'#!/bin/sh\nexec "{python}" -m conda "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def command(row: Row, env_file: Path, lockfile: Path, conda: Path, python: Path) -> list[str]:
    platforms = [flag for platform in PLATFORMS for flag in ("-p", platform)]
    if row.kind == "plus":
        plus = [str(python.with_name("conda-solver-plus"))]
        return [*plus, "lock", "-q", "-f", str(env_file), *platforms, *row.args,
                "--lockfile", str(lockfile)]  # fmt: skip
    conda_lock = str(python.with_name("conda-lock"))
    return [conda_lock, "lock", "--conda", str(conda), "--no-mamba", "--no-micromamba",
            "--kind", "lock", "-f", str(env_file), *platforms,
            "--lockfile", str(lockfile)]  # fmt: skip


def environment(row: Row, work: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CONDA_", "PYTHONPATH", "MAMBA")) and "proxy" not in key.lower()
    }
    (work / "condarc").touch()
    (work / "tmp").mkdir(exist_ok=True)
    env.update(
        CONDARC=str(work / "condarc"),
        CONDA_PKGS_DIRS=str(work / "pkgs"),
        CONDA_SOLVER_PLUS_CACHE=str(work / "plus-cache"),
        CONDA_NUMBER_CHANNEL_NOTICES="0",
        CONDA_AUTO_UPDATE_CONDA="false",
        CONDA_ADD_PIP_AS_PYTHON_DEPENDENCY="false",  # what conda-lock sets for conda
        TMPDIR=str(work / "tmp"),
        HTTP_PROXY=NO_NETWORK,
        HTTPS_PROXY=NO_NETWORK,
        http_proxy=NO_NETWORK,
        https_proxy=NO_NETWORK,
    )
    if row.solver:
        env["CONDA_SOLVER"] = row.solver
    return env


class TreeSampler(threading.Thread):
    """The largest summed RSS of the processes in one session (the command was started
    with ``start_new_session``: its pid is the session id), sampled from ``/proc``.
    Processes outside the session are remembered and not read again."""

    def __init__(self, session: int) -> None:
        super().__init__(daemon=True)
        self.session = session
        self.peak_bytes = 0
        self.stopped = threading.Event()
        self._foreign: set[str] = set()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.peak_bytes = max(self.peak_bytes, self._sample())
            self.stopped.wait(SAMPLE_SECONDS)

    def _sample(self) -> int:
        total = 0
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or pid in self._foreign:
                continue
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            # after the command name: state ppid pgrp session ...; rss is the 22nd after it
            if int(fields[3]) != self.session:
                self._foreign.add(pid)
                continue
            total += int(fields[21]) * _PAGE
        return total


def run_measured(
    argv: list[str], env: dict[str, str], cwd: Path, timeout: float
) -> tuple[float, float, float] | str:
    """``(seconds, largest process MB, process tree MB)`` of one command, or why it
    failed. ``os.wait4`` blocks until the command ends (no polling rounds the time up)
    and gives the tree's ``ru_maxrss``; a timer kills the whole session at ``timeout``."""
    with tempfile.TemporaryFile() as log:
        started = time.perf_counter()
        proc = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=log, stderr=log, start_new_session=True
        )
        sampler = TreeSampler(proc.pid)
        sampler.start()
        killer = threading.Timer(timeout, os.killpg, (proc.pid, signal.SIGKILL))
        killer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        killer.cancel()
        sampler.stopped.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            log.seek(0)
            tail = log.read().decode(errors="replace").strip().splitlines()[-3:]
            return f"exit {proc.returncode}: " + " | ".join(tail)
    largest = usage.ru_maxrss / 1024  # KiB on Linux
    return elapsed, largest, max(largest, sampler.peak_bytes / 2**20)


def package_sets(lockfile: Path) -> dict[str, set[tuple[str, str, str]]]:
    from conda_solver_plus.lockfile import read_lockfile

    return {
        platform: {
            (r.name.normalized, str(r.version), str(r.build))
            for r in read_lockfile(lockfile, platform=platform).records
        }
        for platform in PLATFORMS
    }


def check_plus_is_this_checkout(python: Path, env: dict[str, str], cwd: Path) -> str:
    """conda's solver list, and where the ``plus`` it loads comes from (must be here)."""
    probe = (
        "import conda_solver_plus; from conda.base.context import context; "
        "names = sorted(context.plugin_manager.get_solvers()); "
        "print(conda_solver_plus.__file__, ','.join(names))"
    )
    out = subprocess.run(
        [str(python), "-c", probe], env=env, cwd=cwd, capture_output=True, text=True
    )
    where, _, solvers = out.stdout.strip().rpartition(" ")
    if out.returncode or not Path(where).resolve().is_relative_to(ROOT):
        raise SystemExit(f"plus is not imported from {ROOT}: {out.stdout}{out.stderr}")
    return f"conda_solver_plus from {Path(where).parent}; conda's solvers: {solvers}"


def markdown(table: list[Row], repeat: int) -> str:
    plus = table[0]
    base = statistics.median(r[0] for r in plus.runs) if plus.runs else None
    lines = [
        f"| command | first s | median s ({repeat} runs) | best s | time vs plus lock (paired) "
        "| peak RSS largest process MB | peak RSS process tree MB "
        "| packages (" + " / ".join(PLATFORMS) + ") |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in table:
        if not row.runs:
            lines.append(f"| {row.label} | {row.failure} | - | - | - | - | - | - |")
            continue
        median = statistics.median(r[0] for r in row.runs)
        first = f"{row.first[0]:.2f}" if row.first else "-"
        ratio = f"{_paired_ratio(row, plus):.2f}" if base else "-"
        largest = statistics.median(r[1] for r in row.runs)
        tree = statistics.median(r[2] for r in row.runs)
        counts = " / ".join(str(len(row.packages.get(p, ()))) for p in PLATFORMS)
        lines.append(
            f"| {row.label} | {first} | {median:.2f} | {min(r[0] for r in row.runs):.2f} "
            f"| {ratio} | {largest:.0f} | {tree:.0f} | {counts} |"
        )
    return "\n".join(lines)


def _paired_ratio(row: Row, reference: Row) -> float:
    """The median of the rounds' ratios ``row / reference`` (both ran in the same round,
    moments apart): steadier than a ratio of medians when the machine's load moves."""
    pairs = zip(row.runs, reference.runs, strict=False)
    return statistics.median(mine[0] / theirs[0] for mine, theirs in pairs)


def compare(table: list[Row]) -> list[str]:
    """One line per platform: whether every row locked the same packages, else what
    differs from the first row."""
    done = [row for row in table if row.packages]
    if not done:
        return []
    lines = []
    for platform in PLATFORMS:
        reference = done[0].packages[platform]
        differing = [row for row in done[1:] if row.packages[platform] != reference]
        if not differing:
            lines.append(f"{platform}: all rows lock the same {len(reference)} packages")
        for row in differing:
            mine = row.packages[platform]
            lines.append(
                f"{platform}: {row.label} differs from {done[0].label}: "
                f"only there {sorted(mine - reference)}, missing {sorted(reference - mine)}"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per row")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per run")
    parser.add_argument("--request", choices=sorted(REQUESTS), default="data-science")
    parser.add_argument("--only", action="append", help="rows whose label contains this")
    parser.add_argument(
        "--python", type=Path, default=Path(sys.executable), help="the .venv's python"
    )
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    if not CONDA_FORGE.is_dir():
        print(f"shared channel data not found at {CONDA_FORGE}", file=sys.stderr)
        return 2
    # the venv's own python, not its target: its bin/ holds conda-lock and the plus script
    python = args.python.absolute()
    if not python.with_name("conda-lock").exists():
        print(f"conda-lock is not installed beside {python} (pip install conda-lock==4.0.3)")
        return 2
    sys.path.insert(0, str(ROOT))
    table = rows()
    if args.only:
        table = [row for row in table if any(o in row.label for o in args.only)]
    top = Path(tempfile.mkdtemp(prefix="plus-lock-bench-"))
    works = {id(row): top / f"row{i}" for i, row in enumerate(table)}
    for work in works.values():
        work.mkdir()
    env_file = environment_yml(top / "environment.yml", REQUESTS[args.request])
    conda = conda_wrapper(top, python)
    print(check_plus_is_this_checkout(python, environment(table[0], top), top), flush=True)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    try:
        for round_ in range(args.repeat + 1):  # round 0: warm-up (first)
            for row in table:
                if row.failure:
                    continue
                work = works[id(row)]
                lockfile = work / "conda-lock.yml"
                lockfile.unlink(missing_ok=True)
                argv = command(row, env_file, lockfile, conda, python)
                result = run_measured(argv, environment(row, work), work, args.timeout)
                if isinstance(result, str):
                    row.failure = result
                    print(f"{row.label:<32} run {round_}: {result}", flush=True)
                    continue
                if round_ == 0:
                    row.first = result
                    row.packages = package_sets(lockfile)
                else:
                    row.runs.append(result)
                seconds, largest, tree = result
                print(
                    f"{row.label:<32} run {round_}: {seconds:6.2f} s  largest {largest:4.0f} MB"
                    f"  tree {tree:4.0f} MB",
                    flush=True,
                )
    finally:
        shutil.rmtree(top, ignore_errors=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print()
    print(markdown(table, args.repeat))
    print()
    print("\n".join(compare(table)))
    if args.json_out:
        args.json_out.write_text(
            json.dumps(
                [
                    {"label": r.label, "first": r.first, "runs": r.runs, "failure": r.failure}
                    for r in table
                ],
                indent=1,
            )
        )
    return 1 if any(row.failure for row in table) else 0


if __name__ == "__main__":
    sys.exit(main())
