"""Repodata that cannot be fetched: one rule on every path (issue 22, items 1 and 2).

Only "this subdir does not exist" is empty: an HTTP 404 of a subdir's repodata, or conda's
cached empty state ``{}`` for one. Any other failure — a server error, a refusal, a hang
past the time limit, a truncated body, gzip or zstd noise, JSON that does not parse, a full
cache disk — fails the solve with one line naming the URL and what to do, never an answer
built without that subdir.

The channel of these tests is made so that leaving out a subdir changes the answer:
``linux-64`` has ``a_pkg 0.9`` (needs ``b_pkg``), ``noarch`` has the newer ``a_pkg 1.0``
(needs ``c_pkg``). Faults are injected for real by a loopback server
(:func:`tests.channels.serve_channel`), through the standalone CLI and through real conda
(``conda create --dry-run --solver=plus``, conda's shards on and off), on both engines.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import zstandard

from .channels import repodata_entry, serve_channel, write_files, write_sharded_channel
from .engines import REPO_ROOT, plus_conda_env
from .test_cli import isolated_from_condarc

pytestmark = pytest.mark.slow

#: how long the CLI waits for a server (the "hang" fault waits longer than this)
FETCH_TIMEOUT = "2"


def write_two_subdir_channel(root: Path, noarch_padding: int = 0) -> Path:
    """``linux-64``: a_pkg 0.9 -> b_pkg; ``noarch``: a_pkg 1.0 -> c_pkg, plus
    ``noarch_padding`` filler records (a large noarch). Both subdirs also as ``.zst``."""
    linux = dict([repodata_entry("a_pkg", "0.9", "linux-64", ["b_pkg"])])
    linux.update([repodata_entry("b_pkg", "1.0", "linux-64")])
    noarch = dict([repodata_entry("a_pkg", "1.0", "noarch", ["c_pkg"])])
    noarch.update([repodata_entry("c_pkg", "1.0", "noarch")])
    noarch.update(repodata_entry(f"filler_{i}", "1.0") for i in range(noarch_padding))
    files: dict[str, bytes | str] = {}
    for subdir, records in (("linux-64", linux), ("noarch", noarch)):
        document = json.dumps({"info": {"subdir": subdir}, "packages": records}).encode()
        files[f"{subdir}/repodata.json"] = document
        files[f"{subdir}/repodata.json.zst"] = zstandard.compress(document)
    return write_files(root, files)


def cli_env(tmp_path: Path) -> dict[str, str]:
    env = isolated_from_condarc(os.environ, tmp_path / "home")
    env["CONDA_SOLVER_PLUS_CACHE"] = str(tmp_path / "cache")
    env["CONDA_SOLVER_PLUS_FETCH_TIMEOUT"] = FETCH_TIMEOUT
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1"
    return env


def solve_cli(
    env: dict[str, str], engine: str, url: str, *args: str, prefix: list[str] | None = None
):
    argv = [sys.executable, "-m", "conda_solver_plus", "solve", "a_pkg", "--json"]
    argv += ["-c", url, "--subdir", "linux-64", "--backend", engine, *args]
    return subprocess.run(
        [*(prefix or []), *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=120,
    )


def versions(stdout: str) -> dict[str, str]:
    return {r["name"]: r["version"] for r in json.loads(stdout)["records"]}


def one_line_error(proc) -> str:
    """The one line a failed solve prints (exit 2, no traceback, nothing on stdout but
    the JSON error)."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


# -- the standalone CLI -----------------------------------------------------------------


def test_a_missing_subdir_is_empty(tmp_path: Path, engine_name: str) -> None:
    """The right answer, and the one failure that is "empty": noarch answering 404."""
    channel = write_two_subdir_channel(tmp_path / "chan")
    env = cli_env(tmp_path)
    with serve_channel(channel) as served:
        proc = solve_cli(env, engine_name, served.url)
        assert proc.returncode == 0, proc.stderr
        assert versions(proc.stdout) == {"a_pkg": "1.0", "c_pkg": "1.0"}
        served.faults = {"noarch/repodata.json": "404", "noarch/repodata.json.zst": "404"}
        proc = solve_cli(env, engine_name, served.url, "--cache-dir", str(tmp_path / "c2"))
    assert proc.returncode == 0, proc.stderr
    assert versions(proc.stdout) == {"a_pkg": "0.9", "b_pkg": "1.0"}


