"""CEP-16 sharded channels (:mod:`conda_solver_plus.shards`,
:mod:`conda_solver_plus.repodata.sharded`, the ``shard`` command): the files the command
writes are what conda 26.7's own reader reads, our reader reads conda's sharded test data,
and the standalone index solves sharded channels served on 127.0.0.1 — shards-only,
together with monolithic channels, offline from the cache, through broken shards and with
two processes sharing one cache — with the same answers as the monolithic files.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conda_solver_plus.cli import request_roots
from conda_solver_plus.core import SolveOptions, solve
from conda_solver_plus.exceptions import InvalidInputError, PackagesNotFoundError
from conda_solver_plus.repodata.gateway import load_index
from conda_solver_plus.repodata.shards import (
    SHARD_INDEX_FILENAME,
    DamagedData,
    pack_shard,
    parse_shard,
    parse_shard_index,
    sha256_hex,
)
from conda_solver_plus.shard_command import shard_channel
from conda_solver_plus.specs import parse_spec
from conda_solver_plus.state import SolverInputState
from conda_solver_plus.virtual import virtual_packages

from .channels import (
    BUILT_PACKAGES,
    serve_channel,
    write_package_channel,
    write_sharded_channel,
)

ROOT = Path(__file__).resolve().parents[1]
#: conda's sharded test channel (conda 26.7.1 tests/data/conda_format_repo/linux-64, BSD-3)
CONDA_FORMAT_REPO = ROOT / "tests" / "data" / "conda-format-repo-sharded"


def solve_names(channels, specs, backend, cache: Path, *, offline=False, priority="strict"):
    """``name -> (version, channel URL)`` of a standalone solve, index reduced to the
    request's roots as the CLI does."""
    parsed = [parse_spec(text, "test") for text in specs]
    index = load_index(
        channels, ["linux-64"], cache_dir=cache, offline=offline, roots=request_roots(parsed)
    )
    sis = SolverInputState(None, parsed, virtual_packages=virtual_packages("linux-64", {}))
    out = solve(sis, index, backend, SolveOptions(channel_priority=priority))
    return {
        r.name.normalized: (str(r.version), str(r.channel).rstrip("/"))
        for r in out.records.values()
    }


def shards_served(served) -> list[str]:
    return [path for path in served.served(".msgpack.zst") if "/shards/" in path]


# --- the format ------------------------------------------------------------------------


