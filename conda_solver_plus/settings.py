"""
conda-solver-plus's own settings: read, checked and resolved in one place.

A setting can come from three places, and each front end sees a subset of them:

- the engine: ``--backend``, ``CONDA_SOLVER_PLUS_BACKEND``, ``plus_backend`` in ``.condarc``;
- the time limit of a solve: ``--timeout``, ``CONDA_SOLVER_PLUS_TIMEOUT``, ``plus_timeout``;
- the solve strategy: ``--strategy``, ``CONDA_SOLVER_PLUS_STRATEGY``, ``plus_solve_strategy``
  (``highest``, ``lowest``, ``lowest-direct``; :data:`SolveStrategy`);
- the repodata cache of the standalone CLI: ``--cache-dir``, ``CONDA_SOLVER_PLUS_CACHE``;
- the time limit of one repodata download: ``CONDA_SOLVER_PLUS_FETCH_TIMEOUT``;
- the self-check of every answer: ``CONDA_SOLVER_PLUS_VERIFY`` (the test suite sets it);
- how the libmamba engine loads repodata: ``CONDA_SOLVER_PLUS_LIBMAMBA_LOAD``.

The rules, the same for the standalone CLI, the conda adapter and ``conda plus``:

- **precedence**: a CLI flag, then the environment variable, then the ``.condarc`` key.
  An empty value counts as unset. For the engine, ``auto`` also defers to the next source
  (``--backend auto`` with ``CONDA_SOLVER_PLUS_BACKEND=rattler`` solves on rattler); the
  engine name itself is checked by :func:`conda_solver_plus.backends.get_backend`, the one
  place that knows which engines exist.
- **seconds** (both time limits) must be a finite number greater than zero. ``0``,
  negative numbers, ``nan``, ``inf`` and anything that is not a number are an
  :class:`~conda_solver_plus.exceptions.InvalidInputError` naming the setting; *unset*
  is how to ask for no limit. (conda used to read ``0`` as "no limit" and let ``nan``
  and ``inf`` through while the CLI refused ``0``; one rule now.) A finite limit so long
  that engines cannot represent it (68 years and more) means no limit.
- **errors** are :class:`~conda_solver_plus.exceptions.InvalidInputError`: the CLI prints
  them as one line and exits with 2, the conda adapter turns them into conda's
  ``CondaValueError`` (:mod:`conda_solver_plus.conda.errors`).

This module imports nothing of the package but its exceptions (every other module may
import it) and does not import conda: the conda adapter reads the ``.condarc`` keys out of
conda's ``context`` (:func:`conda_solver_plus.conda.solver.condarc_values`) and hands
them here as a plain mapping. conda's own settings (``channel_priority``,
``add_pip_as_python_dependency``, ``exclude_newer``...) stay conda's: the adapter reads
them from ``context`` and puts them into the same :class:`Settings`. The standalone CLI,
which has no ``context``, reads the same ``.condarc`` files and ``CONDA_*`` variables with
conda's rules through :mod:`conda_solver_plus.condarc` (whose raw mapping also carries the
``plus_*`` keys here) and uses them as the defaults of its options.

The :class:`Settings` defaults below (strict priority, no pip) are the library's, for a
caller that builds the settings itself; both front ends always pass conda's values
(flexible priority and pip unless configured otherwise).

``CONDA_OVERRIDE_*`` (virtual packages) is not read here: those variables are conda's,
and :mod:`conda_solver_plus.virtual` mirrors conda's own rule for them.
"""

from __future__ import annotations

import datetime
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

from .exceptions import InvalidInputError

if TYPE_CHECKING:
    from .exclude_newer import ExcludeNewer

#: conda's ``channel_priority``: ``strict`` takes a name only from the first channel
#: (tier) that has it, ``flexible`` prefers earlier channels but falls back, ``disabled``
#: ranks every channel alike
ChannelPriority = Literal["strict", "flexible", "disabled"]
CHANNEL_PRIORITIES: tuple[ChannelPriority, ...] = get_args(ChannelPriority)

#: which version of a package a solve prefers when several would do, as pixi's
#: ``solve-strategy`` and uv's ``--resolution`` define them: ``highest`` (conda's only
#: behaviour so far), ``lowest`` (every package at its lowest version that works: tests of
#: lower bounds), ``lowest-direct`` (the packages the user asked for at their lowest, their
#: dependencies at their highest). Installed packages, pins and the history keep their
#: meaning under each: a strategy only chooses among what the request leaves open.
SolveStrategy = Literal["highest", "lowest", "lowest-direct"]
SOLVE_STRATEGIES: tuple[SolveStrategy, ...] = get_args(SolveStrategy)

