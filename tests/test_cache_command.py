"""``conda-solver-plus cache info`` and ``cache clean`` on a cache real solves filled
(issue 23, item 3).

One cache holds every kind the solves here make: the split of a large local monolithic
channel, its subsets and manifests, libmamba's ``.solv`` files (a local channel solved by
libmamba), the shards and shard indexes of a sharded channel served on loopback, and
py-rattler's cache of a monolithic channel served on loopback. Then:

- ``info`` reports, per kind, exactly the files and bytes on disk, and the channels the
  files name (URLs redacted);
- ``clean --older-than`` removes only what was not used for that long (aged with
  ``os.utime``, as a cache left alone for days);
- ``clean`` empties the cache, and the same solves give the same answers after it;
- a split another process is making (it holds the split's lock) is kept;
- a read-only cache is one clear error, exit 2; bad arguments too.

Every command runs in a subprocess, as a user runs it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conda_solver_plus import cache_command
from conda_solver_plus.exceptions import InvalidInputError
from conda_solver_plus.repodata import split as shard_cache
from conda_solver_plus.repodata.cache_files import IN_USE_LOCK, in_sole_use, in_use

from .channels import serve_channel, write_package_channel, write_sharded_channel
from .engines import REPO_ROOT
from .test_cache_faults import (
    age,
    cli,
    make_read_only,
    solved,
    tmpfs,
    wait_for_split,
    write_large_channel,
)


def cache_cli(cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``conda-solver-plus cache ARGS`` with ``cache`` as ``$CONDA_SOLVER_PLUS_CACHE``."""
    environment = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "CONDA_SOLVER_PLUS_CACHE": str(cache),
        "HOME": str(cache.parent / "home"),
    }
    command = [sys.executable, "-m", "conda_solver_plus", "cache", *args]
    return subprocess.run(
        command, env=environment, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT
    )


def ok_json(proc: subprocess.CompletedProcess[str]) -> dict:
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def large_channel(tmp_path_factory) -> Path:
    return write_large_channel(tmp_path_factory.mktemp("large") / "chan")


@dataclass
class Filled:
    """A cache filled by real solves, and how to solve the same requests again."""

    cache: Path
    large: Path
    sharded_url: str
    monolithic_url: str

    def answers(self) -> list[dict[str, str]]:
        return [
            solved(cli(self.cache, "libmamba", "a_pkg", "-c", str(self.large))),
            solved(cli(self.cache, "rattler", "shout", "-c", self.sharded_url)),
            solved(cli(self.cache, "rattler", "greet", "-c", self.monolithic_url)),
        ]


@pytest.fixture(scope="module")
def filled_once(tmp_path_factory, large_channel) -> Iterator[Filled]:
    """The channels, served for the whole module, and a cache the solves filled once."""
    root = tmp_path_factory.mktemp("filled")
    sharded = write_sharded_channel(root / "www" / "chan")
    write_package_channel(root / "www2" / "mono", "linux-64")
    cache = root / "cache"
    with serve_channel(sharded) as shards, serve_channel(root / "www2") as mono:
        state = Filled(cache, large_channel, shards.url, f"{mono.url}/mono")
        solved(cli(cache, "libmamba", "a_pkg", "-c", str(large_channel)))
        wait_for_split(large_channel / "linux-64" / "repodata.json", cache)
        state.answers()  # the split's subsets, the shards, rattler's repodata
        yield state


@pytest.fixture
def filled(tmp_path, filled_once) -> Filled:
    """A copy of the filled cache (times kept) for one test to age and clean."""
    cache = tmp_path / "cache"
    shutil.copytree(filled_once.cache, cache, copy_function=shutil.copy2)
    return dataclasses.replace(filled_once, cache=cache)


# -- what is on disk, by kind ----------------------------------------------------------------

#: kind -> the files of that kind in a cache (the layout of docs/sharded-repodata.md)
ON_DISK = {
    "repodata": lambda c: (c / "repodata").glob("*"),
    "shards": lambda c: (c / "shards" / "blobs").glob("*"),
    "shard-indexes": lambda c: (c / "shards" / "index").glob("*"),
    "subsets": lambda c: [
        *(c / "shard-cache" / "subsets").glob("*"),
        *(c / "shards" / "subsets").glob("*"),
    ],
    "splits": lambda c: [
        *(c / "shard-cache").glob("*-*/*"),
        *(c / "shard-cache").glob("*.lock"),
        *(c / "shard-cache").glob("*.starting"),
    ],
    "solv": lambda c: (c / "solv").glob("*"),
}


