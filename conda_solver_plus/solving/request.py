"""
conda's rules, phrased as one declarative engine request.

conda asks a solver for the *final state* of an environment; an engine answers "which
records satisfy these specs?". :func:`build_request` bridges the two: it reads the
:class:`~conda_solver_plus.state.SolverInputState` (what was asked, what the prefix says)
and writes an :class:`~conda_solver_plus.backends.EngineRequest`, recording every choice
with its reason in the :class:`~conda_solver_plus.state.SolverOutputState` (which is what
``explain`` prints). The request has four parts:

- **specs** — names that must be in the result, each with its spec;
- **constraints** — conditions on a name *if* it is in the result (pins, no-downgrade,
  python's minor version, removals);
- **locked** records — installed records the engine should prefer;
- **frozen** records (``EngineRequest.pinned``) — installed records that must not change.

Each conda rule is one function below, named for what it does and documented with the
rule it implements:

====================================  ==================================================
rule                                  function
====================================  ==================================================
requested specs                       :func:`require_requested`
removal (``remove``, ``--remove``)    :func:`forbid_removed`, :func:`keep_on_removal`
pins                                  :func:`constrain_pinned`
``conda update`` never downgrades     :func:`never_downgrade_on_update`
requested packages float              :func:`float_requested`
aggressive updates, ``--update-all``  :func:`update_always`
``--prune``                           :func:`prune_from_scratch`
history is honoured                   :func:`keep_history`
python keeps its minor version        :func:`hold_python_minor`
installed packages are kept/frozen    :func:`keep_installed`
====================================  ==================================================

The deps modifiers (``--no-deps``, ``--only-deps``) and ``--update-deps`` do not change
the request: they act on its answer (:mod:`conda_solver_plus.solving.post`).

The request changes between attempts only through ``out.conflicts``: names the engine
reported in conflict are *released* — no longer kept, locked or frozen — in the next
attempt (:mod:`conda_solver_plus.solving.attempts`).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from rattler import MatchSpec, RepoDataRecord

from ..backends import ChannelPriority, EngineRequest, SolveStrategy
from ..exclude_newer import ExcludeNewer
from ..feature_names import feature_of, tracked_features
from ..records import dependency_closure, dependency_names, dependents
from ..repodata.model import Index
from ..specs import is_name_only, spec_name, strictness
from ..state import SolverInputState, SolverOutputState, TrackedMap, UpdateModifier
from .candidates import has_better, higher_channel_has
from .options import SolveOptions

__all__ = [
    "RequestBuilder",
    "bind_spec_channel",
    "build_request",
    "constrain_pinned",
    "engine_cutoff",
    "float_requested",
    "forbid_removed",
    "hold_python_minor",
    "keep_history",
    "keep_installed",
    "keep_on_removal",
    "names_to_remove",
    "neuter",
    "never_downgrade_on_update",
    "prune_from_scratch",
    "python_minor",
    "require_requested",
    "update_always",
]


def build_request(
    sis: SolverInputState, out: SolverOutputState, index: Index, options: SolveOptions
) -> EngineRequest:
    """Phrase conda's rules as one declarative engine request (recorded in ``out``)."""
    out.reset_request()
    builder = RequestBuilder(sis, out, index, options.channel_priority, options.strategy)
    if sis.is_removing:
        builder.build_remove()
    else:
        builder.build_install()
    return EngineRequest(
        specs=builder.specs,
        constraints=list(out.constraints.values()),
        locked=list(out.locked.values()),
        pinned=list(out.frozen.values()),
        installed=list(sis.installed.values()),
        virtual_packages=list(sis.virtual.values()),
        channel_priority=options.channel_priority,
        timeout=options.timeout,
        exclude_newer=engine_cutoff(options),
        add_pip_as_python_dependency=options.add_pip_as_python_dependency,
        requested_names=_requested_names(sis),
        strategy=options.strategy,
    )


def _requested_names(sis: SolverInputState) -> frozenset[str]:
    """The packages an install asks for (not a removal, not a feature): classic
    maximises their versions first (see :mod:`conda_solver_plus.features`)."""
    if sis.is_removing:
        return frozenset()
    return frozenset(name for name in sis.requested if feature_of(name) is None)


def engine_cutoff(options: SolveOptions) -> datetime.datetime | None:
    """The global exclude-newer cutoff the engine applies itself. The exclude-newer
    transform (:mod:`.transforms`) has turned a policy into that, or into a filtered
    index, before any request is built."""
    cutoff = options.exclude_newer
    if isinstance(cutoff, ExcludeNewer):
        raise ValueError("build_request needs options after the exclude-newer transform")
    return cutoff


