"""
``why-not SPEC``: what keeps an environment from having ``SPEC``, and what would get it.

``explain`` and ``why`` say why a package *is* in an environment. Users more often ask the
opposite — "why don't I get numpy 2.1?" (mamba #620, conda #7128) — and the answer is
spread over their whole setup: a package they asked for that needs ``numpy <2``, a pin in
``conda-meta/pinned``, a spec from a year ago in the history, python held to its installed
minor version, a missing CUDA driver, strict channel priority. plus already explains a
request that cannot be met (:func:`conda_solver_plus.explain.build_explanation`: the
engine's chains, matched against the user's state), so ``why-not`` turns the question
into such a request. :func:`why_not` runs, on one index and one engine:

1. **the environment as it is**: the request (``REQUEST...``, the prefix, the lockfile)
   solved as ``solve`` would. Its record of ``SPEC``'s package is what the environment
   has now. A request that fails here fails ``why-not`` with the same error: there is no
   environment to ask about.
2. **the same request with ``SPEC`` added** as one more requested spec (what
   ``conda install SPEC`` asks in a prefix). When it solves, ``SPEC`` is *possible*: the
   answer is the command and the transaction from step 1's environment to this one —
   which packages would move. When it cannot be met, its explanation is the answer: the
   chains from ``SPEC`` through the dependencies (each step the package, the dependency
   spec that asked for it and the candidate versions) to the clash, and the *culprits*
   in the user's state, each with what to change. Two causes fail before an engine runs
   and are turned into the same form: a pin on the package itself (conda's
   ``SpecsConfigurationConflictError``) and a requested spec of the same name that no
   record satisfies together with ``SPEC``. Then each culprit's change is tried alone,
   one solve each (:func:`ways_out`): the engine's proof names everything that *takes
   part*, and users need to know which single change is *enough* — in a python 3.11
   environment whose history asks for pandas 2.2.1, both python and pandas take part in
   keeping numpy 2.1 out, but only pandas has to move.
3. **the newest version the environment could have as it is**: every other package of
   step 1's environment required exactly (name, version and build) and ``SPEC``'s package
   requested with what holds it now — the request's spec for it, else its history spec,
   else just its name; pins apply as always. The engine's best record for that request is
   the newest that fits without moving anything else; none when the package cannot be
   had at all without moving something.

Before step 2, ``SPEC`` is checked against the channels alone: when no record of any
channel matches it, the answer is "nothing to change: no channel has it", with the
newest versions the channels do have, or close names for a name no channel lists (as
``PackagesNotFoundError`` suggests them elsewhere, :func:`conda_solver_plus.explain.close_names`).

The front ends (``conda-solver-plus why-not``, ``conda plus why-not``) build the input
state, the index and the session their own way, as for ``explain``, and hand a function
that spells the command a user runs to get ``SPEC``. Exit status: 0 when ``SPEC`` is
possible (or already there), 1 when it is not, 2 for a ``SPEC`` that does not parse.

Every solve is an ordinary solve of the pipeline (:class:`~conda_solver_plus.session.SolveSession`)
on a state derived from the user's (:func:`_with_requested`: the same prefix, history,
pins, virtual packages and modifiers, other requested specs), so conda's rules hold in
each of them exactly as in ``solve``; the cost is one solve per step — see
``docs/explaining.md`` for measurements.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rattler import MatchSpec, RepoDataRecord

from .exceptions import (
    ENGINE_REPORT_LINES,
    ChainStep,
    ConflictChain,
    Culprit,
    InvalidInputError,
    PackagesNotFoundError,
    SolverPlusError,
    SpecsConfigurationConflictError,
    UnsatisfiableError,
)
from .explain import close_names, pin_culprit
from .output import Transaction, render_plan, transaction
from .records import record_to_json
from .repodata.model import Index
from .session import SolveSession
from .solving.candidates import matching_records
from .solving.diagnose import versions_available
from .solving.request import bind_spec_channel
from .specs import exact_spec_for, is_name_only, parse_spec, spec_name
from .state import SolverInputState, SolverOutputState, TrackedMap, UpdateModifier

__all__ = [
    "WayOut",
    "WhyNot",
    "parse_target",
    "print_why_not",
    "standalone_command",
    "ways_out",
    "why_not",
]

#: how many of the versions the channels have an "unavailable" answer lists
VERSIONS_SHOWN = 5

#: the verdicts, and whether each is a "yes" (exit 0)
VERDICTS = {"present": True, "possible": True, "blocked": False, "unavailable": False}


@dataclass(frozen=True)
class WayOut:
    """One change to the user's setup that a culprit suggests, tried with a solve:
    ``enough`` when the request with SPEC solves after that change alone."""

    kind: str  # the culprit's kind: pinned | history | installed | frozen | requested
    name: str
    change: str
    enough: bool

    def render(self) -> str:
        verdict = "enough on its own" if self.enough else "not enough on its own"
        return f"{self.change}: {verdict}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "change": self.change, "enough": self.enough}


@dataclass
class WhyNot:
    """The answer to ``why-not SPEC``.

    ``verdict``: ``present`` (the environment already has a matching record),
    ``possible`` (``command`` gets it; ``transaction`` says what moves), ``blocked``
    (``chains`` and ``culprits`` say what keeps it out, each culprit with what to
    change) or ``unavailable`` (no channel has a matching record: ``available`` lists
    the newest versions there are, ``suggestions`` close names for a typo).
    """

    spec: str
    name: str
    engine: str
    verdict: str = "blocked"
    #: the environment's record of the package now (step 1), if it has one
    current: RepoDataRecord | None = None
    #: the newest record it could have without moving any other package (step 3)
    newest_as_is: RepoDataRecord | None = None
    chains: list[ConflictChain] = field(default_factory=list)
    culprits: list[Culprit] = field(default_factory=list)
    #: the command that gets ``SPEC`` (possible only)
    command: str = ""
    transaction: Transaction | None = None
    #: where the transaction applies, for conda's package plan
    location: str = ""
    available: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: the engine's own report of why SPEC cannot be added (blocked by the engine only)
    engine_message: str = ""
    #: the culprits' changes, each tried alone (blocked only)
    ways_out: list[WayOut] = field(default_factory=list)

    @property
    def possible(self) -> bool:
        return VERDICTS[self.verdict]

    @property
    def exit_code(self) -> int:
        return 0 if self.possible else 1

    def to_json(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "name": self.name,
            "engine": self.engine,
            "possible": self.possible,
            "verdict": self.verdict,
            "current": _record_json(self.current),
            "newest_as_is": _record_json(self.newest_as_is),
            "chains": [chain.to_json() for chain in self.chains],
            "culprits": [culprit.to_json() for culprit in self.culprits],
            "command": self.command or None,
            "transaction": self.transaction.to_json() if self.transaction else None,
            "available": self.available,
            "suggestions": self.suggestions,
            "notes": self.notes,
            "ways_out": [way.to_json() for way in self.ways_out],
            "engine_message": self.engine_message,
        }

    def render(self) -> str:
        lines = [f"why-not {self.spec} (engine: {self.engine})", "", *self._status()]
        lines.extend(["", *_VERDICT_RENDERERS[self.verdict](self)])
        if self.notes:
            lines.extend(["", *(f"Note: {note}" for note in self.notes)])
        return "\n".join(lines)

    def _status(self) -> list[str]:
        """What the environment has now, and the newest it could have as it is."""
        has = f"has {_label(self.current)}" if self.current else f"has no {self.name}"
        if self.verdict == "unavailable" and not self.available:
            return [f"The environment {has}."]  # no channel lists the name at all
        if self.newest_as_is is None:
            newest = f"it cannot have {self.name} without moving other packages"
        elif self.current is not None and _same(self.current, self.newest_as_is):
            newest = "that is also the newest it could have as it is"
        else:
            newest = f"the newest it could have as it is: {_label(self.newest_as_is)}"
        return [f"The environment {has}; {newest}."]


def _label(record: RepoDataRecord) -> str:
    return f"{record.name.normalized} {record.version} ({record.build})"


def _record_json(record: RepoDataRecord | None) -> dict[str, Any] | None:
    return None if record is None else record_to_json(record)


def _render_present(answer: WhyNot) -> list[str]:
    return [f"{answer.spec} is possible: the environment already has it. Nothing to change."]


def _render_possible(answer: WhyNot) -> list[str]:
    lines = [f"{answer.spec} is possible. To get it: {answer.command}", ""]
    assert answer.transaction is not None
    lines.append(render_plan(answer.transaction, location=answer.location, added=[answer.spec]))
    return lines


def _render_blocked(answer: WhyNot) -> list[str]:
    lines = [f"{answer.spec} is not possible in this environment."]
    if answer.chains:
        lines.extend(["", "How it is kept out (each step: package, the spec asking for it):"])
        lines.extend(f"  {chain.render()}" for chain in answer.chains)
    elif answer.engine_message:  # the engine's report gave no chains: it is the chain
        report = answer.engine_message.rstrip().splitlines()
        cut = len(report) - ENGINE_REPORT_LINES
        lines.extend(["", f"How it is kept out (the {answer.engine} engine's report):"])
        lines.extend(f"  {line}" for line in report[:ENGINE_REPORT_LINES])
        if cut > 0:
            lines.append(f"  ... ({cut} more lines: --json has it as engine_message)")
    if answer.culprits:
        lines.extend(["", f"What in your setup keeps {answer.spec} out, and what to change:"])
        lines.extend(f"  - {culprit.render()}" for culprit in answer.culprits)
    else:
        lines.extend(["", "Nothing in your setup takes part: the packages themselves conflict."])
    if answer.ways_out:
        lines.extend(["", "Each change tried alone (one solve each):"])
        lines.extend(f"  - {way.render()}" for way in answer.ways_out)
    return lines


def _render_unavailable(answer: WhyNot) -> list[str]:
    lines = [f"Nothing to change: no channel has a record matching {answer.spec}."]
    if answer.available:
        lines.append(f"The channels have {answer.name} {', '.join(answer.available)}.")
    if answer.suggestions:
        lines.append(
            f"No channel lists {answer.name}; did you mean {', '.join(answer.suggestions)}?"
        )
    return lines


_VERDICT_RENDERERS: dict[str, Callable[[WhyNot], list[str]]] = {
    "present": _render_present,
    "possible": _render_possible,
    "blocked": _render_blocked,
    "unavailable": _render_unavailable,
}


def print_why_not(answer: WhyNot, *, as_json: bool) -> int:
    """Print ``answer`` (text or JSON) on stdout; the exit status."""
    print(json.dumps(answer.to_json(), indent=2) if as_json else answer.render())
    return answer.exit_code


def standalone_command(
    specs: Sequence[str],
    *,
    prefix: str | None = None,
    locked: str | None = None,
    channels: Sequence[str] = (),
    ignore_pinned: bool = False,
) -> str:
    """The command that gets ``specs`` for the standalone CLI: ``conda install -p PREFIX
    SPEC...`` for a conda prefix (``--no-pin``, conda's flag, when the answer was asked
    with ``--ignore-pinned``), else the CLI's solve of the request with SPEC added
    (writing the lockfile back, for a ``--locked`` one)."""
    quoted = " ".join(shlex.quote(spec) for spec in specs)
    if prefix:
        no_pin = " --no-pin" if ignore_pinned else ""
        return f"conda install -p {shlex.quote(str(prefix))}{no_pin} {quoted}"
    given = "".join(f" -c {shlex.quote(channel)}" for channel in channels)
    command = f"conda-solver-plus solve {quoted}{given}"
    if ignore_pinned:
        command += " --ignore-pinned"
    if locked:
        command += f" --locked {shlex.quote(str(locked))} --lock-out {shlex.quote(str(locked))}"
    return command


# -- the analysis ------------------------------------------------------------------------


def parse_target(text: str) -> MatchSpec:
    """``SPEC`` of ``why-not``: a match spec of a package channels serve (not a virtual
    package, which describes the machine, nor a glob)."""
    spec = parse_spec(text, "why-not SPEC")
    name = spec_name(spec)
    if name.startswith("__"):
        raise InvalidInputError(
            f"why-not {text}",
            f"{name} is a virtual package: it describes the machine, no channel has it",
            f"set CONDA_OVERRIDE_{name[2:].upper()}=<version> to solve for another machine",
        )
    if "*" in name:
        raise InvalidInputError(
            f"why-not {text}", "the package name is a glob", "name one package"
        )
    return spec


def why_not(
    target: str,
    sis: SolverInputState,
    index: Index,
    session: SolveSession,
    *,
    install_command: Callable[[Sequence[str]], str],
    location: str = "",
) -> WhyNot:
    """The answer to ``why-not target`` for the environment ``sis`` describes, on
    ``index`` with ``session``'s engine (the three solves of the module docstring).
    ``install_command(specs)`` spells the command that installs ``specs``; ``location``
    names the environment in the package plan."""
    if sis.is_removing:
        raise InvalidInputError("why-not", "asks about an install", "drop --remove")
    spec = bind_spec_channel(parse_target(target), index)
    name = spec_name(spec)
    baseline = session.solve(sis, index)  # no environment to ask about: its error stands
    before = {record.name.normalized: record for record in baseline.current_solution}
    answer = WhyNot(target, name, session.backend.name, current=before.get(name))
    answer.location = location or str(sis.prefix or "(the environment of the request)")
    if not matching_records(index, spec):
        return _unavailable(answer, index, lambda: newest_as_is(sis, before, name, index, session))
    answer.newest_as_is = newest_as_is(sis, before, name, index, session)
    if answer.current is not None and spec.matches(answer.current):
        answer.verdict = "present"
        return answer
    if _blocked_by_request(answer, sis, spec, index):
        return answer
    _history_note(answer, sis, matching_records(index, spec))
    _solve_with_spec(answer, sis, spec, before, index, session, install_command)
    if answer.verdict == "blocked":
        answer.ways_out = ways_out(answer, sis, spec, index, session, install_command)
    return answer


def _solve_with_spec(
    answer: WhyNot,
    sis: SolverInputState,
    spec: MatchSpec,
    before: dict[str, RepoDataRecord],
    index: Index,
    session: SolveSession,
    install_command: Callable[[Sequence[str]], str],
) -> None:
    """Step 2: the request with SPEC added. Its answer is the transaction from
    ``before``; its failure, what keeps SPEC out."""
    try:
        after = session.solve(_with_requested(sis, [spec]), index)
    except SpecsConfigurationConflictError as exc:
        _blocked_by_pins(answer, sis, spec, exc, index)
    except UnsatisfiableError as exc:
        answer.chains = list(exc.explanation.chains)
        answer.culprits = list(exc.explanation.culprits)
        answer.engine_message = exc.explanation.engine_message
        _blocked_by_virtual(answer, exc)
    except PackagesNotFoundError as exc:  # e.g. a global exclude-newer cutoff hides them
        answer.verdict = "unavailable"
        answer.notes.append(_one_line(str(exc)))
    else:
        answer.verdict = "possible"
        answer.command = install_command([*(str(s) for s in sis.requested_specs), answer.spec])
        answer.transaction = transaction(before, _by_name(after))


def newest_as_is(
    sis: SolverInputState,
    environment: dict[str, RepoDataRecord],
    name: str,
    index: Index,
    session: SolveSession,
) -> RepoDataRecord | None:
    """The newest record of ``name`` the ``environment`` (name -> record) could have
    without moving any other package: each other record required exactly, ``name``
    requested with the spec that holds it now (the request's, else the history's, else
    the bare name), pins as always. ``None`` when no such solve exists."""
    held = [spec for spec in sis.requested_specs if spec_name(spec) == name]
    if not held and name in sis.history:
        held = [sis.history[name]]
    kept = [
        exact_spec_for(other, str(record.version), str(record.build))
        for other, record in environment.items()
        if other != name
    ]
    state = _with_requested(sis, [*kept, *(held or [MatchSpec(name)])], replace=True)
    try:
        out = session.solve(state, index)
    except SolverPlusError:  # every version of it would move something else
        return None
    return _by_name(out).get(name)


def _with_requested(
    sis: SolverInputState, specs: Sequence[MatchSpec], *, replace: bool = False
) -> SolverInputState:
    """``sis`` with ``specs`` requested too (or, with ``replace``, instead of the
    request): everything else — prefix, history, pins, virtual packages, modifiers — as
    it is. The maps a solve writes to (the installed records take their channel's
    metadata) are copies, so ``sis`` stays as it was."""
    derived = copy.copy(sis)
    derived.installed = sis.installed.copy()
    derived.requested = TrackedMap("requested") if replace else sis.requested.copy()
    derived.requested_specs = [] if replace else list(sis.requested_specs)
    reason = "the environment as it is" if replace else "why-not"
    for spec in specs:
        derived.requested.set(spec_name(spec), spec, reason=reason)
        derived.requested_specs.append(spec)
    return derived


def _by_name(out: SolverOutputState) -> dict[str, RepoDataRecord]:
    return {record.name.normalized: record for record in out.current_solution}


def _same(a: RepoDataRecord, b: RepoDataRecord) -> bool:
    """The same package file (an installed record names its channel with the subdir, the
    channel's own record without it: the name, version, build and subdir decide)."""
    return (a.name, a.version, str(a.build), a.subdir) == (
        b.name,
        b.version,
        str(b.build),
        b.subdir,
    )


def _unavailable(
    answer: WhyNot, index: Index, newest: Callable[[], RepoDataRecord | None]
) -> WhyNot:
    """No channel has a record matching SPEC: the versions there are (and the newest
    the environment could have as it is, ``newest()``), or close names for a name no
    channel lists."""
    answer.verdict = "unavailable"
    versions = versions_available(index, answer.name)
    answer.available = versions[:VERSIONS_SHOWN]
    if versions:
        answer.newest_as_is = newest()
    else:
        answer.suggestions = close_names(answer.name, index)
    return answer


def _blocked_by_request(
    answer: WhyNot, sis: SolverInputState, spec: MatchSpec, index: Index
) -> bool:
    """A requested spec of the same name that no record satisfies together with SPEC
    (``numpy<2`` against ``numpy>=2.1``): the request itself is the culprit."""
    same = [s for s in sis.requested_specs if spec_name(s) == answer.name]
    if not same or any(all(s.matches(r) for s in same) for r in matching_records(index, spec)):
        return False
    wanted = ", ".join(str(s) for s in same)
    partners = tuple(str(s) for s in same)
    answer.chains = [
        ConflictChain((ChainStep(answer.name, (str(spec),)),), "conflict", "", partners)
    ]
    answer.culprits = [
        Culprit(
            "requested",
            answer.name,
            wanted,
            "your request",
            f"no {answer.name} satisfies both {wanted} and {answer.spec}; change or drop {wanted}",
        )
    ]
    return True


def _blocked_by_pins(
    answer: WhyNot,
    sis: SolverInputState,
    spec: MatchSpec,
    error: SpecsConfigurationConflictError,
    index: Index,
) -> None:
    """Pins keep SPEC out (conda's configuration conflict, raised without the engine's
    chains): a pin on SPEC's package itself, or the pins whose dropping would make the
    request solvable. Each becomes a culprit, and a chain from the pinned package through
    its dependency on SPEC's package, read from the pinned records."""
    candidates = matching_records(index, spec)
    own = sis.pinned.get(answer.name)
    if own is not None and (is_name_only(own) or not any(own.matches(r) for r in candidates)):
        names = [answer.name]
    else:
        names = [spec_name(MatchSpec(text, strict=False)) for text in error.pinned_specs]
    for name in dict.fromkeys(names):
        culprit = pin_culprit(name, sis)
        if culprit is None:
            continue
        answer.culprits.append(culprit)
        answer.chains.append(_pin_chain(name, sis.pinned[name], answer.name, spec, index))


def _pin_chain(
    pinned: str, pin: MatchSpec, name: str, spec: MatchSpec, index: Index
) -> ConflictChain:
    """``pandas 2.2.1 (2.2.1) -> numpy >=1.23.5,<2.0a0 [conflicts with numpy>=2.1]``:
    the pinned package's records and what they ask of ``name`` (the pin alone when it is
    on ``name`` itself, or the dependency is further down)."""
    if pinned == name:
        return ConflictChain((ChainStep(name, (str(spec),)),), "conflict", "", (str(pin),))
    records = matching_records(index, pin)
    versions = tuple(dict.fromkeys(str(record.version) for record in records))
    asks = tuple(
        dict.fromkeys(
            dep
            for record in records
            for dep in record.depends
            if spec_name(MatchSpec(dep, strict=False)) == name
        )
    )
    steps = [ChainStep(pinned, (str(pin),), versions)]
    if asks:
        steps.append(ChainStep(name, asks))
    return ConflictChain(tuple(steps), "conflict", "", (str(spec),))


def _blocked_by_virtual(answer: WhyNot, exc: UnsatisfiableError) -> None:
    """Every candidate needs a virtual package this machine lacks: said as a note (the
    culprits name the virtual package already when the chains reach it)."""
    for requested, needs in exc.explanation.virtual_blockers.items():
        if requested == answer.name:
            answer.notes.append(
                f"every {answer.name} matching {answer.spec} needs {', '.join(needs)}, "
                "which this machine does not have"
            )


def _history_note(
    answer: WhyNot, sis: SolverInputState, candidates: Sequence[RepoDataRecord]
) -> None:
    """Installing SPEC replaces the user's earlier request for the package (conda
    records the new spec in the history): worth saying when the old one excludes every
    record matching SPEC (``candidates``)."""
    earlier = sis.history.get(answer.name)
    if earlier is not None and not any(earlier.matches(record) for record in candidates):
        origin = sis.history.reason(answer.name) or "the history"
        answer.notes.append(
            f"{answer.name} was asked for as {earlier} earlier ({origin}); installing "
            f"{answer.spec} replaces that request"
        )


# -- what to change ----------------------------------------------------------------------

#: at most this many changes are tried (one solve each)
MAX_WAYS_OUT = 6


def ways_out(
    answer: WhyNot,
    sis: SolverInputState,
    spec: MatchSpec,
    index: Index,
    session: SolveSession,
    install_command: Callable[[Sequence[str]], str],
) -> list[WayOut]:
    """Each change a culprit of ``answer`` stands for, tried alone: the request with SPEC
    solved once more without that pin, with the history's (or python's installed) hold
    lifted by requesting the package too, without ``--freeze-installed``, without one
    requested spec, or with flexible channel priority. A virtual package is left to the
    culprit's hint: which version the machine should have is not the solver's guess."""
    found: dict[str, WayOut] = {}  # by change: python's history and its hold are one
    for culprit in answer.culprits:
        for change in _relaxations(culprit, sis, spec, answer.spec, install_command, session):
            if len(found) == MAX_WAYS_OUT:
                return list(found.values())
            if change.text not in found:
                enough = _solves(change.state, index, change.session or session)
                found[change.text] = WayOut(culprit.kind, change.name, change.text, enough)
    return list(found.values())


@dataclass(frozen=True)
class _Relaxation:
    """One change to try: the package it is about, what the user does, the request with
    SPEC after it, and the session to solve it with when the change is a setting."""

    name: str
    text: str
    state: SolverInputState
    session: SolveSession | None = None


def _relaxations(
    culprit: Culprit,
    sis: SolverInputState,
    spec: MatchSpec,
    target: str,
    install_command: Callable[[Sequence[str]], str],
    session: SolveSession,
) -> list[_Relaxation]:
    """The changes ``culprit`` suggests, each with the request with ``spec`` (SPEC,
    ``target`` as the user wrote it) after that change."""
    with_spec = _with_requested(sis, [spec])
    name = culprit.name
    if culprit.kind == "pinned":
        state = copy.copy(with_spec)
        state.pinned = _without(sis.pinned, name)
        return [_Relaxation(name, f"remove the pin {culprit.spec} ({culprit.origin})", state)]
    if culprit.kind in ("history", "installed"):
        specs = [*(str(s) for s in sis.requested_specs), target, name]
        text = f"request {name} too, which lifts {culprit.spec}: {install_command(specs)}"
        return [_Relaxation(name, text, _with_requested(with_spec, [MatchSpec(name)]))]
    if culprit.kind == "frozen":
        state = copy.copy(with_spec)
        state.update_modifier = UpdateModifier.UPDATE_SPECS
        return [_Relaxation(name, "solve without --freeze-installed", state)]
    if culprit.kind == "channel-priority":
        text = "use flexible channel priority (conda: channel_priority: flexible)"
        return [_Relaxation(name, text, with_spec, _flexible(session))]
    if culprit.kind == "requested":
        return [
            _Relaxation(
                other, f"drop {asked} from the request", _without_requested(with_spec, other)
            )
            for other in name.split(", ")
            if other != spec_name(spec)
            for asked in [", ".join(str(s) for s in sis.requested_specs if spec_name(s) == other)]
        ]
    return []


def _flexible(session: SolveSession) -> SolveSession:
    """``session`` with flexible channel priority (the same engine and other settings)."""
    return SolveSession(dataclasses.replace(session.settings, channel_priority="flexible"))


def _without(mapping: TrackedMap, name: str) -> TrackedMap:
    copied = mapping.copy()
    copied.pop(name, None, reason="why-not: tried without it")
    return copied


def _without_requested(sis: SolverInputState, name: str) -> SolverInputState:
    derived = copy.copy(sis)
    derived.requested = _without(sis.requested, name)
    derived.requested_specs = [s for s in sis.requested_specs if spec_name(s) != name]
    return derived


def _solves(state: SolverInputState, index: Index, session: SolveSession) -> bool:
    try:
        session.solve(state, index)
    except SolverPlusError:
        return False
    return True


def _one_line(message: str) -> str:
    return "; ".join(line.strip() for line in message.splitlines() if line.strip())
