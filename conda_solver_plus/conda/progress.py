"""
Progress of plus's long work inside conda, shown by conda's own reporters.

conda draws its progress bars and spinners through its reporter backends
(``conda.reporters``): they follow ``--quiet``, ``--json``, ``TERM=dumb`` and whether the
output is a terminal, and a user who configured another reporter backend gets it for
plus's work too. :class:`CondaReporter` implements the one method of
:class:`conda_solver_plus.progress.Reporter` with them: a task of known size is conda's
progress bar (``get_progress_bar``, advanced as a fraction), one of unknown size conda's
spinner (``get_spinner``: ``message: done``).

:func:`use_conda_reporter` makes it the process-wide reporter; the solver calls it when
conda starts a solve (the standalone CLI chooses its own, never this one).
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import progress


class CondaReporter:
    """Tasks as conda's progress bars (known total) and spinners (unknown total)."""

    def task(self, description: str, total: int | None) -> Iterator[progress.Advance]:
        try:
            import conda.reporters  # noqa: F401  (conda >= 24.9)
        except ImportError:  # older conda: its spinners are not pluggable; stay silent
            yield _ignore
            return
        if total is None:
            yield from self._spinner(description)
        else:
            yield from self._bar(description, total)

    @staticmethod
    def _spinner(description: str) -> Iterator[progress.Advance]:
        from conda.reporters import get_spinner

        with get_spinner(description):
            yield _ignore

    @staticmethod
    def _bar(description: str, total: int) -> Iterator[progress.Advance]:
        from conda.reporters import get_progress_bar

        bar = get_progress_bar(description)
        done = 0

        def advance(units: int) -> None:
            nonlocal done
            done += units
            bar.update_to(min(1.0, done / total) if total > 0 else 1.0)

        try:
            yield advance
            bar.finish()
        finally:
            bar.close()


def _ignore(_units: int) -> None:
    return None


def use_conda_reporter() -> None:
    """Make conda's reporters show plus's long work (idempotent)."""
    progress.set_reporter(CondaReporter())
