"""
A bounded child process: run a function that cannot be interrupted, and kill it on time.

libsolv holds the GIL and has no cancellation, so a thread cannot bound a libmamba solve;
a forked child can be killed. :func:`run_bounded` forks, lets the child compute a
JSON-able answer and send it through a pipe, and waits at most the time limit for it.
The child shares the parent's memory copy-on-write (the loaded libsolv database costs
page tables, not a reload), and it never outlives its purpose (:func:`die_with_parent`).

Any engine whose library cannot be interrupted from inside can use it; only the libmamba
engine does today (py-rattler takes a timeout of its own).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import selectors
import signal
import sys
import time
from collections.abc import Callable

from . import EngineTimeout

__all__ = ["die_with_parent", "run_bounded"]

log = logging.getLogger(__name__)


def run_bounded(function: Callable[[], dict], timeout: float) -> dict:
    """Run ``function`` in a forked child and return its JSON-able result, or raise
    :class:`~conda_solver_plus.backends.EngineTimeout` after ``timeout`` seconds.

    Where ``fork`` does not exist the function runs inline, unbounded (with a warning)."""
    if not hasattr(os, "fork"):
        log.warning("no fork() on this platform: the libmamba solve is not time-bounded")
        return function()
    started = time.monotonic()
    read_end, write_end = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # child: compute, send, and leave without running any cleanup
        _child(function, timeout, parent, read_end, write_end)
    os.close(write_end)
    try:
        chunks = _read_until(read_end, pid, started, timeout)
    finally:
        os.close(read_end)
        _, status = os.waitpid(pid, 0)
    if status != 0 or not chunks:
        raise RuntimeError(f"the libmamba solver process failed (wait status {status})")
    return json.loads(b"".join(chunks))


def _child(
    function: Callable[[], dict], timeout: float, parent: int, read_end: int, write_end: int
) -> None:
    """The child's whole life: never returns (``os._exit``, so no cleanup of the parent's
    objects runs twice)."""
    status = 0
    try:
        die_with_parent(timeout, parent)
        os.close(read_end)
        payload = json.dumps(function()).encode()
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(payload)
    except BaseException:
        status = 1
    finally:
        os._exit(status)


def _read_until(read_end: int, pid: int, started: float, timeout: float) -> list[bytes]:
    """What the child sends until it closes the pipe; the child is killed and
    :class:`EngineTimeout` raised once ``timeout`` seconds have passed since ``started``."""
    chunks: list[bytes] = []
    with selectors.DefaultSelector() as selector:
        selector.register(read_end, selectors.EVENT_READ)
        while True:
            remaining = timeout - (time.monotonic() - started)
            if remaining <= 0:
                os.kill(pid, signal.SIGKILL)
                raise EngineTimeout(time.monotonic() - started)
            if selector.select(remaining):
                chunk = os.read(read_end, 1 << 20)
                if not chunk:
                    return chunks
                chunks.append(chunk)


def die_with_parent(timeout: float, parent: int) -> None:
    """Make sure a forked child never outlives its purpose: the kernel kills it when the
    parent dies (Linux ``PR_SET_PDEATHSIG``) and, everywhere, once it has used its CPU
    time (``RLIMIT_CPU``) — libsolv cannot be interrupted from inside."""
    import resource  # POSIX only, like fork(): run_bounded calls this only where fork exists

    seconds = int(timeout) + 5
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the request above took effect
        os._exit(1)
