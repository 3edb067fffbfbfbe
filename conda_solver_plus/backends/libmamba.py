"""
The libmamba engine: libmambapy 2.x's libsolv database and solver.

libsolv is *transactional*: it sees an **installed** repository next to the channels and
answers with the actions (install, upgrade, remove, keep) that turn one into the other.
The core speaks declaratively (see :class:`~conda_solver_plus.backends.EngineRequest`), so
this engine translates, and only translates:

- the request's ``starting_point`` (or, without one, its ``locked``, ``pinned`` and
  ``installed`` records), plus the virtual packages, form the installed repo — libsolv
  keeps an installed package unless a job or a dependency forces a change, which is
  exactly "prefer the current version". A record that its channel no longer lists stays a
  candidate this way, as it does for resolvo.
- ``specs`` and ``repairs`` become ``Install`` jobs; ``pinned`` records are also
  ``Freeze``-d; installed packages the core left free get ``Update`` jobs; ``constraints``
  become ``Pin`` jobs (libmamba adds a dummy package that only *constrains*, so a
  constraint never pulls its package in).
- channel order becomes repo priorities (:func:`.libmamba_database.set_priority`).

conda's rules that no SAT solver applies by itself — what of the prefix may stay under
channel priority, the repair of broken installed packages, and that the environment is
what the specs need (libsolv keeps installed packages nothing needs any more) — are the
core's, applied around every engine call (:mod:`conda_solver_plus.solving.engine_rules`).

The engine is split by concept:

- :mod:`.libmamba_binding`: libmambapy, its supported versions checked;
- :mod:`.libmamba_records`: records and specs as libmamba reads them;
- :mod:`.libmamba_conditions`: conditional dependencies (``dep[when=...]``), which
  libmambapy cannot read, translated into what libsolv can take, or the request goes to
  the rattler engine with one warning where no sound translation exists;
- :mod:`.libmamba_database`: the libsolv database (libmamba's own parser and the ``.solv``
  cache for small repodata, py-rattler's sparse loader for large);
- :mod:`.libmamba_problems`: libsolv's answer read back, and on failure the names in
  conflict, the specs without candidates and the paths to the clash, from libmamba's
  problems graph;
- :mod:`.child_process`: the solve in a child process that the time limit can kill.

libsolv has one version policy, the highest: no job of libmambapy 2.8.1's ``Request``
(``Install``, ``Update``, ``UpdateAll``, ``Remove``, ``Keep``, ``Freeze``, ``Pin``) and no
flag asks for the lowest, and the old ``Solver.add_jobs``/``add_global_job`` (where
libsolv's ``SOLVER_FAVOR``/``SOLVER_DISFAVOR`` would go) raise "All jobs need to be passed
in the libmambapy.solver.Request". A request with the ``lowest`` or ``lowest-direct``
strategy is therefore solved by the rattler engine, with one warning line; docs/backends.md
has the emulation that was measured instead (track_features penalties: the same answers,
15 to 40 times slower) and why it was not taken.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rattler import MatchSpec, PackageName

from .. import settings
from ..exceptions import ConflictChain
from ..records import record_name
from ..settings import default_cache_dir
from . import EngineRequest, EngineTimeout, EngineUnsolvable
from .child_process import run_bounded
from .libmamba_binding import libsolv, mamba_solver, mamba_specs
from .libmamba_conditions import GUARD_PREFIX, UntranslatableCondition, WhenTranslation
from .libmamba_database import DatabaseCache, LoadedDatabase, database_filters_by_timestamp
from .libmamba_problems import summarize
from .libmamba_records import exact_spec, mamba_spec, package_info, virtual_package_info
from .rattler import RattlerBackend

if TYPE_CHECKING:
    from rattler import RepoDataRecord

    from ..repodata.model import Index, SubdirRepo

__all__ = ["LibMambaBackend", "WhenTranslation", "database_filters_by_timestamp"]

log = logging.getLogger(__name__)


class LibMambaBackend:
    name = "libmamba"
    #: the distribution that provides it (user agents name its version)
    library = "libmambapy"

    def __init__(self, cache_dir: Path | None = None, load: str | None = None) -> None:
        self.cache_dir = cache_dir
        #: "sparse": only the records the request can reach, parsed by py-rattler;
        #: "full": libmamba parses whole repodata files (cached as .solv); "auto" (default):
        #: full below ``SPARSE_ABOVE_BYTES`` of repodata — same record order, so the same
        #: problem lines as conda-libmamba-solver — and sparse above, where parsing
        #: everything would dominate the solve
        self.load = load or settings.libmamba_load()
        #: one database for every call of a solve (attempts, pin diagnosis, ...)
        self.databases = DatabaseCache()
        #: the strategy's warning is said once per engine (a solve may call it many times)
        self._strategy_warned = False

    def solve(self, index: Index, request: EngineRequest) -> list[RepoDataRecord]:
        """libsolv's answer, or the rattler engine's where a conditional dependency has no
        sound translation for libsolv (:class:`WhenTranslation`; one warning says why).
        ``request.timeout`` covers all of it: building the database and translating the
        request count, and the solve (or the rattler engine's) gets what is left."""
        started = time.monotonic()
        try:
            if request.strategy != "highest":
                raise UntranslatableStrategy(request.strategy)
            return self._solve(index, request, started)
        except (UntranslatableCondition, UntranslatableStrategy) as exc:
            if not isinstance(exc, UntranslatableStrategy) or not self._strategy_warned:
                log.warning(
                    "conda-solver-plus: %s, which libsolv cannot take; "
                    "this request is solved by the rattler engine",
                    exc,
                )
            self._strategy_warned |= isinstance(exc, UntranslatableStrategy)
            left = _time_left(request, started)
            return RattlerBackend().solve(index, dataclasses.replace(request, timeout=left))

    def _database(
        self, index: Index, request: EngineRequest, translation: WhenTranslation
    ) -> LoadedDatabase:
        cache_dir = self.cache_dir if self.cache_dir is not None else default_cache_dir()
        return self.databases.database(
            index, request, translation, cache_dir=cache_dir, configured=self.load
        )

    def _solve(self, index: Index, request: EngineRequest, started: float) -> list[RepoDataRecord]:
        translation = WhenTranslation(request.virtual_packages)
        loaded = self._database(index, request, translation)
        db = loaded.db
        start = starting_records(request)
        with loaded.solving() as added:
            installed = db.add_repo_from_packages(
                installed_packages(start.values(), request, translation), name="installed"
            )
            added.append(installed)
            db.set_installed_repo(installed)
            jobs = solve_jobs(request, translation)
            if translation.guards:
                guards = translation.guard_packages(db)
                added.append(db.add_repo_from_packages(guards, name="conditions"))
            solve_request = mamba_solver.Request(jobs=jobs, flags=solve_flags(request))

            def run() -> dict:
                return summarize(db, installed, libsolv.Solver().solve(db, solve_request))

            left = _time_left(request, started)
            summary = run_bounded(run, left) if left is not None else run()
        if "unsolvable" in summary:
            raise unsolvable_error(summary["unsolvable"], translation)
        known = {**loaded.loaded, **start}
        return records_for(summary["packages"], loaded.repos, known)


class UntranslatableStrategy(Exception):
    """A solve strategy other than ``highest``: libsolv only prefers the highest version
    (see the module docstring), so the rattler engine solves the request."""

    def __init__(self, strategy: str) -> None:
        super().__init__(f"the solve strategy {strategy!r} asks for lowest versions")


def _time_left(request: EngineRequest, started: float) -> float | None:
    """What is left of ``request.timeout`` since ``started`` (``None``: no limit);
    :class:`EngineTimeout` when nothing is."""
    if not request.timeout:
        return None
    elapsed = time.monotonic() - started
    if elapsed >= request.timeout:
        raise EngineTimeout(elapsed)
    return request.timeout - elapsed


def _read_chosen(repo: SubdirRepo, chosen: list[tuple[str, ...]]) -> dict[str, RepoDataRecord]:
    """The records of ``repo`` libsolv chose, by URL: read by exact spec in one call; a
    version or build no spec can state exactly is read by name (every version of it)."""
    try:
        specs = [MatchSpec(f"{name}=={version}={build}") for name, _, _, version, build in chosen]
        matching = repo.sparse.load_matching_records(specs)
    except Exception:  # an unusual version string: the slow path below
        matching = []
    by_file = {record.file_name: record for record in matching}
    found = {}
    for name, url, filename, *_ in chosen:
        record = by_file.get(filename)
        if record is None:
            records = repo.sparse.load_records(PackageName(name))
            record = next((r for r in records if r.file_name == filename), None)
        if record is None:
            raise RuntimeError(f"libmamba returned unknown {url}")
        found[url] = record
    return found


def starting_records(request: EngineRequest) -> dict[str, RepoDataRecord]:
    """The installed repo's records by URL: the request's starting point, or without one
    every locked, pinned and installed record."""
    start = request.starting_point
    if start is None:
        start = [*request.locked, *request.pinned, *request.installed]
    by_url: dict[str, RepoDataRecord] = {}
    # in one order whatever order the prefix was read in (libsolv may break ties by it)
    for record in sorted(start, key=lambda record: (record.name.normalized, record.url)):
        by_url.setdefault(record.url, record)
    return by_url


def installed_packages(
    records: Iterable[RepoDataRecord], request: EngineRequest, translation: WhenTranslation
) -> list[mamba_specs.PackageInfo]:
    """The installed repo: ``records`` and the machine's virtual packages."""
    translate = functools.partial(translation.depends, owner="an installed package")
    packages = [package_info(record, translate=translate) for record in records]
    packages.extend(virtual_package_info(v) for v in request.virtual_packages)
    return packages


def solve_jobs(request: EngineRequest, translation: WhenTranslation) -> list:
    """libsolv's jobs for ``request``, in the order libsolv should decide them."""
    Request = mamba_solver.Request
    # a requested ``dep[when=...]`` is a conditional dependency of the request itself;
    # libsolv decides jobs in order, and a guard decided first would keep the condition's
    # package from its best version to spare the dependency (resolvo takes the best version
    # and then the dependency): guards go last
    specs = [translation.dependency(str(spec)) for spec in request.specs]
    wanted = [spec for spec in specs if spec is not None]
    guards = [spec for spec in wanted if spec.startswith(GUARD_PREFIX)]
    jobs = [Request.Install(mamba_spec(spec)) for spec in wanted if spec not in guards]
    # libsolv never re-checks an installed package that is already broken ("dontfix");
    # the repairs (conda_solver_plus.solving.engine_rules) ask for what it lacks
    jobs += [Request.Install(mamba_spec(dep)) for dep in request.repairs]
    jobs += installed_jobs(request)
    # a guard cannot stand for a conditional constraint: a Pin job only constrains
    constraints = [
        translation.dependency(str(spec), owner="a pin") for spec in request.constraints
    ]
    jobs += [Request.Pin(mamba_spec(spec)) for spec in constraints if spec is not None]
    jobs += [Request.Install(mamba_spec(spec)) for spec in guards]
    return jobs


def installed_jobs(request: EngineRequest) -> list:
    """``Freeze`` for each pinned record; ``Update`` for each installed package the core
    did not lock: free to move, as in resolvo, it stays in the installed repo (libsolv
    does not check dependencies of an installed package whose own dependencies are not
    installed)."""
    Request = mamba_solver.Request
    parse = mamba_specs.MatchSpec.parse
    held = {record_name(record) for record in [*request.locked, *request.pinned]}
    jobs = [Request.Freeze(parse(exact_spec(record))) for record in request.pinned]
    jobs += [
        Request.Update(parse(record_name(record)))
        for record in request.installed
        if record_name(record) not in held
    ]
    return jobs


def solve_flags(request: EngineRequest):
    """libsolv's flags: conda's behaviour (keep dependencies and user specs, downgrades and
    removals allowed), strict repo priority under strict channel priority."""
    return mamba_solver.Request.Flags(
        keep_dependencies=True,
        keep_user_specs=True,
        force_reinstall=False,
        allow_downgrade=True,
        allow_uninstall=True,
        strict_repo_priority=request.channel_priority == "strict",
        order_request=False,
    )


def unsolvable_error(report: dict, translation: WhenTranslation) -> EngineUnsolvable:
    """The engine's error for libsolv's unsolvable report (:func:`.summarize`), each guard
    shown as the conditional dependency it stands for."""
    return EngineUnsolvable(
        translation.readable(report["message"]),
        set(report["names"]),
        report["missing"],
        [translation.readable_chain(ConflictChain.from_json(chain)) for chain in report["chains"]],
    )


def records_for(
    packages: Iterable[Sequence[str]],
    repos: dict[str, SubdirRepo],
    known: dict[str, RepoDataRecord],
) -> list[RepoDataRecord]:
    """Our records for libsolv's ``(name, package_url, filename, version, build)``
    answers: a ``known`` one by URL (installed, or handed to libsolv by the sparse path),
    else read from its repo — each repo once, for the exact versions libsolv chose
    (py-rattler then makes Python records of those alone, not of every version)."""
    answer = [tuple(package) for package in packages]
    wanted: dict[str, list[tuple[str, ...]]] = {}
    for package in answer:
        if package[1] not in known:
            wanted.setdefault(package[1].rsplit("/", 1)[0], []).append(package)
    found = dict(known)
    for base, chosen in wanted.items():
        repo = repos.get(base)
        if repo is None:
            raise RuntimeError(f"libmamba returned {chosen[0][1]}, outside every repo")
        found.update(_read_chosen(repo, chosen))
    by_name = {package[0]: found[package[1]] for package in answer}
    return list(by_name.values())
