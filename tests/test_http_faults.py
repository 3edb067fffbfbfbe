"""HTTP faults around fetching repodata, injected on loopback servers (issue 22, items 4-6).

- **Credentials stay home.** A private channel's token and basic auth go only to the
  channel's own origin (scheme, host, port) and below its path, and are dropped on a
  redirect that leaves it — on every fetch path: the standalone shard reader
  (:mod:`conda_solver_plus.repodata.sharded`), py-rattler's monolithic fetch
  (:mod:`conda_solver_plus.repodata`) and, through real conda, the adapter's shard getter
  (:mod:`conda_solver_plus.conda.shard_subsets`). Two loopback servers are two origins
  (two ports); the second one, "elsewhere", records every request's ``Authorization``
  header and path and serves what a CDN would.
- **Channels serving ``repodata.json.zst``** (conda-forge does) get the same integrity
  checks and shard cache as those serving only ``repodata.json``: py-rattler records the
  ``.zst`` URL for them.
- **The fetch time limit covers a whole download**: a server that sends a byte now and
  then is given up on after about ``CONDA_SOLVER_PLUS_FETCH_TIMEOUT`` seconds, on the
  shard path and on py-rattler's monolithic fetch, with an error naming the URL and the
  setting.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

import pytest
import zstandard

from conda_solver_plus.cli import request_roots
from conda_solver_plus.repodata import split as index_module
from conda_solver_plus.repodata import split as shard_cache
from conda_solver_plus.repodata.credentials import is_below
from conda_solver_plus.repodata.gateway import load_index
from conda_solver_plus.repodata.shards import (
    SHARD_INDEX_FILENAME,
    pack_shard_index,
    parse_shard_index,
)

from .channels import (
    BUILT_PACKAGES,
    PrivateChannel,
    loopback_server,
    serve_channel,
    serve_private_channel,
    write_package_channel,
    write_sharded_channel,
)
from .test_cli import isolated_from_condarc

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "tk-5e2a-private"
USER, PASSWORD = "carol", "pw-41d7-secret"
SUBDIRS = ("linux-64", "noarch")


# -- a second origin that records what it is sent --------------------------------------------


@dataclass
class Elsewhere:
    """A server on another origin (another port): serves ``root`` to anyone and records
    ``(path, Authorization header)`` of every request."""

    root: Path
    port: int = 0
    seen: list[tuple[str, str | None]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def credentials_seen(self) -> list[tuple[str, str | None]]:
        """Requests that carried an ``Authorization`` header or the token."""
        return [(path, auth) for path, auth in self.seen if auth or TOKEN in path]


@contextmanager
def serve_elsewhere(root: Path) -> Iterator[Elsewhere]:
    elsewhere = Elsewhere(root)

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def send_head(self):
            elsewhere.seen.append((self.path, self.headers.get("Authorization")))
            return super().send_head()

        def log_message(self, format: str, *args) -> None:
            pass

    with loopback_server(Handler) as elsewhere.port:
        yield elsewhere


def private_url(channel: PrivateChannel, kind: str) -> str:
    return channel.token_url if kind == "token" else channel.basic_auth_url


def assert_no_secret(text: str) -> None:
    assert TOKEN not in text and PASSWORD not in text, text


def move_shards_elsewhere(channel: Path, elsewhere: Path, base_url: str) -> None:
    """Point every subdir's shard index at ``base_url/<subdir>/shards/`` (an absolute URL
    on another origin) and move the shards to ``elsewhere``."""
    for subdir in SUBDIRS:
        index_path = channel / subdir / SHARD_INDEX_FILENAME
        index = parse_shard_index(index_path.read_bytes())
        info = {**index.info, "shards_base_url": f"{base_url}/{subdir}/shards/"}
        index_path.write_bytes(pack_shard_index(info, index.shards))
        if (channel / subdir / "shards").is_dir():  # noarch has no packages, so no shards
            shutil.move(channel / subdir / "shards", elsewhere / subdir / "shards")


def shard_paths(channel: Path) -> list[str]:
    """The URL paths (below the channel) of every shard of ``channel``."""
    return [
        f"/{subdir}/shards/{shard.name}"
        for subdir in SUBDIRS
        if (channel / subdir / "shards").is_dir()
        for shard in sorted((channel / subdir / "shards").iterdir())
    ]


# -- the standalone CLI ------------------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    result = isolated_from_condarc(os.environ, tmp_path / "home")
    result["CONDA_SOLVER_PLUS_CACHE"] = str(tmp_path / "cache")
    return result


def cli(env: dict[str, str], engine: str, *args: str, timeout: float = 120):
    argv = [sys.executable, "-m", "conda_solver_plus", *args, "--subdir", "linux-64"]
    argv += ["--backend", engine]
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout)


def solved_names(proc: subprocess.CompletedProcess) -> dict[str, str]:
    assert proc.returncode == 0, proc.stderr
    return {r["name"]: r["version"] for r in json.loads(proc.stdout)["records"]}


# -- item 4: credentials -------------------------------------------------------------------


def test_is_below_compares_the_whole_origin_and_the_path() -> None:
    base = "https://host.example/chan"
    assert is_below(base, "https://host.example/chan/linux-64/repodata.json")
    assert is_below(base, "https://HOST.example:443/chan")
    assert is_below("http://host.example/chan", "http://user@host.example:80/chan/x")
    assert not is_below(base, "http://host.example/chan/linux-64/repodata.json")  # scheme
    assert not is_below(base, "https://host.example:8443/chan/linux-64/x")  # port
    assert not is_below(base, "https://cdn.example/chan/linux-64/x")  # host
    assert not is_below(base, "https://host.example/chan2/linux-64/x")  # a sibling path
    assert not is_below(base, "https://host.example.evil/chan/x")
    assert not is_below("http://127.0.0.1:8000", "http://127.0.0.1:80001/x")


@contextmanager
def private_channel_with_shards_elsewhere(tmp_path: Path, how: str) -> Iterator[tuple]:
    """A private sharded channel whose shards are served by another origin (a second
    loopback server), named by an absolute ``shards_base_url`` or reached by a 302 from
    the channel: yields ``(private, elsewhere)``."""
    channel = write_sharded_channel(tmp_path / "private")
    cdn = tmp_path / "cdn"
    for subdir in SUBDIRS:
        (cdn / subdir).mkdir(parents=True)
    with (
        serve_elsewhere(cdn) as elsewhere,
        serve_private_channel(channel, TOKEN, USER, PASSWORD) as private,
    ):
        if how == "shards_base_url":
            move_shards_elsewhere(channel, cdn, elsewhere.url)
        else:
            shutil.copytree(channel / "linux-64" / "shards", cdn / "linux-64" / "shards")
            private.redirects.update(dict.fromkeys(shard_paths(channel), elsewhere.url))
        yield private, elsewhere


@pytest.mark.parametrize("kind", ["basic-auth", "token"])
@pytest.mark.parametrize("how", ["shards_base_url", "redirect"])
def test_shard_credentials_stay_on_the_channel_origin(
    tmp_path: Path, env: dict[str, str], engine_name: str, kind: str, how: str
) -> None:
    """A private sharded channel whose shards are on another origin — named by an
    absolute ``shards_base_url``, or reached by a 302 — is solved, and the other origin
    never sees the channel's ``Authorization`` header or token (urllib kept the header
    on every redirect, and sent it to whatever URL the shard index named)."""
    with private_channel_with_shards_elsewhere(tmp_path, how) as (private, elsewhere):
        proc = cli(env, engine_name, "solve", "shout", "--json", "-c", private_url(private, kind))
        assert solved_names(proc) == {"shout": "0.1", "greet": "2.0", "libcolor": "1.0"}
        assert private.served(SHARD_INDEX_FILENAME), private.requests
    assert [path for path, _ in elsewhere.seen if path.endswith(".msgpack.zst")]
    assert elsewhere.credentials_seen() == []
    assert_no_secret(proc.stdout + proc.stderr)


def test_a_redirect_within_the_channel_keeps_basic_auth(
    tmp_path: Path, env: dict[str, str], engine_name: str
) -> None:
    """A redirect that stays on the channel's origin and below its path keeps basic auth:
    the server refuses the redirected shard requests without it."""
    channel = write_sharded_channel(tmp_path / "private")
    shutil.copytree(channel / "linux-64" / "shards", channel / "moved" / "linux-64" / "shards")
    with serve_private_channel(channel, TOKEN, USER, PASSWORD) as private:
        private.redirects.update(dict.fromkeys(shard_paths(channel), f"{private.base}/moved"))
        proc = cli(env, engine_name, "solve", "shout", "--json", "-c", private.basic_auth_url)
        assert solved_names(proc)["shout"] == "0.1"
        moved = [path for path in private.served(".msgpack.zst") if path.startswith("/moved/")]
        assert moved, private.requests
    assert_no_secret(proc.stdout + proc.stderr)


def test_monolithic_credentials_go_to_their_own_channel_only(
    tmp_path: Path, env: dict[str, str], engine_name: str
) -> None:
    """Two channels on one host, two ports: the private one's basic auth must not go to
    the public one (py-rattler's header callback is told host and path, not the port;
    one client for both sent the password to every channel of that host)."""
    private_root = write_package_channel(tmp_path / "private", "linux-64")
    public_root = write_package_channel(tmp_path / "public", "linux-64", BUILT_PACKAGES[:1])
    with (
        serve_elsewhere(public_root) as public,
        serve_private_channel(private_root, TOKEN, USER, PASSWORD) as private,
    ):
        proc = cli(
            env,
            engine_name,
            "solve",
            "shout",
            "--json",
            "-c",
            private.basic_auth_url,
            "-c",
            public.url,
        )
        assert solved_names(proc)["shout"] == "0.1"
    assert [path for path, _ in public.seen if "repodata.json" in path]
    assert public.credentials_seen() == []
    assert_no_secret(proc.stdout + proc.stderr)


@pytest.mark.parametrize("kind", ["basic-auth", "token"])
def test_monolithic_redirect_to_another_origin_drops_credentials(
    tmp_path: Path, env: dict[str, str], engine_name: str, kind: str
) -> None:
    """py-rattler follows a 302 of ``repodata.json`` to another origin without the
    channel's ``Authorization`` header (checked here rather than assumed)."""
    private_root = write_package_channel(tmp_path / "private", "linux-64")
    cdn = tmp_path / "cdn"
    shutil.copytree(private_root, cdn)
    with (
        serve_elsewhere(cdn) as elsewhere,
        serve_private_channel(private_root, TOKEN, USER, PASSWORD) as private,
    ):
        for subdir in SUBDIRS:
            private.redirects[f"/{subdir}/repodata.json"] = elsewhere.url
        proc = cli(env, engine_name, "solve", "shout", "--json", "-c", private_url(private, kind))
        assert solved_names(proc)["shout"] == "0.1"
    assert [path for path, _ in elsewhere.seen if path.endswith("repodata.json")]
    assert elsewhere.credentials_seen() == []


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["basic-auth", "token"])
@pytest.mark.parametrize("how", ["shards_base_url", "redirect"])
def test_conda_shard_credentials_stay_on_the_channel_origin(
    tmp_path: Path, engine_name: str, kind: str, how: str
) -> None:
    """Through real conda (``--solver=plus``, conda's shards on): the adapter fetches
    shards with conda's requests session, which must not send the channel's credentials
    to a ``shards_base_url`` on another origin nor across a redirect to one."""
    # here, not at the top: that module skips itself where conda is missing, and the
    # standalone tests above need no conda
    from .test_conda_shards import conda, ok

    with private_channel_with_shards_elsewhere(tmp_path, how) as (private, elsewhere):
        answer = ok(conda(tmp_path, engine_name, "shout", channels=[private_url(private, kind)]))
        assert private.served(SHARD_INDEX_FILENAME), private.requests
    assert answer.versions()["shout"][0] == "0.1"
    assert [path for path, _ in elsewhere.seen if path.endswith(".msgpack.zst")]
    assert elsewhere.credentials_seen() == []
    assert_no_secret(answer.output.split("\n", 1)[1])


