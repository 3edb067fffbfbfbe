"""
exclude-newer: solve as if the channels stopped at a date.

Every repodata record carries the ``timestamp`` of its upload (milliseconds since the
epoch). An *exclude-newer* cutoff hides records uploaded after it, which gives
reproducible solves ("what would this have given on 2025-06-01?") and a *cooldown*
("nothing younger than 7 days"), a defence against freshly published broken or malicious
packages. conda 26 calls this the ``exclude_newer`` policy and has three layers:

- a **global** cutoff (``exclude_newer``, ``--exclude-newer``);
- **per-channel** cutoffs (``exclude_newer`` inside a ``channel_settings`` entry): records of
  that channel use the channel's cutoff instead of the global one;
- **per-package** cutoffs (``exclude_newer_package``): records of that name use the
  package's cutoff, whatever their channel.

The most specific layer wins (package, then channel — the last matching entry — then
global). A layer's value ``false`` exempts: no cutoff at all for what it matches. Records
without a timestamp are kept. Cutoffs are written as a duration back from now (``7d``,
``3d12h``, ``1w``, ``P7D``, a number of seconds), a date (``2026-04-01``: the start of the
*next* UTC day, so the whole day counts) or a timestamp (``2026-04-01T12:00:00Z``).

Only records that would be newly chosen are filtered: installed and locked records stay
valid (conda, too, only refuses to *link* excluded records).

How the engines get it: a global cutoff alone is handed to both engines natively
(:attr:`EngineRequest.exclude_newer`). Per-channel and per-package cutoffs cannot be
phrased as specs, so the first index transform of a solve
(:func:`conda_solver_plus.solving.transforms.apply_exclude_newer`) writes a filtered copy
of each affected subdir's repodata (cached under the cache directory, keyed by the source
file and the cutoffs) and the solve runs on that index. The engines' native filter also
drops installed and locked records, so when one of those is newer than a global cutoff
the filtered index is used too. Either way both engines see exactly the records the
policy allows.

This module is the policy alone — parsing cutoffs and deciding what a record's cutoff is —
and imports no index, so settings can hold an :class:`ExcludeNewer`; the transform that
applies it to an index lives with the other transforms in
:mod:`conda_solver_plus.solving.transforms`.
"""

from __future__ import annotations

import datetime
import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from .exceptions import InvalidInputError
from .records import canonical_channel_name, short_channel_name, strip_subdir

UTC = datetime.timezone.utc
_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_COMPACT = re.compile(r"(\d+)([wdhms])")
_ISO_DURATION = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$",
    re.IGNORECASE,
)
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FALSE = {"false", "off", "n", "no", "non", "none", ""}
#: a timestamp above this is in milliseconds (year 9999 in seconds)
_MAX_SECONDS = 253402300799


def _duration_seconds(text: str) -> float | None:
    if re.fullmatch(r"\d+", text):
        return float(text)
    match = _ISO_DURATION.match(text)
    if match and any(match.groupdict().values()):
        return float(sum(int(v) * _UNITS[k] for k, v in match.groupdict().items() if v))
    if _COMPACT.sub("", text) == "" and text:
        return float(sum(int(n) * _UNITS[u] for n, u in _COMPACT.findall(text)))
    return None


