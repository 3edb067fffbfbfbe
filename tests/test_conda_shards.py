"""Sharded repodata (CEP-16) through real conda: ``conda create --dry-run`` with
``--solver=plus`` on channels served from 127.0.0.1, conda's shards on
(``CONDA_REPODATA_USE_SHARDS=true``, so conda hands plus ``build_repodata_subset``).

Channels are made by the project's own shard writer
(:func:`conda_solver_plus.shards.write_subdir_shards`) from small test channels and from the
shared conda-forge records (``../shared/data/repodata/lockfile-union``). Each test runs on
both engines (``CONDA_SOLVER_PLUS_BACKEND``). Checked: a shards-only channel
(``repodata.json`` answers 404), a sharded and a monolithic channel together under strict
priority and ``channel::pkg``, installed records, offline hits and misses (nothing
requested from the server), a corrupt shard on the server and in conda's cache, a channel
that answers 404 for everything (conda's ``UnavailableInvalidChannel``), exclude-newer, and
the same answers as the monolithic path and as conda-libmamba-solver's shard path on real
conda-forge records.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

import pytest

from conda_solver_plus.repodata.cache_files import atomic_write
from conda_solver_plus.repodata.shards import write_subdir_shards

from .channels import BUILT_PACKAGES, loopback_server, repodata_entry, serve_private_channel
from .engines import REAL_STACK, REPO_ROOT, plus_conda_env, require_module

require_module("conda", "conda hands plus its sharded repodata")

pytestmark = pytest.mark.slow

UNION = REPO_ROOT.parent / "shared" / "data" / "repodata" / "lockfile-union" / "conda-forge"
SUBDIRS = ("linux-64", "noarch")
#: one linked package as conda's JSON reports it: name, version, build, channel
Package = tuple[str, str, str, str]


# -- channels and a loopback server ---------------------------------------------------------


def write_channel(root: Path, subdir_records: dict[str, dict[str, dict]]) -> Path:
    """A channel at ``root``: ``repodata.json`` per subdir (``noarch`` always), records as
    ``{file name: record}``."""
    for subdir in {*SUBDIRS, *subdir_records}:
        (root / subdir).mkdir(parents=True, exist_ok=True)
        repodata = {
            "info": {"subdir": subdir},
            "packages": subdir_records.get(subdir, {}),
            "packages.conda": {},
        }
        (root / subdir / "repodata.json").write_text(json.dumps(repodata))
    return root


def shard(root: Path, *, keep_json: bool) -> Path:
    """Write CEP-16 files for every subdir of the channel at ``root``; without
    ``keep_json`` the monolithic files go (a shards-only channel, conda#16452)."""
    for subdir_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        assert write_subdir_shards(subdir_dir, atomic_write) is not None
        if not keep_json:
            for name in ("repodata.json", "repodata.json.zst", "repodata.json.bz2"):
                (subdir_dir / name).unlink(missing_ok=True)
    return root


def shards_only_channel(root: Path) -> Path:
    """:func:`greet_records` as a shards-only channel at ``root``."""
    return shard(write_channel(root, {"linux-64": greet_records()}), keep_json=False)


def greet_records(versions: tuple[str, ...] = ("1.0", "2.0")) -> dict[str, dict]:
    """``tests/channels.BUILT_PACKAGES`` as placeholder repodata (solved against only)."""
    records = {}
    for name, version, _, depends, timestamp in BUILT_PACKAGES:
        if name == "greet" and version not in versions:
            continue
        fn, record = repodata_entry(name, version, "linux-64", depends)
        records[fn] = {**record, "timestamp": timestamp}
    return records


@dataclass
class Served:
    """A directory served on 127.0.0.1, and every request it answered."""

    root: Path
    port: int = 0
    #: ``(path, status, bytes sent)``
    requests: list[tuple[str, int, int]] = field(default_factory=list)

    def url(self, below: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{below}".rstrip("/")

    def paths(self, status: int = 200) -> list[str]:
        return [path for path, code, _ in self.requests if code == status]


@contextmanager
def serve(root: Path) -> Iterator[Served]:
    """Serve ``root`` (what is there at each request: tests change files while serving),
    with an ``ETag`` per file and 304 for a matching ``If-None-Match``, as channel hosts."""
    served = Served(root)

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        status = 0

        def send_head(self):
            path = Path(self.translate_path(self.path))
            etag = ""
            if path.is_file():  # as channel hosts do: conda revalidates by ETag
                etag = f'"{path.stat().st_size:x}-{path.stat().st_mtime_ns:x}"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                    served.requests.append((self.path, 304, 0))
                    return None
            self.etag = etag
            handle = super().send_head()
            size = os.fstat(handle.fileno()).st_size if hasattr(handle, "fileno") else 0
            served.requests.append((self.path, self.status, size))
            return handle

        def send_response(self, code, message=None):
            self.status = code
            super().send_response(code, message)
            if code == 200 and getattr(self, "etag", ""):
                self.send_header("ETag", self.etag)

        def log_message(self, format, *args):
            pass

    with loopback_server(Handler) as port:
        served.port = port
        yield served


# -- real conda -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    code: int
    link: frozenset[Package]
    unlink: frozenset[Package]
    error: dict
    output: str

    def versions(self) -> dict[str, tuple[str, str]]:
        """name -> (version, channel) of what would be linked."""
        return {name: (version, channel) for name, version, _, channel in self.link}


def conda_environment(tmp_path: Path, engine: str) -> dict[str, str]:
    """A conda subprocess's environment: this checkout's plus on ``engine``, conda's
    caches (and plus's) in ``tmp_path``, fixed virtual packages, no network chatter."""
    return plus_conda_env(
        tmp_path,
        engine,
        CONDA_OVERRIDE_CUDA="",
        CONDA_OVERRIDE_GLIBC="2.28",
    )


def conda(
    tmp_path: Path,
    engine: str,
    *args: str,
    channels: list[str],
    solver: str = "plus",
    shards: bool = True,
    offline: bool = False,
    prefix: Path | None = None,
    command: str = "create",
    env: dict[str, str] | None = None,
) -> Answer:
    """``conda COMMAND -p PREFIX ARGS --dry-run --json`` with conda's caches (and plus's)
    in ``tmp_path``, so calls of one test share them as a user's commands would."""
    environment = {
        **conda_environment(tmp_path, engine),
        "CONDA_REPODATA_USE_SHARDS": "true" if shards else "false",
        "CONDA_OFFLINE": "true" if offline else "false",
        **(env or {}),
    }
    prefix = prefix or tmp_path / "env"
    cmd = [sys.executable, "-m", "conda", command, "-p", str(prefix), *args]
    cmd += ["--dry-run", "--json", f"--solver={solver}", "--override-channels"]
    for channel in channels:
        cmd += ["-c", channel]
    proc = subprocess.run(cmd, env=environment, capture_output=True, text=True, timeout=300)
    payload = result_document(proc.stdout)
    actions = payload.get("actions", {})

    def packages(key: str) -> frozenset[Package]:
        return frozenset(
            (p["name"], p["version"], p["build_string"], p["channel"])
            for p in actions.get(key, [])
        )

    error = payload if "exception_name" in payload else {}
    output = f"{' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}"
    return Answer(proc.returncode, packages("LINK"), packages("UNLINK"), error, output)


def result_document(stdout: str) -> dict:
    """conda's ``--json`` result: the last document, after the progress records conda's
    JSON reporters print before it (the first split of a large file reports progress)."""
    text = stdout.replace("\0", "")
    start = 0 if text.startswith("{\n") else text.rfind("\n{\n") + 1
    try:
        return json.loads(text[start:])
    except json.JSONDecodeError:
        return {}


def ok(answer: Answer) -> Answer:
    assert answer.code == 0, answer.output
    return answer


# -- small channels -------------------------------------------------------------------------


@pytest.fixture
def two_channels(tmp_path: Path) -> Path:
    """``sharded/``: shards only, greet 1.0 and libcolor; ``mono/``: repodata.json only,
    greet 2.0, libcolor and shout (which needs greet)."""
    root = tmp_path / "www"
    sharded = greet_records(("1.0",))
    sharded = {fn: r for fn, r in sharded.items() if r["name"] != "shout"}
    write_channel(root / "sharded", {"linux-64": sharded})
    shard(root / "sharded", keep_json=False)
    write_channel(root / "mono", {"linux-64": greet_records(("2.0",))})
    return root


@pytest.mark.conda_main
def test_shards_only_channel(tmp_path: Path, engine_name: str) -> None:
    """repodata.json answers 404 everywhere; the shards are all conda needs."""
    shards_only_channel(tmp_path / "www" / "chan")
    with serve(tmp_path / "www") as server:
        answer = ok(conda(tmp_path, engine_name, "shout", channels=[server.url("chan")]))
    assert answer.versions() == {
        "shout": ("0.1", "chan"),
        "greet": ("2.0", "chan"),
        "libcolor": ("1.0", "chan"),
    }
    fetched = server.paths()
    assert "/chan/linux-64/repodata_shards.msgpack.zst" in fetched
    assert any(path.startswith("/chan/linux-64/shards/") for path in fetched)
    assert not any(path.endswith("repodata.json") for path in fetched)


def test_shards_only_local_channel(tmp_path: Path, engine_name: str) -> None:
    """The same through a ``file://`` URL (conda's session reads local files)."""
    channel = shards_only_channel(tmp_path / "chan")
    answer = ok(conda(tmp_path, engine_name, "shout", channels=[channel.as_uri()]))
    assert {name: version for name, (version, _) in answer.versions().items()} == {
        "shout": "0.1",
        "greet": "2.0",
        "libcolor": "1.0",
    }
    assert not (channel / "linux-64" / "repodata.json").exists()


@pytest.mark.conda_main
def test_a_private_sharded_channel(tmp_path: Path, engine_name: str) -> None:
    """A sharded channel behind an anaconda.org-style token: the index and the shards are
    fetched with it (conda's session), and nothing conda prints carries it."""
    channel = shards_only_channel(tmp_path / "private")
    with serve_private_channel(channel, "tk-123-secret", "user", "pw") as private:
        answer = ok(conda(tmp_path, engine_name, "shout", channels=[private.token_url]))
    assert {p[0] for p in answer.link} == {"shout", "greet", "libcolor"}
    assert private.served("repodata_shards.msgpack.zst") and private.served(".msgpack.zst")
    assert "tk-123-secret" not in answer.output.split("\n", 1)[1]


def test_sharded_and_monolithic_channels_with_strict_priority(
    tmp_path: Path, engine_name: str, two_channels: Path
) -> None:
    """shout is only in the monolithic channel; its dependency greet is in both, and strict
    priority takes it from the sharded channel listed first — which the walk reaches only
    through the monolithic channel's record of shout."""
    with serve(two_channels) as server:
        channels = [server.url("sharded"), server.url("mono")]
        strict = {"CONDA_CHANNEL_PRIORITY": "strict"}
        answer = ok(conda(tmp_path, engine_name, "shout", channels=channels, env=strict))
        assert answer.versions() == {
            "shout": ("0.1", "mono"),
            "greet": ("1.0", "sharded"),
            "libcolor": ("1.0", "sharded"),
        }
        pinned = ok(conda(tmp_path, engine_name, f"{channels[1]}::greet", channels=channels))
        assert pinned.versions()["greet"] == ("2.0", "mono")
        # a sharded channel named only in the spec is read too (as conda reads it)
        only_spec = ok(
            conda(tmp_path, engine_name, f"{channels[0]}::greet", channels=[channels[1]])
        )
        assert only_spec.versions()["greet"] == ("1.0", "sharded")


@pytest.mark.conda_main
def test_installed_records_are_kept(tmp_path: Path, engine_name: str) -> None:
    """An environment holding greet 1.0 from the sharded channel: installing shout keeps
    it (the walk starts from installed names too), though greet 2.0 is there."""
    shards_only_channel(tmp_path / "www" / "chan")
    prefix = tmp_path / "env"
    with serve(tmp_path / "www") as server:
        install_placeholder(prefix, server.url("chan"), "greet-1.0-0.tar.bz2", greet_records())
        install_placeholder(prefix, server.url("chan"), "libcolor-1.0-0.tar.bz2", greet_records())
        answer = ok(
            conda(
                tmp_path,
                engine_name,
                "shout",
                channels=[server.url("chan")],
                command="install",
                prefix=prefix,
            )
        )
    assert {p[0] for p in answer.link} == {"shout"}
    assert not answer.unlink


def install_placeholder(prefix: Path, channel: str, fn: str, records: dict[str, dict]) -> None:
    """``conda-meta/<dist>.json`` for ``records[fn]`` of the served ``channel``, as conda
    writes it, and a history line requesting it."""
    record = records[fn]
    dist = fn.removesuffix(".tar.bz2")
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True, exist_ok=True)
    (meta / f"{dist}.json").write_text(
        json.dumps(
            {
                **record,
                "fn": fn,
                "url": f"{channel}/linux-64/{fn}",
                "channel": f"{channel}/linux-64",
                "files": [],
                "paths_data": {"paths": [], "paths_version": 1},
                "requested_spec": record["name"],
            }
        )
    )
    with open(meta / "history", "a") as handle:
        handle.write(
            f"==> 2024-12-01 10:00:00 <==\n# cmd: conda install {record['name']}\n"
            f"+{channel}/linux-64::{dist}\n# update specs: [{record['name']!r}]\n"
        )


def test_offline_reads_conda_cache_and_names_what_is_missing(
    tmp_path: Path, engine_name: str
) -> None:
    """Online once; then offline with the server gone: the same request is answered from
    conda's caches, and a request reaching a shard never fetched is a clear error naming
    the package and the channel, not an empty package."""
    shards_only_channel(tmp_path / "www" / "chan")
    with serve(tmp_path / "www") as server:
        url = server.url("chan")
        online = ok(conda(tmp_path, engine_name, "greet", channels=[url]))
    offline = ok(conda(tmp_path, engine_name, "greet", channels=[url], offline=True))
    assert offline.link == online.link
    missing = conda(tmp_path, engine_name, "shout", channels=[url], offline=True)
    assert missing.code != 0
    assert missing.error.get("exception_name") == "OfflineError", missing.output
    message = missing.error["message"]
    assert f"{url}/linux-64: shout" in message and "online" in message
    for index in (tmp_path / "pkgs" / "cache").glob("*.msgpack.zst"):
        index.unlink()  # conda's state still says the subdirs are sharded
    shutil.rmtree(tmp_path / "plus-cache")
    no_index = conda(tmp_path, engine_name, "greet", channels=[url], offline=True)
    assert no_index.error.get("exception_name") == "OfflineError", no_index.output
    assert "no shard index" in no_index.error["message"]


def test_a_corrupt_shard_is_never_read(tmp_path: Path, engine_name: str) -> None:
    """A shard whose bytes do not hash to its name: in conda's cache it is fetched again
    (online) or named as damaged (offline); served by the channel it is an error."""
    shards_only_channel(tmp_path / "www" / "chan")
    with serve(tmp_path / "www") as server:
        url = server.url("chan")
        first = ok(conda(tmp_path, engine_name, "greet", channels=[url]))
        database = tmp_path / "pkgs" / "cache" / "repodata_shards.db"
        with sqlite3.connect(database) as db:
            damaged = db.execute("UPDATE shards SET shard = x'28b52ffd00' WHERE package = 'greet'")
            assert damaged.rowcount == 1
        shutil.rmtree(tmp_path / "plus-cache")  # else the request's subset is reused
        offline = conda(tmp_path, engine_name, "greet", channels=[url], offline=True)
        assert offline.code != 0 and "greet (damaged)" in offline.error["message"]
        again = ok(conda(tmp_path, engine_name, "greet", channels=[url]))
        assert again.link == first.link
        for blob in (tmp_path / "www" / "chan" / "linux-64" / "shards").iterdir():
            blob.write_bytes(blob.read_bytes()[:-3])  # truncated on the server
        fresh = tmp_path / "fresh"
        fresh.mkdir()
        broken = conda(fresh, engine_name, "greet", channels=[url])
    assert broken.code != 0
    assert "does not match its sha256" in broken.error.get("message", ""), broken.output


def test_a_large_monolithic_channel_goes_through_the_local_shard_cache(
    tmp_path: Path, engine_name: str
) -> None:
    """A channel without shards whose repodata.json is large (8 MiB and more: filler
    packages nothing depends on): the first solve reads it whole and splits it in the
    background; once split, solves read only what they reach. The answer is always the
    one the same packages give in a small channel."""
    records = greet_records()
    small_root = write_channel(tmp_path / "www" / "small", {"linux-64": records})
    count = 9000
    filler = dict(
        repodata_entry(
            f"filler-{n}",
            "1.0",
            "linux-64",
            [f"filler-{(n + k) % count} >=1.0" for k in range(1, 41)],
        )
        for n in range(count)
    )
    write_channel(tmp_path / "www" / "large", {"linux-64": {**records, **filler}})
    large = tmp_path / "www" / "large" / "linux-64" / "repodata.json"
    assert large.stat().st_size >= 8 * 2**20 and small_root.is_dir()
    with serve(tmp_path / "www") as server:
        expected = ok(conda(tmp_path, engine_name, "shout", channels=[server.url("small")]))
        first = ok(conda(tmp_path, engine_name, "shout", channels=[server.url("large")]))
        # the local shard cache's subset files and the request manifests
        subsets = tmp_path / "plus-cache" / "shard-cache" / "subsets"
        assert not subsets.exists()  # read whole: the split is not there yet
        split_dirs = tmp_path / "plus-cache" / "shard-cache"
        deadline = time.monotonic() + 120
        while not list(split_dirs.glob("*/index.msgpack")):
            assert time.monotonic() < deadline, "the background split never finished"
            time.sleep(0.2)
        again = ok(conda(tmp_path, engine_name, "shout", channels=[server.url("large")]))
        # the query commands look at every record, never at a request's subset
        query = ["plus", "search", "filler-8000", "--json", "--override-channels"]
        search = subprocess.run(
            [sys.executable, "-m", "conda", *query, "-c", server.url("large")],
            env=conda_environment(tmp_path, engine_name),
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert {p[:3] for p in first.link} == {p[:3] for p in expected.link}
    assert again.link == first.link
    assert list(subsets.glob("*.json"))  # this time through the split
    assert search.returncode == 0, search.stdout + search.stderr
    assert [r["name"] for r in result_document(search.stdout)["records"]] == ["filler-8000"]


def test_two_processes_share_conda_caches(tmp_path: Path, engine_name: str) -> None:
    """Two conda commands started together on empty caches both fill and read conda's
    shard database and plus's cache (sqlite's locking, files renamed into place); a third
    one, offline, finds everything they cached."""
    shards_only_channel(tmp_path / "www" / "chan")
    with serve(tmp_path / "www") as server:
        url = server.url("chan")
        with ThreadPoolExecutor(2) as pool:
            runs = list(
                pool.map(
                    lambda spec: conda(tmp_path, engine_name, spec, channels=[url]),
                    ["shout", "greet=1.0"],
                )
            )
    for answer in runs:
        ok(answer)
    assert runs[0].versions()["shout"] == ("0.1", "chan")
    assert runs[1].versions()["greet"] == ("1.0", "chan")
    offline = ok(conda(tmp_path, engine_name, "shout", channels=[url], offline=True))
    assert offline.link == runs[0].link


def test_damaged_plus_caches_are_rebuilt(tmp_path: Path, engine_name: str) -> None:
    """plus's own caches — a request's subset files and manifest, the name lookup of a
    shard index — damaged in place (truncated, bytes changed): the next solve notices,
    rebuilds them from conda's caches and gives the same answer, online or offline."""
    shards_only_channel(tmp_path / "www" / "chan")
    with serve(tmp_path / "www") as server:
        url = server.url("chan")
        first = ok(conda(tmp_path, engine_name, "shout", channels=[url]))
    cache = tmp_path / "plus-cache" / "shards"
    damaged = [*cache.glob("*.names"), *cache.glob("subsets/*.json")]
    assert len(damaged) >= 3
    for path in damaged:
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2] + b"x" * (len(data) - len(data) // 2))
    again = ok(conda(tmp_path, engine_name, "shout", channels=[url], offline=True))
    assert again.link == first.link
    # conda's shard database itself no longer a database: started anew, refilled online
    (tmp_path / "pkgs" / "cache" / "repodata_shards.db").write_bytes(b"not sqlite" * 100)
    shutil.rmtree(tmp_path / "plus-cache")
    with serve(tmp_path / "www") as server:
        refilled = ok(conda(tmp_path, engine_name, "shout", channels=[server.url("chan")]))
    assert {p[:3] for p in refilled.link} == {p[:3] for p in first.link}


@pytest.mark.conda_main
@pytest.mark.parametrize("shards", [True, False], ids=["shards", "monolithic"])
def test_a_channel_answering_404_is_unavailable(
    tmp_path: Path, engine_name: str, shards: bool
) -> None:
    """A URL with no channel behind it: conda's UnavailableInvalidChannel, as classic."""
    (tmp_path / "www").mkdir()
    with serve(tmp_path / "www") as server:
        answer = conda(
            tmp_path, engine_name, "greet", channels=[server.url("nothing")], shards=shards
        )
    assert answer.error.get("exception_name") == "UnavailableInvalidChannel", answer.output


@pytest.mark.conda_main
def test_exclude_newer_on_the_shard_path(tmp_path: Path, engine_name: str, monkeypatch) -> None:
    """The per-request cutoff applies to records read from shards (in process: conda
    26.7.1 has no exclude-newer settings, so the test sets what a conda with them would —
    the solver's policy and ``context.exclude_newer``, as tests/test_conda_cli.py does)."""
    from conda.base.context import context, reset_context
    from conda.models.channel import Channel
    from conda.models.match_spec import MatchSpec

    from conda_solver_plus.conda.solver import PlusSolver

    shards_only_channel(tmp_path / "www" / "chan")
    monkeypatch.setenv("CONDA_PKGS_DIRS", str(tmp_path / "pkgs"))
    monkeypatch.setenv("CONDA_SOLVER_PLUS_CACHE", str(tmp_path / "plus-cache"))
    monkeypatch.setenv("CONDA_SOLVER_PLUS_BACKEND", engine_name)
    monkeypatch.setenv("CONDA_SUBDIR", "linux-64")
    reset_context()
    monkeypatch.setattr(context, "exclude_newer", "2021-01-01", raising=False)

    class Policy:
        active = True
        now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc).timestamp()

    try:
        with serve(tmp_path / "www") as server:
            solver = PlusSolver(
                str(tmp_path / "env"),
                [Channel(server.url("chan"))],
                subdirs=SUBDIRS,
                specs_to_add=[MatchSpec("greet")],
                command="create",
                build_repodata_subset=lambda *args, **kwargs: None,
            )
            solver.exclude_newer_policy = Policy()
            records = solver.solve_final_state()
    finally:
        reset_context()
    assert {r.name: r.version for r in records} == {"greet": "1.0", "libcolor": "1.0"}
    assert any("shards/" in path for path in server.paths())


# -- real conda-forge records ---------------------------------------------------------------


@pytest.fixture(scope="module")
def conda_forge(tmp_path_factory) -> Path:
    """The shared conda-forge records (linux-64, noarch) with CEP-16 files beside their
    repodata.json, so one channel serves both paths."""
    if not UNION.is_dir():
        pytest.skip(f"shared channel data not found at {UNION}")
    root = tmp_path_factory.mktemp("www")
    for subdir in SUBDIRS:
        (root / "cf" / subdir).mkdir(parents=True)
        shutil.copyfile(UNION / subdir / "repodata.json", root / "cf" / subdir / "repodata.json")
    shard(root / "cf", keep_json=True)
    return root


REALISTIC = {
    "data-science": ("python=3.12", "numpy", "scipy", "pandas"),
    "pytorch": ("pytorch",),
    "matplotlib-py311": ("python=3.11", "matplotlib-base", "pip"),
}


@pytest.mark.shared
@pytest.mark.parametrize("request_id", sorted(REALISTIC))
def test_same_answer_as_the_monolithic_path_and_conda_libmamba_solver(
    tmp_path: Path, engine_name: str, conda_forge: Path, request_id: str
) -> None:
    """plus on shards gives exactly plus's monolithic answer; conda-libmamba-solver on its
    own shard path differs at most by pip and what pip needs (plus adds pip to python's
    dependencies as conda says; libmambapy 2.8.1 does not, see docs/differences.md)."""
    specs = REALISTIC[request_id]
    with serve(conda_forge) as server:
        channels = [server.url("cf")]
        sharded = ok(conda(tmp_path, engine_name, *specs, channels=channels))
        assert any("/shards/" in path for path in server.paths())
        monolithic = ok(conda(tmp_path, engine_name, *specs, channels=channels, shards=False))
        assert sharded.link == monolithic.link
        if require_clms() is None:
            return
        reference = ok(conda(tmp_path, engine_name, *specs, channels=channels, solver="libmamba"))
    assert reference.link <= sharded.link, reference.output
    extra = {p[0] for p in sharded.link - reference.link}
    assert extra <= {"pip", "setuptools", "wheel"}, extra


def require_clms():
    """conda-libmamba-solver, or ``None`` where it does not import (only the comparison
    with it is left out then); a real-stack run must have it."""
    try:
        import conda_libmamba_solver
    except ImportError:
        if REAL_STACK:
            pytest.fail("conda-libmamba-solver must import in a real-stack run")
        return None
    return conda_libmamba_solver


@pytest.fixture(scope="module")
def locked_prefix(tmp_path_factory) -> Path:
    """The pixi.lock ``cf-channel`` environment (pytorch 2.4 on python 3.12, a year older
    than the newest records), installed into a prefix as tests/test_conda_agreement.py
    does: installed records for the walk to start from."""
    if not UNION.is_dir():
        pytest.skip(f"shared channel data not found at {UNION}")
    require_module("conda_libmamba_solver", "it installs the locked environment")
    from .test_conda_agreement import LOCKED_ENV, install_answer, lock_specs, run_conda

    env, specs, channels, cuda = LOCKED_ENV
    tmp = tmp_path_factory.mktemp("locked")
    prefix = tmp / "env"
    answer = run_conda(
        tmp, "create", prefix, lock_specs(env), channels, solver="libmamba", cuda=cuda
    )
    install_answer(prefix, answer, specs)
    return prefix


@pytest.mark.shared
@pytest.mark.parametrize(
    "command", [("install", "scipy"), ("update", "--all")], ids=["install-scipy", "update-all"]
)
def test_an_installed_environment_same_answer_as_the_monolithic_path(
    tmp_path: Path,
    engine_name: str,
    conda_forge: Path,
    locked_prefix: Path,
    command: tuple[str, str],
) -> None:
    """Changing a real environment: installed records (and their dependencies) are where
    the walk starts, so the sharded answer is the monolithic one, on both engines."""
    verb, arg = command
    cuda = {"CONDA_OVERRIDE_CUDA": "12.1"}
    with serve(conda_forge) as server:
        answers = [
            ok(
                conda(
                    tmp_path,
                    engine_name,
                    arg,
                    channels=[server.url("cf")],
                    command=verb,
                    prefix=locked_prefix,
                    shards=shards,
                    env=cuda,
                )
            )
            for shards in (True, False)
        ]
        assert any("/shards/" in path for path in server.paths())
    assert answers[0].link == answers[1].link and answers[0].unlink == answers[1].unlink
    assert answers[0].link or answers[0].unlink  # the request changes something


def test_query_commands_read_a_shards_only_channel(tmp_path: Path, engine_name: str) -> None:
    """``conda plus search/depends/whoneeds`` read what a solve reads: a shards-only
    channel (repodata.json answers 404) through conda's shard caches, as
    ``conda-solver-plus search`` does (issue 23 item 2); the answers are the same."""
    shards_only_channel(tmp_path / "www" / "chan")
    with serve(tmp_path / "www") as server:
        url = server.url("chan")

        def conda_plus(*args: str) -> subprocess.CompletedProcess:
            command = [sys.executable, "-m", "conda", "plus", *args, "--override-channels"]
            return subprocess.run(
                [*command, "-c", url],
                env={**conda_environment(tmp_path, engine_name), "CONDA_SUBDIR": "linux-64"},
                capture_output=True,
                text=True,
                timeout=300,
            )

        def standalone(*args: str) -> subprocess.CompletedProcess:
            command = [sys.executable, "-m", "conda_solver_plus", *args, "-c", url]
            command += ["--subdir", "linux-64", "--cache-dir", str(tmp_path / "cli-cache")]
            return subprocess.run(command, capture_output=True, text=True, timeout=300)

        search = conda_plus("search", "greet", "--json")
        depends = conda_plus("depends", "shout", "--json")
        needs = conda_plus("whoneeds", "libcolor", "--json")
        cli_search = standalone("search", "greet", "--json")
    for proc in (search, depends, needs, cli_search):
        assert proc.returncode == 0, proc.stdout + proc.stderr
    versions = [r["version"] for r in result_document(search.stdout)["records"]]
    assert versions == ["2.0", "1.0"]
    assert versions == [r["version"] for r in json.loads(cli_search.stdout)["records"]]
    assert result_document(depends.stdout)["record"]["name"] == "shout"
    assert "greet-2.0-0.tar.bz2" in depends.stdout  # its dependency, resolved
    assert [d["name"] for d in result_document(needs.stdout)["dependents"]] == ["greet"]
    assert not any(path.endswith("repodata.json") for path in server.paths())
