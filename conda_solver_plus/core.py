"""
The solve loop: conda's semantics on top of a declarative engine.

conda asks a solver for the *final state* of an environment. Engines answer a simpler
question: "which records satisfy these specs?". This module bridges the two, the way
conda-libmamba-solver does, in three steps:

1. **Translate** the :class:`~.state.SolverInputState` into an
   :class:`~.backends.EngineRequest`. Every installed package is kept (its name is
   required) and its record *locked* (preferred), history specs are required, pins become
   constraints, ``--freeze-installed`` turns locks into *frozen* records, ``python`` is
   held to its installed minor version unless requested, ``update`` forbids downgrades.
2. **Retry** on conflicts: when the engine proves the request unsolvable, the installed
   packages its report names are marked as *conflicts* and released (no longer kept or
   locked) in the next attempt. A last attempt releases every installed package. Only
   when that fails too is the request unsatisfiable.
3. **Post-process** like conda: ``--no-deps``/``--only-deps``, ``--update-deps`` (a second
   solve over the dependency chain), ``--prune``, neutered history specs.

Nothing here imports conda; :mod:`conda_solver_plus.solver` wraps it for conda.
"""

from __future__ import annotations

import datetime
import difflib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from rattler import MatchSpec, RepoDataRecord

from . import features
from .backends import Backend, ChannelPriority, EngineRequest, EngineTimeout, EngineUnsolvable
from .consistency import unmet_dependencies, verify_requested
from .exceptions import (
    PackagesNotFoundError,
    SolverPlusError,
    SolveTimeoutError,
    SpecsConfigurationConflictError,
    UnsatisfiableError,
)
from .exclude_newer import ExcludeNewer, with_policy_applied
from .explain import build_explanation, explain_records
from .index import Index
from .records import dependency_names, dist_str, record_key, record_name, toposort
from .specs import is_name_only, spec_name, strictness
from .state import DepsModifier, SolverInputState, SolverOutputState, UpdateModifier

log = logging.getLogger(__name__)

#: conda-libmamba-solver's cap on conflict-learning attempts
MAX_ATTEMPTS = 10


@dataclass
class SolveOptions:
    channel_priority: ChannelPriority = "strict"
    #: seconds for the whole solve (all attempts); ``None`` is no limit
    timeout: float | None = None
    #: a global cutoff, or conda's whole policy (see :mod:`.exclude_newer`)
    exclude_newer: datetime.datetime | ExcludeNewer | None = None
    add_pip_as_python_dependency: bool = False
    #: where derived files (exclude-newer's filtered repodata) go; default: the user cache
    cache_dir: Path | None = None


def bind_spec_channel(spec: MatchSpec, index: Index) -> MatchSpec:
    """Point ``channel::pkg`` at the loaded channel it names (by name, URL or short name),
    so ``channel-1::numpy`` matches records served from ``file:///.../channel-1``."""
    channel = spec.channel
    if channel is None:
        return spec
    for candidate in (channel.base_url, channel.name or ""):
        ref = index.find_channel(candidate) if candidate else None
        if ref is not None:
            rest = str(MatchSpec(str(spec).partition("::")[2] or str(spec), strict=False))
            if "[channel=" in rest:  # rattler renders URL channels as a bracket
                rest = rest.split("[channel=", 1)[0].strip()
            return MatchSpec(f"{ref.url}/::{rest}", strict=False)
    return spec


def _matching_records(index: Index, spec: MatchSpec) -> list[RepoDataRecord]:
    found: list[RepoDataRecord] = []
    name = spec.name.as_package_name()
    for repo in index.repos:
        # an unknown name loads nothing; no need to list the repo's names (costly at scale)
        for record in repo.sparse.load_records(name):
            if spec.matches(record):
                found.append(record)
    return found