def parse_cutoff(
    value: str | int | float | datetime.datetime,
    *,
    source: str = "exclude-newer",
    now: datetime.datetime | None = None,
) -> datetime.datetime:
    """The cutoff a user wrote, as an aware UTC datetime.

    >>> parse_cutoff("2026-04-01").isoformat()
    '2026-04-02T00:00:00+00:00'
    >>> now = datetime.datetime(2026, 4, 10, tzinfo=UTC)
    >>> parse_cutoff("1w2d", now=now).isoformat()
    '2026-04-01T00:00:00+00:00'
    """
    now = now or datetime.datetime.now(UTC)
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, bool):
        raise InvalidInputError(source, f"{value!r} is not a cutoff", "use 7d, 2026-04-01, ...")
    if isinstance(value, (int, float)):
        if value < 0:
            raise InvalidInputError(source, "a duration must not be negative")
        return now - datetime.timedelta(seconds=float(value))
    text = str(value).strip()
    seconds = _duration_seconds(text)
    if seconds is not None:
        return now - datetime.timedelta(seconds=seconds)
    if _DATE_ONLY.match(text):
        try:
            day = datetime.date.fromisoformat(text)
        except ValueError:
            raise InvalidInputError(source, f"{text!r} is not a valid date") from None
        return datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(), UTC)
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(
            source,
            f"{text!r} is neither a duration nor a date",
            "use e.g. 7d, 3d12h, P7D, 2026-04-01 or 2026-04-01T12:00:00Z",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _is_false(value: Any) -> bool:
    """conda's "false" for an override: ``false``/``no``/``off``/``none``/empty or a zero
    number (``0`` exempts a package; for the global cutoff ``0`` means "now")."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value == 0
    text = str(value).strip().lower()
    if text.replace(".", "", 1).isdigit():
        return float(text) == 0
    return text in _FALSE


def _optional_cutoff(
    value: Any, source: str, now: datetime.datetime, *, override: bool = True
) -> tuple[bool, datetime.datetime | None]:
    """(applies, cutoff). For an override, a false value applies with no cutoff (exempt)
    and ``None``/``true`` does not apply; for the global cutoff ``None``/empty is off."""
    if value is None or value is True:
        return False, None
    if override and _is_false(value):
        return True, None
    if isinstance(value, str) and not value.strip():
        return False, None
    return True, parse_cutoff(value, source=source, now=now)


def record_timestamp(data: Mapping[str, Any]) -> datetime.datetime | None:
    """When a repodata entry was published (``indexed_timestamp`` or ``timestamp``, in
    milliseconds or, in old repodata, seconds); ``None`` when the entry does not say.

    >>> record_timestamp({"timestamp": 1767225600000}).isoformat()
    '2026-01-01T00:00:00+00:00'
    >>> record_timestamp({"timestamp": 1767225600}).isoformat()
    '2026-01-01T00:00:00+00:00'
    >>> record_timestamp({}) is None
    True
    """
    value = data.get("indexed_timestamp") or data.get("timestamp")
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        return None
    seconds = value / 1000 if value > _MAX_SECONDS else value
    return datetime.datetime.fromtimestamp(seconds, UTC)


def channel_selector_matches(selector: str, channel_url: str) -> bool:
    """Does a ``channel_settings`` selector (name, URL or URL glob) name this channel?"""
    selector = selector.strip().rstrip("/")
    channel = strip_subdir(channel_url.rstrip("/"))
    if not selector or not channel:
        return False
    if selector in (channel, canonical_channel_name(channel)):
        return True
    if "://" not in selector and selector == short_channel_name(channel):
        return True
    if any(ch in selector for ch in "*?["):
        parsed = urlparse(channel)
        return fnmatch.fnmatch(channel, selector) or fnmatch.fnmatch(
            f"{parsed.netloc}{parsed.path}", selector.split("://", 1)[-1]
        )
    return False


@dataclass(frozen=True)
class ExcludeNewer:
    """conda's ``exclude_newer`` policy, resolved to absolute cutoffs.

    ``cutoff`` is the global cutoff; ``channels`` are ``(selector, cutoff)`` pairs (the
    last matching one wins; a ``None`` cutoff exempts the channel); ``packages`` maps a
    package name to its cutoff (``None`` exempts it).
    """

    cutoff: datetime.datetime | None = None
    channels: tuple[tuple[str, datetime.datetime | None], ...] = ()
    packages: Mapping[str, datetime.datetime | None] = field(default_factory=dict)

    @classmethod
    def from_values(
        cls,
        exclude_newer: str | int | float | datetime.datetime | None = None,
        packages: Mapping[str, Any] | None = None,
        channels: Iterable[tuple[str, Any]] | Mapping[str, Any] | None = None,
        *,
        now: datetime.datetime | None = None,
    ) -> ExcludeNewer:
        """Resolve user values (durations, dates, ``false``) against ``now``, once, so
        every record of a solve is compared to the same instant."""
        now = now or datetime.datetime.now(UTC)
        _, cutoff = _optional_cutoff(exclude_newer, "exclude-newer", now, override=False)
        items = channels.items() if isinstance(channels, Mapping) else channels or ()
        resolved_channels = []
        for selector, value in items:
            applies, channel_cutoff = _optional_cutoff(
                value, f"exclude-newer for channel {selector}", now
            )
            if applies:
                resolved_channels.append((str(selector), channel_cutoff))
        resolved_packages = {}
        for name, value in sorted((packages or {}).items()):
            applies, package_cutoff = _optional_cutoff(
                value, f"exclude-newer for package {name}", now
            )
            if applies and name:
                resolved_packages[name.lower()] = package_cutoff
        return cls(cutoff, tuple(resolved_channels), resolved_packages)

    # conda's Solver asks these to decide whether a solver supports the policy
    @property
    def active(self) -> bool:
        return (
            self.cutoff is not None
            or any(c is not None for _, c in self.channels)
            or any(c is not None for c in self.packages.values())
        )

    @property
    def has_overrides(self) -> bool:
        return self.active and bool(self.channels or self.packages)

    def cutoff_for(self, name: str, channel_url: str) -> datetime.datetime | None:
        """The cutoff that applies to package ``name`` served by ``channel_url``."""
        if name in self.packages:
            return self.packages[name]
        return self.channel_cutoff(channel_url)

    def channel_cutoff(self, channel_url: str) -> datetime.datetime | None:
        """The cutoff for packages of ``channel_url`` that have no override of their own."""
        for selector, cutoff in reversed(self.channels):
            if channel_selector_matches(selector, channel_url):
                return cutoff
        return self.cutoff

    def includes(self, name: str, channel_url: str, data: Mapping[str, Any]) -> bool:
        cutoff = self.cutoff_for(name, channel_url)
        if cutoff is None:
            return True
        published = record_timestamp(data)
        return published is None or published <= cutoff