def on_disk(cache: Path) -> dict[str, tuple[int, int]]:
    """kind -> (files, bytes) as found on disk."""
    found = {}
    for kind, files in ON_DISK.items():
        paths = [p for p in files(cache) if p.is_file()]
        found[kind] = (len(paths), sum(p.stat().st_size for p in paths))
    return found


def all_files(cache: Path) -> list[Path]:
    """Every file of the cache but the lock solves hold (no cache entry)."""
    return [p for p in cache.rglob("*") if p.is_file() and p.name != IN_USE_LOCK]


def reported(report: dict) -> dict[str, tuple[int, int]]:
    return {k["kind"]: (k["files"], k["bytes"]) for k in report["kinds"]}


# -- info ------------------------------------------------------------------------------------


def test_info_reports_each_kind_as_on_disk_and_the_channels(filled):
    report = ok_json(cache_cli(filled.cache, "info", "--json"))
    assert report["cache_dir"] == str(filled.cache)
    assert report["source"] == "$CONDA_SOLVER_PLUS_CACHE"
    expected = on_disk(filled.cache)
    assert all(files for files, _ in expected.values()), expected  # every kind was made
    kinds = reported(report)
    assert {kind: kinds[kind] for kind in expected} == expected
    files = all_files(filled.cache)
    assert report["total"] == {
        "files": len(files),
        "bytes": sum(p.stat().st_size for p in files),
    }
    channels = {(row["channel"], row["kind"]) for row in report["channels"]}
    assert (str(filled.large), "splits") in channels
    assert (filled.monolithic_url, "repodata") in channels
    assert (filled.sharded_url, "shard-indexes") in channels

    table = cache_cli(filled.cache, "info")
    assert table.returncode == 0, table.stderr
    assert f"cache directory: {filled.cache} ($CONDA_SOLVER_PLUS_CACHE)" in table.stdout
    assert str(filled.large) in table.stdout and filled.monolithic_url in table.stdout


def test_info_redacts_the_credentials_of_recorded_urls(tmp_path):
    """A private channel's URL in py-rattler's ``.info.json`` is printed as conda
    redacts it: no password, the token masked."""
    cache = tmp_path / "cache"
    (cache / "repodata").mkdir(parents=True)
    url = "https://user:s3cret@example.org/t/tk-0123456789/private/linux-64/repodata.json"
    (cache / "repodata" / "0a1b2c3d.info.json").write_text(json.dumps({"url": url}))
    (cache / "repodata" / "0a1b2c3d.json").write_text("{}")
    for arguments in (("info", "--json"), ("info",)):
        proc = cache_cli(cache, *arguments)
        assert proc.returncode == 0, proc.stderr
        assert "s3cret" not in proc.stdout and "tk-0123456789" not in proc.stdout
        assert "example.org/t/<TOKEN>/private" in proc.stdout


def test_info_of_a_cache_not_made_yet(tmp_path):
    report = ok_json(cache_cli(tmp_path / "none", "info", "--json"))
    assert report["exists"] is False and report["total"] == {"files": 0, "bytes": 0}


# -- clean -----------------------------------------------------------------------------------


def test_clean_older_than_removes_only_what_was_not_used_for_that_long(filled):
    before = filled.answers()
    aged = [
        *(filled.cache / "solv").glob("*.solv"),
        *(filled.cache / "shards" / "blobs").glob("*"),
    ]
    age(filled.cache / "solv", days=20)
    age(filled.cache / "shards" / "blobs", days=20)
    fresh = [p for p in all_files(filled.cache) if p not in aged]
    assert aged and fresh
    aged_bytes = sum(p.stat().st_size for p in aged)
    removal = ok_json(cache_cli(filled.cache, "clean", "--older-than", "10", "--json"))
    assert removal["removed"]["files"] == len(aged)
    assert removal["removed"]["bytes"] == aged_bytes
    assert not any(p.exists() for p in aged)
    assert all(p.exists() for p in fresh)
    assert filled.answers() == before


