"""
The libsolv ``Database`` for a request: the channels' repodata loaded into libsolv.

Two ways in, chosen per request by :func:`load_mode`:

- **full**: libmamba parses each repodata file itself (simdjson) and the repo is
  serialized to libsolv's native ``.solv`` format in the cache directory
  (:func:`solv_cache_path`), so a warm solve skips JSON entirely — this includes the small
  subset files plus writes for sharded channels and split monolithic ones. conda's
  ``add_pip_as_python_dependency`` is written into the file libmamba parses
  (:func:`parseable_file`) where the binding cannot add pip across repos, and entries that
  are no package record are left out of it, as py-rattler leaves them out;
- **sparse** (large repodata, conda-forge size): py-rattler's sparse loader reads only the
  records reachable from the request (:func:`reachable_subsets`), which are handed to
  libsolv as packages (:func:`~.libmamba_records.package_info`).

Channel order becomes repo priorities (:func:`set_priority`). What libmambapy can and
cannot do is asked of the binding, never assumed from its version
(:func:`database_filters_by_timestamp`, :func:`database_adds_pip_across_repos`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rattler import PackageName, SparseRepoData

from ..conditions import Spec
from ..exceptions import InvalidInputError
from ..records import is_package_entry, record_name
from ..repodata.cache_files import write_cache_file
from ..repodata.roots import root_names
from . import EngineRequest
from .libmamba_binding import VERSION, libsolv, mamba_specs
from .libmamba_conditions import WhenTranslation, mentions_conditions
from .libmamba_records import package_info, with_pip_for_python

if TYPE_CHECKING:
    from rattler import RepoDataRecord

    from ..repodata.model import Index, SubdirRepo

__all__ = [
    "SPARSE_ABOVE_BYTES",
    "DatabaseCache",
    "LoadedDatabase",
    "database_adds_pip_across_repos",
    "database_filters_by_timestamp",
    "database_key",
    "load_database",
    "load_mode",
    "parseable_file",
    "solv_cache_path",
]

log = logging.getLogger(__name__)

#: total repodata size above which only the reachable records are loaded
SPARSE_ABOVE_BYTES = 32 * 1024 * 1024
#: bump when what we put into a ``.solv`` file changes
# 2: pip added to python in the parsed file; 3: entries that are no package record left out;
# 4: never written for a file with conditional dependencies (a hit means it has none);
# 5: records in file-name order (parseable_file)
_SOLV_FORMAT = "5"


@functools.cache
def database_filters_by_timestamp() -> bool:
    """Feature test: does this libmambapy's ``libsolv.Database`` take
    ``exclude_newer_timestamp`` (mamba's main branch after 2.8.1; no release has it yet)?
    Asked of the binding itself, never assumed from the version number."""
    params = mamba_specs.ChannelResolveParams(platforms={"noarch"})
    try:
        libsolv.Database(params, exclude_newer_timestamp=None)
    except TypeError:
        return False
    return True


@functools.cache
def database_adds_pip_across_repos() -> bool:
    """Feature test: does libmambapy's ``add_pip_as_python_dependency`` add ``pip`` to
    python's depends when pip is in another repo — as on every real channel, python in
    ``linux-64``, pip in ``noarch``? libmambapy 2.8.1 does not (conda-libmamba-solver#930):
    asked of the binding with two one-package repos, never assumed."""
    db = libsolv.Database(mamba_specs.ChannelResolveParams(platforms={"noarch", "linux-64"}))
    yes = libsolv.PipAsPythonDependency.Yes
    python = mamba_specs.PackageInfo(name="python", version="3.12.0", platform="linux-64")
    pip = mamba_specs.PackageInfo(name="pip", version="24.0", platform="noarch")
    repo = db.add_repo_from_packages([python], name="linux-64", add_pip_as_python_dependency=yes)
    db.add_repo_from_packages([pip], name="noarch", add_pip_as_python_dependency=yes)
    return any("pip" in p.dependencies for p in db.packages_in_repo(repo))


@contextlib.contextmanager
def parseable_file(
    source: Path,
    scratch_dir: Path,
    *,
    add_pip: bool,
    translation: WhenTranslation | None = None,
) -> Iterator[Path]:
    """``source`` as libmamba should parse it: a temporary copy in ``scratch_dir`` with
    each group's records in file-name order (libsolv breaks ties by the order records were
    added: the sparse path sorts likewise), without
    the entries that are no package record (:func:`~conda_solver_plus.records.is_package_entry`:
    py-rattler skips them, so both engines see the same records), with ``translation``
    its conditional dependencies translated (:class:`WhenTranslation`) and, with ``add_pip``
    (``add_pip_as_python_dependency`` where the binding cannot add pip across repos), with
    python records depending on ``pip`` (:func:`with_pip_for_python`); or ``source`` itself
    when nothing had to change.

    Only a ``.solv`` cache miss pays for this (one JSON parse of a file small enough for
    libmamba's own parser); the copy is removed once libmamba has read it."""
    try:
        repodata = json.loads(source.read_bytes())
        if not isinstance(repodata, dict):
            raise ValueError("the document is not a JSON object")
    except (OSError, ValueError) as exc:
        raise InvalidInputError(
            str(source),
            f"cannot read this repodata ({exc})",
            "re-index the channel or fix the file",
        ) from None
    changed = False
    for key in ("packages", "packages.conda"):
        group = repodata.get(key)
        if not isinstance(group, dict):
            continue
        if not _in_file_name_order(group):
            # libsolv breaks ties between equally good answers by the order packages were
            # added: in file-name order, the order of records in the file (which a channel
            # does not promise: conda index sorts them, other writers need not) cannot
            # change the answer
            group = repodata[key] = dict(sorted(group.items()))
            changed = True
        for file_name, record in list(group.items()):
            if not is_package_entry(file_name, record):
                del group[file_name]
                changed = True
                continue
            original = record.get("depends") or []
            depends = original
            if translation is not None:
                depends = translation.depends(depends)
            if add_pip:
                depends = with_pip_for_python(
                    record["name"], str(record.get("version", "")), depends
                )
            if depends is not original:  # both return their input when nothing changes
                record["depends"] = depends
                changed = True
    if not changed:
        yield source
        return
    copy = scratch_dir / f"{source.stem}.{os.getpid()}.{time.monotonic_ns()}.json"
    # in a temporary directory when the cache is read-only or full
    copy = write_cache_file(scratch_dir, copy, json.dumps(repodata).encode())
    try:
        yield copy
    finally:
        copy.unlink(missing_ok=True)


def _in_file_name_order(group: dict) -> bool:
    return all(first <= second for first, second in itertools.pairwise(group))


def _pip(request: EngineRequest) -> libsolv.PipAsPythonDependency:
    if request.add_pip_as_python_dependency:
        return libsolv.PipAsPythonDependency.Yes
    return libsolv.PipAsPythonDependency.No


def solv_cache_path(cache_dir: Path, repo: SubdirRepo, request: EngineRequest) -> Path:
    """Where the ``.solv`` serialization of ``repo`` is kept, keyed by everything that
    changes its content: the file's identity and the load options."""
    stat = repo.path.stat()
    key = "\0".join(
        (
            _SOLV_FORMAT,
            VERSION,
            str(repo.path.resolve()),
            str(stat.st_size),
            str(stat.st_mtime_ns),
            repo.channel.url,
            repo.subdir,
            str(request.add_pip_as_python_dependency),
            str(request.exclude_newer),
        )
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return cache_dir / "solv" / f"{digest}.solv"


# -- building the database --------------------------------------------------------------------


@dataclass
class LoadedDatabase:
    """A libsolv database with every channel repo of an index loaded, and what the engine
    needs to read libsolv's answer back."""

    db: libsolv.Database
    #: ``channel_url/subdir`` (libsolv's repo name) -> the repo of the index
    repos: dict[str, SubdirRepo] = field(default_factory=dict)
    #: the records the sparse path handed to libsolv, by URL
    loaded: dict[str, RepoDataRecord] = field(default_factory=dict)
    #: the guards that loading the channels' conditional dependencies took
    #: (:attr:`WhenTranslation.guards`): a solve on this database needs them
    guards: dict[str, tuple[str, Spec]] = field(default_factory=dict)

    @contextlib.contextmanager
    def solving(self) -> Iterator[list]:
        """The database for one solve: the repos the solve adds (its installed repo, its
        guards) are appended to the list it yields and removed again afterwards, last
        first, so the database holds only the channels when the next solve comes. libmamba
        puts the dummy packages behind ``Pin`` jobs into the installed repo, so they leave
        with it."""
        added: list = []
        try:
            yield added
        finally:
            for repo in reversed(added):
                self.db.remove_repo(repo)


def load_database(
    index: Index,
    request: EngineRequest,
    translation: WhenTranslation,
    *,
    cache_dir: Path,
    configured: str,
) -> LoadedDatabase:
    """Every repo of ``index`` in a new libsolv database, in priority order, for
    ``request`` (``configured`` load mode: :func:`load_mode`; ``.solv`` files in
    ``cache_dir``). Conditional dependencies go through ``translation``, which records the
    guards they need."""
    params = mamba_specs.ChannelResolveParams(platforms=set(index.subdirs) | {"noarch"})
    native_cutoff = request.exclude_newer is not None and database_filters_by_timestamp()
    if native_cutoff:
        assert request.exclude_newer is not None
        cutoff_seconds = int(request.exclude_newer.timestamp())
        db = libsolv.Database(params, exclude_newer_timestamp=cutoff_seconds)
    else:
        db = libsolv.Database(params)
    loaded = LoadedDatabase(db)
    mode = load_mode(index, request, native_cutoff, configured)
    log.debug("libmamba index: %s", mode)
    subsets = reachable_subsets(index, request) if mode == "sparse" else None
    for position, repo in enumerate(index.repos):
        url = f"{repo.channel.url}/{repo.subdir}"
        if subsets is None:
            info = _load_repo_file(db, repo, url, request, translation, cache_dir)
        else:
            info = _add_records(loaded, subsets[position], url, request, translation)
        loaded.repos[url] = repo
        set_priority(db, info, index, repo, request.channel_priority)
    loaded.guards = dict(translation.guards)
    return loaded


def load_mode(index: Index, request: EngineRequest, native_cutoff: bool, configured: str) -> str:
    """``full`` (libmamba parses the repodata files) or ``sparse`` (py-rattler reads the
    reachable records, handed to libsolv from Python) for this request; ``configured`` is
    the engine's setting (``auto``, ``full`` or ``sparse``)."""
    if request.exclude_newer is not None and not native_cutoff:
        # this libmambapy cannot drop records past a cutoff while it parses repodata
        # (released 2.8.1 cannot): load through py-rattler and filter in Python instead
        return "sparse"
    if any(not repo.path.is_file() for repo in index.repos):
        # a channel py-rattler fetched (the CLI's http(s) channels) lives in its cache,
        # with no repodata file of its own to hand libsolv: only the sparse path reads it
        return "sparse"
    if configured != "auto":
        return configured
    size = sum(repo.path.stat().st_size for repo in index.repos)
    return "sparse" if size > SPARSE_ABOVE_BYTES else "full"


def sparse_seeds(request: EngineRequest) -> list[str]:
    """The names the sparse path starts from (:func:`~..repodata.roots.root_names`): the
    requested, installed and locked names and what their records depend on (pip with
    python when it is added), sorted."""
    records = [*request.installed, *request.locked, *request.pinned]
    names = root_names(
        specs=[spec.name.normalized for spec in request.specs if spec.name is not None],
        installed=[(record_name(record), record.depends) for record in records],
        add_pip=request.add_pip_as_python_dependency,
    )
    return sorted(names)


def reachable_subsets(index: Index, request: EngineRequest) -> list[list[RepoDataRecord]]:
    """Per repo, the records the request can reach from :func:`sparse_seeds` (py-rattler's
    sparse loader parses only those). A request touching 40 names reads 40 names' records,
    not the channel's 300k."""
    seeds = [PackageName(name) for name in sparse_seeds(request)]
    return SparseRepoData.load_records_recursive([r.sparse for r in index.repos], seeds)


def _add_records(
    loaded: LoadedDatabase,
    subset: list[RepoDataRecord],
    url: str,
    request: EngineRequest,
    translation: WhenTranslation,
):
    """The sparse path: ``subset`` (one repo's reachable records) as a libsolv repo."""
    # py-rattler returns them in hash order, which differs from run to run, and libsolv's
    # answer can depend on the order packages were added: sort, so one request gives one
    # answer
    records = sorted(subset, key=lambda r: r.file_name)
    cutoff = request.exclude_newer
    if cutoff is not None:
        records = [r for r in records if r.timestamp is None or r.timestamp <= cutoff]
    loaded.loaded.update((record.url, record) for record in records)
    add_pip = request.add_pip_as_python_dependency
    packages = [
        package_info(record, add_pip=add_pip, translate=translation.depends) for record in records
    ]
    return loaded.db.add_repo_from_packages(
        packages,
        name=url,
        # pip is added to python's depends above, whichever repo pip is in
        add_pip_as_python_dependency=libsolv.PipAsPythonDependency.No,
    )


def _load_repo_file(
    db,
    repo: SubdirRepo,
    url: str,
    request: EngineRequest,
    translation: WhenTranslation,
    cache_dir: Path,
):
    """The full path: ``repo``'s repodata file as a libsolv repo, from its ``.solv``
    serialization when one is cached, else parsed by libmamba (and then cached)."""
    pip = _pip(request)
    # conda's add_pip_as_python_dependency (on by default): python (linux-64) and pip
    # (noarch) live in different repos, where libmambapy 2.8.1 adds nothing; then the
    # file libmamba parses carries pip in python's depends itself (parseable_file)
    pip_in_file = request.add_pip_as_python_dependency and not database_adds_pip_across_repos()
    if pip_in_file:
        pip = libsolv.PipAsPythonDependency.No
    solv = solv_cache_path(cache_dir, repo, request)
    origin = libsolv.RepodataOrigin(url=url, etag=solv.stem, mod="")
    # a file with conditional dependencies is translated for this machine's virtual
    # packages, and its guards are needed by this solve (WhenTranslation): it is parsed
    # each time and never cached. So a .solv exists only for a file (this path, size and
    # mtime) without them, and a hit needs no scan for them
    if solv.exists():
        try:
            return db.add_repo_from_native_serialization(
                path=str(solv),
                expected=origin,
                channel_id=repo.channel.url,
                add_pip_as_python_dependency=pip,
            )
        except Exception as exc:  # a stale or truncated cache entry: reparse
            log.debug("ignoring %s: %s", solv, exc)
    conditional = mentions_conditions(repo.path)
    with parseable_file(
        repo.path,
        solv.parent,
        add_pip=pip_in_file,
        translation=translation if conditional else None,
    ) as path:
        try:
            info = db.add_repo_from_repodata_json(
                path=str(path),
                url=url,
                channel_id=repo.channel.url,
                add_pip_as_python_dependency=pip,
            )
        except Exception as exc:
            raise InvalidInputError(
                str(repo.path),
                f"libmamba cannot load this repodata ({exc})",
                "re-index the channel (conda index) or fix the file",
            ) from None
    if not conditional:
        _write_solv(db, info, solv, origin)
    return info


def _write_solv(db, info, solv: Path, origin) -> None:
    """Serialize the repo ``info`` to ``solv`` (atomically); a cache that cannot be
    written is no error."""
    try:
        solv.parent.mkdir(parents=True, exist_ok=True)
        partial = solv.with_suffix(f".{os.getpid()}.part")
        db.native_serialize_repo(repo=info, path=str(partial), metadata=origin)
        os.replace(partial, solv)
    except Exception as exc:  # the cache is an optimisation; a read-only one is fine
        log.debug("cannot write %s: %s", solv, exc)


def set_priority(db, info, index: Index, repo: SubdirRepo, channel_priority: str) -> None:
    """``repo``'s libsolv priority: its channel's rank (strict and flexible), or one
    priority for all with the repo order as subpriority (disabled)."""
    if channel_priority == "disabled":
        # same priority everywhere; earlier repos win ties only by subpriority
        position = index.repos.index(repo)
        priority = libsolv.Priorities(0, len(index.repos) - position)
    else:
        # members of a multichannel share one priority (conda-libmamba-solver does the
        # same), so strict priority keeps all of them for a name the first one has
        tiers = len(index.priority_tiers())
        priority = libsolv.Priorities(tiers - index.priority_rank(repo.channel), 1)
    db.set_repo_priority(info, priority)


# -- one database for every call of a solve ---------------------------------------------------

#: how many databases a libmamba engine keeps between its calls: a solve alternates between
#: at most two indexes (the channels, and a legacy-feature rewrite of them)
KEPT_DATABASES = 2


def database_key(index: Index, request: EngineRequest, cache_dir: Path, configured: str) -> tuple:
    """What a loaded database depends on besides the identity of ``index`` itself: the
    load mode and what it reads (each repo, its file's size and mtime, the sparse path's
    seed names), and the request's load options — channel priority (repo priorities),
    ``add_pip_as_python_dependency``, the cutoff, and the virtual packages (the
    conditional dependencies of the channels are decided for them while loading,
    :class:`WhenTranslation`). Specs, locks, pins and the installed records are not part
    of it: they reach libsolv as jobs and as the installed repo, added for each solve."""
    native_cutoff = request.exclude_newer is not None and database_filters_by_timestamp()
    mode = load_mode(index, request, native_cutoff, configured)
    return (
        mode,
        str(cache_dir),
        tuple(index.subdirs),
        tuple(tuple(channel.url for channel in tier) for tier in index.priority_tiers()),
        tuple(
            (id(repo), repo.channel.url, repo.subdir, str(repo.path), _file_identity(repo.path))
            for repo in index.repos
        ),
        request.channel_priority,
        request.add_pip_as_python_dependency,
        request.exclude_newer,
        tuple(
            (package.name.normalized, str(package.version), str(package.build_string))
            for package in request.virtual_packages
        ),
        tuple(sparse_seeds(request)) if mode == "sparse" else (),
    )


def _file_identity(path: Path) -> tuple[int, int] | None:
    """``(size, mtime)`` of a repodata file, ``None`` where there is none (a channel
    py-rattler fetched into its own cache)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


class DatabaseCache:
    """The databases a libmamba engine loaded, reused while the same index object and the
    same :func:`database_key` come back: every attempt of a solve, its pin diagnosis and
    ``--update-deps`` solve on one database, built once (conda-libmamba-solver builds its
    index once per solve too). Another index — the legacy-feature rewrite, an
    exclude-newer filtered copy, the derived build numbers of channel priority
    ``disabled`` — is another object, so it gets a database of its own. At most
    :data:`KEPT_DATABASES` are kept, the most recently used first."""

    def __init__(self) -> None:
        self._kept: list[tuple[Index, tuple, LoadedDatabase]] = []

    def database(
        self,
        index: Index,
        request: EngineRequest,
        translation: WhenTranslation,
        *,
        cache_dir: Path,
        configured: str,
    ) -> LoadedDatabase:
        """The database for ``request`` over ``index`` (:func:`load_database`), the kept
        one when there is one; ``translation`` gets the guards it took either way."""
        key = database_key(index, request, cache_dir, configured)
        for position, (kept_index, kept_key, loaded) in enumerate(self._kept):
            if kept_index is index and kept_key == key:
                self._kept.insert(0, self._kept.pop(position))
                translation.guards.update(loaded.guards)
                return loaded
        loaded = load_database(
            index, request, translation, cache_dir=cache_dir, configured=configured
        )
        self._kept.insert(0, (index, key, loaded))
        del self._kept[KEPT_DATABASES:]
        return loaded