@dataclass
class RequestBuilder:
    """One attempt's request under construction: the inputs, the specs required so far
    (in order: engines may break ties by it) and what the install rules share."""

    sis: SolverInputState
    out: SolverOutputState
    index: Index
    channel_priority: ChannelPriority = "strict"
    #: the solve strategy: which versions the engine prefers among those left open
    strategy: SolveStrategy = "highest"
    #: the required specs, in the order the rules required them
    specs: list[MatchSpec] = field(default_factory=list)
    #: installed packages to update on this solve (computed once: it is a derived view)
    always_update: TrackedMap[str, MatchSpec] = field(init=False)
    #: names a removal covers (``remove``, or ``install --remove``)
    removed: set[str] = field(default_factory=set)
    #: names the user put there: history, aggressive updates, pins, never-removed
    user_installed: set[str] = field(default_factory=set)
    #: installed dependencies only an updated package needed (see :func:`_cleanable`)
    cleanable: set[str] = field(default_factory=set)
    #: python is requested and may move to another version
    python_may_change: bool = False

    def __post_init__(self) -> None:
        self.always_update = self.sis.always_update

    def require(self, name: str, spec: MatchSpec, reason: str, source: str | None = None) -> None:
        """Require ``spec`` (bound to a loaded channel); the first reason for a name wins.
        ``source`` is the part of the user's state it comes from as written there
        (``requested``, ``history``), for provenance."""
        spec = bind_spec_channel(spec, self.index)
        self.specs.append(spec)
        self.out.specs.set(name, spec, reason=reason, overwrite=False, source=source)

    def conflicting(self, name: str) -> bool:
        """Did an earlier attempt release ``name``?"""
        return name in self.out.conflicts

    def follows_python(self, record: RepoDataRecord) -> bool:
        """Must ``record`` be free to change because python moves? Packages built for
        one python (not ``noarch``) follow it to its new version."""
        depends_on_python = any(d in ("python", "python_abi") for d in dependency_names(record))
        # py-rattler gives every record a NoArchType; ``none`` is an arch-specific build
        return self.python_may_change and depends_on_python and record.noarch.none

    def build_install(self) -> None:
        """``install``/``update``/``create``: the rules, name by name, in conda's order."""
        sis = self.sis
        self.python_may_change = _python_may_change(self)
        require_requested(self)
        self.removed = names_to_remove(sis, sis.also_remove)
        forbid_removed(self, self.removed)
        self.user_installed = {
            *sis.history,
            *sis.aggressive_updates,
            *sis.pinned,
            *sis.do_not_remove,
        }
        self.cleanable = _cleanable(self)
        names = dict.fromkeys(
            [*sis.requested, *sis.pinned, *sis.history, *sis.aggressive_updates, *sis.installed]
        )
        for name in names:
            if "*" in name or name.startswith("__") or name in self.removed:
                continue
            _install_rules(self, name)

    def build_remove(self) -> None:
        """``remove``: what is removed goes, with what needs it; the rest is kept."""
        sis = self.sis
        remove = names_to_remove(sis, sis.requested)
        # like conda (PrefixGraph.remove_spec), what needs a removed package goes with it,
        # history spec included; the rest of the history stays required
        remove |= dependents(dict(sis.installed.items()), remove)
        forbid_removed(self, remove)
        for name in sis.installed:
            if name in remove or name.startswith("__"):
                continue
            keep_on_removal(self, name)


def _install_rules(b: RequestBuilder, name: str) -> None:
    """The install rules for one name; the first rule that decides the name ends it."""
    constrain_pinned(b, name)
    never_downgrade_on_update(b, name)
    if float_requested(b, name) or update_always(b, name) or prune_from_scratch(b, name):
        return
    if name not in b.sis.installed:
        keep_history(b, name)
        return
    hold_python_minor(b, name)
    if not keep_history(b, name):
        keep_installed(b, name)


def _python_may_change(b: RequestBuilder) -> bool:
    """python is requested and may move: packages built for the installed python must be
    free to follow it (a newer python is the point of ``conda update python``)."""
    installed = b.sis.installed.get("python")
    requested = b.sis.requested.get("python")
    return bool(
        installed
        and requested
        and (not requested.matches(installed) or has_better(b.index, requested, installed))
    )


def _cleanable(b: RequestBuilder) -> set[str]:
    """libsolv's "update" job cleans dependencies: installed packages that only served a
    package being updated (requested or always-update) may go if nothing needs them
    anymore. They stay preferred (locked) but are not required."""
    sis = b.sis
    updated = [n for n in (*sis.requested, *b.always_update) if n in sis.installed]
    reachable = dependency_closure(dict(sis.installed.items()), updated)
    return reachable - b.user_installed - set(updated)


