"""
A channel directory served on 127.0.0.1 the way channel hosts serve it, counting bytes.

Python's ``http.server`` sends no ``ETag``; conda's ``.zst`` repodata fetcher revalidates
with ``If-None-Match`` only, so against it every conda command downloads and re-parses the
whole ``repodata.json.zst`` (on the grown channel: 4 MB, then 166 MB of JSON) — a cost no
real channel imposes. This server adds what CDNs send: an ``ETag`` (size and mtime) and
``Last-Modified``, answers ``If-None-Match``/``If-Modified-Since`` with 304, and sends no
``Cache-Control``, so every command revalidates (one small request per file: the
conservative case). It counts the bytes of each response body, so a benchmark can report
what a command downloaded.

    python benchmarks/channel_server.py DIR [--port 18765]
"""

from __future__ import annotations

import argparse
import email.utils
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Traffic:
    """What the server sent: requests and body bytes, by status."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0
    body_bytes: int = 0
    not_modified: int = 0
    paths: list[tuple[str, int, int]] = field(default_factory=list)

    def add(self, path: str, status: int, size: int) -> None:
        with self.lock:
            self.requests += 1
            self.body_bytes += size
            self.not_modified += status == 304
            self.paths.append((path, status, size))

    def reset(self) -> None:
        with self.lock:
            self.requests = self.body_bytes = self.not_modified = 0
            self.paths = []


def handler(root: Path, traffic: Traffic) -> type[SimpleHTTPRequestHandler]:
    class Handler(SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real hosts
        #: headers and body go out in two writes; with Nagle's algorithm on, the body
        #: waits for the client's delayed ACK of the headers: 40 ms per request on
        #: loopback, which no real host adds
        disable_nagle_algorithm = True

        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def send_head(self):
            path = Path(self.translate_path(self.path))
            if not path.is_file():
                self.send_error(404, "File not found")
                traffic.add(self.path, 404, 0)
                return None
            stat = path.stat()
            etag = f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'
            modified = email.utils.formatdate(stat.st_mtime, usegmt=True)
            if self.headers.get("If-None-Match") == etag or (
                "If-None-Match" not in self.headers
                and self.headers.get("If-Modified-Since") == modified
            ):
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                traffic.add(self.path, 304, 0)
                return None
            handle = open(path, "rb")  # noqa: SIM115 - closed by the base class
            self.send_response(200)
            self.send_header("Content-Type", self.guess_type(str(path)))
            self.send_header("Content-Length", str(stat.st_size))
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", modified)
            self.end_headers()
            traffic.add(self.path, 200, stat.st_size)
            return handle

        def log_message(self, format, *args):
            pass

    return Handler


@contextmanager
def serve(root: Path, port: int = 0) -> Iterator[tuple[str, Traffic]]:
    """Serve ``root`` on 127.0.0.1 (a free port unless ``port``) in a thread; yields the
    base URL and the :class:`Traffic` counter."""
    traffic = Traffic()
    server = ThreadingHTTPServer(("127.0.0.1", port), handler(root, traffic))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", traffic
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("root", type=Path)
    parser.add_argument("--port", type=int, default=18765)
    args = parser.parse_args()
    with serve(args.root, args.port) as (url, _):
        print(url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
