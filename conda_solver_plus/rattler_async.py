"""
py-rattler's async API, called from synchronous code.

py-rattler runs its async work (solving, fetching repodata) on native tokio threads and
hands each result back to the asyncio event loop with ``call_soon_threadsafe`` — from a
native thread that is still running Python code when the loop, and our caller, resume.
If the interpreter starts finalizing while that thread waits to get the GIL back, the
thread is killed inside Rust code and the process dies with SIGABRT/SIGSEGV
("PyGILState_Release: thread state must be current") *after* printing a correct answer.
A ``conda create --dry-run`` exits right after the solve, so this is not hypothetical.

:func:`run` therefore waits, after every call, until no native thread is left inside
Python (usually well under a millisecond).
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coroutine)``, then :func:`let_native_threads_finish` for the native
    threads that were not in Python before the call."""
    before = foreign_threads()
    try:
        return asyncio.run(coroutine)
    finally:
        let_native_threads_finish(ignore=before)


def foreign_threads() -> set[int]:
    """The threads in Python now that ``threading`` did not start (native threads)."""
    current_frames = getattr(sys, "_current_frames", None)
    if current_frames is None:  # not CPython
        return set()
    return set(current_frames()) - {thread.ident for thread in threading.enumerate()}


def let_native_threads_finish(
    limit: float = 1.0, ignore: set[int] | frozenset = frozenset()
) -> None:
    """Wait (at most ``limit`` seconds) until native threads have left Python.

    Such a thread shows up in ``sys._current_frames()`` without being a ``threading``
    thread; sleeping releases the GIL so it can finish. Threads in ``ignore`` (those in
    Python before the call: another library's, which may stay for good) are not waited
    for — waiting for one that never leaves cost every later call the whole ``limit``.
    """
    if getattr(sys, "_current_frames", None) is None:  # not CPython
        time.sleep(0.05)
        return
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if not foreign_threads() - ignore:
            return
        time.sleep(0.001)