# -- the rules ------------------------------------------------------------------------


def require_requested(b: RequestBuilder) -> None:
    """conda's ``specs_to_add``: every requested spec is required as written."""
    for spec in b.sis.requested_specs:
        b.require(spec_name(spec), spec, "requested", source="requested")


def forbid_removed(b: RequestBuilder, names: set[str]) -> None:
    """``conda remove`` and ``install --remove``: a removed name may not be in the
    result (a constraint no version satisfies)."""
    for name in names:
        b.out.constraints.set(
            name, MatchSpec(f"{name} <0.0.0dev0", strict=False), reason="requested removal"
        )


def constrain_pinned(b: RequestBuilder, name: str) -> None:
    """Pins (``conda-meta/pinned``, ``pinned_packages``) are never violated: a pin with a
    version or build is a constraint. A name-only pin freezes the installed record
    instead (:func:`keep_installed`)."""
    pinned = b.sis.pinned.get(name)
    if pinned is not None and not is_name_only(pinned):
        b.out.constraints.set(name, pinned, reason=f"pinned ({b.sis.pinned.reason(name)})")


def never_downgrade_on_update(b: RequestBuilder, name: str) -> None:
    """``conda update`` never downgrades an installed package it was not asked about."""
    installed = b.sis.installed.get(name)
    if b.sis.is_updating and installed is not None and name not in b.sis.requested:
        b.out.constraints.set(
            f"{name} (no downgrade)",
            MatchSpec(f"{name} >={installed.version}", strict=False),
            reason="conda update never downgrades",
        )


def float_requested(b: RequestBuilder, name: str) -> bool:
    """Requested packages float to the best version, but like libsolv's update job an
    installed one that is already the best (and served by the highest-priority channel
    offering it) stays: no pointless reinstall. Under the ``lowest`` and ``lowest-direct``
    strategies an installed package that meets the request stays too: as in pixi and uv,
    what is installed is preferred under every strategy, and a strategy only chooses the
    versions the solve adds (the request floats only when the installed one does not
    match). True when ``name`` is requested."""
    requested = b.sis.requested.get(name)
    if requested is None:
        return False
    installed = b.sis.installed.get(name)
    if (
        installed is not None
        and b.strategy != "highest"
        and not b.conflicting(name)
        and requested.matches(installed)
    ):
        b.out.locked.set(name, installed, reason=f"requested, installed kept ({b.strategy})")
        return True
    if (
        installed is not None
        and not b.conflicting(name)
        and not has_better(b.index, requested, installed)
        and not higher_channel_has(b.index, requested, installed, b.channel_priority)
    ):
        b.out.locked.set(name, installed, reason="requested, installed is the newest")
    return True


def update_always(b: RequestBuilder, name: str) -> bool:
    """``aggressive_update_packages``, ``auto_update_conda`` and ``--update-all``: the
    package is required by name and updated like libsolv's update job does — never
    downgraded, kept when already the newest. ``update --all`` updates what the user
    asked for (the history) and lets dependencies nobody needs anymore go; without a
    history every installed package counts as asked for. True when it applies."""
    if name not in b.always_update:
        return False
    sis = b.sis
    installed = sis.installed.get(name)
    conflicting = b.conflicting(name)
    update_all = sis.update_modifier is UpdateModifier.UPDATE_ALL
    only_a_dependency = (
        update_all
        and bool(sis.history)
        and name not in b.user_installed
        and name not in sis.aggressive_updates
    )
    released = update_all and conflicting and name not in sis.history
    if not released and not only_a_dependency:
        b.require(name, MatchSpec(name), b.always_update.reason(name) or "always update")
    if installed is not None and not conflicting:
        _update_without_downgrade(b, name, installed)
    hold_python_minor(b, name)
    return True


def _update_without_downgrade(b: RequestBuilder, name: str, installed: RepoDataRecord) -> None:
    """An update job never downgrades and keeps what is already the newest."""
    if has_better(b.index, MatchSpec(name), installed):
        b.out.constraints.set(
            f"{name} (no downgrade)",
            MatchSpec(f"{name} >={installed.version}", strict=False),
            reason="updates never downgrade",
            overwrite=False,
        )
    elif not b.follows_python(installed):
        b.out.locked.set(name, installed, reason="always update; already the newest")


def prune_from_scratch(b: RequestBuilder, name: str) -> bool:
    """``--prune`` solves the request as if from scratch (conda ignores history and the
    installed state), so whatever the request no longer needs goes. True with
    ``--prune``: no further rule keeps ``name``."""
    return b.sis.prune


