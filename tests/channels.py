"""Channels made by tests: files laid out as a channel tree, minimal repodata entries,
records of a local channel installed into a prefix's ``conda-meta``, channels of real
packages conda can download and link, and a loopback server that serves a channel only to
clients with credentials.

A :func:`repodata_entry` has what a solver needs (name, version, build, depends, subdir)
and placeholder hashes: such channels are solved against, never linked from.
:func:`write_package_channel` writes real ``.tar.bz2`` packages with their true hashes, so
conda can install from it. :func:`serve_private_channel` puts a channel behind the two kinds of
credentials private channels use: an anaconda.org-style token in the path
(``/t/TOKEN/...``) and HTTP basic auth (``user:password@host``, Artifactory, Nexus).
:func:`write_sharded_channel` adds CEP-16 shards (with the ``shard`` command's own code) and
:func:`serve_channel` serves a channel publicly, logging requests, with per-file faults (404,
corrupt or truncated bytes) a test switches on.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import tarfile
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PLACEHOLDER_MD5 = "0123456789abcdef0123456789abcdef"


@contextmanager
def loopback_server(handler) -> Iterator[int]:
    """Serve with ``handler`` (a request handler class or factory) on ``127.0.0.1``, a free
    port, in a thread for the ``with`` block; yields the port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True  # a client that hangs up mid-request must not block shutdown
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def write_files(root: Path, files: dict[str, bytes | str]) -> Path:
    """Write ``files`` (path relative to ``root`` -> content) below ``root``; return it."""
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode()
        path.write_bytes(content)
    return root


def repodata_entry(
    name: str,
    version: str,
    subdir: str = "noarch",
    depends: Iterable[str] = (),
    extension: str = ".tar.bz2",
) -> tuple[str, dict]:
    """``(file name, record)`` of a build-0 package for a repodata ``packages`` table."""
    return f"{name}-{version}-0{extension}", {
        "name": name,
        "version": version,
        "build": "0",
        "build_number": 0,
        "depends": list(depends),
        "subdir": subdir,
        "md5": PLACEHOLDER_MD5,
        "size": 1,
    }


def openssl_prefix(prefix: Path, channel: Path) -> Path:
    """A prefix with openssl 3.3.2 installed as asked for (in the history) and
    ca-certificates with it, from the demo ``channel``."""
    install_record(prefix, channel, "noarch", "ca-certificates-2025.1.31-hbcca054_0.conda")
    install_record(
        prefix, channel, "linux-64", "openssl-3.3.2-hb9d3cd8_0.conda", history_spec="openssl"
    )
    return prefix


def install_record(
    prefix: Path, channel: Path, subdir: str, fn: str, history_spec: str | None = None
) -> None:
    """Write ``conda-meta/<dist>.json`` for the record ``fn`` of the local ``channel``, the
    way conda does; with ``history_spec``, also the history entry that installed it."""
    repodata = json.loads((channel / subdir / "repodata.json").read_text())
    entry = {**repodata.get("packages", {}), **repodata.get("packages.conda", {})}[fn]
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True, exist_ok=True)
    dist = fn.removesuffix(".conda").removesuffix(".tar.bz2")
    url = channel.as_uri()
    record = {
        **entry,
        "fn": fn,
        "url": f"{url}/{subdir}/{fn}",
        "channel": f"{url}/{subdir}",
        "files": [],
        "paths_data": {"paths": [], "paths_version": 1},
        "requested_spec": history_spec or "",
        "extracted_package_dir": f"/opt/pkgs/{dist}",
        "package_tarball_full_path": f"/opt/pkgs/{fn}",
    }
    (meta / f"{dist}.json").write_text(json.dumps(record, indent=2))
    if history_spec:
        with open(meta / "history", "a") as handle:
            handle.write(
                f"==> 2024-12-01 10:00:00 <==\n# cmd: conda install {history_spec}\n"
                f"# conda version: 24.11.0\n+{url}/{subdir}::{dist}\n"
                f"# update specs: [{history_spec!r}]\n"
            )


