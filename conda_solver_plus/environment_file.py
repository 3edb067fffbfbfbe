"""
``environment.yml``: the file conda (``conda env create -f``), conda-lock and pixi's
importer read a conda environment from.

Its keys, as conda-lock reads them::

    name: science            # optional; a lockfile has no use for it
    channels: [conda-forge]  # highest priority first
    dependencies:
      - python=3.11
      - numpy
      - pip:                 # PyPI requirements, for pip
          - requests
    platforms: [linux-64, osx-arm64, win-64]   # conda-lock's extension

A conda solver solves the conda dependencies. The ``pip:`` list is PyPI's business (a
PyPI resolver picks wheels for each platform against the locked Python): plus keeps it
out of the lockfile and says so in one line (:attr:`EnvironmentFile.pip`), rather than
write unresolved requirements where a format expects resolved, hashed PyPI packages.
Anything else a file may carry (``variables``, ``prefix``, conda-lock's ``category``) is
not part of what is solved and is ignored.

Every problem is one :class:`~conda_solver_plus.exceptions.InvalidInputError` naming the
file and what is wrong in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .exceptions import InvalidInputError

__all__ = ["EnvironmentFile", "read_environment_file", "read_yaml_file"]


@dataclass(frozen=True)
class EnvironmentFile:
    """What an ``environment.yml`` asks for."""

    path: Path
    name: str | None = None
    channels: tuple[str, ...] = ()
    #: the conda dependencies, as written (match specs)
    specs: tuple[str, ...] = ()
    #: the ``pip:`` requirements, which a conda solver does not solve
    pip: tuple[str, ...] = ()
    #: conda-lock's ``platforms:``; empty when the file names none
    platforms: tuple[str, ...] = field(default=())


def _strings(value: Any, key: str, path: Path) -> tuple[str, ...]:
    """A list of strings under ``key`` (a missing key is an empty list)."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidInputError(
            str(path), f"'{key}' must be a list of strings", f"write '{key}:' as a YAML list"
        )
    return tuple(item.strip() for item in value if item.strip())


def _dependencies(value: Any, path: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(conda specs, pip requirements) of the ``dependencies`` list."""
    if value is None:
        return (), ()
    if not isinstance(value, list):
        raise InvalidInputError(
            str(path), "'dependencies' must be a list", "write one dependency per '- ' line"
        )
    specs: list[str] = []
    pip: list[str] = []
    for item in value:
        if isinstance(item, str | int | float) and not isinstance(item, bool):
            specs.append(str(item).strip())
        elif isinstance(item, dict) and set(item) == {"pip"}:
            pip.extend(_strings(item["pip"], "pip", path))
        else:
            raise InvalidInputError(
                str(path),
                f"dependency {item!r} is neither a match spec nor a 'pip:' list",
                "write conda packages as '- name=version' and PyPI ones under '- pip:'",
            )
    return tuple(spec for spec in specs if spec), tuple(pip)


def read_yaml_file(path: Path) -> Any:
    """The YAML document in ``path``; one clear error when it cannot be read or parsed."""
    import yaml  # type: ignore[import-untyped]

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInputError(
            str(path), f"cannot read it ({exc.strerror or exc})", "check the path"
        ) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        problem = " ".join(str(exc).split())
        raise InvalidInputError(
            str(path), f"not valid YAML ({problem})", "fix the file's syntax"
        ) from None


def read_environment_file(path: Path) -> EnvironmentFile:
    """The environment ``path`` describes."""
    data = read_yaml_file(path)
    if not isinstance(data, dict):
        raise InvalidInputError(
            str(path),
            "not an environment file (expected a mapping with 'channels' and 'dependencies')",
            "see conda's environment.yml format",
        )
    name = data.get("name")
    specs, pip = _dependencies(data.get("dependencies"), path)
    return EnvironmentFile(
        path=path,
        name=str(name) if name is not None else None,
        channels=_strings(data.get("channels"), "channels", path),
        specs=specs,
        pip=pip,
        platforms=_strings(data.get("platforms"), "platforms", path),
    )
