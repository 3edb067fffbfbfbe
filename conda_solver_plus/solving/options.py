"""
How to solve, as opposed to what: the options every step of a solve reads.

:class:`SolveOptions` is what the front ends (the standalone CLI, the conda adapter,
``conda plus``) hand :func:`conda_solver_plus.core.solve` beside the input state and the
index. The request builder copies the engine-facing ones into each
:class:`~conda_solver_plus.backends.EngineRequest`; the index transforms read
``exclude_newer`` and ``cache_dir``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from ..backends import ChannelPriority
from ..exclude_newer import ExcludeNewer

__all__ = ["SolveOptions"]


@dataclass
class SolveOptions:
    """Options of one solve (all attempts of it, and an ``--update-deps`` second solve)."""

    channel_priority: ChannelPriority = "strict"
    #: seconds for the whole solve (all attempts); ``None`` is no limit
    timeout: float | None = None
    #: a global cutoff, or conda's whole policy (see :mod:`conda_solver_plus.exclude_newer`)
    exclude_newer: datetime.datetime | ExcludeNewer | None = None
    add_pip_as_python_dependency: bool = False
    #: where derived files (exclude-newer's filtered repodata) go; default: the user cache
    cache_dir: Path | None = None