#: the packages of :func:`write_package_channel`: name, version, build number, depends,
#: timestamp (ms); greet 2.0 is the newest
BUILT_PACKAGES = [
    ("libcolor", "1.0", 0, [], 1_600_000_000_000),
    ("greet", "1.0", 0, ["libcolor >=1.0"], 1_600_000_000_000),
    ("greet", "2.0", 0, ["libcolor >=1.0"], 1_700_000_000_000),
    ("shout", "0.1", 0, ["greet"], 1_600_000_000_000),
]


def build_package(
    subdir_dir: Path, name: str, version: str, number: int, depends: list[str], timestamp: int
) -> tuple[str, dict]:
    """Write a real ``.tar.bz2`` package into ``subdir_dir`` — ``info/index.json``,
    ``info/files``, ``info/paths.json`` and one payload file ``share/<name>/VERSION`` — and
    return ``(file name, repodata record)`` with its true md5, sha256 and size."""
    build = f"h0_{number}"
    subdir = subdir_dir.name
    payload_path = f"share/{name}/VERSION"
    payload = f"{name} {version}\n".encode()
    index = {
        "name": name,
        "version": version,
        "build": build,
        "build_number": number,
        "depends": depends,
        "subdir": subdir,
        "license": "BSD-3-Clause",
        "timestamp": timestamp,
    }
    paths = {
        "paths": [
            {
                "_path": payload_path,
                "path_type": "hardlink",
                "sha256": hashlib.sha256(payload).hexdigest(),
                "size_in_bytes": len(payload),
            }
        ],
        "paths_version": 1,
    }
    members = {
        "info/index.json": json.dumps(index).encode(),
        "info/files": f"{payload_path}\n".encode(),
        "info/paths.json": json.dumps(paths).encode(),
        payload_path: payload,
    }
    fn = f"{name}-{version}-{build}.tar.bz2"
    with tarfile.open(subdir_dir / fn, "w:bz2") as tar:
        for member, data in members.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            info.mtime = timestamp // 1000
            tar.addfile(info, io.BytesIO(data))
    blob = (subdir_dir / fn).read_bytes()
    return fn, {
        **index,
        "md5": hashlib.md5(blob).hexdigest(),
        "sha256": hashlib.sha256(blob).hexdigest(),
        "size": len(blob),
    }


def write_package_channel(
    root: Path, subdir: str, packages: Iterable[tuple] = BUILT_PACKAGES
) -> Path:
    """A channel at ``root`` with real ``packages`` (see :data:`BUILT_PACKAGES`) in
    ``subdir`` and an empty ``noarch``, indexed the way ``conda index`` would."""
    for name in (subdir, "noarch"):
        (root / name).mkdir(parents=True, exist_ok=True)
        (root / name / "repodata.json").write_text(
            json.dumps({"info": {"subdir": name}, "packages": {}, "packages.conda": {}})
        )
    records = dict(build_package(root / subdir, *spec) for spec in packages)
    (root / subdir / "repodata.json").write_text(
        json.dumps({"info": {"subdir": subdir}, "packages": records, "packages.conda": {}})
    )
    return root


def write_sharded_channel(
    root: Path,
    subdir: str = "linux-64",
    packages: Iterable[tuple] = BUILT_PACKAGES,
    monolithic: bool = False,
) -> Path:
    """:func:`write_package_channel` plus CEP-16 shards for every subdir; without
    ``monolithic`` the ``repodata.json`` files are removed (a shards-only channel, whose
    server answers 404 for them)."""
    from conda_solver_plus.shard_command import shard_channel

    write_package_channel(root, subdir, packages)
    shard_channel(root)
    if not monolithic:
        for name in (subdir, "noarch"):
            (root / name / "repodata.json").unlink()
    return root