#: the faults of a noarch that exists but cannot be read, and what the server is made to do
#: (the ``.zst`` py-rattler asks for first, else the ``.json``)
NOARCH_FAULTS = {
    "500": {"noarch/repodata.json.zst": "500", "noarch/repodata.json": "500"},
    "403": {"noarch/repodata.json.zst": "403", "noarch/repodata.json": "403"},
    "hang": {"noarch/repodata.json.zst": "hang", "noarch/repodata.json": "hang"},
    "zstd-garbage": {"noarch/repodata.json.zst": "garbage"},
    "truncated": {"noarch/repodata.json.zst": "404", "noarch/repodata.json": "truncate"},
    "gzip-garbage": {"noarch/repodata.json.zst": "404", "noarch/repodata.json": "gzip-garbage"},
    "invalid-json": {"noarch/repodata.json.zst": "404", "noarch/repodata.json": "invalid-json"},
}


@pytest.mark.parametrize("fault", sorted(NOARCH_FAULTS))
def test_a_failing_noarch_fails_the_solve(tmp_path: Path, engine_name: str, fault: str) -> None:
    """Was: exit 0 with a_pkg 0.9 (noarch dropped silently)."""
    channel = write_two_subdir_channel(tmp_path / "chan")
    with serve_channel(channel) as served:
        served.faults = dict(NOARCH_FAULTS[fault])
        served.hang_seconds = float(FETCH_TIMEOUT) + 3
        env = cli_env(tmp_path)
        if fault != "hang":  # py-rattler retries a download it cannot decode, with backoff
            env["CONDA_SOLVER_PLUS_FETCH_TIMEOUT"] = "60"
        proc = solve_cli(env, engine_name, served.url)
    line = one_line_error(proc)
    assert f"{served.url}/noarch/repodata.json" in line, line
    assert "a_pkg" not in proc.stdout
    expected = {
        "403": "check the channel's token",
        "500": "a server error",
        "hang": "raise CONDA_SOLVER_PLUS_FETCH_TIMEOUT",
        "zstd-garbage": "does not decompress",
        "gzip-garbage": "does not decompress",
        "truncated": "not valid",
        "invalid-json": "not valid",
    }[fault]
    assert expected in line, line


def test_a_failing_platform_subdir_is_not_searched(tmp_path: Path, engine_name: str) -> None:
    """Was: "a_pkg not available ... Subdirs searched: linux-64, noarch" — false."""
    channel = write_two_subdir_channel(tmp_path / "chan")
    with serve_channel(channel) as served:
        served.faults = {"linux-64/repodata.json.zst": "500", "linux-64/repodata.json": "500"}
        proc = solve_cli(cli_env(tmp_path), engine_name, served.url)
    line = one_line_error(proc)
    assert f"{served.url}/linux-64/repodata.json" in line, line
    assert "Subdirs searched" not in line


@pytest.mark.parametrize("monolithic", [False, True], ids=["shards-only", "with-repodata.json"])
def test_a_server_error_on_a_shard_index_is_not_no_shards(
    tmp_path: Path, engine_name: str, monolithic: bool
) -> None:
    """linux-64's shard index answers 500: its repodata.json is read instead. Was, for a
    shards-only channel (repodata.json answers 404): "no linux-64", an answer without it
    (here: greet not found, or greet from the wrong subdir)."""
    channel = write_sharded_channel(tmp_path / "chan", monolithic=monolithic)
    with serve_channel(channel) as served:
        served.faults = {"linux-64/repodata_shards.msgpack.zst": "500"}
        argv = [sys.executable, "-m", "conda_solver_plus", "solve", "greet", "--json"]
        argv += ["-c", served.url, "--subdir", "linux-64", "--backend", engine_name]
        proc = subprocess.run(
            argv, capture_output=True, text=True, env=cli_env(tmp_path), cwd=REPO_ROOT
        )
    if monolithic:
        assert proc.returncode == 0, proc.stderr
        assert versions(proc.stdout)["greet"] == "2.0"
        return
    line = one_line_error(proc)
    assert f"{served.url}/linux-64/repodata_shards.msgpack.zst (HTTP 500)" in line, line


