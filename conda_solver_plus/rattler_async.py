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
    """``asyncio.run(coroutine)``, then :func:`let_native_threads_finish`."""
    try:
        return asyncio.run(coroutine)
    finally:
        let_native_threads_finish()


def let_native_threads_finish(limit: float = 1.0) -> None:
    """Wait (at most ``limit`` seconds) until native threads have left Python.

    Such a thread shows up in ``sys._current_frames()`` without being a ``threading``
    thread; sleeping releases the GIL so it can finish.
    """
    current_frames = getattr(sys, "_current_frames", None)
    if current_frames is None:  # not CPython
        time.sleep(0.05)
        return
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        known = {thread.ident for thread in threading.enumerate()}
        if not set(current_frames()) - known:
            return
        time.sleep(0.001)
