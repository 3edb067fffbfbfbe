"""
The libmamba engine: libmambapy 2.x's libsolv database and solver.

libsolv is *transactional*: it sees an **installed** repository next to the channels and
answers with the actions (install, upgrade, remove, keep) that turn one into the other.
The core speaks declaratively (see :class:`~conda_solver_plus.backends.EngineRequest`), so
this module translates:

- ``locked`` and ``pinned`` records, plus the virtual packages, form the installed repo —
  libsolv keeps an installed package unless a job or a dependency forces a change, which is
  exactly "prefer the current version". A record that its channel no longer lists stays a
  candidate this way, as it does for resolvo.
- ``specs`` become ``Install`` jobs; ``pinned`` records are also ``Freeze``-d;
  ``constraints`` become ``Pin`` jobs (libmamba adds a dummy package that only
  *constrains*, so a constraint never pulls its package in).
- channel order becomes repo priorities: strict priority makes libsolv ignore a name's
  candidates in every repo below the first that has it; flexible keeps them as fallbacks;
  disabled gives every channel the same priority (the order of channels then breaks a
  version tie through the build numbers the core's channel-order transform derives,
  :mod:`conda_solver_plus.solving.priority`). The members of a multichannel share one
  priority (:meth:`~conda_solver_plus.index.Index.priority_tiers`).

libsolv keeps installed packages that nothing needs any more; resolvo drops them. To give
the same answer, the final environment is the part of libsolv's result reachable from the
requested specs through ``depends``.

Small repodata is parsed by libmamba itself (simdjson) and, per file, serialized to
libsolv's native ``.solv`` format in the cache directory, so a warm solve skips JSON
entirely — this includes the small subset files plus writes for sharded channels and
split monolithic ones. conda's ``add_pip_as_python_dependency`` is written into the file
libmamba parses (:func:`parseable_file`) where the binding cannot add pip across repos, and
entries that are no package record are left out of it, as py-rattler leaves them out.
Conditional dependencies (``dep[when=...]``), which libmambapy cannot read, are translated
into what libsolv can take (:class:`WhenTranslation`), or the request goes to the rattler
engine with one warning where no sound translation exists.
Large repodata (conda-forge size) is not parsed whole: py-rattler's sparse loader
reads only the records reachable from the request, which are handed to libsolv. On
failure, libmamba's problem graph gives the names in conflict, the specs that had no
candidates and the paths from the requested specs to the clash (:func:`graph_chains`);
the message is libsolv's problem lines followed by libmamba's tree.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import logging
import mmap
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

# not installed at all: ModuleNotFoundError, and ``auto`` quietly takes the rattler engine
import libmambapy
from rattler import PackageName, SparseRepoData, Version

from .. import settings
from ..conditions import (
    Spec,
    simplify,
    split_conditional,
    virtual_records,
    virtual_truth,
)
from ..exceptions import ChainStep, ConflictChain, InvalidInputError
from ..records import dependency_name, dependency_names, is_package_entry, record_name
from ..repodata.cache_files import write_cache_file
from ..settings import default_cache_dir
from . import (
    LIBMAMBAPY_SUPPORTED,
    EngineRequest,
    EngineUnsolvable,
    EngineUnusable,
    libmambapy_version_supported,
)
from .child_process import run_bounded
from .rattler import RattlerBackend

if not libmambapy_version_supported(libmambapy.__version__):
    raise EngineUnusable(
        f"libmambapy {libmambapy.__version__} is installed; the libmamba engine needs "
        f"libmambapy {LIBMAMBAPY_SUPPORTED}"
    )
try:
    from libmambapy import solver as mamba_solver
    from libmambapy import specs as mamba_specs
    from libmambapy.solver import libsolv
except ImportError as exc:  # a partial or broken install
    raise EngineUnusable(
        f"libmambapy {libmambapy.__version__} is installed but its solver does not import ({exc})"
    ) from exc

if TYPE_CHECKING:
    from rattler import GenericVirtualPackage, RepoDataRecord

    from ..repodata.model import Index, SubdirRepo

log = logging.getLogger(__name__)

#: total repodata size above which only the reachable records are loaded
SPARSE_ABOVE_BYTES = 32 * 1024 * 1024
#: bump when what we put into a ``.solv`` file changes
# 2: pip added to python in the parsed file; 3: entries that are no package record left out;
# 4: never written for a file with conditional dependencies (a hit means it has none)
_SOLV_FORMAT = "4"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: libsolv's problem lines: "nothing provides [requested ]SPEC[ needed by DIST]"
_NOTHING_PROVIDES = re.compile(r"nothing provides (?:requested )?(.+?)(?: needed by |$)")
#: a package as libsolv prints it: name-version-build (the name may contain dashes)
_DIST = re.compile(r"^([A-Za-z0-9_][A-Za-z0-9_.\-]*?)-[^-\s]+-[^-\s]+$")


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


def with_pip_for_python(name: str, version: str, depends: list[str]) -> list[str]:
    """conda's ``add_pip_as_python_dependency`` rule (on by default): a python 2 or 3
    record also depends on ``pip``, so a python environment gets pip — conda does this to
    repodata as it loads it (``conda.core.subdir_data``), py-rattler to its records."""
    if name != "python" or not version.startswith(("2.", "3.")):
        return depends
    if "pip" in map(dependency_name, depends):
        return depends
    return [*depends, "pip"]


# -- conditional dependencies -----------------------------------------------------------------

#: name prefix of the packages that stand for a package condition (:class:`WhenTranslation`)
GUARD_PREFIX = "_plus_when_"
#: how a conditional dependency looks in a repodata file (``[when=__linux]``,
#: ``when="side-dependency=0.2"``): a file without it needs no translation
_WHEN_IN_FILE = re.compile(rb"when\s*=")


class UntranslatableCondition(Exception):
    """A conditional dependency libsolv cannot be given soundly; the request is solved by
    the rattler engine instead (:meth:`LibMambaBackend.solve`)."""


def mentions_conditions(path: Path) -> bool:
    """Whether the repodata file at ``path`` may hold conditional dependencies: a byte
    search (about 1 ms per MB, no JSON parse), run only on a ``.solv`` cache miss. A false
    alarm (``when=`` in some other string) only costs the ``.solv`` cache for that file."""
    with path.open("rb") as file:
        if os.fstat(file.fileno()).st_size == 0:
            return False
        with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as content:
            return _WHEN_IN_FILE.search(content) is not None


def guard_name(dependency: str, condition: Spec) -> str:
    """The name of the package that stands for ``dependency[when=condition]``: one name per
    distinct pair, so every record carrying the same conditional dependency shares it."""
    digest = hashlib.sha256(f"{dependency}\0{condition.text}".encode()).hexdigest()[:16]
    return f"{GUARD_PREFIX}{digest}"


class WhenTranslation:
    """Conditional dependencies (``dep[when=CONDITION]``, :mod:`conda_solver_plus.conditions`)
    as libsolv can take them, for one solve.

    libmambapy 2.8.1 has no conditional dependencies: its ``MatchSpec.parse`` drops
    ``[when=...]`` without a word (an unconditional dependency), its repodata parser keeps
    it in the spec text (``linux-dependency[when __linux]*``, which nothing provides and
    whose problem report raises ``MambaNativeException``), and libsolv's rich ``A if B``
    dependencies are not parsed either (docs/backends.md has the measurements). So each
    conditional dependency is rewritten before libsolv sees it:

    - **a condition on virtual packages** (``__linux``, ``__glibc>=2.28``) is decided now:
      the machine's virtual packages cannot change during the solve. A true condition
      leaves the plain dependency, a false one leaves nothing;
    - **a condition on one package** (``side-dependency=0.2``, possibly what is left of
      ``__unix and side-dependency=0.2`` on a unix machine) becomes a dependency on a
      *guard* package ``G`` with two builds (:meth:`guard_packages`): ``G 1`` depends on
      the dependency, ``G 2`` depends on nothing, and every record of the condition's
      package that matches the condition excludes ``G 2``. In clauses: the record ``X``
      needs ``G1 or G2``; ``G1`` needs the dependency; a matching record ``c`` and ``G2``
      exclude each other — which is exactly "``X`` and ``c`` installed need the
      dependency". libsolv prefers the higher ``G 2``, so the dependency is pulled in only
      when the condition forces it. The exclusion is written on ``G 2`` as a constraint on
      the condition's package, ``name !=v1,!=v2`` over the versions of the matching
      records; that is exact only when no non-matching record shares one of those
      versions (a condition on build strings might), which :meth:`guard_packages` checks;
    - anything else (``a or b`` on two packages, a package condition on a pin or on an
      installed record, which libsolv would never re-check: it does not repair an installed
      package whose dependency is missing when the solve starts) raises
      :class:`UntranslatableCondition`.
    """

    def __init__(self, virtual_packages: Iterable[GenericVirtualPackage]) -> None:
        self.machine = virtual_records(virtual_packages)
        #: guard name -> (the dependency, the package condition it stands for)
        self.guards: dict[str, tuple[str, Spec]] = {}

    def dependency(self, dependency: str, *, owner: str = "") -> str | None:
        """``dependency`` as libsolv should read it: itself when it has no condition, the
        plain dependency or ``None`` when the machine decides the condition, a guard's
        name when one package's condition is left. ``owner`` names where no guard can
        stand (``"an installed package"``, ``"a pin"``)."""
        conditional = split_conditional(dependency)
        if conditional is None:
            return dependency
        plain, condition = conditional
        left = simplify(condition, lambda spec: virtual_truth(spec, self.machine))
        if isinstance(left, bool):
            return plain if left else None
        if not isinstance(left, Spec):
            raise UntranslatableCondition(
                f"the conditional dependency {dependency!r} depends on more than one package"
            )
        if owner:
            raise UntranslatableCondition(
                f"{owner} has the conditional dependency {dependency!r} on a package"
            )
        name = guard_name(plain, left)
        self.guards[name] = (plain, left)
        return name

    def depends(self, depends: list[str], *, owner: str = "") -> list[str]:
        """A record's ``depends`` with each entry translated (:meth:`dependency`)."""
        if not any("when" in dependency for dependency in depends):
            return depends
        translated = (self.dependency(dependency, owner=owner) for dependency in depends)
        return [dependency for dependency in translated if dependency is not None]

    def guard_packages(self, db) -> list[mamba_specs.PackageInfo]:
        """The two builds of each guard, once every other repo (the installed one too) is
        in ``db``: the records matching a condition are looked up there."""
        packages: list[mamba_specs.PackageInfo] = []
        for name, (dependency, condition) in sorted(self.guards.items()):
            packages.append(
                mamba_specs.PackageInfo(
                    name=name, version="1", build_string="0", depends=[dependency]
                )
            )
            constrains = self._excluding(db, condition)
            packages.append(
                mamba_specs.PackageInfo(
                    name=name, version="2", build_string="0", constrains=constrains
                )
            )
        return packages

    @staticmethod
    def _excluding(db, condition: Spec) -> list[str]:
        """The constraint that rules out every record in ``db`` matching ``condition`` and
        no other (empty when none matches)."""
        package = condition.name
        matching = db.packages_matching(mamba_spec(condition.text))
        if not matching:
            return []
        versions = {Version(record.version) for record in matching}
        matched = {(record.package_url, record.filename, record.version) for record in matching}
        for record in db.packages_matching(mamba_specs.MatchSpec.parse(package)):
            other = (record.package_url, record.filename, record.version) not in matched
            if other and Version(record.version) in versions:
                raise UntranslatableCondition(
                    f"the condition {condition.text!r} tells apart builds of "
                    f"{package} {record.version}, which libsolv's version constraint cannot"
                )
        excluded = ",".join(f"!={version}" for version in sorted(versions))
        return [f"{package} {excluded}"]

    def readable(self, text: str) -> str:
        """``text`` (libsolv's report) with each guard's name replaced by what it stands
        for."""
        for name, (dependency, condition) in self.guards.items():
            text = text.replace(name, f"{dependency}[when={condition.text!r}]")
        return text

    def readable_chain(self, chain: ConflictChain) -> ConflictChain:
        """``chain`` with each guard's step shown as the conditional dependency it stands
        for (its two builds, 1 and 2, mean nothing to a user)."""
        steps = tuple(
            ChainStep(self.readable(step.name)) if step.name.startswith(GUARD_PREFIX) else step
            for step in chain.steps
        )
        partners = tuple(self.readable(partner) for partner in chain.partners)
        return dataclasses.replace(chain, steps=steps, partners=partners)


