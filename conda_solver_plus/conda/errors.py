"""
plus's errors as conda's exceptions.

The core raises its own, conda-free errors (:mod:`conda_solver_plus.exceptions`); conda
users should see the conda exception of the same meaning, rendered the way conda renders
it, with plus's explanation inside:

========================================= ==============================================
plus                                      conda
========================================= ==============================================
``PackagesNotFoundError``                 ``PackagesNotFoundInChannelsError`` (conda
                                          >= 26; ``PackagesNotFoundError`` before, and
                                          when removing), with "did you mean"
``UnsatisfiableError``                    :class:`PlusUnsatisfiableError`, or conda's
                                          "incompatible with your system" error when
                                          virtual packages block the request
``SpecsConfigurationConflictError``       ``SpecsConfigurationConflictError``
``InvalidInputError``                     ``CondaValueError``
any other ``SolverPlusError``             ``CondaError``
sharded repodata that cannot be read      ``OfflineError`` (offline: a shard not in
(:mod:`.shard_subsets`)                   conda's cache, or damaged), else ``CondaError``
========================================= ==============================================

Every error a solve raises here has ``allow_retry = False``: the core already learnt from
the conflicts, a conda-level retry would only repeat the work. On conda >= 26 the
culprits of an unsatisfiable request become conda's "Next steps" (:func:`attach_guidance`).

conda-build gets its own ``DependencyNeedsBuildingError`` (:func:`conda_build_error`),
the one error it acts on.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from conda.base.context import context
from conda.exceptions import (
    CondaError,
    CondaValueError,
    OfflineError,
    PackagesNotFoundError,
    SpecsConfigurationConflictError,
    UnsatisfiableError,
)
from conda.models.match_spec import MatchSpec

from .. import exceptions as plus_errors
from ..exceptions import CONDA_HINTS_ATTRIBUTE, Explanation


class PlusUnsatisfiableError(UnsatisfiableError):
    """conda's UnsatisfiableError carrying conda-solver-plus's explanation as its text."""

    def __init__(self, message: str, **kwargs: Any) -> None:
        CondaError.__init__(self, str(message), **kwargs)  # skip the classic chain renderer
        self.allow_retry = False


_Error = TypeVar("_Error", bound=CondaError)


def no_retry(error: _Error) -> _Error:
    """``error`` with conda's retry turned off: the core already learnt from the
    conflicts, a conda-level retry would only repeat the work."""
    error.allow_retry = False  # type: ignore[attr-defined]  # read by conda, not declared
    return error


def shards_error(exc: Exception) -> CondaError:
    """conda's error for sharded repodata that cannot be read: ``OfflineError`` when
    offline mode keeps a missing or damaged shard from being fetched, else ``CondaError``;
    the message names the channel, the packages or file, and what to do."""
    if getattr(exc, "offline", False):
        return no_retry(OfflineError(str(exc)))
    return no_retry(CondaError(str(exc)))


def loose_matchspec(text: str) -> MatchSpec:
    """A conda ``MatchSpec`` for a spec as the core prints it: only its first part when
    it is a list (``numpy >=1, <2``) or does not parse whole."""
    try:
        return MatchSpec(text.split(",")[0].strip())
    except Exception:
        return MatchSpec(text.split()[0])


def conda_error(
    exc: plus_errors.SolverPlusError, *, removing: bool, channels: list[str], prefix: str
) -> CondaError:
    """The conda exception for ``exc``, raised by a solve of ``prefix`` over
    ``channels`` (``removing``: ``conda remove``), per the table above."""
    if isinstance(exc, plus_errors.PackagesNotFoundError):
        return _not_found(exc, removing, channels)
    if isinstance(exc, plus_errors.UnsatisfiableError):
        return _unsatisfiable(exc)
    if isinstance(exc, plus_errors.SpecsConfigurationConflictError):
        # sorted text, as conda renders it (its own solvers pass MatchSpecs it str()s)
        requested: Any = sorted(str(MatchSpec(s)) for s in exc.requested_specs)
        pinned: Any = sorted(str(MatchSpec(s)) for s in exc.pinned_specs)
        return no_retry(
            SpecsConfigurationConflictError(
                requested_specs=requested, pinned_specs=pinned, prefix=prefix
            )
        )
    if isinstance(exc, plus_errors.InvalidInputError):
        return CondaValueError(str(exc))
    return CondaError(str(exc))


def _not_found(
    exc: plus_errors.PackagesNotFoundError, removing: bool, channels: list[str]
) -> CondaError:
    """Removing a package that is not installed is conda's plain error; installing one no
    channel has names the channels, with the core's "did you mean"."""
    if removing:
        return no_retry(PackagesNotFoundError([MatchSpec(s) for s in exc.specs]))
    specs = [loose_matchspec(s) for s in exc.specs]
    return no_retry(packages_not_found(specs, channels, exc))


