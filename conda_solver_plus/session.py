"""
The solve pipeline: (settings, input state, index) in, the final state out.

Every front end — the standalone CLI (:func:`conda_solver_plus.cli.run_solve`), the conda
adapter (:meth:`conda_solver_plus.conda.solver.PlusSolver.solve_final_state`) and
``conda plus explain``/``why`` (:mod:`conda_solver_plus.conda.subcommands`) — gathers its
inputs its own way and then hands them to one :class:`SolveSession`:

1. :class:`~conda_solver_plus.settings.Settings` → the engine
   (:func:`~conda_solver_plus.backends.get_backend`) and the
   :class:`~conda_solver_plus.core.SolveOptions` (time limit, channel priority,
   exclude-newer, ``add_pip_as_python_dependency``, solve strategy, cache directory);
2. the :class:`~conda_solver_plus.state.SolverInputState` and the
   :class:`~conda_solver_plus.index.Index` → :func:`conda_solver_plus.core.solve`, which
   applies conda's rules and calls the engine.

Nothing else builds ``SolveOptions`` or picks an engine, so a setting added here reaches
all three front ends at once (the copies this replaced had drifted: ``conda plus
explain`` ignored ``exclude_newer``).
"""

from __future__ import annotations

from .backends import Backend, get_backend
from .core import SolveOptions, solve
from .repodata.model import Index
from .settings import Settings
from .state import SolverInputState, SolverOutputState


class SolveSession:
    """One configured solver: the engine and options that :class:`Settings` ask for.

    Creating it loads the engine (an unknown or unusable engine is an
    :class:`~conda_solver_plus.exceptions.InvalidInputError` here, before any solve).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.backend: Backend = get_backend(settings.backend)
        if hasattr(self.backend, "cache_dir"):
            # an engine with files of its own keeps them beside the repodata cache (the
            # libmamba engine its .solv files)
            self.backend.cache_dir = settings.cache_dir
        if hasattr(self.backend, "load"):  # how the libmamba engine loads repodata
            self.backend.load = settings.libmamba_load

    @property
    def options(self) -> SolveOptions:
        """The core's options for these settings."""
        settings = self.settings
        return SolveOptions(
            channel_priority=settings.channel_priority,
            timeout=settings.timeout,
            exclude_newer=settings.exclude_newer,
            add_pip_as_python_dependency=settings.add_pip_as_python_dependency,
            strategy=settings.strategy,
            cache_dir=settings.cache_dir,
            verify=settings.verify,
        )

    def solve(self, sis: SolverInputState, index: Index | None) -> SolverOutputState:
        """The final state for ``sis`` on ``index``.

        ``index`` is ``None`` only when no engine is needed — ``remove --force`` drops
        exactly what was named, so conda's adapter does not even load the channels.
        """
        if index is None:
            out = SolverOutputState(sis)
            out.early_exit()
            return out
        return solve(sis, index, self.backend, self.options)