ENV_BACKEND = "CONDA_SOLVER_PLUS_BACKEND"
ENV_TIMEOUT = "CONDA_SOLVER_PLUS_TIMEOUT"
ENV_STRATEGY = "CONDA_SOLVER_PLUS_STRATEGY"
ENV_CACHE = "CONDA_SOLVER_PLUS_CACHE"
ENV_FETCH_TIMEOUT = "CONDA_SOLVER_PLUS_FETCH_TIMEOUT"
ENV_VERIFY = "CONDA_SOLVER_PLUS_VERIFY"
ENV_LIBMAMBA_LOAD = "CONDA_SOLVER_PLUS_LIBMAMBA_LOAD"

#: the ``.condarc`` keys of conda-solver-plus (conda itself does not know them, so
#: ``conda config --set`` refuses them; they are written into ``.condarc`` by hand)
CONDARC_BACKEND = "plus_backend"
CONDARC_TIMEOUT = "plus_timeout"
CONDARC_STRATEGY = "plus_solve_strategy"
CONDARC_KEYS = (CONDARC_BACKEND, CONDARC_TIMEOUT, CONDARC_STRATEGY)

#: how a ``.condarc`` key is named in error messages
_CONDARC_SOURCE = "{} (.condarc)"

#: time limits from here on (about 68 years) mean "no limit": engines keep seconds in
#: 32 bits
NO_LIMIT_SECONDS = 2.0**31 - 1

#: seconds one repodata request may take, connection to last byte, before it is given up
DEFAULT_FETCH_TIMEOUT = 120


@dataclass(frozen=True)
class Settings:
    """Everything a solve is configured with besides its input state and index.

    Built once per front end (:func:`conda_solver_plus.cli.run_solve`,
    :meth:`conda_solver_plus.conda.solver.PlusSolver.settings`) and turned into an engine
    and :class:`~conda_solver_plus.core.SolveOptions` by
    :class:`conda_solver_plus.session.SolveSession`. Every value is resolved when it is
    built — what is not given is read from the environment then, by the functions below
    — so nothing downstream reads the environment again.
    """

    #: engine name (``auto``, ``libmamba``, ``rattler``), checked when the engine loads
    backend: str = "auto"
    #: seconds for the whole solve; ``None`` is no limit
    timeout: float | None = None
    #: which versions the solve prefers (:func:`resolve_strategy`)
    strategy: SolveStrategy = "highest"
    channel_priority: ChannelPriority = "strict"
    add_pip_as_python_dependency: bool = False
    #: a global cutoff, or conda's whole exclude-newer policy
    exclude_newer: ExcludeNewer | datetime.datetime | None = None
    #: where remote repodata and derived files go (:func:`default_cache_dir` unless given)
    cache_dir: Path = field(default_factory=lambda: default_cache_dir())
    #: seconds for one repodata download (:func:`fetch_timeout`)
    fetch_timeout: int = field(default_factory=lambda: fetch_timeout())
    #: check each answer for consistency (:func:`verify_requested`)
    verify: bool = field(default_factory=lambda: verify_requested())
    #: how the libmamba engine loads repodata (:func:`libmamba_load`)
    libmamba_load: str = field(default_factory=lambda: libmamba_load())