def test_a_shard_is_named_by_the_hash_of_its_bytes_and_checked_against_it():
    shard = {"packages": {"a-1-0.tar.bz2": {"name": "a", "md5": "00" * 16}}, "packages.conda": {}}
    blob = pack_shard(shard)
    read = parse_shard(blob, sha256_hex(blob))
    assert read["packages"]["a-1-0.tar.bz2"]["md5"] == "00" * 16  # bytes in the file, hex out
    with pytest.raises(DamagedData, match="hashes to"):
        parse_shard(blob[:-1] + bytes([blob[-1] ^ 1]), sha256_hex(blob))
    with pytest.raises(DamagedData, match="hashes to"):
        parse_shard(blob[: len(blob) // 2], sha256_hex(blob))


def test_a_truncated_shard_index_is_damaged_not_empty(tmp_path):
    write_sharded_channel(tmp_path / "ch")
    data = (tmp_path / "ch" / "linux-64" / SHARD_INDEX_FILENAME).read_bytes()
    assert set(parse_shard_index(data).shards) == {"greet", "libcolor", "shout"}
    with pytest.raises(DamagedData, match="truncated"):
        parse_shard_index(data[: len(data) // 2])


def test_our_reader_reads_condas_sharded_test_channel(tmp_path, backend):
    """conda's own sharded test data (written by conda-index: shards beside the index,
    ``shards_base_url`` empty) solves like its monolithic ``repodata.json``."""
    channel = tmp_path / "conda-format"
    shutil.copytree(CONDA_FORMAT_REPO, channel)
    (channel / "noarch").mkdir()
    monolithic = json.loads((channel / "linux-64" / "repodata.json").read_text())
    (channel / "linux-64" / "repodata.json").unlink()  # only the shards remain
    found = solve_names([channel], ["zlib"], backend, tmp_path / "cache")
    expected = {r["version"] for r in monolithic["packages"].values() if r["name"] == "zlib"}
    assert found["zlib"][0] == max(expected)


CONDA_READER = """
import json, sys
from conda._private.shards.subset import build_repodata_subset
from conda.models.channel import Channel
url, roots = sys.argv[1], sys.argv[2:]
channels = {f"{url}/{s}": Channel(f"{url}/{s}") for s in ("linux-64", "noarch")}
result = build_repodata_subset(roots, channels) or {}
print(json.dumps({u: [type(s).__name__, s.build_repodata()] for u, s in result.items()},
                 default=lambda value: bytes(value).hex()))
"""


def conda_subset(tmp_path: Path, channel_url: str, roots: list[str]) -> dict:
    """conda 26.7's ``build_repodata_subset`` on a channel, in a subprocess with its own
    empty configuration and cache (conda's context is process-wide)."""
    pytest.importorskip("conda._private.shards.subset", reason="needs conda >= 26.7")
    (tmp_path / "condarc").write_text("")
    env = {
        **os.environ,
        "CONDARC": str(tmp_path / "condarc"),
        "CONDA_PKGS_DIRS": str(tmp_path / "conda-pkgs"),
        "CONDA_REPODATA_USE_SHARDS": "1",
        "HOME": str(tmp_path),
    }
    proc = subprocess.run(
        [sys.executable, "-c", CONDA_READER, channel_url, *roots],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_condas_own_reader_reads_what_the_shard_command_writes(tmp_path):
    channel = write_sharded_channel(tmp_path / "ch")  # shards only: conda cannot fall back
    monolithic = write_package_channel(tmp_path / "mono", "linux-64")
    expected = json.loads((monolithic / "linux-64" / "repodata.json").read_text())["packages"]
    result = conda_subset(tmp_path, channel.as_uri(), ["shout"])
    kind, repodata = result[f"{channel.as_uri()}/linux-64"]
    assert kind == "Shards"  # conda took the sharded path
    assert repodata["packages"] == expected  # every record, every field, hashes as hex
    assert repodata["info"]["shards_base_url"] == "shards/"


def test_the_shard_command_writes_only_changed_shards_and_can_prune(tmp_path):
    channel = write_package_channel(tmp_path / "ch", "linux-64")
    first = {w.subdir: w for w in shard_channel(channel)}
    assert first["linux-64"].names == 3 and first["linux-64"].written == 3
    again = {w.subdir: w for w in shard_channel(channel)}
    assert again["linux-64"].written == 0  # content-addressed: nothing changed
    newer = [*BUILT_PACKAGES, ("shout", "0.2", 0, ["greet >=2"], 1_750_000_000_000)]
    write_package_channel(channel, "linux-64", newer)
    assert {w.subdir: w for w in shard_channel(channel)}["linux-64"].written == 1
    shards = channel / "linux-64" / "shards"
    assert len(list(shards.iterdir())) == 4  # the old shout shard is kept for old indexes
    shard_channel(channel, prune=True)
    assert len(list(shards.iterdir())) == 3


def test_the_shard_command_line(tmp_path):
    channel = write_package_channel(tmp_path / "ch", "linux-64")
    argv = [sys.executable, "-m", "conda_solver_plus", "shard", str(channel), "--json"]
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    written = {s["subdir"]: s for s in json.loads(proc.stdout)["subdirs"]}
    assert written["linux-64"]["names"] == 3 and written["noarch"]["names"] == 0
    missing = subprocess.run(
        [*argv[:4], str(tmp_path / "nowhere")], capture_output=True, text=True, cwd=ROOT
    )
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: ") and "does not exist" in missing.stderr
    assert "Traceback" not in missing.stderr


# --- reading sharded channels ----------------------------------------------------------


def test_a_shards_only_channel_over_http(tmp_path, backend):
    """repodata.json answers 404; the shards answer: the solve is the monolithic one's."""
    channel = write_sharded_channel(tmp_path / "ch")
    mono = write_package_channel(tmp_path / "mono", "linux-64")
    with serve_channel(channel) as served:
        found = solve_names([served.url], ["shout"], backend, tmp_path / "cache")
    assert {n: v for n, (v, _c) in found.items()} == {
        n: v for n, (v, _c) in solve_names([mono], ["shout"], backend, tmp_path / "c2").items()
    }
    assert found["greet"] == ("2.0", served.url)
    assert not served.served("repodata.json")  # never asked for: the index answered
    assert len(served.served(".msgpack.zst")) == 2 + 3  # two indexes, three shards


def test_a_sharded_channel_by_file_url(tmp_path, backend):
    channel = write_sharded_channel(tmp_path / "ch")
    found = solve_names([channel.as_uri()], ["shout"], backend, tmp_path / "cache")
    assert found["greet"] == ("2.0", channel.as_uri())


def test_only_the_reached_shards_are_fetched(tmp_path, backend):
    packages = [*BUILT_PACKAGES, ("unrelated", "1.0", 0, [], 1_600_000_000_000)]
    channel = write_sharded_channel(tmp_path / "ch", packages=packages)
    with serve_channel(channel) as served:
        solve_names([served.url], ["greet"], backend, tmp_path / "cache")
    fetched = served.served(".msgpack.zst")
    assert len(fetched) == 2 + 2  # greet and libcolor; not shout, not unrelated


def test_sharded_and_monolithic_channels_keep_channel_priority(tmp_path, backend):
    """strict priority: a name found in the first channel never comes from the second,
    whichever of the two is sharded."""
    old = write_sharded_channel(tmp_path / "old", packages=BUILT_PACKAGES[:2])  # greet 1.0
    new = write_package_channel(tmp_path / "new", "linux-64")  # greet 2.0, monolithic
    with serve_channel(old) as served:
        first = solve_names([served.url, new], ["greet"], backend, tmp_path / "cache")
        second = solve_names([new, served.url], ["greet"], backend, tmp_path / "cache")
        # a package only the monolithic channel has still comes from it
        mixed = solve_names([served.url, new], ["shout"], backend, tmp_path / "cache")
    assert first["greet"] == ("1.0", served.url)
    assert second["greet"] == ("2.0", new.as_uri())
    assert mixed["shout"][1] == new.as_uri() and mixed["greet"] == ("1.0", served.url)


def test_did_you_mean_knows_every_name_of_a_sharded_channel(tmp_path, backend):
    channel = write_sharded_channel(tmp_path / "ch")
    with pytest.raises(PackagesNotFoundError) as caught:
        solve_names([channel], ["shuot"], backend, tmp_path / "cache")
    assert "shout" in str(caught.value)


@pytest.mark.parametrize("fault", ["404", "corrupt", "truncate"])
def test_a_broken_shard_is_one_clear_error(tmp_path, backend, fault):
    channel = write_sharded_channel(tmp_path / "ch")
    index = parse_shard_index((channel / "linux-64" / SHARD_INDEX_FILENAME).read_bytes())
    with serve_channel(channel) as served:
        served.faults[index.shards["libcolor"] + ".msgpack.zst"] = fault
        with pytest.raises(InvalidInputError) as caught:
            solve_names([served.url], ["shout"], backend, tmp_path / "cache")
    message = str(caught.value)
    assert "libcolor" in message and served.url in message
    assert ("HTTP 404" if fault == "404" else "damaged") in message
    blob = tmp_path / "cache" / "shards" / "blobs" / f"{index.shards['libcolor']}.msgpack.zst"
    assert not blob.exists()  # nothing broken was cached


def test_offline_reads_the_cache_and_names_what_is_missing(tmp_path, backend):
    channel = write_sharded_channel(tmp_path / "ch")
    cache = tmp_path / "cache"
    with serve_channel(channel) as served:
        url = served.url
        online = solve_names([url], ["greet"], backend, cache)
    # the server is gone: a hit solves from the cache, a miss names the shards and the fix
    assert solve_names([url], ["greet"], backend, cache, offline=True) == online
    with pytest.raises(InvalidInputError) as caught:
        solve_names([url], ["shout"], backend, cache, offline=True)
    assert "shout" in str(caught.value) and "without --offline" in str(caught.value)


def test_a_damaged_cached_shard_is_fetched_again_online_and_an_error_offline(tmp_path, backend):
    channel = write_sharded_channel(tmp_path / "ch")
    cache = tmp_path / "cache"
    with serve_channel(channel) as served:
        solve_names([served.url], ["shout"], backend, cache)  # caches all three shards
        blobs = sorted((cache / "shards" / "blobs").iterdir())
        for blob in blobs:  # truncate every cached shard
            blob.write_bytes(blob.read_bytes()[:10])
        # another request (a repeated one reads its own verified subset file, no shard)
        with pytest.raises(InvalidInputError) as caught:
            solve_names([served.url], ["greet"], backend, cache, offline=True)
        assert "damaged" in str(caught.value) and "delete" in str(caught.value)
        assert served.url in str(caught.value)
        fetched_before = len(shards_served(served))
        found = solve_names([served.url], ["greet"], backend, cache)
        assert len(shards_served(served)) == fetched_before + 2  # greet, libcolor again
    assert found["greet"] == ("2.0", served.url)
    shout = parse_shard_index((channel / "linux-64" / SHARD_INDEX_FILENAME).read_bytes())
    for blob in blobs:
        if blob.name.startswith(shout.shards["shout"]):
            continue  # not needed by the second request: still the damaged copy
        assert sha256_hex(blob.read_bytes()) == blob.name.split(".")[0]


def test_a_damaged_cached_shard_index_is_fetched_again(tmp_path, backend):
    channel = write_sharded_channel(tmp_path / "ch")
    cache = tmp_path / "cache"
    with serve_channel(channel) as served:
        solve_names([served.url], ["greet"], backend, cache)
        for index in (cache / "shards" / "index").glob("*.msgpack.zst"):
            index.write_bytes(index.read_bytes()[:20])
        with pytest.raises(InvalidInputError, match="damaged"):
            solve_names([served.url], ["greet"], backend, cache, offline=True)
        assert solve_names([served.url], ["greet"], backend, cache)["greet"][0] == "2.0"


TWO_PROCESSES = """
import json, sys
from pathlib import Path
from conda_solver_plus.core import SolveOptions, solve
from conda_solver_plus.backends import get_backend
from conda_solver_plus.cli import request_roots
from conda_solver_plus.repodata.gateway import load_index
from conda_solver_plus.specs import parse_spec
from conda_solver_plus.state import SolverInputState
from conda_solver_plus.virtual import virtual_packages
specs = [parse_spec(t, "test") for t in sys.argv[3:]]
index = load_index([sys.argv[1]], ["linux-64"], cache_dir=Path(sys.argv[2]),
                   roots=request_roots(specs))
sis = SolverInputState(None, specs, virtual_packages=virtual_packages("linux-64", {}))
out = solve(sis, index, get_backend("rattler"), SolveOptions())
print(json.dumps(sorted(f"{r.name.normalized}={r.version}" for r in out.records.values())))
"""


def test_two_processes_share_one_cache(tmp_path):
    """Two real processes solving at once on one cold cache: both answers right, and
    every cached shard is intact afterwards."""
    packages = [
        *BUILT_PACKAGES,
        *((f"extra{i}", "1.0", 0, ["greet"], 1_600_000_000_000) for i in range(30)),
    ]
    channel = write_sharded_channel(tmp_path / "ch", packages=packages)
    cache = tmp_path / "cache"
    specs = [f"extra{i}" for i in range(30)]
    with serve_channel(channel) as served:
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", TWO_PROCESSES, served.url, str(cache), *specs],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=ROOT,
            )
            for _ in range(2)
        ]
        results = [proc.communicate(timeout=120) for proc in procs]
    for proc, (_out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
    answers = [json.loads(out) for out, _err in results]
    assert answers[0] == answers[1] and "greet=2.0" in answers[0] and len(answers[0]) == 32
    blobs = list((cache / "shards" / "blobs").iterdir())
    assert len(blobs) == 32
    for blob in blobs:
        assert sha256_hex(blob.read_bytes()) == blob.name.split(".")[0]


def test_search_depends_and_whoneeds_on_a_sharded_channel(tmp_path):
    channel = write_sharded_channel(tmp_path / "ch")
    env = {**os.environ, "HOME": str(tmp_path), "CONDA_SOLVER_PLUS_CACHE": str(tmp_path / "c")}
    env.pop("CONDARC", None)

    def query(*args: str) -> subprocess.CompletedProcess:
        argv = [sys.executable, "-m", "conda_solver_plus", *args]
        argv += ["-c", str(channel), "--subdir", "linux-64", "--override-channels", "--json"]
        return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT)

    search = query("search", "gre*")
    assert search.returncode == 0, search.stderr
    assert {r["version"] for r in json.loads(search.stdout)["records"]} == {"1.0", "2.0"}
    depends = query("depends", "shout", "--tree")
    assert depends.returncode == 0, depends.stderr
    assert "libcolor" in depends.stdout
    whoneeds = query("whoneeds", "libcolor")
    assert whoneeds.returncode == 0, whoneeds.stderr
    assert {d["name"] for d in json.loads(whoneeds.stdout)["dependents"]} == {"greet"}


def test_a_private_sharded_channel_sends_its_credentials_for_every_shard(tmp_path, backend):
    from .channels import serve_private_channel

    channel = write_sharded_channel(tmp_path / "ch")
    with serve_private_channel(channel, "tok123", "ann", "s3cret") as private:
        by_token = solve_names([private.token_url], ["shout"], backend, tmp_path / "c1")
        by_password = solve_names([private.basic_auth_url], ["shout"], backend, tmp_path / "c2")
    assert by_token["greet"][0] == by_password["greet"][0] == "2.0"
    assert by_token["greet"][1] == private.base  # the clean URL: no token in records
    assert len(private.served(".msgpack.zst")) == 2 * (2 + 3)
    assert not [path for path, status in private.requests if status in (401, 403)]


@pytest.mark.parametrize("status", ["404", "500"])
def test_without_a_shard_index_the_monolithic_file_is_read(tmp_path, backend, status):
    channel = write_sharded_channel(tmp_path / "ch", monolithic=True)
    cache = tmp_path / "cache"
    with serve_channel(channel) as served:
        served.faults[SHARD_INDEX_FILENAME] = status
        found = solve_names([served.url], ["shout"], backend, cache)
        assert found["greet"] == ("2.0", served.url)
        assert served.served("/linux-64/repodata.json")
        asked = len([p for p, _s in served.requests if p.endswith(SHARD_INDEX_FILENAME)])
        solve_names([served.url], ["shout"], backend, cache)
        again = len([p for p, _s in served.requests if p.endswith(SHARD_INDEX_FILENAME)])
    # "no shards" (4xx) is remembered for a while; a server error is asked again
    assert again == asked + (0 if status == "404" else 2)


def test_reading_every_name_prefers_the_monolithic_file_where_there_is_one(tmp_path):
    """Without roots (whoneeds, a library caller) every record is needed: one monolithic
    file is cheaper than every shard; a shards-only channel gives every shard."""
    both = write_sharded_channel(tmp_path / "both", monolithic=True)
    only = write_sharded_channel(tmp_path / "only")
    with serve_channel(both) as served_both, serve_channel(only) as served_only:
        index = load_index([served_both.url, served_only.url], ["linux-64"], cache_dir=tmp_path)
        assert served_both.served("/linux-64/repodata.json") and not shards_served(served_both)
        assert len(shards_served(served_only)) == 3
    names = {
        repo.channel.url: set(repo.sparse.package_names())
        for repo in index.repos
        if repo.subdir == "linux-64"
    }
    assert names[served_only.url] == names[served_both.url] == {"greet", "libcolor", "shout"}


def test_a_prefix_solves_the_same_on_sharded_and_monolithic_channels(tmp_path):
    """Installed records and history are roots too: the answer against a prefix matches
    the monolithic channel's, through the command line."""
    from .channels import install_record

    packages = [
        *BUILT_PACKAGES,
        ("other", "1.0", 0, [], 1_600_000_000_000),
        ("other", "2.0", 0, [], 1_700_000_000_000),
    ]
    answers = []
    for name, monolithic in (("mono", True), ("sharded", False)):
        channel = write_sharded_channel(tmp_path / name, packages=packages, monolithic=True)
        prefix = tmp_path / f"{name}-env"
        install_record(prefix, channel, "linux-64", "libcolor-1.0-h0_0.tar.bz2")
        install_record(prefix, channel, "linux-64", "greet-1.0-h0_0.tar.bz2", "greet")
        # reached by nothing requested: only the prefix makes it a root
        install_record(prefix, channel, "linux-64", "other-1.0-h0_0.tar.bz2", "other")
        if not monolithic:
            for subdir in ("linux-64", "noarch"):
                (channel / subdir / "repodata.json").unlink()
        argv = [sys.executable, "-m", "conda_solver_plus", "solve", "shout", "--update-all"]
        argv += ["--prefix"]
        argv += [str(prefix), "-c", str(channel), "--subdir", "linux-64", "--json"]
        env = {**os.environ, "HOME": str(tmp_path), "CONDA_SOLVER_PLUS_CACHE": str(tmp_path)}
        env.pop("CONDARC", None)
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT)
        assert proc.returncode == 0, proc.stderr
        records = json.loads(proc.stdout)["records"]
        answers.append(sorted((r["name"], r["version"]) for r in records))
    assert answers[0] == answers[1]
    assert ("shout", "0.1") in answers[0] and ("other", "2.0") in answers[0]


def test_a_shard_index_served_broken_is_an_error_and_not_cached(tmp_path, backend):
    channel = write_sharded_channel(tmp_path / "ch")
    cache = tmp_path / "cache"
    with serve_channel(channel) as served:
        served.faults[f"linux-64/{SHARD_INDEX_FILENAME}"] = "truncate"
        with pytest.raises(InvalidInputError, match="damaged as served"):
            solve_names([served.url], ["shout"], backend, cache)
        served.faults.clear()
        assert solve_names([served.url], ["shout"], backend, cache)["greet"][0] == "2.0"
