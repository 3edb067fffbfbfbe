"""
conda's configuration, read the way conda reads it, for the standalone CLI.

A conda user's defaults live in ``.condarc`` files and ``CONDA_*`` environment variables:
the channels to search, the channel priority, pins, whether ``pip`` comes with python, an
exclude-newer cutoff. The standalone CLI must start from the same defaults as ``conda
create`` or it gives a different answer to the same request (``strict`` priority where
conda has ``flexible``, an environment without ``pip``). It cannot ask conda (only
``conda_solver_plus/conda/`` imports conda, and the CLI runs without it), so this module
repeats conda's rules for the few keys a solve needs:

- **where**: the files of conda's search path (``conda.base.constants.SEARCH_PATH``), in
  order: ``/etc/conda``, ``/var/lib/conda``, ``$CONDA_ROOT``, ``$XDG_CONFIG_HOME/conda``,
  ``~/.config/conda``, ``~/.conda``, ``~/.condarc``, ``$CONDA_PREFIX``, ``$CONDARC``; each
  ``condarc``/``.condarc`` file and every ``*.yml``/``*.yaml`` in a ``condarc.d``
  directory. A variable that is unset drops its entries.
- **precedence**: later files win; the ``CONDA_<KEY>`` environment variable wins over
  every file. Lists (``channels``, ``pinned_packages``) are merged as conda merges them:
  the entries of later sources first, duplicates dropped.
- **defaults** when nothing sets a key: conda's own (``channel_priority: flexible``,
  ``add_pip_as_python_dependency: true``, no pins, no cutoff). ``channels`` has no usable
  default here: conda's is ``defaults`` (repo.anaconda.com), which needs conda's channel
  configuration; the CLI asks for ``-c`` instead.

Each value remembers where it came from (:class:`Value`), so ``--help`` and ``explain``
can say "flexible, conda's default" or "strict, from ~/.condarc".

Files are YAML. They are parsed with ruamel.yaml (conda's own parser, present wherever
conda is: YAML 1.2, as conda reads them) or else PyYAML (a dependency of the package); a
file that does not parse, or a value of the wrong type, is an
:class:`~conda_solver_plus.exceptions.InvalidInputError` naming the file and key, as conda
refuses it too.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .exceptions import InvalidInputError

#: conda's ``SEARCH_PATH`` (conda/base/constants.py), in precedence order (last wins)
SEARCH_PATH = (
    "/etc/conda/.condarc",
    "/etc/conda/condarc",
    "/etc/conda/condarc.d/",
    "/var/lib/conda/.condarc",
    "/var/lib/conda/condarc",
    "/var/lib/conda/condarc.d/",
    "$CONDA_ROOT/.condarc",
    "$CONDA_ROOT/condarc",
    "$CONDA_ROOT/condarc.d/",
    "$XDG_CONFIG_HOME/conda/.condarc",
    "$XDG_CONFIG_HOME/conda/condarc",
    "$XDG_CONFIG_HOME/conda/condarc.d/",
    "~/.config/conda/.condarc",
    "~/.config/conda/condarc",
    "~/.config/conda/condarc.d/",
    "~/.conda/.condarc",
    "~/.conda/condarc",
    "~/.conda/condarc.d/",
    "~/.condarc",
    "$CONDA_PREFIX/.condarc",
    "$CONDA_PREFIX/condarc",
    "$CONDA_PREFIX/condarc.d/",
    "$CONDARC",
)

#: conda's own default where no file or variable sets a key
CONDA_DEFAULT = "conda's default"

#: what ``defaults`` stands for when ``default_channels`` is not configured (conda's
#: ``DEFAULT_CHANNELS_UNIX``)
DEFAULT_CHANNELS = ("https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r")

_YAML_SUFFIXES = (".yml", ".yaml")


@dataclass(frozen=True)
class Value:
    """A configured value and where it came from (a file, ``CONDA_X``, conda's default)."""

    value: Any
    source: str = CONDA_DEFAULT

    @property
    def is_default(self) -> bool:
        return self.source == CONDA_DEFAULT

    def describe(self, shown: str | None = None) -> str:
        """``flexible, conda's default``, ``strict, from ~/.condarc``."""
        text = shown if shown is not None else str(self.value)
        origin = self.source if self.is_default else f"from {self.source}"
        return f"{text}, {origin}"


@dataclass(frozen=True)
class CondaConfig:
    """The keys of conda's configuration a solve needs, each with its source.

    ``raw`` keeps every file's mapping (plus's own ``plus_backend``/``plus_timeout`` are
    read from it by :mod:`conda_solver_plus.settings`).
    """

    channel_priority: Value = field(default_factory=lambda: Value("flexible"))
    add_pip_as_python_dependency: Value = field(default_factory=lambda: Value(True))
    channels: Value = field(default_factory=lambda: Value(()))
    pinned_packages: Value = field(default_factory=lambda: Value(()))
    exclude_newer: Value = field(default_factory=lambda: Value(None))
    exclude_newer_package: Value = field(default_factory=lambda: Value({}))
    #: ``(channel, cutoff)`` from ``channel_settings`` entries with an ``exclude_newer``
    exclude_newer_channel: Value = field(default_factory=lambda: Value(()))
    raw: Mapping[str, Any] = field(default_factory=dict)
    #: the files read, in order
    files: tuple[Path, ...] = ()


def search_path(environ: Mapping[str, str] | None = None) -> list[Path]:
    """The configuration files conda would read, in order (only those that exist)."""
    environ = os.environ if environ is None else environ
    found: list[Path] = []
    for entry in SEARCH_PATH:
        path = _expand(entry, environ)
        if path is None:
            continue
        if entry.endswith("/"):
            if path.is_dir():
                found.extend(
                    sorted(p for p in path.iterdir() if p.suffix in _YAML_SUFFIXES and p.is_file())
                )
        elif path.is_file() and path not in found:
            found.append(path)
    return found


def _expand(entry: str, environ: Mapping[str, str]) -> Path | None:
    """One search-path entry with its variable and ``~`` expanded; ``None`` when the
    variable is unset or empty (conda then finds nothing there either)."""
    if entry.startswith("$"):
        variable, _, rest = entry[1:].partition("/")
        value = (environ.get(variable) or "").strip()
        if not value:
            return None
        return Path(value).expanduser() / rest if rest else Path(value).expanduser()
    if entry.startswith("~"):
        home = environ.get("HOME")
        base = Path(home) if home else Path.home()
        return base / entry[2:]
    return Path(entry)


def _yaml_loader() -> Callable[[str], Any] | None:
    """ruamel.yaml's safe loader (conda's), else PyYAML's; ``None`` without either."""
    try:
        from ruamel.yaml import YAML
    except ImportError:
        pass
    else:
        parser = YAML(typ="safe", pure=True)
        return parser.load
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        return None
    return yaml.safe_load


def read_file(path: Path) -> dict[str, Any]:
    """One configuration file as a mapping (an empty file is an empty mapping)."""
    load = _yaml_loader()
    if load is None:
        raise InvalidInputError(
            str(path),
            "cannot read conda's configuration without a YAML parser",
            "install ruamel.yaml or pyyaml (conda brings ruamel.yaml)",
        )
    try:
        data = load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInputError(str(path), f"cannot read: {exc.strerror or exc}") from None
    except Exception as exc:  # the parsers' errors share no base class
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInputError(str(path), f"not valid YAML: {first}", "fix the file") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInputError(str(path), "expected a mapping of settings", "fix the file")
    return data


def _display(path: Path, environ: Mapping[str, str]) -> str:
    """A file as users write it: ``~/.condarc`` rather than ``/home/me/.condarc``."""
    home = environ.get("HOME")
    if home and path.is_relative_to(home):
        return "~/" + str(path.relative_to(home))
    return str(path)


def load_config(environ: Mapping[str, str] | None = None) -> CondaConfig:
    """conda's configuration from its files and ``CONDA_*`` variables (module docstring)."""
    environ = os.environ if environ is None else environ
    files = search_path(environ)
    sources = [(_display(path, environ), read_file(path)) for path in files]
    raw: dict[str, Any] = {}
    for _, data in sources:
        raw.update(data)
    return CondaConfig(
        channel_priority=_channel_priority(sources, environ),
        add_pip_as_python_dependency=_add_pip(sources, environ),
        channels=_sequence("channels", sources, environ, ",", aliases=("channel",)),
        pinned_packages=_sequence("pinned_packages", sources, environ, "&"),
        exclude_newer=_scalar("exclude_newer", sources, environ, None),
        exclude_newer_package=_exclude_newer_package(sources),
        exclude_newer_channel=_exclude_newer_channels(sources),
        raw=raw,
        files=tuple(files),
    )


Sources = list[tuple[str, dict[str, Any]]]


def _scalar(key: str, sources: Sources, environ: Mapping[str, str], default: Any) -> Value:
    """A single value: ``CONDA_<KEY>``, else the last file that sets it, else ``default``."""
    variable = f"CONDA_{key.upper()}"
    text = (environ.get(variable) or "").strip()
    if text:
        return Value(text, variable)
    for source, data in reversed(sources):
        if data.get(key) is not None:
            return Value(data[key], source)
    return Value(default)


def _channel_priority(sources: Sources, environ: Mapping[str, str]) -> Value:
    """conda's ``channel_priority``: ``strict``, ``flexible`` or ``disabled``; conda also
    takes the booleans of old versions (``true`` = flexible, ``false`` = disabled)."""
    found = _scalar("channel_priority", sources, environ, "flexible")
    value = found.value
    if isinstance(value, bool) or str(value).lower() in ("true", "false", "yes", "no"):
        truthy = value is True or str(value).lower() in ("true", "yes")
        return Value("flexible" if truthy else "disabled", found.source)
    text = str(value).strip().lower()
    if text not in ("strict", "flexible", "disabled"):
        raise InvalidInputError(
            f"channel_priority ({found.source})",
            f"unknown channel priority {value!r}",
            "use strict, flexible or disabled",
        )
    return Value(text, found.source)


def _add_pip(sources: Sources, environ: Mapping[str, str]) -> Value:
    """conda's ``add_pip_as_python_dependency`` (a boolean, ``true`` by default)."""
    found = _scalar("add_pip_as_python_dependency", sources, environ, True)
    value = found.value
    if isinstance(value, bool):
        return found
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1", "y"):
        return Value(True, found.source)
    if text in ("false", "no", "off", "0", "n"):
        return Value(False, found.source)
    raise InvalidInputError(
        f"add_pip_as_python_dependency ({found.source})",
        f"not a boolean: {value!r}",
        "use true or false",
    )


def _sequence(
    key: str,
    sources: Sources,
    environ: Mapping[str, str],
    delimiter: str,
    aliases: tuple[str, ...] = (),
) -> Value:
    """A list merged as conda merges it: the variable's entries, then each file's from the
    last to the first, duplicates dropped. The source named is the highest one."""
    layers: list[tuple[str, list[str]]] = []
    for source, data in sources:
        for name in (key, *aliases):
            if data.get(name) is None:
                continue
            entries = data[name]
            if not isinstance(entries, list):
                # conda refuses a scalar here too (InvalidTypeError "has type str. Valid
                # types: tuple"): `channels: /path` is not read as a one-entry list
                raise InvalidInputError(
                    f"{name} ({source})",
                    f"expected a list, got {type(entries).__name__} {entries!r}",
                    f"write it as a list: '{name}: [{entries}]' or one '- entry' per line",
                )
            layers.append((source, [str(entry).strip() for entry in entries]))
    variable = f"CONDA_{key.upper()}"
    text = (environ.get(variable) or "").strip()
    if text:
        layers.append((variable, [part.strip() for part in text.split(delimiter)]))
    if not layers:
        return Value(())
    merged = [entry for _, entries in reversed(layers) for entry in entries if entry]
    return Value(tuple(dict.fromkeys(merged)), layers[-1][0])


def _exclude_newer_package(sources: Sources) -> Value:
    """``exclude_newer_package: {name: cutoff}`` (conda >= 26), the last file's mapping."""
    for source, data in reversed(sources):
        value = data.get("exclude_newer_package")
        if value is None:
            continue
        if not isinstance(value, dict):
            raise InvalidInputError(
                f"exclude_newer_package ({source})", "expected a mapping name: cutoff"
            )
        return Value({str(k): str(v) for k, v in value.items()}, source)
    return Value({})


def _exclude_newer_channels(sources: Sources) -> Value:
    """``channel_settings`` entries that carry an ``exclude_newer`` cutoff, as
    ``(channel, cutoff)`` pairs (conda >= 26)."""
    for source, data in reversed(sources):
        entries = data.get("channel_settings")
        if not isinstance(entries, list):
            continue
        pairs = tuple(
            (str(item["channel"]), str(item.get("exclude_newer", item.get("exclude-newer"))))
            for item in entries
            if isinstance(item, dict)
            and item.get("channel")
            and ("exclude_newer" in item or "exclude-newer" in item)
        )
        if pairs:
            return Value(pairs, source)
    return Value(())