@dataclass
class ServedChannel:
    """A channel served on loopback to anyone; what it was asked; faults to inject."""

    root: Path
    port: int = 0
    #: ``(path, status)`` of every request
    requests: list[tuple[str, int]] = field(default_factory=list)
    #: path suffix -> ``"404"``, ``"403"``, ``"500"``, ``"corrupt"`` (one byte changed),
    #: ``"truncate"`` (the first half), ``"garbage"`` (a zstd frame header then noise: neither
    #: JSON nor zstd), ``"gzip-garbage"`` (noise sent as ``Content-Encoding: gzip``),
    #: ``"invalid-json"``, ``"hang"`` (nothing for :attr:`hang_seconds`, then a 500) or
    #: ``"drip"`` (the file, a byte every :attr:`drip_seconds`)
    faults: dict[str, str] = field(default_factory=dict)
    #: how long a ``"hang"`` fault keeps the client waiting (set the client's limit below it)
    hang_seconds: float = 30.0
    #: a ``"drip"`` fault sends the file with its true length, one byte every this many
    #: seconds (each read of the client gets something; the whole takes long)
    drip_seconds: float = 0.2

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def served(self, suffix: str) -> list[str]:
        """Paths ending in ``suffix`` that were answered with content (HTTP 200)."""
        return [path for path, status in self.requests if status == 200 and path.endswith(suffix)]

    def fault(self, path: str) -> str | None:
        for suffix, kind in self.faults.items():
            if path.endswith(suffix):
                return kind
        return None


#: what the ``garbage``, ``gzip-garbage`` and ``invalid-json`` faults send
_FAULT_BODIES = {
    "garbage": b"\x28\xb5\x2f\xfd" + bytes(range(7, 250)) * 4,
    "gzip-garbage": b"\x1f\x8b\x08\x00" + bytes(range(250, 7, -1)) * 4,
    "invalid-json": b'{"info": {"subdir": "noarch"}, "packages": {"a": }',
}


