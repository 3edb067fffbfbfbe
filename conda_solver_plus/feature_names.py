"""
The names legacy conda *features* go by — the low-level half of :mod:`.features`.

A record *carries* a feature in ``features`` (it belongs to that build variant) and
*tracks* one in ``track_features`` (installing it turns the feature on). A user asks for
a feature with ``mkl@`` or ``*[track_features=mkl]`` and removes one with ``conda remove
--features mkl``. The solver phrases "feature ``mkl`` is on" as a synthetic package,
``_legacy-feature-mkl``, so a feature request is an ordinary spec everywhere: on the
command line, in the history, in the engine request.

This module only names things: it reads record fields and spells specs. It imports no
engine and no index, so the low-level modules (:mod:`.specs` parses ``mkl@`` with it,
:mod:`.state` matches removals with it) can use it without pulling in
:mod:`.features`, which rewrites repodata and wraps the engine.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rattler import MatchSpec, RepoDataRecord

from .exceptions import InvalidInputError

__all__ = [
    "FEATURE_PACKAGE_PREFIX",
    "feature_of",
    "feature_package",
    "feature_spec_package",
    "record_features",
    "removal_matches",
    "spec_feature",
    "split_features",
    "tracked_features",
]

#: names of the synthetic packages that stand for "feature X is on"
FEATURE_PACKAGE_PREFIX = "_legacy-feature-"
#: features are written like package names in every channel we know of
_FEATURE_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")
#: ``*[track_features=mkl]``, ``[track_features='mkl']`` (how conda writes ``mkl@``)
_FEATURE_SPEC = re.compile(
    r"""^\*?\s*\[\s*track_features\s*=\s*(['"]?)(?P<value>[^'"\]]*)\1\s*\]$"""
)


def split_features(value: str | Sequence[str] | None) -> list[str]:
    """The features of a ``features``/``track_features`` field, however it is written.

    >>> split_features("mkl debug")
    ['mkl', 'debug']
    >>> split_features("mkl,debug")
    ['mkl', 'debug']
    >>> split_features(["mkl", " "])
    ['mkl']
    >>> split_features(None)
    []
    """
    if not value:
        return []
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    return [feature.strip() for feature in value if feature.strip()]


def feature_package(feature: str, source: str = "feature") -> str:
    """The synthetic package name standing for ``feature``.

    >>> feature_package("MKL")
    '_legacy-feature-mkl'
    """
    if not _FEATURE_NAME.match(feature):
        raise InvalidInputError(
            source,
            f"feature name {feature!r}: a feature name is one word of letters, digits, "
            "'_', '.' and '-'",
            "name one feature, like 'mkl@'",
        )
    return FEATURE_PACKAGE_PREFIX + feature.lower()


def feature_of(name: str) -> str | None:
    """The feature a synthetic package name stands for, or ``None`` for real packages.

    >>> feature_of("_legacy-feature-mkl")
    'mkl'
    >>> feature_of("numpy") is None
    True
    """
    if name.startswith(FEATURE_PACKAGE_PREFIX):
        return name[len(FEATURE_PACKAGE_PREFIX) :]
    return None


def feature_spec_package(text: str, source: str = "command line") -> str | None:
    """For a spec that asks for a feature (``mkl@``, ``*[track_features=mkl]``) the
    synthetic package to require instead; ``None`` for any other spec.

    >>> feature_spec_package("mkl@")
    '_legacy-feature-mkl'
    >>> feature_spec_package("*[track_features='nomkl']")
    '_legacy-feature-nomkl'
    >>> feature_spec_package("numpy >=1.26") is None
    True
    """
    text = text.strip()
    if text.endswith("@"):
        features = [text[:-1]]
    else:
        found = _FEATURE_SPEC.match(text)
        if found is None:
            return None
        features = split_features(found.group("value"))
    if len(features) != 1:
        raise InvalidInputError(
            f"{source}: spec {text!r}",
            f"asks for {len(features)} features; a spec can turn on exactly one",
            "write one spec per feature, like 'mkl@'",
        )
    return feature_package(features[0], f"{source}: spec {text!r}")


def record_features(record: RepoDataRecord) -> set[str]:
    """The features ``record`` carries (the build variant it belongs to), lower-cased."""
    return {feature.lower() for feature in split_features(record.features)}


def tracked_features(record: RepoDataRecord) -> set[str]:
    """The features installing ``record`` turns on, lower-cased."""
    return {feature.lower() for feature in split_features(list(record.track_features))}


def spec_feature(spec: MatchSpec) -> str | None:
    """The feature a spec for a synthetic package stands for (``mkl`` for the spec
    ``_legacy-feature-mkl``), or ``None`` for a spec of a real package."""
    name = spec.name.normalized if spec.name is not None else None
    return feature_of(name) if name else None


def removal_matches(spec: MatchSpec, record: RepoDataRecord) -> bool:
    """Does removing ``spec`` remove the installed ``record``? Removing a feature
    (``conda remove --features mkl``) removes the records tracking it."""
    feature = spec_feature(spec)
    if feature is not None:
        return feature in tracked_features(record)
    return spec.matches(record)
