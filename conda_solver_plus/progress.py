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
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

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