def test_clean_older_than_counts_the_bytes_it_removed(filled):
    age(filled.cache / "solv", days=3)
    solv = list((filled.cache / "solv").glob("*"))
    size = sum(p.stat().st_size for p in solv)
    dry = ok_json(cache_cli(filled.cache, "clean", "--older-than", "2", "-n", "--json"))
    assert dry["removed"]["kinds"] == {"solv": {"files": len(solv), "bytes": size}}
    assert all(p.exists() for p in solv)  # a dry run removes nothing
    assert ok_json(cache_cli(filled.cache, "clean", "--older-than", "2", "--json")) == {
        **dry,
        "dry_run": False,
    }
    assert not any(p.exists() for p in solv)


def test_a_split_used_by_a_solve_is_not_aged(filled):
    """Opening a split touches it: a split made 30 days ago and used now is kept."""
    age(filled.cache / "shard-cache", days=30)
    # a new request: no manifest matches, so the split is opened
    assert solved(cli(filled.cache, "libmamba", "d_pkg", "-c", str(filled.large))) == {
        "d_pkg": "1.0",
        "c_pkg": "1.0",
        "b_pkg": "1.0",
    }
    ok_json(cache_cli(filled.cache, "clean", "--older-than", "7", "--json"))
    assert shard_cache.split_ready(filled.large / "linux-64" / "repodata.json", filled.cache)


def test_clean_empties_the_cache_and_the_next_solves_answer_the_same(filled):
    before = filled.answers()
    total = ok_json(cache_cli(filled.cache, "info", "--json"))["total"]
    removal = ok_json(cache_cli(filled.cache, "clean", "--json"))
    assert removal["removed"]["files"] == total["files"]
    assert removal["removed"]["bytes"] == total["bytes"]
    assert all_files(filled.cache) == []
    assert ok_json(cache_cli(filled.cache, "info", "--json"))["total"] == {"files": 0, "bytes": 0}
    assert filled.answers() == before
    text = cache_cli(filled.cache, "clean", "--yes")
    assert text.returncode == 0 and text.stdout.startswith("Removed ")


@contextlib.contextmanager
def held(lock: Path) -> Iterator[None]:
    """Hold ``lock`` as a splitting process does (waiting for one that holds it)."""
    with open(lock, "rb") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def test_clean_keeps_a_split_whose_lock_another_process_holds(filled):
    source = filled.large / "linux-64" / "repodata.json"
    key = shard_cache.source_key(source)
    lock = filled.cache / "shard-cache" / f"{key}.lock"
    split = filled.cache / "shard-cache" / key
    with held(lock):
        removal = ok_json(cache_cli(filled.cache, "clean", "--json"))
        assert removal["kept_in_use"]["files"] >= 3  # names, index.msgpack, pack, source
        assert shard_cache.split_ready(source, filled.cache)
        assert not (filled.cache / "solv").exists() or not any((filled.cache / "solv").iterdir())
    assert lock.exists() and split.is_dir()
    ok_json(cache_cli(filled.cache, "clean", "--json"))
    assert not split.exists() and not lock.exists()
    assert not list((filled.cache / "shard-cache").glob(".*"))  # renamed away, then deleted


