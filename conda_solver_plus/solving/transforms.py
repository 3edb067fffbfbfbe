"""
Index transforms: the named steps between the loaded index and the engine.

The engines see neither conda's ``exclude_newer`` policy nor legacy ``features`` in full,
so two steps rewrite what they get. Both are here, in the order a solve runs them, so
the path from :mod:`conda_solver_plus.index` to :mod:`conda_solver_plus.backends` has
no hidden layer:

1. **exclude-newer** (:func:`apply_exclude_newer`, once per solve, before anything reads
   the index): a global cutoff alone goes to the engines natively
   (``EngineRequest.exclude_newer``); per-channel or per-package cutoffs — or an installed
   record newer than the global cutoff, which the engines' own filter would drop — become
   an index serving filtered copies of the affected repodata (written to the cache
   directory). The policy itself is :mod:`conda_solver_plus.exclude_newer`.
2. **channel order before build numbers** (:func:`solve_on_engine`, around every engine
   call): with channel priority ``disabled``, a version offered by several channels is
   taken from the first of them, as classic conda does, through derived build numbers
   (:mod:`conda_solver_plus.solving.priority`);
3. **legacy features** (:func:`solve_on_engine`, around every engine call of every
   attempt): the request is solved as it is; only when the answer involves
   ``features``/``track_features`` are the reachable records rewritten into small
   repodata files and solved twice (:mod:`conda_solver_plus.features`).

All three write derived repodata through the index's public helpers
(:meth:`~conda_solver_plus.index.SubdirRepo.served_from`,
:func:`~conda_solver_plus.index.write_cache_file`), named by content so repeated solves
(and the libmamba engine's ``.solv`` cache) reuse them.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path

from rattler import RepoDataRecord

from .. import features
from ..backends import Backend, EngineRequest
from ..exceptions import InvalidInputError
from ..exclude_newer import ExcludeNewer
from ..repodata.cache_files import mark_used, write_cache_file
from ..repodata.model import Index, SubdirRepo
from . import priority
from .options import SolveOptions

__all__ = ["apply_exclude_newer", "apply_to_index", "solve_on_engine"]

log = logging.getLogger(__name__)


# -- step 1: exclude-newer --------------------------------------------------------------


def apply_exclude_newer(
    index: Index, options: SolveOptions, kept: Iterable[RepoDataRecord] = ()
) -> tuple[Index, SolveOptions]:
    """``(index, options)`` with ``options.exclude_newer`` turned into what the engines
    take: the index to solve on, and a global cutoff for the engines or ``None`` (see
    :func:`apply_to_index`). ``kept`` are the installed records."""
    filtered, cutoff = apply_to_index(index, options.exclude_newer, options.cache_dir, kept)
    return filtered, dataclasses.replace(options, exclude_newer=cutoff)


def apply_to_index(
    index: Index,
    policy: ExcludeNewer | datetime.datetime | None,
    cache_dir: Path,
    kept: Iterable[RepoDataRecord] = (),
) -> tuple[Index, datetime.datetime | None]:
    """``(index, engine_cutoff)`` for a solve under ``policy``.

    A global cutoff alone goes to the engines natively (``engine_cutoff``); with
    per-channel or per-package cutoffs the returned index serves filtered copies of the
    repodata and ``engine_cutoff`` is ``None``. ``kept`` are the installed/locked records:
    the engines' own filter would drop those that are newer than the cutoff too, so then
    the filtered index is used even for a global cutoff.
    """
    if isinstance(policy, datetime.datetime):
        policy = ExcludeNewer(policy)
    if policy is None or not policy.active:
        return index, None
    if not policy.has_overrides:
        cutoff = policy.cutoff
        if not any(r.timestamp and cutoff and r.timestamp > cutoff for r in kept):
            return index, cutoff
    repos: list[SubdirRepo] = []
    for repo in index.repos:
        if not _needs_filter(policy, repo.channel.url):
            repos.append(repo)
            continue
        if not repo.path.is_file():
            raise InvalidInputError(
                repo.label,
                "per-channel/per-package exclude-newer needs the repodata file on disk",
                "use a local channel or only a global --exclude-newer",
            )
        path = _filtered_repodata(repo.path, repo.channel.url, policy, cache_dir)
        repos.append(repo.served_from(path))
    return Index(channels=index.channels, subdirs=index.subdirs, repos=repos), None


def _needs_filter(policy: ExcludeNewer, channel_url: str) -> bool:
    if policy.channel_cutoff(channel_url) is not None:
        return True
    return any(cutoff is not None for cutoff in policy.packages.values())


def _filtered_repodata(source: Path, channel_url: str, policy: ExcludeNewer, cache: Path) -> Path:
    """A copy of the repodata file ``source`` without the entries ``policy`` hides,
    cached by the source file (path, size, mtime) and the cutoffs that apply to it."""
    stat = source.stat()
    key = [
        str(source.resolve()),
        str(stat.st_size),
        str(stat.st_mtime_ns),
        str(policy.channel_cutoff(channel_url)),
        *(f"{name}={cutoff}" for name, cutoff in sorted(policy.packages.items())),
    ]
    digest = hashlib.sha256("\0".join(key).encode()).hexdigest()[:24]
    target = cache / "exclude-newer" / f"{digest}.json"
    if target.exists():
        mark_used(target)  # unused ones are pruned (shard_cache.prune_subsets)
        return target
    try:
        data = json.loads(source.read_bytes())
    except (OSError, ValueError) as exc:
        raise InvalidInputError(str(source), f"not valid repodata JSON ({exc})") from None
    dropped = 0
    for section in ("packages", "packages.conda"):
        entries = data.get(section)
        if not isinstance(entries, dict):
            continue
        kept = {}
        for filename, entry in entries.items():
            name = str(entry.get("name", "")).lower() if isinstance(entry, Mapping) else ""
            if isinstance(entry, Mapping) and not policy.includes(name, channel_url, entry):
                dropped += 1
                continue
            kept[filename] = entry
        data[section] = kept
    log.info("exclude-newer: %s: %d record(s) hidden", source, dropped)
    return write_cache_file(cache, target, json.dumps(data).encode())


# -- steps 2 and 3: channel order, legacy features -----------------------------------------


def solve_on_engine(
    backend: Backend, index: Index, request: EngineRequest, options: SolveOptions
) -> list[RepoDataRecord]:
    """Ask ``backend`` for the records of ``request`` with classic's channel order under
    disabled priority and legacy features honoured; the one place the solve loop calls an
    engine. Every engine call this makes gets only what is left of ``options.deadline``."""
    cache = Path(options.cache_dir)
    deadline = options.deadline
    ordered = priority.channels_before_builds(index, request, cache)
    if ordered is None:
        return features.solve(backend, index, request, cache, deadline)
    derived, derived_request, map_back = ordered
    return map_back(features.solve(backend, derived, derived_request, cache, deadline))