def check_requested_exist(sis: SolverInputState, index: Index, specs: list[MatchSpec]) -> None:
    """conda's PackagesNotFoundError: a requested spec no channel (nor the prefix) has.

    Several specs for one name are merged the way conda merges them (all must hold), so
    ``numpy 1.5*`` with ``numpy 1.6*`` is "not found", not a conflict.
    """
    by_name: dict[str, list[MatchSpec]] = {}
    for spec in specs:
        by_name.setdefault(spec_name(spec), []).append(spec)
    missing: list[str] = []
    suggestions: dict[str, list[str]] = {}
    names = None
    for name, group in by_name.items():
        if name.startswith("__") or "*" in name or features.feature_of(name) is not None:
            continue  # virtual packages, globs and features (mkl@) are not in channels
        candidates = _matching_records(index, group[0])
        installed = sis.installed.get(name)
        if installed is not None:
            candidates.append(installed)
        if any(all(spec.matches(record) for spec in group) for record in candidates):
            continue
        text = ", ".join(str(spec) for spec in group)
        missing.append(text)
        if names is None:
            names = sorted(index.package_names())
        if name not in names:  # a typo, not a missing version: suggest close names
            close = difflib.get_close_matches(name, names, n=3, cutoff=0.75)
            if close:
                suggestions[text] = close
    if missing:
        raise PackagesNotFoundError(
            missing,
            channels=[channel.name for channel in index.channels],
            subdirs=index.subdirs,
            suggestions=suggestions,
        )


def _has_better(index: Index, spec: MatchSpec, installed: RepoDataRecord) -> bool:
    """Is there a record matching ``spec`` with a higher (version, build number) than the
    installed one? libsolv's update job only moves when there is."""
    current = (installed.version, installed.build_number)
    return any(
        (record.version, record.build_number) > current
        for record in _matching_records(index, spec)
    )


def _channel_rank(index: Index, record: RepoDataRecord) -> int | None:
    channel = index.channel_for_url(record.url)
    # members of one multichannel share a rank: none is "higher" than another
    return None if channel is None else index.priority_rank(channel)


def _higher_channel_has(
    index: Index, spec: MatchSpec, installed: RepoDataRecord, channel_priority: str
) -> bool:
    """Does a channel of higher priority than the installed record's offer ``spec``?
    conda ranks channel priority above "keep what is installed" for requested packages,
    so re-requesting a package after reordering channels moves it to the first channel."""
    if channel_priority == "disabled":
        return False
    current = _channel_rank(index, installed)
    if current is None:
        return False
    for record in _matching_records(index, spec):
        rank = _channel_rank(index, record)
        if rank is not None and rank < current:
            return True
    return False


def check_pins(sis: SolverInputState, index: Index) -> None:
    """A request that contradicts a pin fails before solving, naming both
    (conda's SpecsConfigurationConflictError)."""
    for name in set(sis.requested).intersection(sis.pinned):
        requested = sis.requested[name]
        pin = sis.pinned[name]
        installed = sis.installed.get(name)
        if is_name_only(pin):
            conflict = installed is not None and not requested.matches(installed)
        else:
            conflict = not any(pin.matches(r) for r in _matching_records(index, requested))
        if conflict:
            pinned_specs = []
            for pin_name, pin_spec in sorted(sis.pinned.items()):
                if is_name_only(pin_spec) and pin_name in sis.installed:
                    record = sis.installed[pin_name]
                    pinned_specs.append(f"{pin_name}=={record.version}={record.build}")
                else:
                    pinned_specs.append(str(pin_spec))
            raise SpecsConfigurationConflictError(
                sorted(str(s) for s in sis.requested.values()),
                pinned_specs,
                origin=sis.pinned.reason(name) or "",
            )


def build_request(
    sis: SolverInputState, out: SolverOutputState, index: Index, options: SolveOptions
) -> EngineRequest:
    """Phrase conda's rules as one declarative engine request (recorded in ``out``)."""
    out.reset_request()
    specs: list[MatchSpec] = []

    def require(name: str, spec: MatchSpec, reason: str) -> None:
        spec = bind_spec_channel(spec, index)
        specs.append(spec)
        out.specs.set(name, spec, reason=reason, overwrite=False)

    if sis.is_removing:
        _build_remove_request(sis, out, require)
    else:
        _build_install_request(sis, out, index, require, options.channel_priority)

    request = EngineRequest(
        specs=specs,
        constraints=list(out.constraints.values()),
        locked=list(out.locked.values()),
        pinned=list(out.frozen.values()),
        installed=list(sis.installed.values()),
        virtual_packages=list(sis.virtual.values()),
        channel_priority=options.channel_priority,
        timeout=options.timeout,
        exclude_newer=options.exclude_newer,
        add_pip_as_python_dependency=options.add_pip_as_python_dependency,
    )
    return request