def test_a_full_cache_disk_says_so(tmp_path: Path, engine_name: str) -> None:
    """The cache on a 64 KiB tmpfs (a private mount namespace: ``unshare``), noarch's
    repodata ~370 KB: was "check the URL and your connection"."""
    if shutil.which("unshare") is None or (
        subprocess.run(["unshare", "-rm", "true"], capture_output=True, check=False).returncode
        != 0
    ):
        pytest.skip("no unshare (user and mount namespaces) to mount a small tmpfs")
    channel = write_two_subdir_channel(tmp_path / "chan", noarch_padding=2000)
    small = tmp_path / "small"
    small.mkdir()
    env = cli_env(tmp_path)
    env["CONDA_SOLVER_PLUS_CACHE"] = str(small / "cache")
    env["CONDA_SOLVER_PLUS_FETCH_TIMEOUT"] = "60"  # py-rattler retries a failed write
    mount = ["unshare", "-rm", "sh", "-c", f'mount -t tmpfs -o size=64k tmpfs "{small}" && "$@"']
    with serve_channel(channel) as served:
        proc = solve_cli(env, engine_name, served.url, prefix=[*mount, "sh"])
    line = one_line_error(proc)
    assert "CONDA_SOLVER_PLUS_CACHE" in line and "full" in line, line
    assert "check the URL" not in line


# -- through conda ------------------------------------------------------------------------


def conda_create(
    tmp_path: Path,
    engine: str,
    url: str,
    *,
    shards: bool,
    solver: str = "plus",
    spec: str = "a_pkg",
) -> tuple[int, dict, str]:
    """``conda create --dry-run --json``: exit code, conda's JSON document, all output.
    Calls of one test share conda's caches and plus's (a user's commands in a row)."""
    env = plus_conda_env(
        tmp_path,
        engine,
        CONDA_OVERRIDE_CUDA="",
        CONDA_OVERRIDE_GLIBC="2.28",
        CONDA_REPODATA_USE_SHARDS="true" if shards else "false",
        CONDA_REMOTE_MAX_RETRIES="1",
        CONDA_REMOTE_BACKOFF_FACTOR="0",
        NO_PROXY="127.0.0.1",
        no_proxy="127.0.0.1",
    )
    cmd = [sys.executable, "-m", "conda", "create", "-p", str(tmp_path / "env"), spec]
    cmd += ["--dry-run", "--json", f"--solver={solver}", "--override-channels", "-c", url]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    text = proc.stdout.replace("\0", "")
    start = 0 if text.startswith("{\n") else text.rfind("\n{\n") + 1
    try:
        document = json.loads(text[start:])
    except json.JSONDecodeError:
        document = {}
    return proc.returncode, document, f"{' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}"


def linked(document: dict) -> dict[str, str]:
    return {p["name"]: p["version"] for p in document.get("actions", {}).get("LINK", [])}


SHARDS = pytest.mark.parametrize("shards", [True, False], ids=["shards", "no-shards"])


@SHARDS
@pytest.mark.parametrize("fault", ["500", "403", "invalid-json"])
def test_conda_a_failing_noarch_fails_the_solve(
    tmp_path: Path, engine_name: str, shards: bool, fault: str
) -> None:
    """Was: a_pkg 0.9 with exit 0, where classic and conda-libmamba-solver fail with
    conda's ``CondaHTTPError``."""
    channel = write_two_subdir_channel(tmp_path / "chan")
    with serve_channel(channel) as served:
        served.faults = dict(NOARCH_FAULTS[fault])
        code, document, output = conda_create(tmp_path, engine_name, served.url, shards=shards)
    assert code != 0, output
    assert not linked(document), output
    if fault in ("500", "403"):
        assert document.get("exception_name") == "CondaHTTPError", output
        assert str(document.get("status_code")) == fault, output
    else:  # the cached file does not parse: the error names it
        assert "not valid repodata JSON" in document.get("message", ""), output


