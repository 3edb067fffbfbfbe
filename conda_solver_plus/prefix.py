"""
What a conda environment (a *prefix*) says about itself on disk, read without conda.

Every conda environment keeps its bookkeeping in ``<prefix>/conda-meta/``:

- ``<name>-<version>-<build>.json`` — one *prefix record* per installed package: its
  repodata metadata plus the files it installed.
- ``history`` — an append-only log of every transaction. Blocks start with
  ``==> 2024-01-01 12:00:00 <==`` and carry comment lines such as
  ``# cmd: conda install numpy``, ``# update specs: ['numpy']``,
  ``# remove specs: ['scipy']`` and ``# neutered specs: ['python=3.11']``. Replaying the
  ``update``/``remove``/``neutered`` lines gives the *history specs*: what the user asked
  for explicitly over the environment's life. The solver keeps honoring them, so
  ``conda install scipy`` does not silently drop a ``numpy<2`` the user once asked for.
- ``pinned`` — one spec per line (``#`` starts a comment); pins are hard constraints on
  every solve in that environment.

Reading is strict about *content* (a corrupt record or an invalid pin is an error naming
the file) and lenient about *age*: records from old condas missing ``fn``/``url`` are
completed the way conda completes them, and history lines we do not understand are
skipped, as conda itself does. Nothing here ever writes to the prefix.
"""

from __future__ import annotations

import ast
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from rattler import MatchSpec, PrefixRecord, RepoDataRecord

from .exceptions import InvalidInputError
from .records import record_from_dict
from .specs import parse_spec, spec_name

log = logging.getLogger(__name__)

_HEADER = re.compile(r"^==>\s*(.+?)\s*<==\s*$")
_SPECS_LINE = re.compile(r"^#\s*(\w+)\s*specs:\s*(.*)$")
_CMD_LINE = re.compile(r"^#\s*cmd:\s*(.+)$")


@dataclass
class HistoryEntry:
    """One transaction block of ``conda-meta/history``."""

    date: str
    line: int
    cmd: str = ""
    update_specs: list[str] = field(default_factory=list)
    remove_specs: list[str] = field(default_factory=list)
    neutered_specs: list[str] = field(default_factory=list)
    #: line of the ``# update specs:`` (and ``# neutered specs:``) line: where a history
    #: spec is written, which is what provenance points at (0: none in this block)
    update_line: int = field(default=0, compare=False)
    neutered_line: int = field(default=0, compare=False)


def _split_specs(text: str) -> list[str]:
    text = text.strip()
    if not text:
        return []
    if text.startswith("["):
        value = ast.literal_eval(text)
        if not isinstance(value, (list, tuple)):
            raise ValueError("not a list")
        return [str(v) for v in value]
    # very old condas wrote comma-separated specs without brackets
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_history(path: Path) -> list[HistoryEntry]:
    """Parse conda's history format; unreadable lines are skipped with a debug log."""
    entries: list[HistoryEntry] = []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return entries
    except OSError as exc:
        raise InvalidInputError(str(path), f"cannot read history: {exc.strerror}") from None
    current: HistoryEntry | None = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        header = _HEADER.match(line)
        if header:
            current = HistoryEntry(date=header.group(1), line=lineno)
            entries.append(current)
        elif current is not None and line.startswith("#"):
            _read_comment_line(current, line, path, lineno)
        # else: +/- dist lines: the record files are the truth for what is installed
    return entries


def _read_comment_line(entry: HistoryEntry, line: str, path: Path, lineno: int) -> None:
    """Line ``lineno`` of ``path``, a ``# cmd:`` or ``# <action> specs: [...]`` line of
    ``entry``'s block."""
    cmd = _CMD_LINE.match(line)
    if cmd:
        entry.cmd = cmd.group(1)
        return
    specs_line = _SPECS_LINE.match(line)
    if not specs_line:
        return
    action, payload = specs_line.groups()
    try:
        specs = [s for s in _split_specs(payload) if s and not s.endswith("@")]
    except (ValueError, SyntaxError):
        log.debug("%s:%d: skipping unreadable specs line %r", path, lineno, line)
        return
    if action in ("update", "install", "create"):
        entry.update_specs.extend(specs)
        entry.update_line = lineno
    elif action in ("remove", "uninstall"):
        entry.remove_specs.extend(specs)
    elif action == "neutered":
        entry.neutered_specs.extend(specs)
        entry.neutered_line = lineno


