"""
One time limit for a whole solve, and the one function that calls an engine under it.

A user's time limit (``--timeout``, ``CONDA_SOLVER_PLUS_TIMEOUT``, ``plus_timeout``) is
for the answer, not for one engine call — but one solve calls its engine many times:
the conflict-learning attempts (:mod:`conda_solver_plus.solving.attempts`), the extra
solve that tells a pin conflict from an unsatisfiable request
(:mod:`conda_solver_plus.solving.diagnose`), up to four solves for legacy features
(:mod:`conda_solver_plus.features`) inside each of those, and a whole second solve for
``--update-deps``. Giving each call the full limit multiplied it.

So the limit becomes a moment: a :class:`Deadline` is made once, when
:func:`conda_solver_plus.core.solve` starts (it travels in
:class:`~conda_solver_plus.solving.options.SolveOptions`, and ``--update-deps``'s
second solve reuses it), and :func:`solve_within` gives every engine call only what is
left of it, as the per-call ``EngineRequest.timeout`` the engines already take. Engines
stay translators: they never see the deadline, only their share of it. When nothing is
left, the call is not made and :class:`~conda_solver_plus.backends.EngineTimeout` is
raised as if the engine had run out, so every caller handles one kind of "time's up".

What the limit bounds is every engine call, its set-up included: the libmamba engine counts
building libsolv's database and translating the request against its share and searches
with what is left of it (a conditional dependency libsolv cannot take goes to the rattler
engine with what is left too). The work between engine calls (the checks, the repodata the
legacy-feature and channel-order transforms write) is not interrupted: each takes as long
as its size, and the next engine call gets what is left. Loading the channels happens
before the solve starts and has its own time limit per download
(``CONDA_SOLVER_PLUS_FETCH_TIMEOUT``).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

from rattler import RepoDataRecord

from .backends import Backend, EngineRequest, EngineTimeout
from .repodata.model import Index

__all__ = ["Deadline", "solve_within"]

#: the shortest time an engine call is given (py-rattler takes whole microseconds, and
#: the libmamba engine reads a zero timeout as none)
SHORTEST_CALL = 0.001


@dataclass(frozen=True)
class Deadline:
    """The end of a solve's time limit: ``limit`` seconds after ``started`` (a
    :func:`time.monotonic` reading); a ``limit`` of ``None`` never ends."""

    limit: float | None
    started: float = field(default_factory=time.monotonic)

    def elapsed(self) -> float:
        """Seconds since the solve started."""
        return time.monotonic() - self.started

    def remaining(self) -> float | None:
        """Seconds left (never below zero), or ``None`` without a limit."""
        if self.limit is None:
            return None
        return max(0.0, self.limit - self.elapsed())


def solve_within(
    backend: Backend, index: Index, request: EngineRequest, deadline: Deadline | None
) -> list[RepoDataRecord]:
    """``backend.solve(index, request)`` given only what is left of ``deadline`` (the
    request's own ``timeout`` when there is no deadline); raises
    :class:`~conda_solver_plus.backends.EngineTimeout` without calling the engine when
    nothing is left."""
    if deadline is not None:
        left = deadline.remaining()
        if left is not None and left <= 0:
            raise EngineTimeout(deadline.elapsed())
        timeout = None if left is None else max(left, SHORTEST_CALL)
        request = dataclasses.replace(request, timeout=timeout)
    return backend.solve(index, request)