def _unsatisfiable(exc: plus_errors.UnsatisfiableError) -> CondaError:
    """conda's "incompatible with your system" when virtual packages block the request,
    else plus's explanation as the error's text; the culprits as "Next steps"."""
    error: CondaError
    if exc.explanation.virtual_blockers:
        error = no_retry(virtual_package_error(exc.explanation.virtual_blockers))
    else:
        # conda -v: the engine's whole report, as the cut one says; where conda takes the
        # hints through its hook they are its "Next steps", not repeated in the text
        text = exc.explanation.render(
            full_report=context.verbosity > 0, hints=not conda_takes_error_hints()
        )
        error = PlusUnsatisfiableError(text)
    attach_guidance(error, exc.explanation)
    return error


def add_suggestions(error: CondaError, exc: plus_errors.PackagesNotFoundError) -> None:
    """Append the core's "did you mean" and the subdirs searched to conda's
    ``PackagesNotFoundError`` text (conda's message lists only the channels)."""
    lines = []
    for spec, close in getattr(exc, "suggestions", {}).items():
        lines.append(f"  - {spec}: did you mean {', '.join(close)}?")
    if lines:
        lines.insert(0, "\nClose package names in these channels:")
    available = getattr(exc, "available", {})
    if available:
        lines.append("\nVersions these channels have:")
        lines.extend(f"  - {spec}: {', '.join(versions)}" for spec, versions in available.items())
    if getattr(exc, "subdirs", None):
        lines.append(f"\nSubdirs searched: {', '.join(exc.subdirs)}")
    if lines:
        error.message = error.message.rstrip("\n") + "\n" + "\n".join(lines).replace("%", "%%")


def packages_not_found(
    specs: list[MatchSpec], channels: list[str], exc: plus_errors.PackagesNotFoundError
) -> CondaError:
    """conda's error for requested packages no channel has, naming the channels, with
    the core's "did you mean" and subdirs added (conda >= 26 would otherwise turn the
    generic error into ``PackagesNotFoundInChannelsError`` and drop our additions)."""
    error_class: type[PackagesNotFoundError]
    try:
        from conda.exceptions import PackagesNotFoundInChannelsError

        error_class = PackagesNotFoundInChannelsError
    except ImportError:  # conda < 26
        error_class = PackagesNotFoundError
    error = error_class(specs, channels)
    add_suggestions(error, exc)
    return error


def conda_takes_error_hints() -> bool:
    """Does this conda ask plugins for hints (the ``conda_error_hints`` hook, conda >= 26.7)?"""
    try:
        from conda.plugins.types import CondaErrorHint  # noqa: F401
    except ImportError:
        return False
    return True


def culprit_hints(explanation: Explanation) -> list[tuple[str, str]]:
    """One ``(hint_code, text)`` per kind of culprit, in the order found: ``plus_pinned``,
    ``plus_history``, ``plus_frozen``, ``plus_installed``, ``plus_virtual``,
    ``plus_channel_priority``, ``plus_requested``. The codes are stable (scripts may match
    on them), so several culprits of one kind share one hint, each named in its text
    (conda keeps one hint per code)."""
    by_kind: dict[str, list[str]] = {}
    for culprit in explanation.culprits:
        by_kind.setdefault(culprit.kind, []).append(f"{culprit.name}: {culprit.hint}")
    return [
        ("plus_" + kind.replace("-", "_"), "; ".join(texts)) for kind, texts in by_kind.items()
    ]


