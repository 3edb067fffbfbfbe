"""Bad input, end to end: every way a user's channels, specs, prefix, cache or network can be
wrong ends in exactly one clear error and leaves everything on disk as it was.

Each case of the matrix below breaks one thing in an otherwise good setup (a real prefix
with installed records, history and pins; the demo channel; a private cache directory;
local HTTP servers on 127.0.0.1) and runs the standalone CLI's ``main`` in this process.
The contract checked for every case:

- exit status 2 and nothing on stdout;
- exactly one line on stderr, starting with ``error:``, naming the file, spec, option or
  channel at fault (and no traceback);
- with ``--json``: one ``{"error": {"type": "InvalidInput", ...}}`` object on stdout;
- every file and directory outside the cache directory (the prefix, the channels, the
  temporary directory the case lives in) byte-for-byte unchanged, mtimes included.

The CLI runs in-process because it is the same code path as in a subprocess (``main`` is
the console entry point) and 60 subprocesses would cost a minute; ``tests/test_cli.py``
covers the subprocess contract itself.

Tests run as root here, where ``chmod 000`` does not stop reads or writes. The cases that
need an unreadable file or a read-only directory therefore use honest equivalents that
fail for root too (a directory where a file is expected, a file where the cache directory
should be) and the ``chmod`` variants are skipped under root with that reason.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import zstandard

from conda_solver_plus.cli import main

from .channels import install_record, loopback_server, write_files

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "tests" / "data" / "demo-channel"
DEMO_LINUX = DEMO / "linux-64" / "repodata.json"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
ROOT_REASON = "running as root: permission bits do not stop root (an equivalent case runs)"


# -- the world each case breaks one thing of ---------------------------------------------


@dataclass
class World:
    """A good setup: ``solve numpy`` against ``prefix`` with the demo channel succeeds."""

    root: Path
    specs: list[str] = field(default_factory=lambda: ["numpy"])
    channels: list[str] = field(default_factory=lambda: [str(DEMO)])
    extra: list[str] = field(default_factory=list)
    subdir: str = "linux-64"

    def __post_init__(self) -> None:
        self.prefix = self.root / "env"
        self.cache = self.root / "cache"
        install_record(self.prefix, DEMO, "noarch", "ca-certificates-2025.1.31-hbcca054_0.conda")
        install_record(self.prefix, DEMO, "linux-64", "openssl-3.3.2-hb9d3cd8_0.conda")
        meta = self.prefix / "conda-meta"
        (meta / "history").write_text(
            "==> 2024-12-01 10:00:00 <==\n# cmd: conda install openssl\n"
            "+demo::openssl-3.3.2-hb9d3cd8_0\n# update specs: ['openssl']\n"
        )
        (meta / "pinned").write_text("openssl 3.*  # keep the major version\n")
        self.cache.mkdir()

    @property
    def meta(self) -> Path:
        return self.prefix / "conda-meta"

    def channel(self, files: dict[str, bytes | str], name: str = "chan") -> Path:
        """A local channel made of ``files`` (relative path -> content); becomes the first
        channel of the request, before the demo channel (which has what the prefix needs)."""
        root = write_files(self.root / name, files)
        root.mkdir(exist_ok=True)
        self.channels = [str(root), str(DEMO)]
        return root

    def argv(self, *more: str) -> list[str]:
        argv = ["solve", *self.specs, "--backend", "rattler", "--prefix", str(self.prefix)]
        argv += ["--cache-dir", str(self.cache), *self.extra, *more]
        if self.subdir:
            argv += ["--subdir", self.subdir]
        for channel in self.channels:
            argv += ["-c", channel]
        return argv


def snapshot(*roots: Path, exclude: Path | None = None) -> dict[str, tuple]:
    """Kind, mode, size, mtime and content hash of everything under ``roots``."""
    result: dict[str, tuple] = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            if exclude is not None and Path(dirpath) == exclude:
                dirnames.clear()
                continue
            for name in ["", *dirnames, *filenames]:
                path = Path(dirpath, name)
                if exclude is not None and path == exclude:
                    continue
                info = path.lstat()
                digest = ""
                if stat.S_ISREG(info.st_mode):
                    digest = hashlib.sha256(path.read_bytes()).hexdigest()
                result[str(path)] = (info.st_mode, info.st_size, info.st_mtime_ns, digest)
    return result


# -- local HTTP servers ------------------------------------------------------------------


class _Quiet(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


class _Status(_Quiet):
    status = 404

    def do_GET(self) -> None:
        self.send_error(self.status)

    do_HEAD = do_GET


class _NotFound(_Status):
    status = 404


class _ServerError(_Status):
    status = 500


class _Body(_Quiet):
    """Serves ``body`` for ``*/repodata.json`` and 404 for everything else."""

    body = b""
    declared_length: int | None = None

    def do_GET(self) -> None:
        if not self.path.endswith("/repodata.json"):
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        length = self.declared_length if self.declared_length is not None else len(self.body)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        if self.command == "GET":
            self.wfile.write(self.body)

    do_HEAD = do_GET


class _HangUp(_Quiet):
    """Closes the connection without a word."""

    def handle(self) -> None:
        self.connection.shutdown(socket.SHUT_RDWR)


def _body(body: bytes, declared_length: int | None = None) -> type[_Body]:
    return type("Body", (_Body,), {"body": body, "declared_length": declared_length})


class Servers:
    """HTTP servers on 127.0.0.1 started by a case, shut down after it."""

    def __init__(self) -> None:
        self._servers = contextlib.ExitStack()
        self._silent: list[socket.socket] = []

    def start(self, handler) -> str:
        return f"http://127.0.0.1:{self._servers.enter_context(loopback_server(handler))}"

    def silent(self) -> str:
        """A server that accepts connections and never answers."""
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        self._silent.append(listener)
        return f"http://127.0.0.1:{listener.getsockname()[1]}"

    @staticmethod
    def closed_port() -> str:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        return f"http://127.0.0.1:{port}"  # nothing listens there any more

    def close(self) -> None:
        self._servers.close()
        for listener in self._silent:
            listener.close()


# -- the matrix --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    #: breaks one thing of the world; returns the texts the error line must contain
    setup: Callable[[World, Servers, pytest.MonkeyPatch], list[str]]
    skip: str = ""


CASES: list[Case] = []


def case(case_id: str, skip: str = ""):
    def register(setup):
        CASES.append(Case(case_id, setup, skip))
        return setup

    return register


def _record(**fields) -> dict:
    """A repodata record of ``foo``; ``field=...`` leaves that field out."""
    record = {"name": "foo", "version": "1.0", "build": "0", "build_number": 0, "depends": []}
    record.update(fields)
    return {key: value for key, value in record.items() if value is not ...}


def _repodata(*records: dict, key: str = "packages") -> str:
    entries = {f"foo-{i}-0.tar.bz2": r for i, r in enumerate(records)}
    return json.dumps({"info": {"subdir": "linux-64"}, key: entries})


def _bad_repodata(case_id: str, content: bytes | str, spec: str = "foo"):
    """A channel whose linux-64/repodata.json is ``content``; the error names that file."""

    @case(case_id)
    def setup(world: World, servers, monkeypatch) -> list[str]:
        root = world.channel({"linux-64/repodata.json": content})
        world.specs = [spec]
        return [str(root / "linux-64" / "repodata.json")]


# channels


@case("channel-dir-missing")
def _(world, servers, monkeypatch):
    world.channels = [str(world.root / "no-such-channel")]
    return [str(world.root / "no-such-channel"), "does not exist"]


@case("channel-is-a-file")
def _(world, servers, monkeypatch):
    path = world.root / "chan.json"
    path.write_text("{}")
    world.channels = [str(path)]
    return [str(path), "is a file"]


@case("channel-without-repodata")
def _(world, servers, monkeypatch):
    root = world.channel({"linux-64/README": "", "noarch/index.html": ""})
    return [str(root), "no repodata.json"]


@case("channel-repodata-is-a-directory")  # the honest "unreadable" case for root
def _(world, servers, monkeypatch):
    root = world.channel({"linux-64/repodata.json/x": ""})
    return [str(root / "linux-64" / "repodata.json"), "not a file"]


@case("channel-repodata-unreadable", skip=ROOT_REASON if IS_ROOT else "")
def _(world, servers, monkeypatch):
    root = world.channel({"linux-64/repodata.json": DEMO_LINUX.read_bytes()})
    (root / "linux-64" / "repodata.json").chmod(0)
    return [str(root / "linux-64" / "repodata.json"), "not readable"]


@case("channel-name-empty")
def _(world, servers, monkeypatch):
    world.channels = ["   "]
    return ["empty channel name"]


@case("channel-label-offline-uncached")  # a labelled channel name, not a local path
def _(world, servers, monkeypatch):
    world.channels = ["conda-forge/label/dev"]
    world.extra = ["--offline"]
    return ["channel conda-forge/label/dev", "offline", "conda.anaconda.org/conda-forge/label/dev"]


@case("channel-subdir-unknown")
def _(world, servers, monkeypatch):
    world.subdir = "linux-65"
    return ["--subdir 'linux-65'", "unknown platform", "linux-64"]


@case("channel-subdir-noarch")
def _(world, servers, monkeypatch):
    world.subdir = "noarch"
    return ["--subdir 'noarch'", "unknown platform"]


# repodata.json content

_bad_repodata("repodata-empty", b"")
_bad_repodata("repodata-truncated", DEMO_LINUX.read_bytes()[: DEMO_LINUX.stat().st_size // 2])
_bad_repodata("repodata-html", "<html><body>502 Bad Gateway</body></html>")
_bad_repodata("repodata-list", "[]")
_bad_repodata("repodata-number", "42")
_bad_repodata("repodata-packages-list", '{"packages": [], "packages.conda": {}}')
_bad_repodata("repodata-binary", bytes(range(256)) * 4)
_bad_repodata("repodata-nested-deeply", "[" * 100_000 + "]" * 100_000)
_bad_repodata("repodata-version-number", _repodata(_record(version=1.0)))
_bad_repodata("repodata-depends-string", _repodata(_record(depends="bar >=1")))
_bad_repodata("repodata-depends-numbers", _repodata(_record(depends=[1, 2])))
_bad_repodata("repodata-build-number-string", _repodata(_record(build_number="zero")))
_bad_repodata("repodata-record-without-name", _repodata(_record(name=...)))
_bad_repodata("repodata-record-without-version", _repodata(_record(version=...)))
_bad_repodata("repodata-record-not-object", '{"packages": {"foo-1.0-0.tar.bz2": "foo"}}')
_bad_repodata(
    "repodata-conda-section-version-number",
    _repodata(_record(version=2), key="packages.conda"),
)
_bad_repodata(
    "repodata-invalid-utf8",
    _repodata(_record()).replace('"1.0"', '"1.\\udc80"').encode().replace(b"\\udc80", b"\xff"),
)

# compressed repodata (only the compressed file is there, so it must be decompressed)


@case("zst-garbage")
def _(world, servers, monkeypatch):
    root = world.channel({"linux-64/repodata.json.zst": os.urandom(4096)})
    return [str(root / "linux-64" / "repodata.json.zst"), "cannot decompress"]


@case("zst-truncated")
def _(world, servers, monkeypatch):
    data = zstandard.ZstdCompressor().compress(DEMO_LINUX.read_bytes())
    root = world.channel({"linux-64/repodata.json.zst": data[: len(data) // 2]})
    return [str(root / "linux-64" / "repodata.json.zst"), "cannot decompress"]


@case("zst-of-garbage-json")
def _(world, servers, monkeypatch):
    data = zstandard.ZstdCompressor().compress(b'{"packages": {"a": ')
    root = world.channel({"linux-64/repodata.json.zst": data})
    return [str(root / "linux-64" / "repodata.json.zst"), "not valid repodata JSON"]


@case("zst-of-wrong-types")
def _(world, servers, monkeypatch):
    data = zstandard.ZstdCompressor().compress(_repodata(_record(version=3)).encode())
    root = world.channel({"linux-64/repodata.json.zst": data})
    world.specs = ["foo"]
    return [str(root / "linux-64" / "repodata.json.zst"), "malformed repodata"]


@case("bz2-garbage")
def _(world, servers, monkeypatch):
    root = world.channel({"linux-64/repodata.json.bz2": b"BZh9" + os.urandom(512)})
    return [str(root / "linux-64" / "repodata.json.bz2"), "cannot decompress"]


@case("zst-is-gzip")
def _(world, servers, monkeypatch):
    compressor = zlib.compressobj(wbits=31)
    data = compressor.compress(DEMO_LINUX.read_bytes()) + compressor.flush()
    root = world.channel({"linux-64/repodata.json.zst": data})
    return [str(root / "linux-64" / "repodata.json.zst"), "cannot decompress"]


# specs

INVALID_SPECS = [
    "numpy>=",
    "=1.0",
    "pkg[version=",
    "numpy ===",
    "numpy >=1.0,<",
    "numpy[build_number=abc]",
    "numpy[md5=zz]",
    "numpy ^1",
    "<>",
    "num*py",
    "numpy/1.0",
    'numpy[version=">=1"',
]
for _spec in INVALID_SPECS:

    def _invalid_spec(world, servers, monkeypatch, spec=_spec):
        world.specs = [spec]
        return ["command line", repr(spec), "not a valid match spec"]

    case(f"spec {_spec}")(_invalid_spec)


@case("spec-empty")
def _(world, servers, monkeypatch):
    world.specs = ["numpy", "  "]
    return ["command line", "empty package spec"]


@case("spec-pin-invalid")
def _(world, servers, monkeypatch):
    world.extra = ["--pin", "python>="]
    return ["--pin", "'python>='"]


@case("spec-virtual-setting-without-version")
def _(world, servers, monkeypatch):
    world.extra = ["--virtual", "__cuda"]
    return ["--virtual __cuda", "NAME=VERSION"]


@case("spec-virtual-setting-bad-version")
def _(world, servers, monkeypatch):
    world.extra = ["--virtual", "__cuda=1..2"]
    return ["__cuda=1..2", "invalid version"]


# the prefix


@case("prefix-record-truncated")
def _(world, servers, monkeypatch):
    path = world.meta / "openssl-3.3.2-hb9d3cd8_0.json"
    path.write_bytes(path.read_bytes()[:200])
    return [str(path), "corrupt package record"]


@case("prefix-record-not-object")
def _(world, servers, monkeypatch):
    path = world.meta / "openssl-3.3.2-hb9d3cd8_0.json"
    path.write_text('["openssl", "3.3.2"]')
    return [str(path), "not a JSON object"]


@case("prefix-record-without-version")
def _(world, servers, monkeypatch):
    path = world.meta / "openssl-3.3.2-hb9d3cd8_0.json"
    data = json.loads(path.read_text())
    del data["version"], data["fn"], data["url"]
    path.write_text(json.dumps(data))
    return [str(path)]


@case("prefix-record-version-number")
def _(world, servers, monkeypatch):
    path = world.meta / "openssl-3.3.2-hb9d3cd8_0.json"
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "version": 3.3}))
    return [str(path)]


@case("prefix-record-not-utf8")
def _(world, servers, monkeypatch):
    path = world.meta / "openssl-3.3.2-hb9d3cd8_0.json"
    path.write_bytes(b'{"name": "openssl\xff\xfe"}')
    return [str(path)]


@case("prefix-record-is-a-directory")
def _(world, servers, monkeypatch):
    path = world.meta / "zlib-1.3.1-0.json"
    path.mkdir()
    return [str(path)]


@case("prefix-pinned-invalid")
def _(world, servers, monkeypatch):
    (world.meta / "pinned").write_text("openssl 3.*\nnumpy >=\n")
    return [f"{world.meta / 'pinned'}:2", "'numpy >='"]


@case("prefix-pinned-not-utf8")
def _(world, servers, monkeypatch):
    (world.meta / "pinned").write_bytes(b"numpy \xff\xfe\n")
    return [str(world.meta / "pinned"), "cannot read pins"]


@case("prefix-pinned-is-a-directory")
def _(world, servers, monkeypatch):
    (world.meta / "pinned").unlink()
    (world.meta / "pinned").mkdir()
    return [str(world.meta / "pinned"), "cannot read pins"]


@case("prefix-history-is-a-directory")
def _(world, servers, monkeypatch):
    (world.meta / "history").unlink()
    (world.meta / "history").mkdir()
    return [str(world.meta / "history"), "cannot read history"]


@case("prefix-is-a-file")
def _(world, servers, monkeypatch):
    shutil.rmtree(world.prefix)
    world.prefix.write_text("not an environment\n")
    return [str(world.prefix), "is a file"]


@case("prefix-conda-meta-is-a-file")
def _(world, servers, monkeypatch):
    shutil.rmtree(world.meta)
    world.meta.write_text("")
    return [str(world.meta), "not a directory"]


# options and environment variables


@case("option-timeout-zero")
def _(world, servers, monkeypatch):
    world.extra = ["--timeout", "0"]
    return ["--timeout", "positive"]


@case("option-timeout-nan")
def _(world, servers, monkeypatch):
    world.extra = ["--timeout", "nan"]
    return ["--timeout", "positive"]


@case("option-timeout-env-not-a-number")
def _(world, servers, monkeypatch):
    monkeypatch.setenv("CONDA_SOLVER_PLUS_TIMEOUT", "ten")
    return ["CONDA_SOLVER_PLUS_TIMEOUT", "'ten'"]


@case("option-backend-env-unknown")
def _(world, servers, monkeypatch):
    world.extra = ["--backend", "auto"]
    monkeypatch.setenv("CONDA_SOLVER_PLUS_BACKEND", "glpk")
    return ["'glpk'", "unknown engine"]


@case("option-backend-unknown")
def _(world, servers, monkeypatch):
    world.extra = ["--backend", "glpk"]
    return ["--backend", "glpk"]


@case("option-unknown")
def _(world, servers, monkeypatch):
    world.extra = ["--frobnicate"]
    return ["--frobnicate"]


@case("option-fetch-timeout-env-not-a-number")
def _(world, servers, monkeypatch):
    monkeypatch.setenv("CONDA_SOLVER_PLUS_FETCH_TIMEOUT", "soon")
    world.channels = [servers.start(_NotFound) + "/chan"]
    return ["CONDA_SOLVER_PLUS_FETCH_TIMEOUT", "'soon'"]


# the cache directory


# a cache that cannot be written where a local channel needs it (a .zst to decompress)
# is no error: the solve goes on without caching (tests/test_cache_faults.py)


# http channels


@case("http-404")
def _(world, servers, monkeypatch):
    url = servers.start(_NotFound) + "/chan"
    world.channels = [url]
    return [f"channel {url}", "404"]


@case("http-500")
def _(world, servers, monkeypatch):
    url = servers.start(_ServerError) + "/chan"
    world.channels = [url]
    return [f"channel {url}", "500"]


@case("http-garbage-body")
def _(world, servers, monkeypatch):
    url = servers.start(_body(b"<html>Welcome to the captive portal</html>")) + "/chan"
    world.channels = [url]
    return [f"channel {url}", "could not fetch"]


@case("http-truncated-body")
def _(world, servers, monkeypatch):
    body = DEMO_LINUX.read_bytes()
    url = servers.start(_body(body[:1000], declared_length=len(body))) + "/chan"
    world.channels = [url]
    return [f"channel {url}", "could not fetch"]


@case("http-wrong-types")  # valid JSON: fetched and cached, fails when the record is read
def _(world, servers, monkeypatch):
    url = servers.start(_body(_repodata(_record(version=1.5)).encode())) + "/chan"
    world.channels = [url]
    world.specs = ["foo"]
    return [f"{url}/", "malformed repodata"]


@case("http-hangs-up")
def _(world, servers, monkeypatch):
    url = servers.start(_HangUp) + "/chan"
    world.channels = [url]
    return [f"channel {url}", "could not fetch"]


@case("http-connection-refused")
def _(world, servers, monkeypatch):
    url = servers.closed_port() + "/chan"
    world.channels = [url]
    return [f"channel {url}", "could not fetch"]


@case("http-never-answers")
def _(world, servers, monkeypatch):
    monkeypatch.setenv("CONDA_SOLVER_PLUS_FETCH_TIMEOUT", "1")
    url = servers.silent() + "/chan"
    world.channels = [url]
    return [f"channel {url}", "timed out after 1s"]


@case("http-offline-without-cache")
def _(world, servers, monkeypatch):
    url = servers.start(_NotFound) + "/chan"
    world.channels = [url]
    world.extra = ["--offline"]
    return [f"channel {url}", "offline"]


# -- running a case ------------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith(("CONDA_OVERRIDE_", "CONDA_SOLVER_PLUS_")) or name.lower() in (
            "http_proxy",
            "https_proxy",
            "all_proxy",
        ):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def servers():
    running = Servers()
    yield running
    running.close()


def run_main(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse exits for unknown options
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def test_the_world_is_good(tmp_path, clean_env, capsys):
    """Every case breaks one thing of this setup, which on its own solves fine."""
    world = World(tmp_path)
    code, out, err = run_main(world.argv("--json"), capsys)
    assert code == 0, err
    names = {record["name"] for record in json.loads(out)["records"]}
    assert {"numpy", "openssl", "ca-certificates"} <= names


@pytest.mark.parametrize("bad", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_clear_error_and_changes_nothing(
    bad: Case, tmp_path, clean_env, servers, monkeypatch, capsys
):
    if bad.skip:
        pytest.skip(bad.skip)
    world = World(tmp_path)
    needles = bad.setup(world, servers, monkeypatch)
    before = snapshot(tmp_path, DEMO, exclude=world.cache)

    code, out, err = run_main(world.argv(), capsys)
    assert code == 2, (code, out, err)
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "error:" in lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])

    # argparse errors have no JSON form; the slow network cases are not run twice
    if not bad.id.startswith(("option-backend-unknown", "option-unknown", "http-")):
        code, out, err = run_main(world.argv("--json"), capsys)
        assert code == 2
        error = json.loads(out)["error"]
        assert error["type"] == "InvalidInput"
        assert needles[0] in f"{error['source']}: {error['message']}"

    assert snapshot(tmp_path, DEMO, exclude=world.cache) == before


# -- not errors: conda reads these leniently ----------------------------------------------


def test_history_with_garbage_lines_is_read_like_conda(tmp_path, clean_env, capsys):
    world = World(tmp_path)
    with open(world.meta / "history", "ab") as handle:
        handle.write(
            b"garbage without a header\n# update specs: ['unclosed\n"
            b"# remove specs: numpy >=,\n==> <==\n# update specs: [1, 2\n\xff\xfe\x00\n"
            b"# neutered specs: ['pkg[version=']\n"
        )
    before = snapshot(tmp_path, exclude=world.cache)
    code, out, err = run_main(world.argv("--json"), capsys)
    assert code == 0, err
    assert "numpy" in {r["name"] for r in json.loads(out)["records"]}
    assert snapshot(tmp_path, exclude=world.cache) == before


def test_missing_prefix_is_an_empty_one_and_is_not_created(tmp_path, clean_env, capsys):
    world = World(tmp_path)
    shutil.rmtree(world.prefix)
    before = snapshot(tmp_path, exclude=world.cache)
    code, out, err = run_main(world.argv("--json"), capsys)
    assert code == 0, err
    assert "numpy" in {r["name"] for r in json.loads(out)["records"]}
    assert not world.prefix.exists()
    assert snapshot(tmp_path, exclude=world.cache) == before


def test_virtual_package_spec_the_system_lacks(tmp_path, clean_env, capsys):
    """Asking for ``__cuda`` on a machine without it is a request that cannot be met
    (exit 1), with a hint that it is a virtual package and how to override it."""
    world = World(tmp_path)
    world.specs = ["__cuda>=12"]
    world.extra = ["--virtual", "__cuda="]  # whatever this machine has: no __cuda
    before = snapshot(tmp_path, exclude=world.cache)
    code, _out, err = run_main(world.argv(), capsys)
    assert code == 1, err
    assert "__cuda >=12" in err
    assert "virtual package" in err
    assert "CONDA_OVERRIDE_CUDA" in err
    assert snapshot(tmp_path, exclude=world.cache) == before

    world.extra = ["--virtual", "__cuda=12.6"]
    code, _out, err = run_main(world.argv("--json"), capsys)
    assert code == 0, err


def test_duplicate_filenames_keep_the_first_entry(tmp_path, clean_env, capsys):
    """JSON objects with a repeated key: py-rattler keeps the first entry (conda's
    ``json.load`` keeps the last). Detecting the repeat needs a full parse of the file,
    which lazy loading exists to avoid, so it is not an error; this pins the behavior."""
    world = World(tmp_path)
    first = json.dumps(_record(version="1.0"))
    second = json.dumps(_record(version="2.0"))
    text = f'{{"packages": {{"foo-1.0-0.tar.bz2": {first}, "foo-1.0-0.tar.bz2": {second}}}}}'
    world.channel({"linux-64/repodata.json": text})
    world.specs = ["foo"]
    code, out, err = run_main(world.argv("--json"), capsys)
    assert code == 0, err
    records = {r["name"]: r for r in json.loads(out)["records"]}
    assert records["foo"]["version"] == "1.0"


def test_dependency_that_does_not_parse_excludes_its_record(tmp_path, clean_env, capsys):
    """A record whose ``depends`` has an unparsable spec cannot be installed; the engine
    says so (exit 1), naming the record and the spec."""
    world = World(tmp_path)
    world.channel({"linux-64/repodata.json": _repodata(_record(depends=["bar >>= 1"]))})
    world.specs = ["foo"]
    code, _out, err = run_main(world.argv(), capsys)
    assert code == 1, err
    assert "bar >>= 1" in err


# -- nothing but the cache directory is ever written ------------------------------------------


def _cli_subprocess(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "conda_solver_plus", *argv]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


def _sealed_env(root: Path) -> dict[str, str]:
    """An environment whose home, temp and cache directories all live under ``root``, so a
    stray write anywhere a process usually writes shows up in a snapshot of ``root``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CONDA_OVERRIDE_", "CONDA_SOLVER_PLUS_"))
        and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")
    }
    for name in ("home", "tmp", "xdg-cache", "xdg-config", "xdg-data"):
        (root / name).mkdir(exist_ok=True)
    env.update(
        HOME=str(root / "home"),
        TMPDIR=str(root / "tmp"),
        XDG_CACHE_HOME=str(root / "xdg-cache"),
        XDG_CONFIG_HOME=str(root / "xdg-config"),
        XDG_DATA_HOME=str(root / "xdg-data"),
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def _make_read_only(root: Path) -> None:
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            Path(dirpath, name).chmod(0o444)
        Path(dirpath).chmod(0o555)


def _make_writable(root: Path) -> None:
    for dirpath, _dirnames, filenames in os.walk(root):
        Path(dirpath).chmod(0o755)
        for name in filenames:
            Path(dirpath, name).chmod(0o644)


def test_solves_write_nothing_outside_the_cache(tmp_path, servers):
    """Install, update-all, freeze, remove and explain against a read-only prefix, from a
    local and an HTTP channel: afterwards everything under the test's directory (the prefix,
    the channels, $HOME, $TMPDIR, XDG dirs) is as it was, except the cache directory.

    Under root, permission bits do not stop writes, so the snapshot is what checks it."""
    world = World(tmp_path)
    served = tmp_path / "www"
    shutil.copytree(DEMO, served / "demo")
    handler = type(
        "Files", (http.server.SimpleHTTPRequestHandler,), {"log_message": _Quiet.log_message}
    )
    url = servers.start(functools.partial(handler, directory=str(served))) + "/demo"
    env = _sealed_env(tmp_path)
    _make_read_only(world.prefix)
    before = snapshot(tmp_path, DEMO, exclude=world.cache)
    base = ["--prefix", str(world.prefix), "--cache-dir", str(world.cache), "--subdir", "linux-64"]
    base += ["--backend", "rattler", "--json"]
    runs = [
        ["solve", "numpy", "-c", str(DEMO)],
        ["solve", "numpy", "-c", url],
        ["solve", "--update-all", "-c", url],
        ["solve", "pip", "--freeze-installed", "-c", str(DEMO)],
        ["solve", "--remove", "openssl", "-c", str(DEMO)],
        ["explain", "numpy", "-c", url, "-c", str(DEMO)],
        ["solve", "numpy", "-c", url, "--offline"],
    ]
    try:
        for argv in runs:
            proc = _cli_subprocess([*argv, *base], env)
            assert proc.returncode in (0, 1), (argv, proc.stderr)
            assert "Traceback" not in proc.stderr
    finally:
        after = snapshot(tmp_path, DEMO, exclude=world.cache)
        _make_writable(world.prefix)
    assert after == before
    assert any(world.cache.rglob("*")), "the HTTP channel was cached"


# -- concurrency: processes sharing one cache directory -----------------------------------------


class _SlowFiles(http.server.SimpleHTTPRequestHandler):
    """Static files, each answer held back a little so concurrent fetches overlap."""

    def send_head(self):
        time.sleep(0.1)
        return super().send_head()

    def log_message(self, *args) -> None:
        pass


def _solve_concurrently(argvs: list[list[str]], env: dict[str, str]) -> list[dict]:
    command = [sys.executable, "-m", "conda_solver_plus"]
    processes = [
        subprocess.Popen(
            [*command, *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        for argv in argvs
    ]
    answers = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        assert "Traceback" not in err
        answers.append({r["name"]: r["url"] for r in json.loads(out)["records"]})
    return answers


def _cache_is_sound(cache: Path) -> None:
    """Every JSON file py-rattler or we left in the cache parses; no temp files remain."""
    for path in cache.rglob("*"):
        if path.suffix == ".json":
            json.loads(path.read_bytes())
        assert not path.name.endswith(".tmp"), path


def test_processes_sharing_an_http_cache_do_not_corrupt_it(tmp_path, servers):
    served = tmp_path / "www"
    shutil.copytree(DEMO, served / "demo")
    url = servers.start(functools.partial(_SlowFiles, directory=str(served))) + "/demo"
    cache = tmp_path / "cache"
    env = _sealed_env(tmp_path)
    argv = ["solve", "numpy", "pip", "-c", url, "--subdir", "linux-64", "--backend", "rattler"]
    argv += ["--cache-dir", str(cache), "--json"]

    first = _solve_concurrently([argv] * 4, env)
    assert all(answer == first[0] for answer in first)
    assert first[0]["numpy"].endswith("numpy-2.0.2-py312h58c1407_1.conda")
    _cache_is_sound(cache)

    # the channel changes (numpy 2.0.2 withdrawn): concurrent processes refresh the cache
    linux = served / "demo" / "linux-64" / "repodata.json"
    data = json.loads(linux.read_text())
    withdrawn = [fn for fn in data["packages.conda"] if fn.startswith("numpy-2.0.2-")]
    assert withdrawn
    for fn in withdrawn:
        del data["packages.conda"][fn]
    linux.write_text(json.dumps(data))
    os.utime(linux, (time.time() + 10, time.time() + 10))  # a new Last-Modified

    second = _solve_concurrently([argv] * 4, env)
    assert all(answer == second[0] for answer in second)
    assert "numpy-2.0.2-" not in second[0]["numpy"]
    _cache_is_sound(cache)

    # and the cache they left answers on its own
    offline = _solve_concurrently([[*argv, "--offline"]], env)
    assert offline[0] == second[0]


def test_processes_decompressing_one_local_zst_do_not_corrupt_the_cache(tmp_path):
    world = World(tmp_path)
    data = zstandard.ZstdCompressor().compress(DEMO_LINUX.read_bytes())
    channel = world.channel({"linux-64/repodata.json.zst": data})
    argv = ["solve", "numpy", "-c", str(channel), "-c", str(DEMO), "--subdir", "linux-64"]
    argv += ["--backend", "rattler", "--cache-dir", str(world.cache), "--json"]
    answers = _solve_concurrently([argv] * 4, _sealed_env(tmp_path))
    assert all(answer == answers[0] for answer in answers)
    assert answers[0]["numpy"].startswith(channel.as_uri())
    decompressed = list((world.cache / "decompressed").glob("*.json"))
    assert len(decompressed) == 1
    assert decompressed[0].read_bytes() == DEMO_LINUX.read_bytes()
    _cache_is_sound(world.cache)
