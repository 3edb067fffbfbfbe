"""Faults of plus's own cache, injected for real: a cache aged past the prune, a cache on a
read-only or full file system, splits killed mid-way, many cold solves at once.

The contract (issue 22, items 3, 7 and 10; docs/differences.md, "What plus does on repodata
faults"):

- a cache file a solve reuses is touched before any prune can see it, and a prune never
  removes what the running solve chose (an aged cache once deleted the subset a solve was
  about to open: exit 2 blaming the channel);
- a read-only or full cache is read, and what cannot be written there goes to a temporary
  directory of the process, with one warning naming the cache: never an internal error
  (a warm read-only cache was exit 3 on the split's lock file);
- what killed work left (a split's temporary directory: the whole pack) is removed by the
  next run, but not the directory of a split running now in another process; the conda
  adapter's shard-name lookups (one per shard-index version) are bounded; concurrent cold
  solves start one splitter per file, not one each.

Each case runs the standalone CLI in a subprocess (the exit status, stdout and stderr a
user sees), on both engines, and through real conda (``conda create --dry-run
--solver=plus``) where the adapter has the path. The read-only and full caches are real
tmpfs mounts (tests run as root, which permission bits do not stop: ``EROFS`` and
``ENOSPC`` do); where mounting is not permitted those cases skip, saying so.

The monolithic channel here is generated above the shard cache's split threshold
(:data:`conda_solver_plus.repodata.split.SPLIT_ABOVE_BYTES`), so the CLI subprocesses use
the shard cache exactly as on conda-forge.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conda_solver_plus.repodata import cache_files
from conda_solver_plus.repodata import split as shard_cache

from .channels import serve_channel, write_package_channel, write_sharded_channel
from .engines import REPO_ROOT

#: records in the generated channel: above the split threshold, split in ~2 s
FILLERS = 32_000


# -- a large channel, the CLI, time ----------------------------------------------------------


def _record(name: str, version: str, depends: list[str], subdir: str = "linux-64") -> dict:
    return {
        "name": name,
        "version": version,
        "build": "0",
        "build_number": 0,
        "depends": depends,
        "subdir": subdir,
        "md5": "0123456789abcdef0123456789abcdef",
        "size": 1,
        "license": "BSD-3-Clause",
        "timestamp": 1_700_000_000_000,
    }


def write_large_channel(root: Path) -> Path:
    """A channel whose ``linux-64/repodata.json`` is above the split threshold: ``a_pkg ->
    b_pkg``, ``c_pkg -> b_pkg``, ``d_pkg -> c_pkg``, python and pip, and thousands of
    unrelated fillers."""
    packages = {
        f"filler{i}-1.0-0.tar.bz2": _record(f"filler{i}", "1.0", [f"filler{(i + 1) % FILLERS}"])
        for i in range(FILLERS)
    }
    for name, depends in [
        ("a_pkg", ["b_pkg"]),
        ("b_pkg", []),
        ("c_pkg", ["b_pkg"]),
        ("d_pkg", ["c_pkg"]),
    ]:
        packages[f"{name}-1.0-0.tar.bz2"] = _record(name, "1.0", depends)
    packages["python-3.12.0-0.tar.bz2"] = _record("python", "3.12.0", [])
    packages["pip-24.0-0.tar.bz2"] = _record("pip", "24.0", ["python"])
    for subdir, records in (("linux-64", packages), ("noarch", {})):
        (root / subdir).mkdir(parents=True, exist_ok=True)
        document = {"info": {"subdir": subdir}, "packages": records, "packages.conda": {}}
        (root / subdir / "repodata.json").write_text(json.dumps(document))
    assert shard_cache.worth_splitting(root / "linux-64" / "repodata.json")
    return root


@pytest.fixture(scope="module")
def large_channel(tmp_path_factory) -> Path:
    return write_large_channel(tmp_path_factory.mktemp("large") / "chan")


def cli(
    cache: Path, engine: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``conda-solver-plus solve ARGS --subdir linux-64 --json`` with ``cache`` as the cache
    directory, in a subprocess."""
    environment = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "CONDA_SOLVER_PLUS_CACHE": str(cache),
        "CONDA_SOLVER_PLUS_BACKEND": engine,
        "HOME": str(cache.parent / "home"),
        **(env or {}),
    }
    command = [sys.executable, "-m", "conda_solver_plus", "solve", *args]
    command += ["--subdir", "linux-64", "--json", "--override-channels"]
    return subprocess.run(
        command, env=environment, capture_output=True, text=True, timeout=300, cwd=REPO_ROOT
    )


