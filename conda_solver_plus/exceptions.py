"""
Errors a solve can end with, split by *whose* problem they are.

A solver sits inside people's package manager, so every way a request can fail has to end
in one message a user can act on, never a traceback. There are three families:

- :class:`InvalidInputError` — the *input* is wrong: a channel directory that does not
  exist, repodata that is not JSON, a spec that does not parse, a corrupt ``conda-meta``
  file. The message names the file or spec and says what to do. The CLI exits with 2.
- :class:`PackagesNotFoundError`, :class:`UnsatisfiableError`,
  :class:`SpecsConfigurationConflictError`, :class:`SolveTimeoutError` — the input is
  fine but the request cannot be met. The CLI exits with 1; the conda adapter turns each
  into the conda exception of the same name.
- anything else is a bug in conda-solver-plus and is reported as such.

These classes do not import conda: the core and the standalone CLI run without it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any


class SolverPlusError(Exception):
    """Base class of every error conda-solver-plus raises on purpose."""

    #: exit status of the standalone CLI
    exit_code: int = 1
    #: short machine-readable type used in ``--json`` error output
    error_type: str = "SolverPlusError"

    def to_json(self) -> dict[str, Any]:
        return {"type": self.error_type, "message": str(self)}


class InvalidInputError(SolverPlusError, ValueError):
    """The user's input (a file, a spec, an option) is unusable.

    ``source`` names the offending file, spec or option; ``hint`` says what to do.
    """

    exit_code = 2
    error_type = "InvalidInput"

    def __init__(self, source: str, problem: str, hint: str = "") -> None:
        self.source = source
        self.problem = problem
        self.hint = hint
        message = f"{source}: {problem}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "source": self.source, "hint": self.hint}


#: how many lines of an engine's own report an error message shows (``--json`` has all)
ENGINE_REPORT_LINES = 20


@dataclass(frozen=True)
class ChainStep:
    """One package on the way from a requested spec to a clash.

    ``spec`` is what asked for the package at this step (the requested spec on the first
    step, a ``depends``/``constrains`` entry after that) and ``versions`` the candidates
    the engine tried for it; either may be empty.
    """

    name: str
    specs: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()

    def render(self) -> str:
        # "python >=3.12 | >=3.11" (the name once), "__cuda" rather than "__cuda *"
        constraints = []
        for spec in self.specs:
            rest = spec.strip()
            if rest.split(" ", 1)[0].lower() == self.name:
                rest = rest[len(self.name) :].strip()
            if rest and rest not in ("*", "* *"):
                constraints.append(rest)
        text = self.name
        if constraints:
            text += " " + _join_compact(constraints, 2, "specs")
        if self.versions:
            text += f" ({_join_compact(sort_versions(self.versions), 3, 'versions')})"
        return text

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "specs": list(self.specs), "versions": list(self.versions)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChainStep:
        return cls(data["name"], tuple(data.get("specs", ())), tuple(data.get("versions", ())))


@dataclass(frozen=True)
class ConflictChain:
    """A path through the dependency graph from a requested spec to the package where
    the engine found the request cannot be met.

    ``problem`` says how it ends: ``conflict`` (the last step clashes with the packages or
    specs in ``partners``), ``missing`` (nothing provides the last spec), ``excluded``
    (candidates exist but were ruled out, e.g. by strict channel priority) or ``locked``
    (an installed or frozen package would have to change).
    """

    steps: tuple[ChainStep, ...]
    problem: str
    detail: str = ""
    partners: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(step.name for step in self.steps)

    def render(self) -> str:
        path = " -> ".join(step.render() for step in self.steps)
        ending = {
            "conflict": "conflicts",
            "missing": "nothing provides it",
            "excluded": "excluded",
            "locked": "must stay as installed",
        }.get(self.problem, self.problem)
        if self.problem == "conflict" and self.partners:
            ending = f"conflicts with {_group_labels(self.partners)}"
        if self.detail:
            ending = f"{ending}: {self.detail}"
        return f"{path}  [{ending}]"

    def to_json(self) -> dict[str, Any]:
        return {
            "steps": [step.to_json() for step in self.steps],
            "problem": self.problem,
            "detail": self.detail,
            "partners": list(self.partners),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ConflictChain:
        steps = tuple(ChainStep.from_json(step) for step in data["steps"])
        partners = tuple(data.get("partners", ()))
        return cls(steps, data["problem"], data.get("detail", ""), partners)


def _group_labels(labels: Sequence[str]) -> str:
    """``python 3.9.10 | 3.9.16 | ... (6), numpy >=2.1``: labels grouped by package name."""
    by_name: dict[str, list[str]] = {}
    for label in labels:
        name, _, rest = label.strip().partition(" ")
        by_name.setdefault(name, []).append(rest.strip())
    parts = []
    for name, rests in by_name.items():
        rests = sort_versions([rest for rest in rests if rest])
        parts.append(f"{name} {_join_compact(rests, 2, 'versions')}" if rests else name)
    return ", ".join(parts)


def _join_compact(items: Sequence[str], keep: int, noun: str) -> str:
    """``a | b | c`` or, for long lists, ``a | b | ... | z (12 versions)``: the first
    ``keep``, the last, and how many there are in all (``noun`` says of what)."""
    items = list(dict.fromkeys(items))
    if len(items) <= keep + 1:
        return " | ".join(items)
    return " | ".join([*items[:keep], "...", items[-1]]) + f" ({len(items)} {noun})"


def sort_versions(items: Iterable[str]) -> list[str]:
    """Version strings (or ``version build`` labels) newest first, by conda's version
    order; text that is not a version keeps its place after them."""
    from rattler import Version

    keyed: list[tuple[Any, str]] = []
    rest: list[str] = []
    for item in dict.fromkeys(items):
        head = item.split(" ", 1)[0]
        try:
            keyed.append((Version(head), item))
        except Exception:  # py-rattler raises its own InvalidVersionError
            rest.append(item)
    keyed.sort(key=lambda pair: pair[0], reverse=True)
    return [item for _, item in keyed] + rest


@dataclass
class Explanation:
    """Why a request cannot be met, in terms a user can act on.

    Both engines fill this in. ``chains`` are the deduplicated paths from the requested
    specs to the clashing packages; ``culprits`` are the pieces of the user's *state* (a
    pin, a history spec, a frozen installed package, a missing virtual package, a
    channel-priority exclusion, python's minor-version hold) that took part, each with a
    concrete hint; ``conflicts`` the installed packages released during the retries; and
    ``engine_message`` the engine's own (tree-shaped) report, kept for reference.
    """

    engine_message: str
    conflicts: dict[str, str] = field(default_factory=dict)
    culprits: list[Culprit] = field(default_factory=list)
    #: requested name -> the virtual-package dependencies (``__cuda >=10.0``) that rule
    #: out every candidate of it on this system; empty unless that is the whole story
    virtual_blockers: dict[str, list[str]] = field(default_factory=dict)
    chains: list[ConflictChain] = field(default_factory=list)
    engine: str = ""

    def render(self, full_report: bool = False, hints: bool = True) -> str:
        """The explanation as text; the engine's report cut to
        :data:`ENGINE_REPORT_LINES` unless ``full_report`` (``-v``); without ``hints`` the
        culprits are named without what to do about them (conda prints those as its own
        "Next steps", from :func:`conda_solver_plus.conda.errors.culprit_hints`)."""
        lines: list[str] = []
        if self.chains:
            lines.append("Cannot solve the request; how the requested specs lead to the problem:")
            lines.extend(f"  {chain.render()}" for chain in self.chains)
        if self.culprits:
            if lines:
                lines.append("")
            lines.append("What in your setup takes part in this conflict:")
            for culprit in self.culprits:
                lines.append(f"  - {culprit.render(hint=hints)}")
        report = self.engine_message.rstrip().splitlines()
        if report:
            if lines:
                lines.append("")
                engine = f" ({self.engine})" if self.engine else ""
                lines.append(f"The engine's report{engine}:")
            if len(report) > ENGINE_REPORT_LINES and not full_report:
                cut = len(report) - ENGINE_REPORT_LINES
                report = [
                    *report[:ENGINE_REPORT_LINES],
                    f"... ({cut} more lines: rerun with -v to see the whole report; "
                    "--json has it as engine_message)",
                ]
            lines.extend(report)
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "chains": [chain.to_json() for chain in self.chains],
            "culprits": [culprit.to_json() for culprit in self.culprits],
            "conflicts": self.conflicts,
            "engine_message": self.engine_message,
        }


#: the attribute of a conda error that holds plus's hints for it, ``(hint_code, text)``
#: pairs: the conda adapter sets it, plus's ``conda_error_hints`` hook reads it
CONDA_HINTS_ATTRIBUTE = "plus_error_hints"


@dataclass(frozen=True)
class Culprit:
    """One piece of user state that constrains the solve, with where it came from."""

    kind: str  # pinned | history | frozen | virtual | channel-priority | requested
    name: str
    spec: str
    origin: str
    hint: str

    def render(self, hint: bool = True) -> str:
        text = f"{self.spec} ({self.kind}, from {self.origin})"
        if self.hint and hint:
            text += f": {self.hint}"
        return text

    def to_json(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "name": self.name,
            "spec": self.spec,
            "origin": self.origin,
            "hint": self.hint,
        }


class UnsatisfiableError(SolverPlusError):
    """The specs, together with the environment's state, have no solution."""

    error_type = "Unsatisfiable"

    def __init__(self, explanation: Explanation, requested: Sequence[str] = ()) -> None:
        self.explanation = explanation
        self.requested = list(requested)
        super().__init__(explanation.render())

    def to_json(self) -> dict[str, Any]:
        return {
            **super().to_json(),
            "requested": self.requested,
            **self.explanation.to_json(),
        }