def _text(value: object) -> str | None:
    """A setting's value as stripped text; ``None`` when unset or empty."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _environment(name: str) -> str | None:
    return _text(os.environ.get(name))


def resolve_backend(flag: str | None = None, condarc: Mapping[str, object] | None = None) -> str:
    """The engine to use: ``flag`` (``--backend``), else ``CONDA_SOLVER_PLUS_BACKEND``,
    else ``plus_backend`` from ``condarc``, else ``auto``; ``auto`` defers to the next
    source. Lower-cased; whether the engine exists is for ``get_backend`` to say."""
    condarc = condarc or {}
    for value in (flag, os.environ.get(ENV_BACKEND), condarc.get(CONDARC_BACKEND)):
        name = (_text(value) or "auto").lower()
        if name != "auto":
            return name
    return "auto"


def parse_seconds(value: object, source: str, hint: str) -> float:
    """``value`` as a number of seconds: finite and greater than zero, else an
    :class:`InvalidInputError` naming ``source`` with ``hint``."""
    if isinstance(value, bool):  # YAML's `yes`/`true` is not a duration
        raise InvalidInputError(source, f"not a number of seconds: {value!r}", hint)
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInputError(source, f"not a number of seconds: {value!r}", hint) from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise InvalidInputError(
            source, f"must be a positive number of seconds, got {value!r}", hint
        )
    return seconds


def resolve_timeout(
    flag: object = None, condarc: Mapping[str, object] | None = None
) -> float | None:
    """Seconds the whole solve may take: ``flag`` (``--timeout``), else
    ``CONDA_SOLVER_PLUS_TIMEOUT``, else ``plus_timeout`` from ``condarc``; ``None`` when
    none is set (no limit). See the module docstring for what counts as valid."""
    condarc = condarc or {}
    sources = (
        ("--timeout", flag, "leave --timeout out for no limit"),
        (ENV_TIMEOUT, os.environ.get(ENV_TIMEOUT), f"unset {ENV_TIMEOUT} for no limit"),
        (
            _CONDARC_SOURCE.format(CONDARC_TIMEOUT),
            condarc.get(CONDARC_TIMEOUT),
            f"remove {CONDARC_TIMEOUT} from .condarc for no limit",
        ),
    )
    for source, value, hint in sources:
        if _text(value) is None:
            continue
        seconds = parse_seconds(value, source, hint)
        return None if seconds >= NO_LIMIT_SECONDS else seconds
    return None


def resolve_strategy(
    flag: str | None = None,
    condarc: Mapping[str, object] | None = None,
    default: SolveStrategy = "highest",
) -> SolveStrategy:
    """The solve strategy: ``flag`` (``--strategy``), else ``CONDA_SOLVER_PLUS_STRATEGY``,
    else ``plus_solve_strategy`` from ``condarc``, else ``default`` (``highest``; the CLI
    passes the strategy a ``--locked`` file records). The first source that is set
    decides; a value that is no strategy is an :class:`InvalidInputError` naming that
    source (a typo never falls through to a quieter source)."""
    condarc = condarc or {}
    sources = (
        ("--strategy {!r}", flag),
        (ENV_STRATEGY + "={!r}", os.environ.get(ENV_STRATEGY)),
        (f"{CONDARC_STRATEGY}: {{!r}} (.condarc)", condarc.get(CONDARC_STRATEGY)),
    )
    for source, value in sources:
        text = _text(value)
        if text is None:
            continue
        for strategy in SOLVE_STRATEGIES:
            if text.lower() == strategy:
                return strategy
        raise InvalidInputError(
            source.format(text),
            "unknown solve strategy",
            f"use one of {', '.join(SOLVE_STRATEGIES)}",
        )
    return default


def default_cache_dir() -> Path:
    """``$CONDA_SOLVER_PLUS_CACHE`` or the user cache directory
    (``$XDG_CACHE_HOME/conda-solver-plus``, else ``~/.cache/conda-solver-plus``)."""
    configured = _environment(ENV_CACHE)
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "conda-solver-plus"


def fetch_timeout() -> int:
    """``$CONDA_SOLVER_PLUS_FETCH_TIMEOUT`` or :data:`DEFAULT_FETCH_TIMEOUT`, in whole
    seconds (at least 1).

    Without a limit a server that accepts the connection and never answers hangs the
    solve forever; with one it is a clear error naming the channel.
    """
    text = _environment(ENV_FETCH_TIMEOUT)
    if text is None:
        return DEFAULT_FETCH_TIMEOUT
    hint = f"unset it for the default of {DEFAULT_FETCH_TIMEOUT}s"
    return max(1, round(parse_seconds(text, ENV_FETCH_TIMEOUT, hint)))


def verify_requested() -> bool:
    """Whether ``CONDA_SOLVER_PLUS_VERIFY`` (``1``, ``true``, ``yes``) asks the core to
    check each answer for consistency."""
    return (_environment(ENV_VERIFY) or "").lower() in ("1", "true", "yes")


def libmamba_load() -> str:
    """``CONDA_SOLVER_PLUS_LIBMAMBA_LOAD`` (``auto``, ``sparse`` or ``full``): how the
    libmamba engine loads repodata; ``auto`` when unset."""
    value = (_environment(ENV_LIBMAMBA_LOAD) or "auto").lower()
    if value not in LIBMAMBA_LOADS:
        raise InvalidInputError(
            f"{ENV_LIBMAMBA_LOAD}={value!r}", "unknown load mode", "use auto, sparse or full"
        )
    return value


#: how the libmamba engine may load repodata (see :class:`.backends.libmamba.LibMambaBackend`)
LIBMAMBA_LOADS = ("auto", "sparse", "full")


def key_value(text: str, option: str) -> tuple[str, str]:
    """``KEY=CUTOFF`` of ``--exclude-newer-channel``/``--exclude-newer-package``, split at
    the last ``=`` (a channel URL may contain one)."""
    key, sep, value = text.rpartition("=")
    if not sep or not key.strip() or not value.strip():
        raise InvalidInputError(f"{option} {text!r}", "expected KEY=CUTOFF", "e.g. numpy=30d")
    return key.strip(), value.strip()
