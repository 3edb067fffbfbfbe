"""
How to solve, as opposed to what: the options every step of a solve reads.

:class:`SolveOptions` is what the front ends (the standalone CLI, the conda adapter,
``conda plus``) hand :func:`conda_solver_plus.core.solve` beside the input state and the
index. The request builder copies the engine-facing ones into each
:class:`~conda_solver_plus.backends.EngineRequest`; the index transforms read
``exclude_newer`` and ``cache_dir``.

``timeout`` is for the whole solve: :meth:`SolveOptions.started` turns it into the
solve's :class:`~conda_solver_plus.deadline.Deadline` once, when the solve starts, and
every engine call gets what is left of it (:func:`~conda_solver_plus.deadline.solve_within`).
"""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass
from pathlib import Path

from ..backends import ChannelPriority
from ..deadline import Deadline
from ..exclude_newer import ExcludeNewer
from ..settings import SolveStrategy, default_cache_dir, verify_requested

__all__ = ["SolveOptions"]


@dataclass
class SolveOptions:
    """Options of one solve (all attempts of it, and an ``--update-deps`` second solve)."""

    channel_priority: ChannelPriority = "strict"
    #: seconds for the whole solve (attempts, pin diagnosis, legacy features,
    #: ``--update-deps``); ``None`` is no limit
    timeout: float | None = None
    #: a global cutoff, or conda's whole policy (see :mod:`conda_solver_plus.exclude_newer`)
    exclude_newer: datetime.datetime | ExcludeNewer | None = None
    add_pip_as_python_dependency: bool = False
    #: which versions the engine prefers (:data:`~conda_solver_plus.settings.SolveStrategy`)
    strategy: SolveStrategy = "highest"
    #: where derived files (exclude-newer's filtered repodata, ...) go; the front ends pass
    #: their :class:`~conda_solver_plus.settings.Settings`' (the default is resolved when
    #: the options are built, by the same rule)
    cache_dir: Path = dataclasses.field(default_factory=default_cache_dir)
    #: check each answer for consistency (``CONDA_SOLVER_PLUS_VERIFY``, resolved likewise)
    verify: bool = dataclasses.field(default_factory=verify_requested)
    #: when ``timeout`` runs out; set by :meth:`started`, not by the front ends
    deadline: Deadline | None = None

    def started(self) -> SolveOptions:
        """These options with the solve's deadline: a new one starting now, or the one a
        solve already running set (``--update-deps``'s second solve keeps the first's)."""
        if self.deadline is not None:
            return self
        return dataclasses.replace(self, deadline=Deadline(self.timeout))
