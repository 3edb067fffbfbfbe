"""Progress of long work — downloads, cache builds — reported to whoever runs the solve.

Fetching repodata or shards and splitting a large channel into a local shard cache take
seconds to minutes on real channels. The code doing that work does not know whether a
person is watching: it opens a *task* and advances it, and the front end decides how (or
whether) that is shown. The standalone CLI shows a bar on a terminal and nothing on a pipe,
with ``--json`` or ``-q``; inside conda the adapter hands conda's own reporter over; a
library caller who sets nothing sees nothing.

Work code uses one call::

    with progress.task("Fetching shards conda-forge/linux-64", total=len(names)) as advance:
        for name in names:
            ...
            advance(1)

``total=None`` is work of unknown size (a spinner). The reporter is process-wide, set once
by the front end with :func:`set_reporter`.

The reporters:

- :class:`SilentReporter`, the default;
- :class:`TerminalReporter`, the standalone CLI's on a terminal: a tqdm bar on stderr
  (stdout carries the results, so ``> env.txt`` stays clean), redrawn a few times a
  second so a download that advances only when it ends still shows it is alive, and
  cleared when the work ends. :func:`terminal_reporter` decides when to use it: stderr
  is a terminal, and neither ``--json`` nor ``-q`` was given;
- inside conda, :mod:`conda_solver_plus.conda.progress` hands the work to conda's own
  progress bars and spinners (which follow conda's ``--quiet``/``--json`` and terminal
  rules).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Protocol

Advance = Callable[[int], None]
"""Called by work code with how many units it just finished."""


class Reporter(Protocol):
    """How a front end shows a task. One method: a context manager per task."""

    def task(self, description: str, total: int | None) -> Iterator[Advance]:
        """Show ``description`` until the work ends; yield the callback that advances it.

        Used as a generator-based context manager: the reporter cleans up (closes the bar)
        after the ``yield`` whether the work succeeded or raised.
        """
        ...


class SilentReporter:
    """The default: a library caller that asked for nothing is shown nothing."""

    def task(self, description: str, total: int | None) -> Iterator[Advance]:
        yield _ignore


def _ignore(_units: int) -> None:
    return None


#: how often a terminal bar is redrawn while its work gives no news (seconds)
REFRESH_SECONDS = 0.2


class TerminalReporter:
    """A tqdm bar per task on ``stream`` (stderr by default), removed when the task ends.

    Known totals show a bar with a count (``3/8 subdirs``); unknown ones a running count
    and the elapsed time. A background thread redraws the bar every
    :data:`REFRESH_SECONDS`, so the elapsed time moves while a long download has not
    advanced yet.
    """

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream

    def task(self, description: str, total: int | None) -> Iterator[Advance]:
        from tqdm import tqdm  # type: ignore[import-untyped]

        if total is None:
            bar_format = "{desc}: {n_fmt} done [{elapsed}]"
        else:
            bar_format = "{desc}: {bar:20} {n_fmt}/{total_fmt} [{elapsed}]"
        has_width = _reports_width(self.stream or sys.stderr)
        bar = tqdm(
            desc=description,
            total=total,
            file=self.stream or sys.stderr,
            leave=False,
            # follow the terminal's size as it is resized; a terminal that reports none
            # (a bare pty) gets 80x24: tqdm draws nothing on a terminal of size 0
            dynamic_ncols=has_width,
            ncols=None if has_width else 80,
            nrows=None if has_width else 24,
            bar_format=bar_format,
            mininterval=0.05,
        )
        stop = threading.Event()
        lock = threading.Lock()

        def redraw() -> None:
            while not stop.wait(REFRESH_SECONDS):
                with lock:
                    bar.refresh()

        def advance(units: int) -> None:
            with lock:
                bar.update(units)

        refresher = threading.Thread(target=redraw, name="progress-refresh", daemon=True)
        refresher.start()
        try:
            yield advance
        finally:
            stop.set()
            refresher.join()
            bar.close()


def _reports_width(stream: IO[str]) -> bool:
    try:
        return os.get_terminal_size(stream.fileno()).columns > 0
    except (AttributeError, OSError, ValueError):
        return False


def terminal_reporter(*, json: bool, quiet: bool, stream: IO[str] | None = None) -> Reporter:
    """The standalone CLI's reporter: :class:`TerminalReporter` when ``stream`` (stderr)
    is a terminal and neither ``--json`` nor ``-q`` was given, else silence."""
    stream = stream or sys.stderr
    is_terminal = getattr(stream, "isatty", lambda: False)()
    if json or quiet or not is_terminal:
        return SilentReporter()
    return TerminalReporter(stream)


_reporter: Reporter = SilentReporter()


def set_reporter(reporter: Reporter) -> Reporter:
    """Make ``reporter`` the process-wide one; returns the previous one (to restore it)."""
    global _reporter
    previous, _reporter = _reporter, reporter
    return previous


@contextmanager
def task(description: str, total: int | None = None) -> Iterator[Advance]:
    """Report one piece of long work through the current reporter (see module docstring)."""
    yield from _reporter.task(description, total)