def requested_specs_from_history(
    entries: list[HistoryEntry], source: str
) -> dict[str, tuple[MatchSpec, str]]:
    """Replay history entries into ``{name: (spec, origin)}`` the way conda does."""
    specs: dict[str, tuple[MatchSpec, str]] = {}
    for entry in entries:
        for text in entry.remove_specs:
            spec = _history_spec(text, source, entry)
            if spec is not None:
                specs.pop(spec_name(spec), None)
        for texts, line in (
            (entry.update_specs, entry.update_line),
            (entry.neutered_specs, entry.neutered_line),
        ):
            origin = f"{source}:{line or entry.line} ({entry.date})"
            for text in texts:
                spec = _history_spec(text, source, entry)
                if spec is not None:
                    specs[spec_name(spec)] = (spec, origin)
    return specs


def _history_spec(text: str, source: str, entry: HistoryEntry) -> MatchSpec | None:
    try:
        return parse_spec(text, f"{source}:{entry.line}")
    except InvalidInputError as exc:
        # conda ignores history it cannot parse; so do we, but say so at -v
        log.info("ignoring unparsable history spec: %s", exc)
        return None


def read_pinned_file(path: Path) -> list[tuple[MatchSpec, str]]:
    """Specs from ``conda-meta/pinned`` (missing file = no pins)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(str(path), f"cannot read pins: {exc}") from None
    pins = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        source = f"{path}:{lineno}"
        pins.append((parse_spec(line, source), source))
    return pins


def read_prefix_record(path: Path) -> RepoDataRecord:
    """One ``conda-meta/*.json`` file as a record (completing old, incomplete ones)."""
    try:
        return PrefixRecord.from_path(path)
    except Exception as fast_error:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidInputError(
                str(path),
                f"corrupt package record ({exc})",
                "reinstall that package or remove the file if the package is gone",
            ) from None
        if not isinstance(data, dict):
            raise InvalidInputError(str(path), "package record is not a JSON object") from None
        log.debug("completing incomplete record %s (%s)", path, fast_error)
        return record_from_dict(data, source=str(path))


@dataclass
class PrefixState:
    """Everything the solver needs from one prefix on disk."""

    path: Path
    exists: bool
    installed: dict[str, RepoDataRecord]
    history: dict[str, tuple[MatchSpec, str]]
    pinned: list[tuple[MatchSpec, str]]


def read_prefix(path: str | Path | None) -> PrefixState:
    """Read a prefix. A missing prefix is an empty one (``conda create``); a prefix path that
    is a file, or a ``conda-meta`` that is not a directory, is an input error."""
    if path is None:
        return PrefixState(Path(), False, {}, {}, [])
    prefix = Path(path).expanduser()
    if prefix.exists() and not prefix.is_dir():
        raise InvalidInputError(
            str(prefix), "the prefix is a file, not a directory", "choose an environment directory"
        )
    meta = prefix / "conda-meta"
    if meta.exists() and not meta.is_dir():
        raise InvalidInputError(str(meta), "conda-meta is not a directory")
    installed: dict[str, RepoDataRecord] = {}
    if meta.is_dir():
        for record_path in sorted(meta.glob("*.json")):
            record = read_prefix_record(record_path)
            installed[record.name.normalized] = record
    history_entries = parse_history(meta / "history")
    history = {
        name: value
        for name, value in requested_specs_from_history(
            history_entries, str(meta / "history")
        ).items()
        # conda forgets history specs of packages that are no longer installed
        if name in installed
    }
    pinned = read_pinned_file(meta / "pinned")
    return PrefixState(prefix, meta.is_dir(), installed, history, pinned)