@contextlib.contextmanager
def parseable_file(
    source: Path,
    scratch_dir: Path,
    *,
    add_pip: bool,
    translation: WhenTranslation | None = None,
) -> Iterator[Path]:
    """``source`` as libmamba should parse it: a temporary copy in ``scratch_dir`` without
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


def _noarch(record: RepoDataRecord) -> mamba_specs.NoArchType:
    if record.noarch.python:
        return mamba_specs.NoArchType.Python
    if record.noarch.generic:
        return mamba_specs.NoArchType.Generic
    return mamba_specs.NoArchType.No


def _pip(request: EngineRequest) -> libsolv.PipAsPythonDependency:
    if request.add_pip_as_python_dependency:
        return libsolv.PipAsPythonDependency.Yes
    return libsolv.PipAsPythonDependency.No


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


def solv_cache_path(cache_dir: Path, repo: SubdirRepo, request: EngineRequest) -> Path:
    """Where the ``.solv`` serialization of ``repo`` is kept, keyed by everything that
    changes its content: the file's identity and the load options."""
    stat = repo.path.stat()
    key = "\0".join(
        (
            _SOLV_FORMAT,
            libmambapy.__version__,
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


class LibMambaBackend:
    name = "libmamba"

    def __init__(self, cache_dir: Path | None = None, load: str | None = None) -> None:
        self.cache_dir = cache_dir
        #: "sparse": only the records the request can reach, parsed by py-rattler;
        #: "full": libmamba parses whole repodata files (cached as .solv); "auto" (default):
        #: full below ``SPARSE_ABOVE_BYTES`` of repodata — same record order, so the same
        #: problem lines as conda-libmamba-solver — and sparse above, where parsing
        #: everything would dominate the solve
        self.load = load or settings.libmamba_load()

    # -- database ---------------------------------------------------------------------------

    def _database(self, index: Index, request: EngineRequest, translation: WhenTranslation):
        params = mamba_specs.ChannelResolveParams(platforms=set(index.subdirs) | {"noarch"})
        native_cutoff = request.exclude_newer is not None and database_filters_by_timestamp()
        if native_cutoff:
            assert request.exclude_newer is not None
            cutoff_seconds = int(request.exclude_newer.timestamp())
            db = libsolv.Database(params, exclude_newer_timestamp=cutoff_seconds)
        else:
            db = libsolv.Database(params)
        repos: dict[str, SubdirRepo] = {}
        loaded: dict[str, RepoDataRecord] = {}
        load = self._load_mode(index, request, native_cutoff)
        log.debug("libmamba index: %s", load)
        subsets = self._reachable_subsets(index, request) if load == "sparse" else None
        for position, repo in enumerate(index.repos):
            url = f"{repo.channel.url}/{repo.subdir}"
            if subsets is None:
                info = self._load_repo(db, repo, url, request, translation)
            else:
                # py-rattler returns them in hash order, which differs from run to run, and
                # libsolv's answer can depend on the order packages were added: sort, so one
                # request gives one answer
                records = sorted(subsets[position], key=lambda r: r.file_name)
                if request.exclude_newer is not None:
                    records = [
                        r
                        for r in records
                        if r.timestamp is None or r.timestamp <= request.exclude_newer
                    ]
                loaded.update((record.url, record) for record in records)
                add_pip = request.add_pip_as_python_dependency
                info = db.add_repo_from_packages(
                    [
                        package_info(record, add_pip=add_pip, translate=translation.depends)
                        for record in records
                    ],
                    name=url,
                    # pip is added to python's depends above, whichever repo pip is in
                    add_pip_as_python_dependency=libsolv.PipAsPythonDependency.No,
                )
            repos[url] = repo
            self._set_priority(db, info, index, repo, request.channel_priority)
        return db, repos, loaded

    def _load_mode(self, index: Index, request: EngineRequest, native_cutoff: bool) -> str:
        """``full`` (libmamba parses the repodata files) or ``sparse`` (py-rattler reads the
        reachable records, handed to libsolv from Python) for this request."""
        if request.exclude_newer is not None and not native_cutoff:
            # this libmambapy cannot drop records past a cutoff while it parses repodata
            # (released 2.8.1 cannot): load through py-rattler and filter in Python instead
            return "sparse"
        if any(not repo.path.is_file() for repo in index.repos):
            # a channel py-rattler fetched (the CLI's http(s) channels) lives in its cache,
            # with no repodata file of its own to hand libsolv: only the sparse path reads it
            return "sparse"
        if self.load != "auto":
            return self.load
        size = sum(repo.path.stat().st_size for repo in index.repos)
        return "sparse" if size > SPARSE_ABOVE_BYTES else "full"

    @staticmethod
    def _reachable_subsets(index: Index, request: EngineRequest) -> list[list[RepoDataRecord]]:
        """Per repo, the records the request can reach: the requested, installed and
        locked names and everything their records depend on (py-rattler's sparse loader
        parses only those). A request touching 40 names reads 40 names' records, not the
        channel's 300k."""
        names = {spec.name.normalized for spec in request.specs if spec.name is not None}
        for record in [*request.installed, *request.locked, *request.pinned]:
            names.add(record_name(record))
            names.update(dependency_names(record))
        if request.add_pip_as_python_dependency:
            names.add("pip")
        seeds = [PackageName(name) for name in sorted(names) if not name.startswith("__")]
        return SparseRepoData.load_records_recursive([r.sparse for r in index.repos], seeds)

    def _load_repo(
        self,
        db,
        repo: SubdirRepo,
        url: str,
        request: EngineRequest,
        translation: WhenTranslation,
    ):
        pip = _pip(request)
        # conda's add_pip_as_python_dependency (on by default): python (linux-64) and pip
        # (noarch) live in different repos, where libmambapy 2.8.1 adds nothing; then the
        # file libmamba parses carries pip in python's depends itself (parseable_file)
        pip_in_file = request.add_pip_as_python_dependency and not database_adds_pip_across_repos()
        if pip_in_file:
            pip = libsolv.PipAsPythonDependency.No
        cache_dir = self.cache_dir
        if cache_dir is None:
            cache_dir = default_cache_dir()
        solv = solv_cache_path(cache_dir, repo, request)
        origin = libsolv.RepodataOrigin(url=url, etag=solv.stem, mod="")
        # a file with conditional dependencies is translated for this machine's virtual
        # packages, and its guards are needed by this solve (WhenTranslation): it is parsed
        # each time and never cached. So a .solv exists only for a file (this path, size
        # and mtime) without them, and a hit needs no scan for them
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
        if conditional:
            return info
        try:
            solv.parent.mkdir(parents=True, exist_ok=True)
            partial = solv.with_suffix(f".{os.getpid()}.part")
            db.native_serialize_repo(repo=info, path=str(partial), metadata=origin)
            os.replace(partial, solv)
        except Exception as exc:  # the cache is an optimisation; a read-only one is fine
            log.debug("cannot write %s: %s", solv, exc)
        return info

    @staticmethod
    def _set_priority(db, info, index: Index, repo: SubdirRepo, channel_priority: str) -> None:
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

    # -- solve ------------------------------------------------------------------------------

    def solve(self, index: Index, request: EngineRequest) -> list[RepoDataRecord]:
        """libsolv's answer, or the rattler engine's where a conditional dependency has no
        sound translation for libsolv (:class:`WhenTranslation`; one warning says why)."""
        try:
            return self._solve(index, request)
        except UntranslatableCondition as exc:
            log.warning(
                "conda-solver-plus: %s, which libsolv cannot take; "
                "this request is solved by the rattler engine",
                exc,
            )
            return RattlerBackend().solve(index, request)

    def _solve(self, index: Index, request: EngineRequest) -> list[RepoDataRecord]:
        translation = WhenTranslation(request.virtual_packages)
        db, repos, loaded = self._database(index, request, translation)
        start = request.starting_point
        if start is None:
            start = [*request.locked, *request.pinned, *request.installed]
        installed_by_url: dict[str, RepoDataRecord] = {}
        for record in start:
            installed_by_url.setdefault(record.url, record)
        held = {record_name(record) for record in [*request.locked, *request.pinned]}
        translate_installed = functools.partial(translation.depends, owner="an installed package")
        packages = [
            package_info(record, translate=translate_installed)
            for record in installed_by_url.values()
        ]
        packages.extend(virtual_package_info(v) for v in request.virtual_packages)
        installed = db.add_repo_from_packages(packages, name="installed")
        db.set_installed_repo(installed)

        Request = mamba_solver.Request
        parse = mamba_specs.MatchSpec.parse
        # a requested ``dep[when=...]`` is a conditional dependency of the request itself;
        # libsolv decides jobs in order, and a guard decided first would keep the
        # condition's package from its best version to spare the dependency (resolvo
        # takes the best version and then the dependency): guards go last (guard_jobs)
        specs = [translation.dependency(str(spec)) for spec in request.specs]
        jobs = [
            Request.Install(mamba_spec(spec))
            for spec in specs
            if spec is not None and not spec.startswith(GUARD_PREFIX)
        ]
        guard_jobs = [
            Request.Install(mamba_spec(spec))
            for spec in specs
            if spec is not None and spec.startswith(GUARD_PREFIX)
        ]
        # libsolv never re-checks an installed package that is already broken ("dontfix");
        # the repairs (conda_solver_plus.solving.engine_rules) ask for what it lacks
        jobs += [Request.Install(mamba_spec(dep)) for dep in request.repairs]
        jobs += [Request.Freeze(parse(_exact(record))) for record in request.pinned]
        # installed packages the core did not lock are free to move, as in resolvo; they
        # stay in the installed repo (libsolv does not check dependencies of an installed
        # package whose own dependencies are not installed) and get an Update job
        jobs += [
            Request.Update(parse(record_name(record)))
            for record in request.installed
            if record_name(record) not in held
        ]
        # a guard cannot stand for a conditional constraint: a Pin job only constrains
        constraints = [
            translation.dependency(str(spec), owner="a pin") for spec in request.constraints
        ]
        jobs += [Request.Pin(mamba_spec(spec)) for spec in constraints if spec is not None]
        jobs += guard_jobs
        if translation.guards:
            guards = translation.guard_packages(db)
            db.add_repo_from_packages(guards, name="conditions")
        flags = Request.Flags(
            keep_dependencies=True,
            keep_user_specs=True,
            force_reinstall=False,
            allow_downgrade=True,
            allow_uninstall=True,
            strict_repo_priority=request.channel_priority == "strict",
            order_request=False,
        )
        solve_request = Request(jobs=jobs, flags=flags)

        def run() -> dict:
            return _summarize(db, installed, libsolv.Solver().solve(db, solve_request))

        summary = run_bounded(run, request.timeout) if request.timeout else run()
        if "unsolvable" in summary:
            report = summary["unsolvable"]
            raise EngineUnsolvable(
                translation.readable(report["message"]),
                set(report["names"]),
                report["missing"],
                [
                    translation.readable_chain(ConflictChain.from_json(chain))
                    for chain in report["chains"]
                ],
            )
        known = {**loaded, **installed_by_url}
        return self._records(summary["packages"], repos, known)

    @staticmethod
    def _records(
        packages: Iterable[tuple[str, str, str]],
        repos: dict[str, SubdirRepo],
        installed_by_url: dict[str, RepoDataRecord],
    ) -> list[RepoDataRecord]:
        """Our records for libsolv's ``(name, package_url, filename)`` answers."""
        by_name: dict[str, RepoDataRecord] = {}
        for name, url, filename in packages:
            record = installed_by_url.get(url)
            if record is None:
                repo = repos.get(url.rsplit("/", 1)[0])
                if repo is None:
                    raise RuntimeError(f"libmamba returned {url}, outside every repo")
                for candidate in repo.sparse.load_records(PackageName(name)):
                    if candidate.file_name == filename:
                        record = candidate
                        break
                else:
                    raise RuntimeError(f"libmamba returned unknown {url}")
            by_name[name] = record
        return list(by_name.values())


#: rattler writes an exact build number as ``build_number="==0"``; libmamba wants ``=0``
_EXACT_BUILD_NUMBER = re.compile(r'build_number="?==(\d+)"?')


def mamba_spec(spec) -> mamba_specs.MatchSpec:
    """libmamba's MatchSpec for one of ours (rattler's string form, adjusted where the two
    grammars differ)."""
    return mamba_specs.MatchSpec.parse(_EXACT_BUILD_NUMBER.sub(r"build_number=\1", str(spec)))


def _exact(record: RepoDataRecord) -> str:
    return f"{record_name(record)}=={record.version}={record.build}"


def _summarize(db, installed, outcome) -> dict:
    """libsolv's answer as plain data (it may have to cross a process boundary): the
    final environment's ``(name, url, filename)`` or the unsolvable report."""
    if not isinstance(outcome, mamba_solver.Solution):
        return {"unsolvable": _unsolvable(db, outcome)}
    removed = {(p.package_url, p.filename) for p in outcome.to_remove()}
    kept = [
        p for p in db.packages_in_repo(installed) if (p.package_url, p.filename) not in removed
    ]
    return {
        "packages": [
            (p.name, p.package_url, p.filename)
            for p in [*kept, *outcome.to_install()]
            # virtual packages and the dummies behind Pin jobs have no URL
            if p.package_url
        ]
    }


def _unsolvable(db, outcome) -> dict:
    # libsolv's own lines ("Encountered problems while solving:\n  - nothing provides ..."),
    # which conda-libmamba-solver users know, then libmamba's tree
    problems = [
        line
        for line in _ANSI.sub("", outcome.problems_to_str(db)).splitlines()
        if line.strip() != "- unsupported request"
    ]
    tree = _ANSI.sub("", outcome.explain_problems(db, mamba_solver.ProblemsMessageFormat()))
    graph = outcome.problems_graph(db)
    nodes, edges = graph.graph()
    names: set[str] = set()
    missing: list[str] = []
    root = graph.root_node()
    Graph = mamba_solver.ProblemsGraph
    for node_id, node in nodes.items():
        if isinstance(node, Graph.RootNode):
            continue
        name = str(node.name)
        # libmamba names the dummy package behind a Pin job "pin-<hash>"; a guard stands
        # for a conditional dependency (WhenTranslation)
        if name and not name.startswith(("pin-", GUARD_PREFIX)):
            names.add(name.lower())
        if isinstance(node, Graph.UnresolvedDependencyNode) and (root, node_id) in edges:
            missing.append(str(node))
    # the graph is simplified; libsolv's own lines still name every package involved
    for line in problems:
        found = _NOTHING_PROVIDES.search(line)
        if found:
            spec = found.group(1).strip()
            names.add(spec.split()[0].lower())
            if spec not in missing:
                missing.append(spec)
        for token in line.replace(",", " ").split():
            dist = _DIST.match(token)
            if dist and dist.group(1) != "pin" and not dist.group(1).startswith(GUARD_PREFIX):
                names.add(dist.group(1).lower())
    message = "\n".join([*problems, tree] if len(problems) > 1 else [tree])
    chains = [chain.to_json() for chain in graph_chains(graph, problems)]
    return {"message": message, "names": sorted(names), "missing": missing, "chains": chains}


_EXCLUDED = re.compile(r"package (\S+) is excluded by (.+)$")


def _spec_text(spec) -> str:
    """``python 3.10.* *_cpython`` rather than ``python[version="=3.10",...]``."""
    try:
        return spec.conda_build_form()
    except Exception:
        return str(spec)


#: the name libmamba gives the stand-in package of a ``Pin`` job ("pin on numpy <2")
_PIN_PACKAGE = "pin on "


def _node_step(node, spec: str) -> ChainStep:
    Graph = mamba_solver.ProblemsGraph
    name = str(node.name).lower()
    if name.startswith(_PIN_PACKAGE):  # a pin, not a package: "pin numpy <2"
        return ChainStep("pin", (name.removeprefix(_PIN_PACKAGE),))
    if isinstance(node, Graph.PackageNode):
        return ChainStep(name, (spec,) if spec else (), (str(node.version),))
    return ChainStep(name, (spec or _spec_text(node),))


def _dist_step(dist: str) -> ChainStep | None:
    """``numpy-2.1.0-py310h_0`` as a step (name and version)."""
    found = _DIST.match(dist)
    if not found:
        return None
    version = dist[len(found.group(1)) + 1 :].rsplit("-", 1)[0]
    return ChainStep(found.group(1).lower(), (), (version,))


def graph_chains(graph, problems: list[str]) -> list[ConflictChain]:
    """Paths in libmamba's problem graph from the root (the request) to each node in
    conflict and each unresolved dependency, plus libsolv's "nothing provides X needed
    by D" and "D is excluded" lines (the simplified graph may drop those), continued from
    the path that reaches D's name."""
    paths = _GraphPaths(graph)
    return [*paths.node_chains(), *paths.line_chains(problems)]


class _GraphPaths:
    """Shortest paths from the root of a libmamba ``ProblemsGraph`` to its nodes."""

    def __init__(self, graph) -> None:
        self.nodes, edges = graph.graph()
        self.conflicts = graph.conflicts()
        children: dict[int, list[tuple[int, str]]] = {}
        for (source, target), spec in edges.items():
            children.setdefault(source, []).append((target, _spec_text(spec)))
        root = graph.root_node()
        #: node -> (the node before it on its shortest path, the spec of that edge)
        self.parent: dict[int, tuple[int, str]] = {}
        todo, seen = [root], {root}
        while todo:  # breadth first: the shortest path to every node
            current = todo.pop(0)
            for target, spec in sorted(children.get(current, ())):
                if target not in seen:
                    seen.add(target)
                    self.parent[target] = (current, spec)
                    todo.append(target)

    def path_to(self, node_id: int) -> list[ChainStep]:
        """The steps from the request to ``node_id``; a spec and its candidates are one
        step."""
        steps: list[ChainStep] = []
        while node_id in self.parent:
            source, spec = self.parent[node_id]
            step = _node_step(self.nodes[node_id], spec)
            if steps and steps[0].name == step.name:
                merged = steps.pop(0)
                step = ChainStep(
                    step.name, merged.specs or step.specs, (*step.versions, *merged.versions)
                )
            steps.insert(0, step)
            node_id = source
        return steps

    def label(self, node_id: int) -> str:
        node = self.nodes[node_id]
        if isinstance(node, mamba_solver.ProblemsGraph.PackageNode):
            return f"{node.name} {node.version}"
        return _spec_text(node)

    def node_chains(self) -> list[ConflictChain]:
        """A chain to every reachable unresolved dependency and node in conflict."""
        chains: list[ConflictChain] = []
        for node_id, node in self.nodes.items():
            if node_id not in self.parent:
                continue
            if isinstance(node, mamba_solver.ProblemsGraph.UnresolvedDependencyNode):
                chains.append(ConflictChain(tuple(self.path_to(node_id)), "missing"))
            elif self.conflicts.has_conflict(node_id):
                others = self.conflicts.conflicts(node_id)
                partners = tuple(sorted({self.label(other) for other in others}))
                chain = ConflictChain(tuple(self.path_to(node_id)), "conflict", partners=partners)
                chains.append(chain)
        return chains

    def continued(self, dist: str) -> list[ChainStep]:
        """The path to the package of libsolv's ``dist`` text, ending in its version."""
        step = _dist_step(dist)
        if step is None:
            return []
        for node_id, node in self.nodes.items():
            if node_id in self.parent and str(node.name).lower() == step.name:
                path = self.path_to(node_id)
                return [*path[:-1], ChainStep(step.name, path[-1].specs, step.versions)]
        return [step]

    def line_chains(self, problems: list[str]) -> list[ConflictChain]:
        """Chains for libsolv's "nothing provides X needed by D" and "D is excluded"
        problem lines."""
        chains: list[ConflictChain] = []
        for line in problems:
            text = line.strip().removeprefix("- ").strip()
            found = _NOTHING_PROVIDES.search(text)
            if found and " needed by " in text:
                spec = found.group(1).strip()
                dist = text.rsplit(" needed by ", 1)[1].strip()
                steps = [*self.continued(dist), ChainStep(spec.split()[0].lower(), (spec,))]
                chains.append(ConflictChain(tuple(steps), "missing"))
                continue
            excluded = _EXCLUDED.search(text)
            if excluded:
                steps = self.continued(excluded.group(1))
                if steps:
                    chains.append(ConflictChain(tuple(steps), "excluded", excluded.group(2)))
        return chains
