"""
The solve: conda's semantics on top of a declarative engine — the entry point.

conda asks a solver for the *final state* of an environment; engines answer "which
records satisfy these specs?". :func:`solve` bridges the two, the way
conda-libmamba-solver does. It is short on purpose: each step is a module of
:mod:`conda_solver_plus.solving`, named for its job.

1. **Index transforms** — exclude-newer filters the index once
   (:mod:`~conda_solver_plus.solving.transforms`).
2. **Early exit and checks** — ``remove --force`` and ``--satisfied-skip-solve`` need no
   engine; requested packages must exist and must not contradict a pin
   (:mod:`~conda_solver_plus.solving.diagnose`).
3. **Attempts** — conda's rules become an engine request
   (:mod:`~conda_solver_plus.solving.request`, one function per rule); the engine runs
   (legacy features honoured: the second transform); installed packages its report names
   are released and the request retried (:mod:`~conda_solver_plus.solving.attempts`);
   when nothing solves, the error conda would raise
   (:mod:`~conda_solver_plus.solving.diagnose`).
4. **No surprise downgrades** — an installed package the answer moves to a lower
   version is checked: kept when an answer without that downgrade exists, else reported
   with the spec that forces it (:mod:`~conda_solver_plus.solving.downgrades`).
5. **Post-processing** — ``--no-deps``/``--only-deps``, ``--update-deps`` (a second
   solve), ``--prune``, held-back packages, neutered history specs, why each record is
   there (:mod:`~conda_solver_plus.solving.post`), why each downgrade happens.

One time limit covers all of it, from the start of :func:`solve` to the answer: the
options carry the solve's :class:`~conda_solver_plus.deadline.Deadline`, and every engine
call of every step gets only what is left of it.

Nothing here imports conda; the conda adapter wraps it for conda. The
public names — :func:`solve`, :class:`SolveOptions`, :func:`build_request` — are imported
from here by the front ends, the benchmarks and the tests.
"""

from __future__ import annotations

from .backends import Backend
from .repodata.model import Index
from .solving import attempts, diagnose, downgrades, installed, post
from .solving.options import SolveOptions
from .solving.request import build_request, engine_cutoff
from .solving.transforms import apply_exclude_newer
from .state import DepsModifier, SolverInputState, SolverOutputState

__all__ = ["SolveOptions", "build_request", "solve"]


def solve(
    sis: SolverInputState,
    index: Index,
    backend: Backend,
    options: SolveOptions | None = None,
) -> SolverOutputState:
    """Solve the final state for ``sis`` on ``index`` with ``backend``."""
    # one time limit from here to the answer, whatever runs inside (conda_solver_plus.deadline)
    options = (options or SolveOptions()).started()
    # per-channel/per-package cutoffs become a filtered index, a global one stays native
    index, options = apply_exclude_newer(index, options, kept=sis.installed.values())
    installed.use_channel_metadata(sis, index)  # repodata patches reach installed packages
    out = SolverOutputState(sis)
    if out.early_exit() is not None:
        post.explain_records(sis, out)
        return out
    diagnose.check_request(sis, index, engine_cutoff(options))

    out.engine = backend.name
    records = attempts.run_attempts(backend, index, sis, out, options)
    # no surprise downgrades: only those the request needs, each with its cause (found on
    # the engine's answer: --only-deps and --prune may drop the records that need them)
    post.take_solution(out, downgrades.guard(backend, index, sis, out, options, records))
    downgrades.explain(sis, out)
    _post_process(sis, out, index, backend, options)
    downgrades.settle(sis, out)
    out.held_back = post.held_back(sis, out, index)
    out.neuter_history()
    post.explain_records(sis, out)
    if options.verify and sis.deps_modifier is not DepsModifier.NO_DEPS:
        post.verify_consistent(sis, out)
    return out


def _post_process(
    sis: SolverInputState,
    out: SolverOutputState,
    index: Index,
    backend: Backend,
    options: SolveOptions,
) -> None:
    """conda's modifiers on the answer; ``--update-deps`` solves a second time, which is
    why this step lives beside :func:`solve`."""
    if post.wants_update_deps(sis):
        second, chain = post.update_deps_input(sis, out)
        post.take_update_deps(out, solve(second, index, backend, options), chain)
    else:
        post.apply_deps_modifier(sis, out)
    if sis.prune:
        post.prune(sis, out)