def test_clean_of_a_read_only_cache_is_one_clear_error(tmp_path, large_channel):
    with tmpfs(tmp_path / "cache", "64m") as cache:
        solved(cli(cache, "rattler", "a_pkg", "-c", str(large_channel)))
        wait_for_split(large_channel / "linux-64" / "repodata.json", cache)
        # the splitter holds its claim open for writing until it exits (remount would fail)
        for claim in (cache / "shard-cache").glob("*.starting"):
            with held(claim):
                pass
        make_read_only(cache)
        assert ok_json(cache_cli(cache, "info", "--json"))["total"]["files"] > 0
        proc = cache_cli(cache, "clean")
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith(f"error: {cache}: cannot remove files from the cache")
        assert "Read-only file system" in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "arguments",
    [
        ("clean", "--older-than", "-1"),
        ("clean", "--older-than", "a week"),
        ("clean", "--older-than", "nan"),
        (),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(tmp_path, arguments):
    proc = cache_cli(tmp_path / "cache", *arguments)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_a_cache_that_is_a_file_is_one_clear_error(tmp_path):
    cache = tmp_path / "cache"
    cache.write_text("")
    for arguments in (("info",), ("clean",)):
        proc = cache_cli(cache, *arguments)
        assert proc.returncode == 2
        assert proc.stderr == f"error: {cache}: the cache directory is not a directory " + (
            "(give the cache directory with --cache-dir or CONDA_SOLVER_PLUS_CACHE)\n"
        )
    assert cache.read_text() == ""  # left as it was


def test_solves_running_while_the_cache_is_cleaned_never_answer_wrongly(filled):
    """``clean`` over and over for 4 s while solves run one after another: every solve
    answers, and answers right (a solve may fetch or split again). Before the cache was
    held by solves (``cache_files.in_use``), a clean removed a subset or py-rattler's
    repodata a solve had looked up and was about to open (exit 2 blaming the channel,
    or an internal error), or the temporary file py-rattler was writing."""
    expected = filled.answers()
    environment = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "CONDA_SOLVER_PLUS_CACHE": str(filled.cache),
        "HOME": str(filled.cache.parent / "home"),
    }
    cleaner = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\nfrom conda_solver_plus.cli import main\nend = time.time() + 4\n"
            "while time.time() < end: main(['cache', 'clean', '--json'])",
        ],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    outcomes = []
    while cleaner.poll() is None:
        for solve, answer in zip(
            (
                lambda: cli(filled.cache, "libmamba", "a_pkg", "-c", str(filled.large)),
                lambda: cli(filled.cache, "rattler", "shout", "-c", filled.sharded_url),
                lambda: cli(filled.cache, "rattler", "greet", "-c", filled.monolithic_url),
            ),
            expected,
            strict=True,
        ):
            proc = solve()
            outcomes.append(proc.returncode)
            if proc.returncode == 0:
                assert solved(proc) == answer
            else:
                assert "internal error" not in proc.stderr, proc.stderr
    assert cleaner.wait() == 0 and "Traceback" not in cleaner.stderr.read()
    assert filled.answers() == expected
    # a clean waits for the solve using the cache: none has a file removed from under it
    assert outcomes and set(outcomes) == {0}, outcomes


def test_clean_waits_for_the_solves_using_the_cache(tmp_path):
    """A solve holds the cache shared while it runs: ``clean`` waits until it ends, then
    removes; a solve that outlasts the wait is one clear error and nothing is removed."""
    cache = tmp_path / "cache"
    (cache / "solv").mkdir(parents=True)
    (cache / "solv" / "a.solv").write_bytes(b"x" * 10)
    with in_use(cache):
        with pytest.raises(InvalidInputError, match="solves kept using the cache directory"):
            cache_command.clean(cache, wait_seconds=0.3)
        assert (cache / "solv" / "a.solv").exists()
        started = time.monotonic()
        cleaner = subprocess.Popen(
            [sys.executable, "-m", "conda_solver_plus", "cache", "clean", "--json"],
            env={
                **os.environ,
                "PYTHONPATH": str(REPO_ROOT),
                "CONDA_SOLVER_PLUS_CACHE": str(cache),
            },
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO_ROOT,
        )
        time.sleep(1.5)
        assert cleaner.poll() is None and (cache / "solv" / "a.solv").exists()
    out, _ = cleaner.communicate(timeout=60)
    assert cleaner.returncode == 0 and time.monotonic() - started >= 1.5
    assert json.loads(out)["removed"] == {
        "files": 1,
        "bytes": 10,
        "kinds": {"solv": {"files": 1, "bytes": 10}},
    }
    assert (cache / IN_USE_LOCK).exists()  # the lock itself is no cache entry


def test_a_solve_through_conda_holds_plus_cache_as_the_cli_does(tmp_path, engine_name):
    """``conda create --solver=plus`` holds plus's cache while it solves, as the CLI does
    (``cache_files.in_use``): while ``clean`` holds it, the solve waits, then answers as
    before."""
    from .test_conda_shards import conda, ok, serve, shards_only_channel

    shards_only_channel(tmp_path / "www" / "chan")
    cache = tmp_path / "plus-cache"  # the conda helper's CONDA_SOLVER_PLUS_CACHE
    with serve(tmp_path / "www") as server:
        channels = [server.url("chan")]
        started = time.monotonic()
        first = ok(conda(tmp_path, engine_name, "greet", channels=channels)).versions()
        took = time.monotonic() - started
        answers: list = []
        with in_sole_use(cache, wait_seconds=0) as sole:
            assert sole
            solve = threading.Thread(
                target=lambda: answers.append(
                    conda(tmp_path, engine_name, "greet", channels=channels)
                )
            )
            solve.start()
            time.sleep(max(2 * took, 2.0))
            assert solve.is_alive() and not answers  # waiting for the cache
        solve.join(timeout=120)
        assert ok(answers[0]).versions() == first
