"""
What the standalone CLI prints for a solve: the environment as a table, the transaction
as conda's package plan, and both as JSON.

conda users read two formats every day, and the CLI prints those rather than new ones:

- ``conda list``: a ``# Name  Version  Build  Channel`` header, one row per package
  sorted by name, the channel by its canonical name (``conda-forge``, or the channel's URL
  for a custom one, without the subdir). :func:`render_table` adds a count, and says so
  when there is nothing to list.
- ``conda create``/``install``/``remove``: the *package plan* — what will be INSTALLED,
  REMOVED, UPDATED, SUPERSEDED by a higher-priority channel, DOWNGRADED or REVISED, with
  ``old --> new`` for a package that changes. :func:`transaction` classifies the changes
  with conda's rules (``conda.core.link.UnlinkLinkTransaction._calculate_change_report``)
  and :func:`render_plan` prints them in conda's order and wording. A solve against a
  prefix or a lockfile changes an existing environment; without the plan, ``--remove
  numpy`` would drop its orphaned dependencies without a word. A package that moves to
  a lower version gets a ``why:`` line under its own: the spec, pin or dependency that
  forces it (:mod:`conda_solver_plus.solving.downgrades`).

Columns are as wide as their widest entry (long build strings do not break them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rattler import RepoDataRecord

from .records import canonical_channel_name, record_name, record_to_json
from .state import DowngradeCause

#: the table's header, as ``conda list`` prints it
HEADER = ("# Name", "Version", "Build", "Channel")


def channel_label(record: RepoDataRecord) -> str:
    """The channel a record came from by its canonical name, without the subdir."""
    return canonical_channel_name(record.channel or "") or "<unknown>"


def columns(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows of cells left-aligned in columns two spaces apart (the last one unpadded)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join(
            [*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]]
        ).rstrip()
        for row in rows
    ]


def render_table(records: Iterable[RepoDataRecord], *, empty: str) -> str:
    """The records as ``conda list`` shows them, sorted by name, then a count; ``empty``
    is what is printed when there are none."""
    ordered = sorted(records, key=lambda r: (record_name(r), str(r.version), str(r.build)))
    if not ordered:
        return empty
    rows: list[tuple[str, ...]] = [HEADER]
    rows.extend((record_name(r), str(r.version), str(r.build), channel_label(r)) for r in ordered)
    count = len(ordered)
    return "\n".join([*columns(rows), f"# {count} package{'s' if count != 1 else ''}"])


# -- the transaction ---------------------------------------------------------------------


@dataclass
class Transaction:
    """How an environment changes, by conda's categories (name -> record, or
    name -> ``(old, new)``)."""

    installed: dict[str, RepoDataRecord] = field(default_factory=dict)
    removed: dict[str, RepoDataRecord] = field(default_factory=dict)
    updated: dict[str, tuple[RepoDataRecord, RepoDataRecord]] = field(default_factory=dict)
    superseded: dict[str, tuple[RepoDataRecord, RepoDataRecord]] = field(default_factory=dict)
    downgraded: dict[str, tuple[RepoDataRecord, RepoDataRecord]] = field(default_factory=dict)
    revised: dict[str, tuple[RepoDataRecord, RepoDataRecord]] = field(default_factory=dict)
    #: why each installed package moves to a lower version (the solve's
    #: ``SolverOutputState.downgrades``), shown under its line and in its JSON entry
    downgrade_causes: Mapping[str, DowngradeCause] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not any(
            (
                self.installed,
                self.removed,
                self.updated,
                self.superseded,
                self.downgraded,
                self.revised,
            )
        )

    def to_json(self) -> dict[str, Any]:
        def pairs(changes: Mapping[str, tuple[RepoDataRecord, RepoDataRecord]]) -> list:
            entries = []
            for name, (old, new) in sorted(changes.items()):
                entry = {"name": name, "from": record_to_json(old), "to": record_to_json(new)}
                if name in self.downgrade_causes:
                    entry["cause"] = self.downgrade_causes[name].to_json()
                entries.append(entry)
            return entries

        return {
            "install": [record_to_json(r) for _, r in sorted(self.installed.items())],
            "remove": [record_to_json(r) for _, r in sorted(self.removed.items())],
            "update": pairs(self.updated),
            "supersede": pairs(self.superseded),
            "downgrade": pairs(self.downgraded),
            "revise": pairs(self.revised),
        }


def _same_file(old: RepoDataRecord, new: RepoDataRecord) -> bool:
    return (
        channel_label(old) == channel_label(new)
        and old.subdir == new.subdir
        and str(old.version) == str(new.version)
        and str(old.build) == str(new.build)
    )


def _classify(old: RepoDataRecord, new: RepoDataRecord) -> str | None:
    """conda's rule for a package in both environments: a higher version (or the same
    version with a higher build number) is an update; otherwise, within one channel and
    subdir, the same version with another build is a revision and anything else a
    downgrade; a change of channel that is not an update is superseded. The same file
    twice is no change."""
    if new.version > old.version or (
        new.version == old.version and new.build_number > old.build_number
    ):
        return "updated"
    if channel_label(old) == channel_label(new) and old.subdir == new.subdir:
        if _same_file(old, new):
            return None
        if new.version == old.version and str(new.build) != str(old.build):
            return "revised"
        return "downgraded"
    return "superseded"


def transaction(
    before: Mapping[str, RepoDataRecord], after: Mapping[str, RepoDataRecord]
) -> Transaction:
    """What turns the environment ``before`` into ``after`` (both name -> record)."""
    result = Transaction()
    for name, record in after.items():
        if name not in before:
            result.installed[name] = record
    for name, record in before.items():
        if name not in after:
            result.removed[name] = record
            continue
        kind = _classify(record, after[name])
        if kind is not None:
            getattr(result, kind)[name] = (record, after[name])
    return result


def _diff_strings(old: RepoDataRecord, new: RepoDataRecord) -> tuple[str, str]:
    """conda's ``old --> new`` pair: the channel (and subdir) only when it changes, the
    version-build when it changes."""
    left: list[str] = []
    right: list[str] = []
    channel_change = channel_label(old) != channel_label(new)
    subdir_change = old.subdir != new.subdir
    file_change = str(old.version) != str(new.version) or str(old.build) != str(new.build)
    if channel_change or subdir_change:
        left.append(channel_label(old))
        right.append(channel_label(new))
    if subdir_change:
        left.append(f"/{old.subdir}")
        right.append(f"/{new.subdir}")
    if (channel_change or subdir_change) and file_change:
        left.append(f"::{record_name(old)}-")
        right.append(f"::{record_name(new)}-")
    if file_change:
        left.append(f"{old.version}-{old.build}")
        right.append(f"{new.version}-{new.build}")
    return "".join(left), "".join(right)


def _record_id(record: RepoDataRecord) -> str:
    """conda's ``channel/subdir::name-version-build``."""
    name = f"{record_name(record)}-{record.version}-{record.build}"
    return f"{channel_label(record)}/{record.subdir}::{name}"


