"""
The attempt loop: run the engine, learn from its conflicts, retry.

An installed environment often cannot keep everything *and* satisfy a request: the new
package needs a newer ``libfoo`` than the one installed. conda-libmamba-solver's answer,
followed here, is to start strict and loosen only what the engine proves in the way:

1. build the request (:func:`~conda_solver_plus.solving.request.build_request`) and run
   the engine (through the index transforms: :mod:`~conda_solver_plus.solving.transforms`);
2. on :class:`~conda_solver_plus.backends.EngineUnsolvable`, the installed or history
   packages its report names become *conflicts* (``out.conflicts``) — the next request no
   longer keeps, locks or freezes them — and the engine runs again;
3. at most :data:`MAX_ATTEMPTS` attempts (one per installed package, at least one); when
   an attempt teaches nothing new, or the cap is reached, a last attempt releases every
   installed package;
4. when that fails too, :func:`~conda_solver_plus.solving.diagnose.raise_for_failure`
   raises the error conda would.

The engine is called with conda's rules around it
(:func:`~conda_solver_plus.solving.engine_rules.with_conda_rules`): what of the prefix it
may start from, the repairs of broken installed packages, and only what the specs need
in the answer.

One time limit covers every attempt, and what runs after them (pin diagnosis,
``--update-deps``): each engine call gets what is left of the solve's
:class:`~conda_solver_plus.deadline.Deadline`, and running out is
:class:`~conda_solver_plus.exceptions.SolveTimeoutError`.
"""

from __future__ import annotations

import logging

from rattler import MatchSpec, RepoDataRecord

from ..backends import Backend, EngineTimeout, EngineUnsolvable
from ..exceptions import SolveTimeoutError
from ..repodata.model import Index
from ..state import SolverInputState, SolverOutputState
from .diagnose import raise_for_failure
from .engine_rules import with_conda_rules
from .options import SolveOptions
from .request import build_request
from .transforms import solve_on_engine

__all__ = ["MAX_ATTEMPTS", "learn_conflicts", "release_all", "run_attempts"]

log = logging.getLogger(__name__)

#: conda-libmamba-solver's cap on conflict-learning attempts
MAX_ATTEMPTS = 10


def run_attempts(
    backend: Backend,
    index: Index,
    sis: SolverInputState,
    out: SolverOutputState,
    options: SolveOptions,
) -> list[RepoDataRecord]:
    """The records of the first attempt the engine solves; raises the error conda would
    when none does."""
    options = options.started()  # core.solve started it; a direct call starts it here
    # every engine call from here on (attempts, pin diagnosis, feature solves) follows
    # conda's rules that are no SAT question (engine_rules)
    backend = with_conda_rules(backend)
    last_error: EngineUnsolvable | None = None
    for _ in range(max(1, min(len(sis.installed), MAX_ATTEMPTS))):
        try:
            return attempt(backend, index, sis, out, options)
        except EngineUnsolvable as error:
            last_error = error
            log.info("attempt %d failed:\n%s", out.attempts, error.message)
            if not learn_conflicts(sis, out, error):
                break  # nothing new to release: go to the last attempt
    if release_all(sis, out):
        try:
            return attempt(backend, index, sis, out, options)
        except EngineUnsolvable as error:
            last_error = error
    assert last_error is not None
    raise_for_failure(last_error, sis, out, index, backend, options)


def attempt(
    backend: Backend,
    index: Index,
    sis: SolverInputState,
    out: SolverOutputState,
    options: SolveOptions,
) -> list[RepoDataRecord]:
    """One attempt: a fresh request from the state and what was learnt so far, solved
    within what is left of the solve's time limit (``options.deadline``)."""
    out.attempts += 1
    request = build_request(sis, out, index, options)
    try:
        return solve_on_engine(backend, index, request, options)
    except EngineTimeout:
        raise SolveTimeoutError(
            [str(s) for s in sis.requested_specs],
            options.deadline.elapsed() if options.deadline else 0.0,
            options.timeout or 0,
            engine=getattr(backend, "name", ""),
        ) from None


def learn_conflicts(
    sis: SolverInputState, out: SolverOutputState, error: EngineUnsolvable
) -> bool:
    """Mark installed/history names from the engine's report as conflicts; True if any
    new one was learnt (so another attempt makes sense)."""
    learnt = False
    for name in sorted(error.names):
        if name in out.conflicts or name in sis.requested:
            continue
        if name in sis.installed or name in sis.history:
            record = sis.installed.get(name)
            spec = MatchSpec(name) if record is None else out.frozen_spec(name)
            out.conflicts.set(
                name, spec, reason=f"reported by the engine (attempt {out.attempts})"
            )
            learnt = True
    return learnt


def release_all(sis: SolverInputState, out: SolverOutputState) -> bool:
    """The last attempt: every installed package not released yet becomes a conflict.
    False when there was none left (the last attempt would be the same request)."""
    unreleased = [name for name in sis.installed if name not in out.conflicts]
    for name in unreleased:
        out.conflicts.set(name, out.frozen_spec(name), reason="last attempt: release all")
    return bool(unreleased)
