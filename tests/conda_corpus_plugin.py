"""pytest plugin for the *inner* run of ``tests/test_conda_corpus.py``.

That test runs pytest-conda-solvers' corpus in a pytest subprocess with
``-p conda-solvers -p tests.conda_corpus_plugin --conda-solver=plus``. This module is
loaded there (never in the normal test run) and adjusts the corpus harness in two ways,
neither of which changes what a case asks conda or what it expects:

- ``channel_server``: the corpus serves its channels over HTTP on a loopback server whose
  port is fixed at 8080. Two runs at once (both engines under xdist, or two people on one
  machine) would then share — and tear down — one server, and any other service on 8080
  would answer conda instead. This override starts the same server on a free port and
  waits until it accepts connections, so the first case does not race its start-up.
- every corpus item carries its case ``id`` (``B019``, ...) as a ``case_id`` user property,
  which ``--junitxml`` writes out; node ids only carry the case *name*.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from pytest_conda_solvers import server

#: how long the loopback channel server may take to start accepting connections
SERVER_START_TIMEOUT = 30.0


def _free_port(host: str) -> int:
    """A port nothing listens on now (the OS picks it; the server binds it right after)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _wait_until_listening(host: str, port: int) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while True:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the corpus channel server did not listen on {host}:{port} within "
                    f"{SERVER_START_TIMEOUT:.0f} s"
                ) from None
            time.sleep(0.05)


@pytest.fixture(scope="session")
def channel_server() -> Iterator[server.ChannelServer]:
    """pytest-conda-solvers' own channel server (same app, same data), on a free port."""
    host = "localhost"
    # __wrapped__ is the plain generator function behind the plugin's fixture; calling it
    # with a port is the only way to keep its app and routes rather than copy them
    start = server.channel_server.__wrapped__(host=host, port=_free_port(host))
    channels = next(start)
    _wait_until_listening(host, channels.port)
    yield channels
    start.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Record each corpus case's id on its item, for the junit XML report."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        case = callspec.params.get("test") if callspec is not None else None
        case_id = getattr(case, "id", None)
        if case_id is not None:
            item.user_properties.append(("case_id", case_id))