_SECTIONS = (
    ("installed", "The following NEW packages will be INSTALLED:"),
    ("removed", "The following packages will be REMOVED:"),
    ("updated", "The following packages will be UPDATED:"),
    ("superseded", "The following packages will be SUPERSEDED by a higher-priority channel:"),
    ("downgraded", "The following packages will be DOWNGRADED:"),
    ("revised", "The following packages will be REVISED:"),
)


def _section_lines(change: Transaction, kind: str) -> list[str]:
    entries = getattr(change, kind)
    if kind == "installed":
        rows = [(name, _record_id(entries[name])) for name in sorted(entries)]
        return columns(rows)
    if kind == "removed":
        return [
            f"{name}-{entries[name].version}-{entries[name].build}" for name in sorted(entries)
        ]
    pairs = [(name, *_diff_strings(*entries[name])) for name in sorted(entries)]
    width_name = max(len(name) for name, _, _ in pairs)
    width_old = max(len(old) for _, old, _ in pairs)
    lines = []
    for name, old, new in pairs:
        lines.append(f"{name:<{width_name}}  {old:>{width_old}} --> {new}")
        cause = change.downgrade_causes.get(name)
        if cause is not None:  # a lower version: what needs it (downgraded, or superseded)
            lines.append(f"  why: {cause.text}")
    return lines


def render_plan(
    change: Transaction,
    *,
    location: str,
    added: Sequence[str] = (),
    removed: Sequence[str] = (),
) -> str:
    """The transaction as conda's ``## Package Plan ##``."""
    lines = ["## Package Plan ##", "", f"  environment location: {location}", ""]
    if removed:
        lines.append("  removed specs:")
        lines.extend(f"    - {spec}" for spec in sorted(removed))
        lines.append("")
    if added:
        lines.append("  added / updated specs:")
        lines.extend(f"    - {spec}" for spec in sorted(added))
        lines.append("")
    if change.is_empty:
        lines.append("  Nothing to change: the environment already satisfies the request.")
        return "\n".join(lines)
    for kind, title in _SECTIONS:
        if getattr(change, kind):
            lines.extend(["", title, ""])
            lines.extend(f"  {line}" for line in _section_lines(change, kind))
    return "\n".join(lines)