def python_minor(record: RepoDataRecord) -> str:
    """``3.12`` for python ``3.12.4``: the part conda keeps unless python is requested."""
    return ".".join(str(record.version).split(".")[:2])


def hold_python_minor(b: RequestBuilder, name: str) -> None:
    """python keeps its installed minor version unless it is requested (or pinned: the
    pin decides then)."""
    installed = b.sis.installed.get(name)
    if name != "python" or installed is None or name in b.sis.pinned:
        return
    b.out.constraints.set(
        "python",
        MatchSpec(f"python {python_minor(installed)}.*", strict=False),
        reason="python keeps its minor version unless requested",
        overwrite=False,
    )


def neuter(name: str, spec: MatchSpec) -> MatchSpec:
    """A history spec relaxed to its version alone (conda's neutered spec): what is kept
    of an exact ``name=version=build`` once it took part in a conflict."""
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


def keep_history(b: RequestBuilder, name: str) -> bool:
    """History is honoured: what the user asked for before stays required, with the spec
    they wrote, and its installed record is preferred. After a conflict an exact spec is
    relaxed to its version (:func:`neuter`), and one that may have to go with what the
    request removes is dropped. True when ``name`` has a history spec."""
    sis = b.sis
    history = sis.history.get(name)
    if history is None:
        return False
    installed = sis.installed.get(name)
    conflicting = b.conflicting(name)
    reason = f"history ({sis.history.reason(name)})"
    if installed is None:
        b.require(name, history, reason, source="history")  # asked for, not installed now
    elif conflicting and b.removed:
        pass  # may have to go with what the request removes
    elif conflicting and strictness(history) == 3:
        relaxed = f"history {history} relaxed after a conflict"
        b.require(name, neuter(name, history), relaxed, source="history")
    else:
        b.require(name, history, reason, source="history")
        if not conflicting:
            b.out.locked.set(name, installed, reason="installed, in history")
    return True


def keep_installed(b: RequestBuilder, name: str) -> None:
    """Installed packages are kept unless something forces a change: required by name
    with the installed record preferred (locked), or frozen with ``--freeze-installed``
    or a name-only pin. A package released after a conflict is left to the engine, a
    dependency only an updated package needed may go, and one built for a python that
    moves follows it."""
    installed = b.sis.installed[name]
    conflicting = b.conflicting(name)
    if conflicting and name not in b.sis.do_not_remove:
        return  # released: the engine may change or drop it
    if name in b.cleanable:
        if not conflicting:
            b.out.locked.set(name, installed, reason="dependency of an updated package")
        return
    b.require(name, MatchSpec(name), "installed (kept)")
    pinned = b.sis.pinned.get(name)
    freeze = b.sis.update_modifier is UpdateModifier.FREEZE_INSTALLED and not conflicting
    if pinned is not None and is_name_only(pinned):
        freeze = True
    if b.follows_python(installed):
        return  # must follow python to its new version
    if freeze:
        b.out.frozen.set(name, installed, reason="frozen (--freeze-installed or name-only pin)")
    elif not conflicting:
        b.out.locked.set(name, installed, reason="installed (prefer current version)")


def keep_on_removal(b: RequestBuilder, name: str) -> None:
    """``conda remove`` keeps everything it does not remove: pins still hold (a
    name-only pin freezes), aggressive updates and history stay required, the packages
    that are never removed implicitly stay, and the installed record is preferred."""
    sis = b.sis
    installed = sis.installed[name]
    constrain_pinned(b, name)
    pinned = sis.pinned.get(name)
    conflicting = b.conflicting(name)
    if pinned is not None and is_name_only(pinned) and not conflicting:
        b.out.frozen.set(name, installed, reason="name-only pin")
    if name in sis.aggressive_updates:
        b.require(name, MatchSpec(name), "aggressive update")
    elif not conflicting:
        history = sis.history.get(name)
        if history is not None:
            b.require(name, history, f"history ({sis.history.reason(name)})", source="history")
        elif name in sis.do_not_remove:
            b.require(name, MatchSpec(name), "never removed implicitly")
        b.out.locked.set(name, installed, reason="installed")


def names_to_remove(sis: SolverInputState, specs: TrackedMap[str, MatchSpec]) -> set[str]:
    """Installed names a removal request covers (``name*`` globs expand; removing a
    legacy feature removes the packages tracking it)."""
    remove: set[str] = set()
    for name, spec in specs.items():
        feature = feature_of(name)
        if feature is not None:
            remove.add(name)
            remove.update(n for n, r in sis.installed.items() if feature in tracked_features(r))
        elif "*" in name:
            remove.update(n for n, r in sis.installed.items() if spec.matches(r))
        else:
            remove.add(name)
    return remove


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