def python_minor(record: RepoDataRecord) -> str:
    """``3.12`` for python ``3.12.4``: the part conda keeps unless python is requested."""
    return ".".join(str(record.version).split(".")[:2])


def _hold_python_minor(out: SolverOutputState, installed: RepoDataRecord) -> None:
    out.constraints.set(
        "python",
        MatchSpec(f"python {python_minor(installed)}.*", strict=False),
        reason="python keeps its minor version unless requested",
        overwrite=False,
    )


def _build_install_request(
    sis: SolverInputState,
    out: SolverOutputState,
    index: Index,
    require,
    channel_priority: ChannelPriority = "strict",
) -> None:
    always_update = sis.always_update
    installed_python = sis.installed.get("python")
    requested_python = sis.requested.get("python")
    # python is requested and may move: packages built for the installed python must be
    # free to follow it (a newer python is the point of `conda update python`)
    python_may_change = bool(
        installed_python
        and requested_python
        and (
            not requested_python.matches(installed_python)
            or _has_better(index, requested_python, installed_python)
        )
    )

    def follows_python(record: RepoDataRecord) -> bool:
        depends_on_python = any(d in ("python", "python_abi") for d in dependency_names(record))
        return python_may_change and depends_on_python and record.noarch is None

    for spec in sis.requested_specs:
        require(spec_name(spec), spec, "requested")
    removed = _names_to_remove(sis, sis.also_remove)
    for name in removed:
        out.constraints.set(
            name, MatchSpec(f"{name} <0.0.0dev0", strict=False), reason="requested removal"
        )

    # libsolv's "update" job cleans dependencies: installed packages that only served a
    # package being updated (requested or always-update) may go if nothing needs them
    # anymore. They stay preferred (locked) but are not required.
    user_installed = {*sis.history, *sis.aggressive_updates, *sis.pinned, *sis.do_not_remove}
    updated = [n for n in (*sis.requested, *always_update) if n in sis.installed]
    cleanable = _ancestors(dict(sis.installed.items()), updated) - user_installed - set(updated)

    names = dict.fromkeys(
        [*sis.requested, *sis.pinned, *sis.history, *sis.aggressive_updates, *sis.installed]
    )
    for name in names:
        if "*" in name or name.startswith("__") or name in removed:
            continue
        installed = sis.installed.get(name)
        requested = sis.requested.get(name)
        history = sis.history.get(name)
        pinned = sis.pinned.get(name)
        conflicting = name in out.conflicts

        if pinned is not None and not is_name_only(pinned):
            out.constraints.set(name, pinned, reason=f"pinned ({sis.pinned.reason(name)})")
        if sis.is_updating and installed is not None and not requested:
            out.constraints.set(
                f"{name} (no downgrade)",
                MatchSpec(f"{name} >={installed.version}", strict=False),
                reason="conda update never downgrades",
            )
        if requested is not None:
            # requested packages float to the best version, but like libsolv's update job
            # an installed one that is already the best stays (no pointless reinstall)
            if (
                installed is not None
                and not conflicting
                and not _has_better(index, requested, installed)
                and not _higher_channel_has(index, requested, installed, channel_priority)
            ):
                out.locked.set(name, installed, reason="requested, installed is the newest")
            continue
        if name in always_update:
            # `update --all` updates what the user asked for (the history) and lets
            # dependencies nobody needs anymore go; without a history every installed
            # package counts as asked for
            update_all = sis.update_modifier is UpdateModifier.UPDATE_ALL
            only_a_dependency = (
                update_all
                and bool(sis.history)
                and name not in user_installed
                and name not in sis.aggressive_updates
            )
            if not (update_all and conflicting and not history) and not only_a_dependency:
                require(name, MatchSpec(name), always_update.reason(name) or "always update")
            if installed is not None and not conflicting:
                # an update job never downgrades and keeps what is already the newest
                if _has_better(index, MatchSpec(name), installed):
                    out.constraints.set(
                        f"{name} (no downgrade)",
                        MatchSpec(f"{name} >={installed.version}", strict=False),
                        reason="updates never downgrade",
                        overwrite=False,
                    )
                elif not follows_python(installed):
                    out.locked.set(name, installed, reason="always update; already the newest")
            if name == "python" and installed is not None and pinned is None:
                _hold_python_minor(out, installed)
            continue
        if sis.prune:
            # --prune solves the request as if from scratch (conda ignores history and
            # the installed state), so whatever the request no longer needs goes
            continue
        if installed is None:
            if history is not None:
                require(name, history, f"history ({sis.history.reason(name)})")
            continue
        if name == "python" and pinned is None:
            _hold_python_minor(out, installed)
        if history is not None:
            if conflicting and removed:
                continue  # may have to go with what the request removes
            if conflicting and strictness(history) == 3:
                relaxed = _neuter(name, history)
                require(name, relaxed, f"history {history} relaxed after a conflict")
            else:
                require(name, history, f"history ({sis.history.reason(name)})")
                if not conflicting:
                    out.locked.set(name, installed, reason="installed, in history")
            continue
        if conflicting and name not in sis.do_not_remove:
            continue  # released: the engine may change or drop it
        if name in cleanable:
            if not conflicting:
                out.locked.set(name, installed, reason="dependency of an updated package")
            continue
        require(name, MatchSpec(name), "installed (kept)")
        freeze = sis.update_modifier is UpdateModifier.FREEZE_INSTALLED and not conflicting
        if pinned is not None and is_name_only(pinned):
            freeze = True
        if follows_python(installed):
            continue  # must follow python to its new version
        if freeze:
            out.frozen.set(name, installed, reason="frozen (--freeze-installed or name-only pin)")
        elif not conflicting:
            out.locked.set(name, installed, reason="installed (prefer current version)")