def _public_handler(channel: ServedChannel) -> type[SimpleHTTPRequestHandler]:
    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(channel.root), **kwargs)

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            file = channel.root / path.lstrip("/")
            kind = channel.fault(path)
            if kind == "hang":
                time.sleep(channel.hang_seconds)
            if kind in ("404", "403", "500", "hang") or not file.is_file():
                status = {"403": 403, "500": 500, "hang": 500}.get(kind or "", 404)
                channel.requests.append((path, status))
                with suppress(OSError):  # a "hang" client may have hung up
                    self.send_error(status)
                return
            if kind in ("garbage", "gzip-garbage", "invalid-json"):
                body = _FAULT_BODIES[kind]
                channel.requests.append((path, 200))
                self.send_response(200)
                if kind == "gzip-garbage":
                    self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if kind == "drip":
                data = file.read_bytes()
                channel.requests.append((path, 200))
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with suppress(OSError):  # until the client gives up and hangs up
                    for byte in data:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(channel.drip_seconds)
                return
            if kind in ("corrupt", "truncate"):
                data = bytearray(file.read_bytes())
                if kind == "corrupt":
                    data[len(data) // 2] ^= 0xFF
                else:
                    del data[len(data) // 2 :]
                channel.requests.append((path, 200))
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(bytes(data))
                return
            channel.requests.append((path, 200))
            super().do_GET()

        def send_response(self, code: int, message: str | None = None) -> None:
            if code == 304 and channel.requests:  # a conditional request: not modified
                path, _status = channel.requests[-1]
                channel.requests[-1] = (path, 304)
            super().send_response(code, message)

        def log_message(self, format: str, *args) -> None:
            pass

    return Handler


@contextmanager
def serve_channel(root: Path) -> Iterator[ServedChannel]:
    """Serve the directory ``root`` on ``127.0.0.1`` (a free port) for the ``with`` block."""
    channel = ServedChannel(root=root)
    with loopback_server(_public_handler(channel)) as channel.port:
        yield channel


@dataclass
class PrivateChannel:
    """A channel served on loopback only to clients with credentials; what it was asked."""

    root: Path
    port: int
    token: str
    user: str
    password: str
    #: ``(path below the channel, status)`` of every request, the token never included
    requests: list[tuple[str, int]] = field(default_factory=list)
    #: path below the channel -> a base URL: an authorized request for that path is answered
    #: with a 302 to the base URL + the path (a mirror or CDN elsewhere)
    redirects: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token_url(self) -> str:
        """The channel URL with an anaconda.org-style token: ``http://host/t/TOKEN``."""
        return f"{self.base}/t/{self.token}"

    @property
    def basic_auth_url(self) -> str:
        """The channel URL with basic-auth credentials: ``http://user:password@host``."""
        return f"http://{self.user}:{self.password}@127.0.0.1:{self.port}"

    def served(self, suffix: str) -> list[str]:
        """Paths ending in ``suffix`` that were answered with content (HTTP 200)."""
        return [path for path, status in self.requests if status == 200 and path.endswith(suffix)]


def _handler(channel: PrivateChannel) -> type[SimpleHTTPRequestHandler]:
    """A request handler serving ``channel.root`` to requests under ``/t/TOKEN/`` or with
    the basic-auth header; anything else gets what such servers answer: 403 for a wrong
    token, 401 with a ``WWW-Authenticate`` challenge otherwise."""
    expected_auth = "Basic " + base64.b64encode(
        f"{channel.user}:{channel.password}".encode()
    ).decode("ascii")
    token_prefix = f"/t/{channel.token}/"

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(channel.root), **kwargs)

        def _authorize(self) -> int:
            """0 when the request may be served, else the HTTP status refusing it."""
            if self.path.startswith(token_prefix):
                self.path = "/" + self.path[len(token_prefix) :]
                return 0
            if self.path.startswith("/t/"):
                return 403
            return 0 if self.headers.get("Authorization") == expected_auth else 401

        def _serve(self, head_only: bool) -> None:
            refused = self._authorize()
            path = self.path if not self.path.startswith("/t/") else "/t/<other token>/..."
            if refused:
                channel.requests.append((path, refused))
                self.send_response(refused)
                if refused == 401:
                    self.send_header("WWW-Authenticate", 'Basic realm="private channel"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            target = channel.redirects.get(self.path.split("?")[0])
            if target is not None:
                channel.requests.append((path, 302))
                self.send_response(302)
                self.send_header("Location", target.rstrip("/") + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            found = (channel.root / self.path.lstrip("/").split("?")[0]).is_file()
            channel.requests.append((path, 200 if found else 404))
            if head_only:
                super().do_HEAD()
            else:
                super().do_GET()

        def do_GET(self) -> None:
            self._serve(head_only=False)

        def do_HEAD(self) -> None:
            self._serve(head_only=True)

        def log_message(self, format: str, *args) -> None:
            pass  # quiet: pytest shows what the test asserts, not an access log

    return Handler


@contextmanager
def serve_private_channel(
    root: Path, token: str, user: str, password: str
) -> Iterator[PrivateChannel]:
    """Serve the channel at ``root`` on ``127.0.0.1`` (a free port) in a thread, for the
    duration of the ``with`` block, to requests carrying ``token`` in the path
    (``/t/TOKEN/...``) or the basic-auth credentials ``user:password``."""
    channel = PrivateChannel(root=root, port=0, token=token, user=user, password=password)
    with loopback_server(_handler(channel)) as channel.port:
        yield channel


@functools.cache
def channel_entries(channel: Path, subdir: str) -> dict[str, dict]:
    """file name -> the channel's repodata entry, for one subdir of a local channel (read
    once)."""
    data = json.loads((channel / subdir / "repodata.json").read_text())
    return {**data.get("packages", {}), **data.get("packages.conda", {})}


def write_channel_prefix(
    prefix: Path, channel: Path, records, history: list[str], pinned: str = ""
) -> Path:
    """``prefix`` holding ``records`` of the local ``channel`` as conda leaves them
    (``conda-meta/<dist>.json``: the channel's own entry and the link fields, as
    :func:`install_record` writes them), ``history`` as the specs of its creation and
    ``pinned`` as ``conda-meta/pinned``."""
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True)
    dists = []
    for record in records:
        fn, subdir = record.file_name, record.subdir
        dist = fn.removesuffix(".conda").removesuffix(".tar.bz2")
        dists.append(f"+{channel.as_uri()}/{subdir}::{dist}")
        entry = {
            **channel_entries(channel, subdir)[fn],
            "fn": fn,
            "url": f"{channel.as_uri()}/{subdir}/{fn}",
            "channel": f"{channel.as_uri()}/{subdir}",
            "files": [],
            "paths_data": {"paths": [], "paths_version": 1},
            "requested_spec": "",
        }
        (meta / f"{dist}.json").write_text(json.dumps(entry))
    (meta / "history").write_text(
        f"==> 2025-01-01 10:00:00 <==\n# cmd: conda create -p {prefix} {' '.join(history)}\n"
        + "".join(f"{dist}\n" for dist in dists)
        + f"# update specs: {history!r}\n"
    )
    if pinned:
        (meta / "pinned").write_text(f"{pinned}\n")
    return prefix