class PackagesNotFoundError(SolverPlusError):
    """Some requested packages exist in none of the channels searched."""

    error_type = "PackagesNotFound"

    def __init__(
        self,
        specs: Iterable[str],
        channels: Iterable[str] = (),
        subdirs: Iterable[str] = (),
        suggestions: dict[str, list[str]] | None = None,
        reason: str = "",
        available: dict[str, list[str]] | None = None,
    ) -> None:
        self.specs = list(specs)
        self.channels = list(channels)
        self.subdirs = list(subdirs)
        self.suggestions = suggestions or {}
        #: spec -> the versions the channels do have of its package, newest first
        self.available = available or {}
        self.reason = reason
        lines = ["The following packages are not available from the channels searched:"]
        for spec in self.specs:
            line = f"  - {spec}"
            close = self.suggestions.get(spec)
            if close:
                line += f" (did you mean: {', '.join(close)}?)"
            versions = self.available.get(spec)
            if versions:
                line += f" (the channels have: {_versions_shown(versions)})"
            lines.append(line)
        if reason:
            lines.append(reason)
        for name in _virtual_names(self.specs):
            lines.append(
                f"{name} is a virtual package: it describes the system, no channel has it, "
                f"and the system solved for has no matching one (set "
                f"CONDA_OVERRIDE_{name[2:].upper()}=<version> to solve for another system)."
            )
        if self.channels:
            lines.append("Channels searched:")
            lines.extend(f"  - {channel}" for channel in self.channels)
        if self.subdirs:
            lines.append(f"Subdirs searched: {', '.join(self.subdirs)}")
        super().__init__("\n".join(lines))

    def to_json(self) -> dict[str, Any]:
        return {
            **super().to_json(),
            "packages": self.specs,
            "channels": self.channels,
            "subdirs": self.subdirs,
            "suggestions": self.suggestions,
            "available": self.available,
        }