def solved(proc: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """name -> version of a successful ``--json`` solve."""
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return {r["name"]: r["version"] for r in json.loads(proc.stdout)["records"]}


def wait_for_split(source: Path, cache: Path) -> None:
    """Until the background split of ``source`` is in ``cache`` (the first solve starts it)."""
    deadline = time.monotonic() + 120
    while not shard_cache.split_ready(source, cache):
        found = sorted(p.name for p in (cache / "shard-cache").glob("*"))
        assert time.monotonic() < deadline, f"no split of {source} in {cache}: {found}"
        time.sleep(0.1)


def age(directory: Path, days: float = 20) -> None:
    """Every file below ``directory`` last modified ``days`` ago (``find -exec touch -d``)."""
    then = time.time() - days * 86400
    for path in directory.rglob("*"):
        if path.is_file():
            os.utime(path, (then, then))


@contextlib.contextmanager
def tmpfs(mountpoint: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``mountpoint`` for the block (skipped, saying why,
    where mounting is not permitted)."""
    mountpoint.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needed for EROFS/ENOSPC): {mounted.stderr}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True)


def make_read_only(mountpoint: Path) -> None:
    """Remount the tmpfs at ``mountpoint`` read-only: every write is ``EROFS``, for root too."""
    subprocess.run(["mount", "-o", "remount,ro", str(mountpoint)], check=True)
    with pytest.raises(OSError):
        (mountpoint / "probe").write_text("")


# -- item 3: the prune never removes what the running solve chose -----------------------------


def test_an_aged_subset_that_is_reused_is_not_pruned_from_under_the_solve(
    tmp_path, engine_name, large_channel
):
    """A request whose subset equals one an earlier request wrote 20 days ago: the subset
    is kept (and touched), the prune that follows remembering the new request must not
    delete it. Before: exit 2, "not valid repodata JSON (failed to open file
    .../shard-cache/subsets/....json)"."""
    cache = tmp_path / "cache"
    source = large_channel / "linux-64" / "repodata.json"
    assert solved(cli(cache, engine_name, "a_pkg", "-c", str(large_channel)))
    wait_for_split(source, cache)
    assert solved(cli(cache, engine_name, "a_pkg", "-c", str(large_channel))) == {
        "a_pkg": "1.0",
        "b_pkg": "1.0",
    }
    age(cache)
    # new roots, the same records reached: the same subset file
    answer = cli(cache, engine_name, "a_pkg", "b_pkg", "-c", str(large_channel))
    assert solved(answer) == {"a_pkg": "1.0", "b_pkg": "1.0"}
    subsets = list((cache / "shard-cache" / "subsets").glob("*.json"))
    assert subsets and all(time.time() - cache_files.last_used(p.stat()) < 3600 for p in subsets)


def test_an_aged_subset_of_a_sharded_http_channel_is_not_pruned(tmp_path, engine_name):
    channel = write_sharded_channel(tmp_path / "www" / "chan")
    cache = tmp_path / "cache"
    with serve_channel(channel) as served:
        first = solved(cli(cache, engine_name, "greet", "-c", served.url))
        age(cache)
        # greet reaches libcolor: "greet libcolor" reads the same subsets
        assert solved(cli(cache, engine_name, "greet", "libcolor", "-c", served.url)) == first


def test_an_aged_subset_is_not_pruned_through_conda(tmp_path, engine_name):
    from .test_conda_shards import conda, ok, serve, shards_only_channel

    shards_only_channel(tmp_path / "www" / "chan")
    with serve(tmp_path / "www") as server:
        channels = [server.url("chan")]
        first = ok(conda(tmp_path, engine_name, "greet", channels=channels)).versions()
        age(tmp_path / "plus-cache")
        again = ok(conda(tmp_path, engine_name, "greet", "libcolor", channels=channels))
        assert again.versions() == first


def test_the_prune_spares_what_it_is_told_to_keep(tmp_path):
    subsets = tmp_path / "shard-cache" / "subsets"
    subsets.mkdir(parents=True)
    chosen, forgotten = subsets / "chosen.json", subsets / "forgotten.json"
    for path in (chosen, forgotten):
        path.write_text("{}")
    age(tmp_path)
    assert cache_files.prune(tmp_path, keep=[chosen]) == 1
    assert chosen.exists() and not forgotten.exists()


# -- item 7: a read-only or full cache is read, never an internal error ----------------------


def test_a_read_only_warm_cache_is_read(tmp_path, engine_name, large_channel):
    """A warm cache on a file system remounted read-only: the same request is answered
    from it, a new one (whose subset cannot be written) too, with one warning naming the
    cache. Before: exit 3, ``OSError: [Errno 30] Read-only file system: .../<key>.lock``,
    nothing on stdout under ``--json``."""
    source = large_channel / "linux-64" / "repodata.json"
    with tmpfs(tmp_path / "cache", "64m") as cache:
        solved(cli(cache, engine_name, "a_pkg", "-c", str(large_channel)))
        wait_for_split(source, cache)
        warm = solved(cli(cache, engine_name, "a_pkg", "-c", str(large_channel)))
        make_read_only(cache)
        same = cli(cache, engine_name, "a_pkg", "-c", str(large_channel))
        assert solved(same) == warm
        new = cli(cache, engine_name, "d_pkg", "python", "--add-pip", "-c", str(large_channel))
        assert solved(new) == {
            "d_pkg": "1.0",
            "c_pkg": "1.0",
            "b_pkg": "1.0",
            "python": "3.12.0",
            "pip": "24.0",
        }
        assert "internal error" not in new.stderr
        assert f"cache directory {cache} cannot be written (Read-only file system)" in new.stderr


def test_a_read_only_cold_cache_is_skipped(tmp_path, engine_name, large_channel):
    with tmpfs(tmp_path / "cache", "1m") as cache:
        make_read_only(cache)
        answer = cli(cache, engine_name, "a_pkg", "-c", str(large_channel))
        assert solved(answer) == {"a_pkg": "1.0", "b_pkg": "1.0"}
        # the shard cache is skipped (the file read whole), and the user told so
        assert f"cache directory {cache} cannot be written (Read-only file system)" in (
            answer.stderr
        )


def test_a_read_only_warm_cache_of_a_sharded_http_channel_is_read(tmp_path, engine_name):
    channel = write_sharded_channel(tmp_path / "www" / "chan")
    with tmpfs(tmp_path / "cache", "16m") as cache, serve_channel(channel) as served:
        solved(cli(cache, engine_name, "greet", "-c", served.url))
        make_read_only(cache)
        # shout's shard is not cached: fetched, used, not kept
        answer = cli(cache, engine_name, "shout", "-c", served.url)
        assert set(solved(answer)) == {"shout", "greet", "libcolor"}
        assert "cannot be written (Read-only file system)" in answer.stderr


@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_a_read_only_cache_of_a_monolithic_http_channel_is_read(tmp_path, engine_name, warm):
    """py-rattler writes lock and ``.info.json`` files even to read its cache: a read-only
    cache was "could not fetch repodata … Read-only file system (check the URL and your
    connection)", warm or cold. Now a temporary stand-in links to what the cache has — a
    warm cache answers, offline too; a cold one is fetched into the stand-in, not kept."""
    channel = write_package_channel(tmp_path / "www" / "chan", "linux-64")
    with tmpfs(tmp_path / "cache", "16m") as cache, serve_channel(channel) as served:
        if warm:
            solved(cli(cache, engine_name, "greet", "-c", served.url))
        make_read_only(cache)
        answer = cli(cache, engine_name, "greet", "-c", served.url)
        assert solved(answer) == {"greet": "2.0", "libcolor": "1.0"}
        assert f"cache directory {cache} cannot be written (Read-only file system)" in (
            answer.stderr
        )
        offline = cli(cache, engine_name, "greet", "-c", served.url, "--offline")
    if warm:
        assert solved(offline) == {"greet": "2.0", "libcolor": "1.0"}
    else:  # nothing was kept: offline has nothing to read, and says so
        assert offline.returncode == 2
        assert "offline" in offline.stderr


def test_a_cache_that_is_a_file_is_skipped_for_a_monolithic_http_channel(tmp_path, engine_name):
    """A file where the cache directory should be ("Not a directory", no mount needed):
    the solve goes on without caching, saying so once (it was exit 2, "not writable")."""
    channel = write_package_channel(tmp_path / "www" / "chan", "linux-64")
    cache = tmp_path / "cache-file"
    cache.write_text("")
    with serve_channel(channel) as served:
        answer = cli(cache, engine_name, "greet", "-c", served.url)
    assert solved(answer) == {"greet": "2.0", "libcolor": "1.0"}
    assert f"cache directory {cache} cannot be written (Not a directory)" in answer.stderr
    assert cache.read_text() == ""


def test_a_full_cache_degrades_to_reading_without_caching(tmp_path, engine_name, large_channel):
    """A 256 kB cache cannot hold the split (~10 MB): ``ENOSPC`` mid-write, and the solve
    goes on with the split in a temporary directory (the shard cache made synchronously,
    as the conda adapter and ``subset_repodata`` do, by a helper process)."""
    source = large_channel / "linux-64" / "repodata.json"
    with tmpfs(tmp_path / "cache", "256k") as cache:
        script = (
            "import sys; from pathlib import Path; "
            "from conda_solver_plus.repodata import split as shard_cache; "
            "paths = shard_cache.subset_repodata_many([Path(sys.argv[1])], ['d_pkg'], "
            "Path(sys.argv[2])); print(paths[0].read_text())"
        )
        proc = subprocess.run(
            [sys.executable, "-c", script, str(source), str(cache)],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=REPO_ROOT,
        )
        assert proc.returncode == 0, proc.stderr
        names = {r["name"] for r in json.loads(proc.stdout)["packages"].values()}
        assert names == {"d_pkg", "c_pkg", "b_pkg"}
        assert "No space left on device" in proc.stderr
        # and nothing half-written is left in the full cache
        assert not list((cache / "shard-cache").glob(".*"))
        answer = cli(cache, engine_name, "d_pkg", "-c", str(large_channel))
        assert set(solved(answer)) == {"d_pkg", "c_pkg", "b_pkg"}


@pytest.mark.parametrize("fault", ["read-only", "a file"])
def test_a_local_zst_channel_is_decompressed_outside_a_cache_that_cannot_be_written(
    tmp_path, engine_name, fault
):
    """A local channel with only ``repodata.json.zst`` needs it decompressed; a cache that
    cannot take it (read-only, or a file where the directory should be) gets a notice, and
    the solve reads a temporary copy. (Before: exit 3 for read-only, exit 2 for a file.)"""
    import zstandard

    channel = tmp_path / "chan"
    for subdir in ("linux-64", "noarch"):
        (channel / subdir).mkdir(parents=True)
        text = (
            REPO_ROOT / "tests" / "data" / "demo-channel" / subdir / "repodata.json"
        ).read_bytes()
        (channel / subdir / "repodata.json.zst").write_bytes(zstandard.compress(text))
    with contextlib.ExitStack() as stack:
        if fault == "read-only":
            cache = stack.enter_context(tmpfs(tmp_path / "cache", "1m"))
            make_read_only(cache)
            reason = "Read-only file system"
        else:
            cache = tmp_path / "cache"
            cache.write_text("")
            reason = "Not a directory"
        answer = cli(cache, engine_name, "openssl", "-c", str(channel))
        assert "openssl" in solved(answer)
        assert f"cache directory {cache} cannot be written ({reason})" in answer.stderr


def test_a_read_only_plus_cache_through_conda(tmp_path, engine_name):
    from .test_conda_shards import conda, ok, serve, shards_only_channel

    shards_only_channel(tmp_path / "www" / "chan")
    with tmpfs(tmp_path / "plus-cache", "16m") as cache, serve(tmp_path / "www") as server:
        channels = [server.url("chan")]
        ok(conda(tmp_path, engine_name, "greet", channels=channels))
        make_read_only(cache)
        answer = ok(conda(tmp_path, engine_name, "shout", channels=channels))
        assert set(answer.versions()) == {"shout", "greet", "libcolor"}


# -- item 10: leftovers of killed work, bounded lookups, one splitter -------------------------


def _split_key_dirs(cache: Path) -> list[Path]:
    return [p for p in (cache / "shard-cache").glob(".*.*") if p.is_dir()]


def test_a_killed_split_is_cleaned_up_by_the_next_run(tmp_path, engine_name, large_channel):
    """SIGKILL a real splitter mid-split: its temporary directory (with the pack written so
    far) stays behind; the next solve that splits removes it — but not the directory of a
    split another process is running now (it holds that key's lock)."""
    source = large_channel / "linux-64" / "repodata.json"
    cache = tmp_path / "cache"
    splitter = subprocess.Popen(
        [sys.executable, "-m", "conda_solver_plus.repodata.split", str(source), str(cache)],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    deadline = time.monotonic() + 120
    while not any((d / "pack").exists() for d in _split_key_dirs(cache)):
        assert splitter.poll() is None, "the split ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.001)
    splitter.send_signal(signal.SIGKILL)
    splitter.wait()
    killed = _split_key_dirs(cache)
    assert len(killed) == 1 and (killed[0] / "pack").exists()
    assert not shard_cache.split_ready(source, cache)

    # a split of another file, running now: its lock is held (by this test)
    running = cache / "shard-cache" / ".0123456789abcdef-fedcba9876543210.abc123"
    running.mkdir()
    (running / "pack").write_bytes(b"x")
    with open(cache / "shard-cache" / "0123456789abcdef-fedcba9876543210.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        solved(cli(cache, engine_name, "a_pkg", "-c", str(large_channel)))  # starts a split
        wait_for_split(source, cache)
        assert not killed[0].exists()
        assert running.exists()
    assert solved(cli(cache, engine_name, "c_pkg", "-c", str(large_channel))) == {
        "c_pkg": "1.0",
        "b_pkg": "1.0",
    }


SPLITTER_LOG = """
import os, sys, time
if "conda_solver_plus.repodata.split" in sys.orig_argv:
    with open(os.environ["SPLITTER_LOG"], "a") as log:
        log.write(f"{os.getpid()}\\n")
    time.sleep(2)  # a splitter slow to start, as on a loaded machine
"""


def test_concurrent_cold_solves_start_one_splitter(tmp_path, large_channel):
    """Six solves at once on a cold cache: one background splitter, not one per solve
    (each used to start its own before any had taken the split's lock). Every Python
    process of the run logs itself through a ``sitecustomize`` on its path, and a splitter
    waits 2 s before it starts work (a loaded machine: the window in which the other
    solves used to start theirs)."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SPLITTER_LOG)
    log = tmp_path / "splitters.log"
    log.touch()
    cache = tmp_path / "cache"
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(hook), str(REPO_ROOT)]),
        "SPLITTER_LOG": str(log),
        "CONDA_SOLVER_PLUS_CACHE": str(cache),
        "CONDA_SOLVER_PLUS_BACKEND": "rattler",
        "HOME": str(tmp_path / "home"),
    }
    command = [sys.executable, "-m", "conda_solver_plus", "solve", "a_pkg", "-c"]
    command += [str(large_channel), "--subdir", "linux-64", "--json"]
    solves = [
        subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, cwd=REPO_ROOT)
        for _ in range(6)
    ]
    for proc in solves:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0
        assert {r["name"] for r in json.loads(out)["records"]} == {"a_pkg", "b_pkg"}
    wait_for_split(large_channel / "linux-64" / "repodata.json", cache)
    assert len(log.read_text().split()) == 1


def test_shard_name_lookups_of_replaced_indexes_are_removed(tmp_path, engine_name):
    """conda replaces a channel's shard index; the adapter's name lookup of the old version
    (as large as the index) goes when the new one is built: one per subdir, not one per
    version ever seen."""
    from .test_conda_shards import conda, greet_records, ok, serve, shard, write_channel

    root = tmp_path / "www" / "chan"
    shard(write_channel(root, {"linux-64": greet_records(("1.0",))}), keep_json=False)
    lookups = tmp_path / "plus-cache" / "shards"
    always_stale = {"CONDA_LOCAL_REPODATA_TTL": "0"}
    with serve(tmp_path / "www") as server:
        channels = [server.url("chan")]
        first = ok(conda(tmp_path, engine_name, "greet", channels=channels, env=always_stale))
        assert first.versions()["greet"][0] == "1.0"
        assert len(list(lookups.glob("*.names"))) == 2  # linux-64 and noarch
        time.sleep(0.01)
        shard(write_channel(root, {"linux-64": greet_records(("1.0", "2.0"))}), keep_json=False)
        second = ok(conda(tmp_path, engine_name, "greet", channels=channels, env=always_stale))
        assert second.versions()["greet"][0] == "2.0"  # the new index was read
    assert len(list(lookups.glob("*.names"))) == 2


def test_unused_lookups_and_abandoned_temporary_files_are_pruned(tmp_path):
    lookups = tmp_path / "shards"
    lookups.mkdir()
    old_lookup, new_lookup = lookups / "a-1.names", lookups / "b-2.names"
    abandoned = tmp_path / "shard-cache" / "subsets" / "x.manifest.json1234.tmp"
    abandoned.parent.mkdir(parents=True)
    for path in (old_lookup, abandoned):
        path.write_text("")
    age(tmp_path)
    new_lookup.write_text("")
    assert cache_files.prune(tmp_path) == 2
    assert not old_lookup.exists() and not abandoned.exists() and new_lookup.exists()


def test_shards_and_decompressed_files_unused_for_long_are_pruned(tmp_path, engine_name):
    """Every kind of cache file is bounded: downloaded shards a solve reads are touched,
    ones unused for ``PRUNE_SHARDS_AFTER_DAYS`` go; a local ``.zst`` channel's
    decompressed copy is touched when reused and goes when unused (an older version of
    its file, a channel no longer used). Before, neither was ever removed."""
    import zstandard

    zst_channel = tmp_path / "zst"
    for subdir in ("linux-64", "noarch"):
        (zst_channel / subdir).mkdir(parents=True)
        text = REPO_ROOT / "tests" / "data" / "demo-channel" / subdir / "repodata.json"
        (zst_channel / subdir / "repodata.json.zst").write_bytes(
            zstandard.compress(text.read_bytes())
        )
    sharded = write_sharded_channel(tmp_path / "www" / "chan")
    cache = tmp_path / "cache"
    assert "openssl" in solved(cli(cache, engine_name, "openssl", "-c", str(zst_channel)))
    with serve_channel(sharded) as served:
        assert set(solved(cli(cache, engine_name, "shout", "-c", served.url))) == {
            "shout", "greet", "libcolor",
        }  # fmt: skip
        blobs = sorted((cache / "shards" / "blobs").glob("*.msgpack.zst"))
        decompressed = sorted((cache / "decompressed").glob("*.json"))
        assert len(blobs) >= 3 and decompressed
        age(cache, days=cache_files.PRUNE_SHARDS_AFTER_DAYS + 1)
        # a new request reads libcolor's shard from the cache (touched) and prunes the rest
        assert solved(cli(cache, engine_name, "libcolor", "-c", served.url)) == {"libcolor": "1.0"}
    left = sorted((cache / "shards" / "blobs").glob("*.msgpack.zst"))
    assert left and len(left) < len(blobs)
    assert not any(path.exists() for path in decompressed)


def test_rewritten_repodata_is_touched_when_reused_and_pruned_when_unused(tmp_path, engine_name):
    """Repodata rewritten for a solve (here: a per-package exclude-newer cutoff) is named by
    its content and reused; it grew without bound. Reuse now touches it, and the prune
    removes what no solve used for two weeks."""
    channel = write_package_channel(tmp_path / "chan", "linux-64")
    cache = tmp_path / "cache"
    args = ("greet", "-c", str(channel), "--exclude-newer-package", "greet=2021-01-01")
    assert solved(cli(cache, engine_name, *args)) == {"greet": "1.0", "libcolor": "1.0"}
    rewritten = sorted((cache / "exclude-newer").glob("*.json"))
    assert rewritten
    age(cache)
    assert solved(cli(cache, engine_name, *args)) == {"greet": "1.0", "libcolor": "1.0"}
    cache_files.prune(cache)
    assert all(path.exists() for path in rewritten)  # reused: touched, kept
    age(cache)
    cache_files.prune(cache, now=time.time() + 2 * 86400)  # past the daily marker
    assert not any(path.exists() for path in rewritten)