def _names_to_remove(sis: SolverInputState, specs) -> set[str]:
    """Installed names a removal request covers (``name*`` globs expand; removing a
    legacy feature removes the packages tracking it)."""
    remove: set[str] = set()
    for name, spec in specs.items():
        feature = features.feature_of(name)
        if feature is not None:
            remove.add(name)
            remove.update(
                n for n, r in sis.installed.items() if feature in features.tracked_features(r)
            )
        elif "*" in name:
            remove.update(n for n, r in sis.installed.items() if spec.matches(r))
        else:
            remove.add(name)
    return remove


def _dependents(installed: dict[str, RepoDataRecord], names: set[str]) -> set[str]:
    """Installed names that need one of ``names``, directly or through others."""
    needs = {name: set(dependency_names(record)) for name, record in installed.items()}
    found: set[str] = set()
    todo = set(names)
    while todo:
        todo = {name for name, deps in needs.items() if deps & todo and name not in found}
        found |= todo
    return found - names


def _build_remove_request(sis: SolverInputState, out: SolverOutputState, require) -> None:
    remove = _names_to_remove(sis, sis.requested)
    # like conda (PrefixGraph.remove_spec), what needs a removed package goes with it,
    # history spec included; the rest of the history stays required
    remove |= _dependents(dict(sis.installed.items()), remove)
    for name in remove:
        out.constraints.set(
            name, MatchSpec(f"{name} <0.0.0dev0", strict=False), reason="requested removal"
        )
    for name, installed in sis.installed.items():
        if name in remove or name.startswith("__"):
            continue
        pinned = sis.pinned.get(name)
        if pinned is not None and not is_name_only(pinned):
            out.constraints.set(name, pinned, reason=f"pinned ({sis.pinned.reason(name)})")
        conflicting = name in out.conflicts
        if pinned is not None and is_name_only(pinned) and not conflicting:
            out.frozen.set(name, installed, reason="name-only pin")
        if name in sis.aggressive_updates:
            require(name, MatchSpec(name), "aggressive update")
        elif not conflicting:
            history = sis.history.get(name)
            if history is not None:
                require(name, history, f"history ({sis.history.reason(name)})")
            elif name in sis.do_not_remove:
                require(name, MatchSpec(name), "never removed implicitly")
            out.locked.set(name, installed, reason="installed")