#: how many versions a "not available" line lists before eliding the middle
AVAILABLE_VERSIONS_SHOWN = 8


def _versions_shown(versions: Sequence[str]) -> str:
    """``2.0.2, 1.26.4`` or, for many, the newest ones, ``...``, the oldest and the count."""
    if len(versions) <= AVAILABLE_VERSIONS_SHOWN:
        return ", ".join(versions)
    shown = [*versions[: AVAILABLE_VERSIONS_SHOWN - 1], "...", versions[-1]]
    return f"{', '.join(shown)} ({len(versions)} versions)"


def _virtual_names(specs: Iterable[str]) -> list[str]:
    """Names of virtual packages (``__cuda``, ``__glibc``) among ``specs``, in order."""
    names: list[str] = []
    for spec in specs:
        name = spec.split("::")[-1].lstrip()
        for stop in " =<>!~[":
            name = name.split(stop, 1)[0]
        if name.startswith("__") and name not in names:
            names.append(name)
    return names


class SpecsConfigurationConflictError(SolverPlusError):
    """A requested spec contradicts a pin (``conda-meta/pinned`` or configured pins)."""

    error_type = "SpecsConfigurationConflict"

    def __init__(self, requested: Sequence[str], pinned: Sequence[str], origin: str = "") -> None:
        self.requested_specs = list(requested)
        self.pinned_specs = list(pinned)
        where = f" (pins from {origin})" if origin else ""
        super().__init__(
            "Requested specs conflict with configured pins"
            f"{where}:\n  requested: {', '.join(self.requested_specs)}\n"
            f"  pinned:    {', '.join(self.pinned_specs)}\n"
            "Remove the pin (conda-meta/pinned or the pinned_packages setting), "
            "or solve with --ignore-pinned."
        )

    def to_json(self) -> dict[str, Any]:
        return {
            **super().to_json(),
            "requested": self.requested_specs,
            "pinned": self.pinned_specs,
        }


class SolveTimeoutError(SolverPlusError):
    """The engine did not finish within the configured time limit."""

    error_type = "SolveTimeout"

    def __init__(
        self, requested: Sequence[str], seconds: float, limit: float, engine: str = ""
    ) -> None:
        self.requested = list(requested)
        self.seconds = seconds
        self.limit = limit
        self.engine = engine
        shown = ", ".join(self.requested[:6]) or "the environment"
        if len(self.requested) > 6:
            shown += f" and {len(self.requested) - 6} more specs"
        by = f" (engine: {engine})" if engine else ""
        super().__init__(
            f"Solving {shown}{by} was stopped after {seconds:.1f}s (limit {limit:g}s). "
            "Narrow the request (add versions) or raise the limit with --timeout, "
            "CONDA_SOLVER_PLUS_TIMEOUT or plus_timeout in .condarc."
        )

    def to_json(self) -> dict[str, Any]:
        return {
            **super().to_json(),
            "requested": self.requested,
            "seconds": round(self.seconds, 3),
            "limit": self.limit,
            "engine": self.engine,
        }