def attach_guidance(error: CondaError, explanation: Explanation) -> None:
    """conda >= 26 renders an error as its message, a "Cause:" and "Next steps:". Put the
    culprits there instead of conda's generic advice, and keep our message as the
    headline: the cause names them; each kind of culprit is a hint with a stable code,
    which conda collects through its ``conda_error_hints`` hook (plus's
    :func:`~conda_solver_plus.conda.plugin.conda_error_hints`) and shows in the text and in
    ``--json``'s ``guidance``. A conda with guidance but no hook gets the hints directly."""
    hints = culprit_hints(explanation)
    setattr(error, CONDA_HINTS_ATTRIBUTE, tuple(hints))
    try:
        from conda._private.exception_guidance import ErrorGuidance, GuidanceHint
    except ImportError:  # older conda: the message already lists culprits and hints
        return
    if not explanation.culprits:
        return
    cause = "; ".join(f"{c.spec} ({c.kind}, from {c.origin})" for c in explanation.culprits)
    direct = () if conda_takes_error_hints() else tuple(GuidanceHint(t, c) for c, t in hints)
    error._guidance = ErrorGuidance(cause=cause, hints=direct)  # conda's own attribute


def virtual_package_error(blockers: dict[str, list[str]]) -> UnsatisfiableError:
    """conda's "incompatible with your system" error: each requested package with the
    virtual-package versions its candidates need, and the system's own virtual package."""
    system = {
        record.name: record for record in context.plugin_manager.get_virtual_package_records()
    }
    chains: set[tuple[tuple[MatchSpec, ...], str]] = set()
    reference = "not available"
    for name, deps in blockers.items():
        versions: dict[str, set[str]] = {}
        for dep in deps:
            spec = MatchSpec(dep)
            versions.setdefault(spec.name, set())
            if spec.version is not None:
                versions[spec.name].add(str(spec.version))
        for virtual_name, wanted in versions.items():
            # no version wanted: the bare name (MatchSpec(version=None) prints "==None")
            needed = MatchSpec(virtual_name)
            if wanted:
                needed = MatchSpec(name=virtual_name, version="|".join(sorted(wanted)))
            present = system.get(virtual_name)
            reference = str(present.version) if present else "not available"
            chains.add(((MatchSpec(name), needed), reference))
            if present is not None:
                text = f"@/{present.subdir}::{present.name}=={present.version}={present.build}"
                chains.add(((MatchSpec(text),), reference))
    return UnsatisfiableError({"virtual_package": chains})


def blocking_specs(exc: plus_errors.UnsatisfiableError) -> list[str]:
    """What an unsatisfiable request lacks, for conda-build: the dependencies no channel
    has (which another recipe may build), else the requested specs in conflict."""
    missing: list[str] = []
    heads: set[str] = set()
    for chain in exc.explanation.chains:
        if not chain.steps:
            continue
        heads.add(chain.steps[0].name)
        heads.update(loose_matchspec(partner).name for partner in chain.partners)
        if chain.problem == "missing":
            last = chain.steps[-1]
            missing.append(last.specs[0] if last.specs else last.name)
    if missing:
        return list(dict.fromkeys(missing))
    in_conflict = [spec for spec in exc.requested if loose_matchspec(spec).name in heads]
    return in_conflict or exc.requested


def conda_build_error(specs: Iterable[str], explanation: str, subdir: str) -> Exception:
    """conda-build's ``DependencyNeedsBuildingError`` naming ``specs``, with plus's
    explanation in its message (as conda-libmamba-solver does).

    conda-build acts on that error alone: ``conda build`` first builds a missing
    dependency when another recipe given provides it, ``conda render`` returns a
    non-final recipe. It derives the error from conda's own errors by parsing their text
    line by line, which plus's explanations do not follow."""
    # only reached when conda-build is the caller (it is not a dependency of plus)
    from conda_build.exceptions import DependencyNeedsBuildingError

    class ExplainedDependencyNeedsBuildingError(DependencyNeedsBuildingError):
        def __str__(self) -> str:
            return f"{self.message}\n{explanation}"

    matchspecs = [loose_matchspec(spec) for spec in specs]
    error = ExplainedDependencyNeedsBuildingError(
        packages=[spec.name for spec in matchspecs], subdir=subdir
    )
    error.matchspecs = matchspecs
    return error