# -- item 5: channels serving repodata.json.zst -------------------------------------------


def zst_channel(root: Path, packages=BUILT_PACKAGES) -> Path:
    """:func:`write_package_channel` with ``repodata.json.zst`` beside every
    ``repodata.json``, as conda-forge serves it (py-rattler then downloads the ``.zst``)."""
    write_package_channel(root, "linux-64", packages)
    for subdir in SUBDIRS:
        data = (root / subdir / "repodata.json").read_bytes()
        (root / subdir / "repodata.json.zst").write_bytes(zstandard.compress(data))
    return root


def cached_repodata(cache: Path, subdir: str) -> Path:
    """py-rattler's cached repodata file of ``subdir`` (found by its ``.info.json``)."""
    for info_path in (cache / "repodata").glob("*.info.json"):
        if json.loads(info_path.read_text())["url"].endswith(f"/{subdir}/repodata.json.zst"):
            return info_path.with_name(info_path.name.removesuffix(".info.json") + ".json")
    raise AssertionError(f"no cached .zst repodata of {subdir} in {cache}")


def test_a_zst_served_cache_that_was_cut_short_is_caught(
    tmp_path: Path, env: dict[str, str], engine_name: str
) -> None:
    """A truncated cached ``repodata.json`` of a ``.zst``-served channel is the clear
    "damaged" error offline (it was read as a channel without the package: "shout not
    available"), and is fetched again online."""
    with serve_channel(zst_channel(tmp_path / "chan")) as served:
        assert solved_names(cli(env, engine_name, "solve", "shout", "--json", "-c", served.url))
        assert served.served("linux-64/repodata.json.zst")
        cached = cached_repodata(tmp_path / "cache", "linux-64")
        data = cached.read_bytes()
        cached.write_bytes(data[: len(data) // 2])
        offline = cli(env, engine_name, "solve", "shout", "--offline", "-c", served.url)
        assert offline.returncode != 0, offline.stdout
        assert "damaged" in offline.stderr and str(cached) in offline.stderr, offline.stderr
        assert "Traceback" not in offline.stderr
        again = cli(env, engine_name, "solve", "shout", "--json", "-c", served.url)
        assert solved_names(again)["shout"] == "0.1"
    # online, the damaged copy was replaced by a whole one (how many requests that took —
    # a conditional one first, or not — is py-rattler's business and varies with timing)
    assert cached.read_bytes() == data


def test_a_zst_served_channel_goes_through_the_shard_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """py-rattler's cached copy of a large ``.zst``-served channel is split like any
    other (here every file counts as large): the engine gets the subset of what the roots
    reach, not the whole file on every warm solve."""
    monkeypatch.setattr(shard_cache, "SPLIT_ABOVE_BYTES", 0)
    monkeypatch.setattr(index_module, "SPLIT_IN_BACKGROUND", False)
    with serve_channel(zst_channel(tmp_path / "chan")) as served:
        index = load_index(
            [served.url],
            ["linux-64"],
            cache_dir=tmp_path / "cache",
            roots=request_roots(["greet"]),
        )
    repo = next(r for r in index.repos if r.subdir == "linux-64")
    assert cached_repodata(tmp_path / "cache", "linux-64").is_file()
    assert "shard-cache" in str(repo.path)  # a subset of the split cached file
    assert set(repo.sparse.package_names()) == {"greet", "libcolor"}
    assert repo.names == {"greet", "libcolor", "shout"}


# -- item 6: the fetch time limit covers a whole download -----------------------------------

#: the limit the tests set, and how long a command may take beyond it (start-up, the
#: engine, a loaded machine): far below what a dripping server holds a per-read limit for
LIMIT_SECONDS = 2
MARGIN_SECONDS = 7


def timed_cli(env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess, float]:
    env = {**env, "CONDA_SOLVER_PLUS_FETCH_TIMEOUT": str(LIMIT_SECONDS)}
    start = time.monotonic()
    proc = cli(env, "rattler", *args, timeout=300)
    return proc, time.monotonic() - start


def assert_timed_out(proc: subprocess.CompletedProcess, elapsed: float, url: str) -> None:
    assert proc.returncode not in (0, 3), proc.stdout + proc.stderr  # an error, not a crash
    assert elapsed < LIMIT_SECONDS + MARGIN_SECONDS, f"took {elapsed:.1f}s: {proc.stderr}"
    assert url in proc.stderr, proc.stderr
    assert "CONDA_SOLVER_PLUS_FETCH_TIMEOUT" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("what", ["shard index", "shards"])
def test_a_dripping_server_is_given_up_on_the_shard_path(
    tmp_path: Path, env: dict[str, str], what: str
) -> None:
    """A server sending one byte every 0.2 s: each read gets something, so a per-read
    limit never fires (a 309-byte shard took 62 s with a 2 s limit); the limit holds for
    the whole download."""
    channel = write_sharded_channel(tmp_path / "chan")
    with serve_channel(channel) as served:
        if what == "shards":
            dripping = shard_paths(channel)
        else:
            dripping = [f"/linux-64/{SHARD_INDEX_FILENAME}"]
        served.faults.update(dict.fromkeys(dripping, "drip"))
        proc, elapsed = timed_cli(env, "solve", "shout", "-c", served.url)
    assert_timed_out(proc, elapsed, served.url)


def test_a_dripping_server_is_given_up_on_the_monolithic_path(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """py-rattler's client limit is per attempt, and it retries: a 2 s limit held a
    dripping ``repodata.json`` for 13 s. The limit holds for the whole download."""
    with serve_channel(write_package_channel(tmp_path / "chan", "linux-64")) as served:
        served.faults["/linux-64/repodata.json"] = "drip"
        proc, elapsed = timed_cli(env, "solve", "shout", "-c", served.url)
        assert_timed_out(proc, elapsed, f"{served.url}/linux-64/repodata.json")
        # the abandoned download left nothing behind (py-rattler's cache lock included)
        served.faults.clear()
        again, _ = timed_cli(env, "solve", "shout", "--json", "-c", served.url)
        assert solved_names(again)["shout"] == "0.1"