def _neuter(name: str, spec: MatchSpec) -> MatchSpec:
    version = str(spec.version or "")
    if version.startswith("=="):
        text = f"{name} {version[2:]}"
    elif version.startswith(("!=", ">", "<")):
        text = f"{name} {version}"
    elif version:
        text = f"{name} {version}.*" if not version.endswith("*") else f"{name} {version}"
    else:
        text = name
    return MatchSpec(text, strict=False)


def _learn_conflicts(
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


def _run_engine(
    backend: Backend,
    index: Index,
    sis: SolverInputState,
    out: SolverOutputState,
    options: SolveOptions,
) -> list[RepoDataRecord]:
    started = time.monotonic()

    def attempt() -> list[RepoDataRecord]:
        out.attempts += 1
        request = build_request(sis, out, index, options)
        if options.timeout:
            # one time limit for the whole solve, not one per attempt
            request.timeout = max(0.01, options.timeout - (time.monotonic() - started))
        try:
            return features.solve(backend, index, request, options.cache_dir)
        except EngineTimeout:
            raise SolveTimeoutError(
                [str(s) for s in sis.requested_specs],
                time.monotonic() - started,
                options.timeout or 0,
                engine=getattr(backend, "name", ""),
            ) from None

    last_error: EngineUnsolvable | None = None
    for _ in range(max(1, min(len(sis.installed), MAX_ATTEMPTS))):
        try:
            return attempt()
        except EngineUnsolvable as error:
            last_error = error
            log.info("attempt %d failed:\n%s", out.attempts, error.message)
            if not _learn_conflicts(sis, out, error):
                break  # nothing new to release: go to the last attempt
    unreleased = [name for name in sis.installed if name not in out.conflicts]
    if unreleased:
        for name in unreleased:
            out.conflicts.set(name, out.frozen_spec(name), reason="last attempt: release all")
        try:
            return attempt()
        except EngineUnsolvable as error:
            last_error = error
    assert last_error is not None
    _raise_for_pins(last_error, sis, out, index, backend, options)
    _raise_for(last_error, sis, out, index, options)
    raise AssertionError("unreachable")


def _raise_for_pins(
    error: EngineUnsolvable,
    sis: SolverInputState,
    out: SolverOutputState,
    index: Index,
    backend: Backend,
    options: SolveOptions,
) -> None:
    """conda reports a request that only fails because of pins as a configuration
    conflict (SpecsConfigurationConflictError) naming the pins, not as unsatisfiable.
    The pins named in the engine's report are dropped for one more attempt; if that
    solves, those pins are the cause."""
    pins = {name for name in error.names if name in sis.pinned}
    if not pins or sis.is_removing:
        return
    request = build_request(sis, out, index, options)
    request.constraints = [
        spec for key, spec in out.constraints.items() if key.split()[0] not in pins
    ]
    request.pinned = [record for name, record in out.frozen.items() if name not in pins]
    try:
        features.solve(backend, index, request, options.cache_dir)
    except (EngineUnsolvable, EngineTimeout):
        return
    raise SpecsConfigurationConflictError(
        sorted(str(s) for s in sis.requested_specs),
        sorted(str(sis.pinned[name]) for name in pins),
        origin=", ".join(sorted({sis.pinned.reason(name) or "" for name in pins})),
    )


def _raise_for(
    error: EngineUnsolvable,
    sis: SolverInputState,
    out: SolverOutputState,
    index: Index,
    options: SolveOptions,
) -> None:
    requested_names = {spec_name(s) for s in sis.requested_specs}
    missing_requested = [m for m in error.missing if m.split()[0].lower() in requested_names]
    if missing_requested and len(missing_requested) == len(error.missing):
        raise PackagesNotFoundError(
            missing_requested,
            channels=[c.name for c in index.channels],
            subdirs=index.subdirs,
        )
    explanation = build_explanation(error, sis, out, index, options.channel_priority)
    raise UnsatisfiableError(explanation, [str(s) for s in sis.requested_specs])


def _explain_records(sis: SolverInputState, out: SolverOutputState) -> None:
    """Fill ``out.why``: requested, or a dependency of which record (see
    :func:`~conda_solver_plus.explain.explain_records`)."""
    out.why = explain_records(sis, out)


def solve(
    sis: SolverInputState,
    index: Index,
    backend: Backend,
    options: SolveOptions | None = None,
) -> SolverOutputState:
    """Solve the final state for ``sis`` on ``index`` with ``backend``."""
    options = options or SolveOptions()
    # per-channel/per-package cutoffs become a filtered index, a global one stays native
    index, options = with_policy_applied(
        index, options, options.cache_dir, kept=sis.installed.values()
    )
    out = SolverOutputState(sis)
    early = out.early_exit()
    if early is not None:
        _explain_records(sis, out)
        return out
    if not sis.is_removing:
        bound = [bind_spec_channel(spec, index) for spec in sis.requested_specs]
        check_requested_exist(sis, index, bound)
        check_pins(sis, index)

    out.engine = backend.name
    records = _run_engine(backend, index, sis, out, options)
    out.records.clear(reason="replaced by solution")
    for record in records:
        name = record_name(record)
        if name.startswith("__"):
            continue
        out.records.set(name, record, reason=f"solution (attempt {out.attempts})")
    _post_solve(sis, out, index, backend, options)
    out.held_back = _held_back(sis, out, index)
    out.neuter_history()
    _explain_records(sis, out)
    if verify_requested() and sis.deps_modifier is not DepsModifier.NO_DEPS:
        _verify_consistent(sis, out)
    return out


def _verify_consistent(sis: SolverInputState, out: SolverOutputState) -> None:
    """Fail loudly on an answer whose packages lack a dependency (an engine-integration
    bug, never the user's doing); only with ``CONDA_SOLVER_PLUS_VERIFY``."""
    unmet = unmet_dependencies(out.records.values(), sis.virtual.values())
    if unmet:
        listed = "; ".join(f"{dist_str(record)} needs {dep}" for record, dep in unmet[:10])
        raise SolverPlusError(f"internal error: inconsistent solution ({listed})")


def _held_back(sis: SolverInputState, out: SolverOutputState, index: Index) -> dict[str, str]:
    """Requested packages an ordinary install left at their installed version although
    a newer one exists: conda tells the user which installed packages hold them back."""
    if sis.is_removing or sis.update_modifier is not UpdateModifier.UPDATE_SPECS:
        return {}
    held: dict[str, str] = {}
    for name in sis.requested:
        installed = sis.installed.get(name)
        final = out.records.get(name)
        if name.startswith("__") or installed is None or final is None:
            continue
        if final.version != installed.version:
            continue
        newest = max(
            (record.version for record in _matching_records(index, MatchSpec(name))),
            default=None,
        )
        if newest is not None and newest > installed.version:
            held[name] = str(newest)
    return held


def _post_solve(
    sis: SolverInputState,
    out: SolverOutputState,
    index: Index,
    backend: Backend,
    options: SolveOptions,
) -> None:
    if sis.deps_modifier is DepsModifier.NO_DEPS:
        # keep the installed state and change only what matches the request
        solved = dict(out.records.items())
        out.records.clear(reason="--no-deps: start from installed")
        out.records.update(sis.installed, reason="installed (--no-deps)")
        for name, spec in sis.requested.items():
            if sis.is_removing:
                out.records.pop(name, None, reason="removed (--no-deps)")
            elif name in solved and spec.matches(solved[name]):
                out.records.set(name, solved[name], reason="requested (--no-deps)")
    elif (
        sis.deps_modifier is DepsModifier.ONLY_DEPS
        and sis.update_modifier is not UpdateModifier.UPDATE_DEPS
        and not sis.is_removing
    ):
        # conda removes the *youngest* records matching the request (nothing depends on
        # them): `--only-deps python=3 flask` drops flask but keeps python
        records = dict(out.records.items())
        depended_on = set()
        for record in records.values():
            depended_on.update(dependency_names(record))
        for name, spec in sis.requested.items():
            record = records.get(name)
            if record is None or name in depended_on or not spec.matches(record):
                continue
            for dep in record.depends:
                dep_spec = MatchSpec(dep, strict=False)
                if spec_name(dep_spec) not in out.specs:
                    out.for_history.set(
                        spec_name(dep_spec), dep_spec, reason=f"dependency of {name} (--only-deps)"
                    )
            out.for_history.pop(name, None, reason="--only-deps")
            if name in sis.installed:
                out.records.set(name, sis.installed[name], reason="--only-deps keeps installed")
            else:
                out.records.pop(name, None, reason="--only-deps")
    elif sis.update_modifier is UpdateModifier.UPDATE_DEPS and not sis.is_removing:
        _update_deps(sis, out, index, backend, options)

    if sis.prune:
        _prune(sis, out)


def _ancestors(records: dict[str, RepoDataRecord], roots: list[str]) -> set[str]:
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        name = stack.pop()
        record = records.get(name)
        if record is None:
            continue
        for dep in dependency_names(record):
            if dep in records and dep not in seen:
                seen.add(dep)
                stack.append(dep)
    return seen


def _update_deps(
    sis: SolverInputState,
    out: SolverOutputState,
    index: Index,
    backend: Backend,
    options: SolveOptions,
) -> None:
    """``--update-deps``: solve again, requesting every dependency of the requested
    packages by name (python held to its minor version), like conda does."""
    records = dict(out.records.items())
    names = _ancestors(records, list(sis.requested))
    new_specs: dict[str, MatchSpec] = {}
    for name in sorted(names):
        if name in sis.pinned:
            continue
        if name == "python" and "python" in sis.installed:
            minor = python_minor(sis.installed["python"])
            new_specs[name] = MatchSpec(f"python {minor}.*", strict=False)
        else:
            new_specs[name] = MatchSpec(name)
    new_specs.update(sis.requested)
    second = SolverInputState(
        sis.prefix,
        list(new_specs.values()),
        command=sis.command,
        update_modifier=UpdateModifier.UPDATE_SPECS,
        deps_modifier=sis.deps_modifier,
        virtual_packages=sis.virtual,
        ignore_pinned=sis.ignore_pinned,
        installed=dict(sis.installed.items()),
        history={k: v for k, v in sis.history.items()},
        pinned_packages=[s for s in sis.pinned.values()],
    )
    result = solve(second, index, backend, options)
    out.records.clear(reason="--update-deps second solve")
    out.records.update(result.records, reason="--update-deps second solve")
    out.for_history.clear(reason="--update-deps")
    out.for_history.update(new_specs, reason="--update-deps: dependency chain")


def _prune(sis: SolverInputState, out: SolverOutputState) -> None:
    roots = [n for n in out.records if n in sis.requested or n in sis.pinned]
    keep = set(roots) | _ancestors(dict(out.records.items()), roots)
    for name in list(out.records):
        if name not in keep:
            out.records.pop(name, reason="--prune: nothing needs it")


def transaction_diff(
    sis: SolverInputState, final: list[RepoDataRecord]
) -> tuple[list[RepoDataRecord], list[RepoDataRecord]]:
    """conda's ``solve_for_diff``: (records to unlink, records to link), unlinks in reverse
    dependency order, links in dependency order. ``--force-reinstall`` relinks requested
    packages; a python minor-version change relinks every ``noarch: python`` package."""

    key = record_key
    previous = toposort(sis.installed.values())
    final = toposort(final)
    previous_keys = {key(r): r for r in previous}
    final_keys = {key(r): r for r in final}
    unlink = {k for k in previous_keys if k not in final_keys}
    link = {k for k in final_keys if k not in previous_keys}

    def relink(record: RepoDataRecord) -> None:
        link.add(key(record))
        if key(record) in previous_keys:
            unlink.add(key(record))

    if sis.force_reinstall:
        for spec in sis.requested_specs:
            match = next((r for r in final if spec.matches(r)), None)
            if match is not None:
                relink(match)
    old_python = next((r for r in previous if record_name(r) == "python"), None)
    new_python = next((r for r in final if record_name(r) == "python"), None)

    if old_python and new_python and python_minor(old_python) != python_minor(new_python):
        for record in final:
            if record.noarch is not None and record.noarch.python:
                relink(record)
    previous_order = [key(r) for r in previous]
    final_order = [key(r) for r in final]
    unlink_list = [previous_keys[k] for k in reversed(previous_order) if k in unlink]
    link_list = [final_keys[k] for k in final_order if k in link]
    return unlink_list, link_list