@SHARDS
def test_conda_a_failing_platform_subdir_fails_the_solve(
    tmp_path: Path, engine_name: str, shards: bool
) -> None:
    channel = write_two_subdir_channel(tmp_path / "chan")
    with serve_channel(channel) as served:
        served.faults = {"linux-64/repodata.json.zst": "500", "linux-64/repodata.json": "500"}
        code, document, output = conda_create(tmp_path, engine_name, served.url, shards=shards)
    assert code != 0, output
    assert document.get("exception_name") == "CondaHTTPError", output
    assert "Subdirs searched" not in output


@SHARDS
@pytest.mark.parametrize("first", ["plus", "classic"])
def test_conda_a_noarch_only_channel_works_every_time(
    tmp_path: Path, engine_name: str, shards: bool, first: str
) -> None:
    """Item 2: linux-64 answers 404 and conda caches that as ``{}`` with no
    cache-control (stale on every later run). Was: ``RepodataIsEmpty: HTTP 404`` on the
    second run, and on the first when classic filled the cache."""
    channel = write_two_subdir_channel(tmp_path / "chan")
    shutil.rmtree(channel / "linux-64")
    with serve_channel(channel) as served:
        for solver in (first, "plus", "plus"):
            code, document, output = conda_create(
                tmp_path, engine_name, served.url, shards=shards, solver=solver
            )
            assert code == 0, output
            assert linked(document) == {"a_pkg": "1.0", "c_pkg": "1.0"}, output
    cached = sorted((tmp_path / "pkgs" / "cache").glob("*.json"))
    assert any(path.read_text() == "{}" for path in cached), cached  # the 404, as conda


def test_conda_errors_name_urls_as_urls(tmp_path: Path, engine_name: str) -> None:
    """A malformed record in a shard: the error names the shard index by its URL. Was
    ``http:/127.0.0.1:PORT/...`` (the URL went through ``Path``)."""
    root = tmp_path / "chan"
    linux = dict([repodata_entry("a_pkg", "1.0", "linux-64")])
    linux["a_pkg-1.0-0.tar.bz2"]["version"] = 1.0  # a number: py-rattler refuses it
    for subdir, records in (("linux-64", linux), ("noarch", {})):
        document = {"info": {"subdir": subdir}, "packages": records}
        write_files(root, {f"{subdir}/repodata.json": json.dumps(document)})
    from conda_solver_plus.shard_command import shard_channel

    shard_channel(root)
    with serve_channel(root) as served:
        code, document, output = conda_create(tmp_path, engine_name, served.url, shards=True)
    assert code != 0, output
    message = document.get("message", "")
    assert f"{served.url}/linux-64/repodata_shards.msgpack.zst" in message, output
    assert "http:/1" not in output


@pytest.mark.parametrize("where", ["index", "shard"])
def test_conda_a_server_error_on_shards_fails_the_solve(
    tmp_path: Path, engine_name: str, where: str
) -> None:
    """A shards-only channel (its repodata.json answers 404) whose linux-64 shard index,
    or one shard, answers 500: an error, never "no shards here" and then "no linux-64"."""
    channel = write_sharded_channel(tmp_path / "chan")
    index = channel / "linux-64" / "repodata_shards.msgpack.zst"
    if where == "index":
        faults = {"linux-64/repodata_shards.msgpack.zst": "500"}
    else:  # every shard of linux-64 (the index stays readable)
        shard_files = [p for p in (channel / "linux-64").rglob("*.msgpack.zst") if p != index]
        faults = {f"/{p.relative_to(channel)}": "500" for p in shard_files}
        assert faults
    with serve_channel(channel) as served:
        served.faults = faults
        code, document, output = conda_create(
            tmp_path, engine_name, served.url, shards=True, spec="greet"
        )
    assert code != 0, output
    assert not linked(document), output
    assert "500" in document.get("message", "") + document.get("error", ""), output
