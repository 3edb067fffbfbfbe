"""
Records and specs as libmamba reads them: the translation from py-rattler's objects.

- :func:`package_info`: a repodata record as a libmamba ``PackageInfo`` (what the solver
  reads of it, nothing more: answers are mapped back to our own records by URL);
- :func:`virtual_package_info`: a virtual package (``__glibc``...) the same way;
- :func:`mamba_spec`: a match spec in libmamba's grammar (where it differs from rattler's);
- :func:`exact_spec`: the spec that names exactly one record (``Freeze`` jobs);
- :func:`with_pip_for_python`: conda's ``add_pip_as_python_dependency`` rule on a record's
  ``depends``, for where the binding does not apply it itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..records import dependency_name, record_name
from .libmamba_binding import mamba_specs

if TYPE_CHECKING:
    from rattler import GenericVirtualPackage, RepoDataRecord

__all__ = [
    "exact_spec",
    "mamba_spec",
    "package_info",
    "virtual_package_info",
    "with_pip_for_python",
]


def with_pip_for_python(name: str, version: str, depends: list[str]) -> list[str]:
    """conda's ``add_pip_as_python_dependency`` rule (on by default): a python 2 or 3
    record also depends on ``pip``, so a python environment gets pip — conda does this to
    repodata as it loads it (``conda.core.subdir_data``), py-rattler to its records."""
    if name != "python" or not version.startswith(("2.", "3.")):
        return depends
    if "pip" in map(dependency_name, depends):
        return depends
    return [*depends, "pip"]


def _noarch(record: RepoDataRecord) -> mamba_specs.NoArchType:
    if record.noarch.python:
        return mamba_specs.NoArchType.Python
    if record.noarch.generic:
        return mamba_specs.NoArchType.Generic
    return mamba_specs.NoArchType.No


def package_info(
    record: RepoDataRecord,
    *,
    add_pip: bool = False,
    translate: Callable[[list[str]], list[str]] | None = None,
) -> mamba_specs.PackageInfo:
    """A libmamba ``PackageInfo`` carrying what the solver reads from ``record``. Hashes,
    license and size stay out: the answer is mapped back to our own records by URL, and
    every field read from py-rattler costs (this runs for each reachable record).
    ``add_pip``: conda's ``add_pip_as_python_dependency`` (:func:`with_pip_for_python`);
    ``translate``: what to make of its ``depends`` for libsolv
    (:meth:`WhenTranslation.depends`)."""
    timestamp = record.timestamp
    depends = list(record.depends)
    if translate is not None:
        depends = translate(depends)
    if add_pip:
        depends = with_pip_for_python(record_name(record), str(record.version), depends)
    return mamba_specs.PackageInfo(
        name=record_name(record),
        version=str(record.version),
        build_string=str(record.build),
        build_number=record.build_number,
        channel=record.channel or "",
        package_url=record.url,
        platform=record.subdir,
        filename=record.file_name,
        track_features=list(record.track_features),
        depends=depends,
        constrains=list(record.constrains),
        noarch=_noarch(record),
        # libmamba keeps repodata's milliseconds
        timestamp=int(timestamp.timestamp() * 1000) if timestamp else 0,
    )


def virtual_package_info(package: GenericVirtualPackage) -> mamba_specs.PackageInfo:
    return mamba_specs.PackageInfo(
        name=package.name.normalized,
        version=str(package.version),
        build_string=str(package.build_string) or "0",
    )


#: rattler writes an exact build number as ``build_number="==0"``; libmamba wants ``=0``
_EXACT_BUILD_NUMBER = re.compile(r'build_number="?==(\d+)"?')


def mamba_spec(spec) -> mamba_specs.MatchSpec:
    """libmamba's MatchSpec for one of ours (rattler's string form, adjusted where the two
    grammars differ)."""
    return mamba_specs.MatchSpec.parse(_EXACT_BUILD_NUMBER.sub(r"build_number=\1", str(spec)))


def exact_spec(record: RepoDataRecord) -> str:
    """``name==version=build``: the one spec that matches ``record`` alone."""
    return f"{record_name(record)}=={record.version}={record.build}"
