"""
The conda adapter: conda-solver-plus as a ``conda.core.solve.Solver``.

conda hands a solver its request as conda objects — ``MatchSpec`` s, the prefix (read with
``PrefixData`` and ``History``), ``Channel`` s and the global ``context`` — and expects
conda ``PackageRecord`` s back, or one of conda's exceptions. This module is only that
mapping; every rule lives in the conda-free core:

- **state**: conda's installed records, history map, configured pins, aggressive updates,
  ``auto_update_conda``, modifiers and virtual packages become a
  :class:`~conda_solver_plus.state.SolverInputState`;
- **index**: repodata is fetched by conda itself (``SubdirData``), so authentication,
  proxies, ``offline``, ``use_index_cache``/``local_repodata_ttl`` and conda's cache behave
  as configured; the cached ``repodata.json`` files are handed to the engine, which reads
  them lazily (large ones through plus's local shard cache). With conda's shards on (conda
  passes ``build_repodata_subset``), a channel subdir that serves CEP-16 shards
  contributes only what the request reaches, read from conda's shard caches
  (:mod:`.shard_subsets`). Offline, everything comes from the caches: an offline solve
  never waits on the network;
- **result**: engine records are mapped back to conda ``PackageRecord`` s (channel, url,
  fn, md5/sha256 intact); records identical to installed ones are returned as conda's own
  ``PrefixRecord`` objects;
- **private channels**: a channel's credentials — a token (``/t/TOKEN/``), basic auth
  (``user:password@``) in ``-c``, ``channels`` or ``custom_channels`` — stay on the conda
  ``Channel`` handed to ``SubdirData``, so conda fetches with them (its session adds
  ``.netrc``, ``anaconda login`` tokens and ``channel_settings`` auth handlers on its own).
  The core only ever sees the clean URL. Records from such a channel get the credentials
  back in their ``url`` (conda downloads from ``record.url`` as it is, as classic's and
  conda-libmamba-solver's records carry them), but conda prints them through their
  ``dump()``, which masks the token and drops the password (:class:`CredentialedRecord`);
- **settings**: plus's own ``.condarc`` keys (``plus_backend``, ``plus_timeout``,
  ``plus_solve_strategy``) and
  conda's ``channel_priority``, ``add_pip_as_python_dependency`` and exclude-newer
  settings become one :class:`~conda_solver_plus.settings.Settings`
  (:meth:`PlusSolver.settings`), checked by the same rules as the CLI's;
- **solve**: the state, index and settings go to the pipeline every front end shares
  (:class:`~conda_solver_plus.session.SolveSession`), which calls the engine;
- **errors**: ``PackagesNotFoundError``, ``UnsatisfiableError`` (``allow_retry = False``:
  the core already learnt from conflicts, a conda-level retry would only repeat the work)
  and ``SpecsConfigurationConflictError`` (a request that only fails because of pins).
  When every candidate of a requested package needs a virtual package this machine lacks
  (``__cuda >=10``), the error is conda's own "incompatible with your system" message
  (the mapping is :mod:`conda_solver_plus.conda.errors`).

Sharded repodata: conda 26 can fetch per-package shards (``build_repodata_subset``); plus
does not use them. It always asks ``SubdirData`` for the monolithic ``repodata.json``
(``current_repodata.json`` requests are also answered from the full file), whatever
``repodata_use_shards`` says. With ``offline`` that comes from conda's cache only, and a
channel with nothing cached counts as empty, so an offline solve never waits on the network.

``context`` settings honoured: ``channels`` (and channels named in specs,
``channel::pkg``), ``channel_priority``, ``custom_channels``/``custom_multichannels``
(expanded by conda's ``Channel.urls``; the members of one multichannel share one
priority tier, as in conda-libmamba-solver),
``subdirs`` (``noarch`` always added), ``offline``, ``use_index_cache``/
``local_repodata_ttl`` (through ``SubdirData``), ``pinned_packages`` and
``conda-meta/pinned``, ``ignore_pinned``, ``aggressive_update_packages``,
``auto_update_conda``, update/deps modifiers, ``force_remove``, ``force_reinstall``
(conda's ``solve_for_diff`` relinks), ``prune``, ``add_pip_as_python_dependency``,
virtual packages with ``override_virtual_packages``/``CONDA_OVERRIDE_*`` (conda's
plugin manager computes them), ``exclude_newer`` (global, per channel and per package),
and ``quiet``/``json``/``verbosity`` (conda's spinners and logging).

Legacy ``features``/``track_features`` are honoured by the core on both engines
(:mod:`conda_solver_plus.features`): ``mkl@`` and ``*[track_features=mkl]`` specs turn a
feature on, ``conda remove --features mkl`` removes its trackers, and prefix records keep
their ``features`` field. conda's ``track_features`` setting is not read.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import sys
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from boltons.setutils import IndexedSet
from conda.auxlib import NULL
from conda.base.constants import REPODATA_FN, ChannelPriority
from conda.base.context import context
from conda.common.path import paths_equal
from conda.common.url import mask_anaconda_token, remove_auth
from conda.core.prefix_data import PrefixData

try:  # the solver API without classic's internals (conda >= 26.7)
    from conda.core.solve import BaseSolver as CondaSolverBase
except ImportError:  # an older conda: classic's Solver is the API
    from conda.core.solve import Solver as CondaSolverBase
from conda.core.subdir_data import SubdirData
from conda.exceptions import PackagesNotFoundError, UnavailableInvalidChannel
from conda.history import History
from conda.models.channel import Channel
from conda.models.match_spec import MatchSpec
from conda.models.prefix_graph import PrefixGraph
from conda.models.records import PackageRecord
from conda.models.version import VersionOrder

from .. import __version__
from .. import exceptions as plus_errors
from ..backends import ChannelPriority as PlusChannelPriority
from ..backends import engine_library
from ..exclude_newer import ExcludeNewer
from ..explain import render_provenance
from ..records import record_from_dict, record_key
from ..repodata.cache_files import in_use
from ..repodata.credentials import redact_text
from ..repodata.model import ChannelRef, Index
from ..repodata.reduce import Source, reduce
from ..repodata.roots import RootNames, root_names
from ..repodata.split import monolithic_source
from ..session import SolveSession
from ..settings import (
    CONDARC_KEYS,
    Settings,
    resolve_backend,
    resolve_strategy,
    resolve_timeout,
)
from ..state import SolverInputState, SolverOutputState
from ..virtual import make_virtual
from .errors import blocking_specs, conda_build_error, conda_error, shards_error
from .progress import use_conda_reporter
from .shard_subsets import (
    ShardedSubdir,
    ShardFetch,
    ShardsUnavailable,
    cached_repodata_path,
    open_subdir,
)

#: under conda's logger, so conda's -v/-vv/-vvv configure it
log = logging.getLogger(f"conda.{__name__}")

#: conda's ``channel_priority`` enum as the core's names
CHANNEL_PRIORITY: dict[ChannelPriority, PlusChannelPriority] = {
    ChannelPriority.STRICT: "strict",
    ChannelPriority.FLEXIBLE: "flexible",
    ChannelPriority.DISABLED: "disabled",
}


class CredentialedRecord(PackageRecord):
    """A record of a private channel: its ``url`` carries the channel's credentials, its
    ``dump()`` does not.

    conda downloads a package from ``record.url`` exactly as the solver returned it
    (``PackageCacheData.make_actions_for_record``), so the URL needs the token or
    ``user:password@`` — classic's ``SubdirData`` and conda-libmamba-solver put them there
    too. conda *prints* records through ``dump()`` (``conda create --json`` lists every
    download that way), and there classic and conda-libmamba-solver print the secret. Here
    the dump shows the URL the way conda writes it into ``conda-meta``
    (``PrefixData.insert``): token masked as ``<TOKEN>``, user and password removed.
    """

    def dump(self) -> dict:
        dumped = super().dump()
        if dumped.get("url"):
            dumped["url"] = remove_auth(mask_anaconda_token(dumped["url"]))
        return dumped

    def copy(self) -> CredentialedRecord:
        # auxlib's copy() rebuilds from dump(); a copy must still download
        return type(self)(**super().dump())


def _clean_url(channel: Channel) -> str:
    """The channel's URL without its token or basic auth."""
    return channel.url(with_credentials=False) or ""


def _has_credentials(channel: Channel) -> bool:
    """Does this conda ``Channel`` carry a token or basic auth?"""
    return bool(channel.token or channel.auth)


def condarc_values() -> dict[str, Any]:
    """plus's own ``.condarc`` keys (:data:`~conda_solver_plus.settings.CONDARC_KEYS`) as
    written, from the first configuration source that sets each. conda does not know
    these keys, so they are not attributes of ``context``: they are read from its raw
    data, and checked by :mod:`conda_solver_plus.settings` like every other setting."""
    values: dict[str, Any] = {}
    for source in getattr(context, "raw_data", {}).values():
        for key in CONDARC_KEYS:
            setting = source.get(key)
            if key not in values and setting is not None:
                values[key] = getattr(setting, "_raw_value", setting)
    return values


#: the capabilities conda asks a solver to declare before it passes exclude-newer settings
_EXCLUDE_NEWER_FLAGS = (
    "supports_exclude_newer_global",
    "supports_exclude_newer_channel",
    "supports_exclude_newer_package",
)


class PlusSolver(CondaSolverBase):
    """conda's Solver API, answered by the conda-solver-plus core.

    It derives from conda's ``BaseSolver`` — the three public methods
    (``solve_final_state``, ``solve_for_diff``, ``solve_for_transaction``) without classic's
    index, ``Resolve`` and SAT state — where conda has it, so plus keeps working on a conda
    whose classic solver (and pycosat) has moved out into its own plugin
    (conda-pycosat-solver); on an older conda it derives from classic's ``Solver``."""

    _uses_ssc = False
    #: ``exclude_newer`` (conda >= 26): the global cutoff goes to the engine, which drops
    #: records timestamped after it (records without a timestamp stay, like conda);
    #: per-channel and per-package cutoffs filter the repodata files conda hands us
    #: (:mod:`conda_solver_plus.exclude_newer`), so both engines honour all three.
    supports_exclude_newer_global = True
    supports_exclude_newer_channel = True
    supports_exclude_newer_package = True

    def __init_subclass__(cls, **kwargs):
        """Keep plus's exclude-newer capabilities on every subclass.

        conda (26.9+, and its main branch since 2026-08) makes each solver opt in per
        subclass: ``Solver.__init_subclass__`` sets the three flags back to ``False`` on any
        subclass that does not set them itself. With ``repodata_use_shards`` on (conda's
        default) the plugin manager hands conda a subclass made on the fly,
        ``type("PartialPlusSolver", (PlusSolver,), {"__init__": ...})``, so the flags were
        lost and conda refused ``--exclude-newer`` for plus. A subclass of plus is plus:
        one that sets a flag itself keeps its own value."""
        own = {flag for flag in _EXCLUDE_NEWER_FLAGS if flag in cls.__dict__}
        super().__init_subclass__(**kwargs)  # conda's, which sets the others to False
        for flag in _EXCLUDE_NEWER_FLAGS:
            if flag not in own:
                setattr(cls, flag, getattr(PlusSolver, flag))

    @staticmethod
    @cache
    def user_agent() -> str:
        """``conda-solver-plus/<version>`` and the engine library conda will solve with."""
        agent = f"conda-solver-plus/{__version__}"
        try:  # the engine a solve's session would pick (SolveSession picks engines)
            engine = SolveSession(Settings(backend=resolve_backend(condarc=condarc_values())))
        except plus_errors.SolverPlusError:
            return agent
        distribution = engine_library(engine.backend)
        try:
            return f"{agent} {distribution}/{version(distribution)}"
        except PackageNotFoundError:
            return f"{agent} {distribution}"

    def __init__(
        self,
        prefix,
        channels,
        subdirs=(),
        specs_to_add=(),
        specs_to_remove=(),
        repodata_fn=REPODATA_FN,
        command=NULL,
        build_repodata_subset=None,
        **kwargs,
    ):
        # conda keeps the specs in frozensets, whose order changes from run to run; the
        # lists it passes here are in the order the user gave them (command line, file)
        specs_to_add, specs_to_remove = list(specs_to_add), list(specs_to_remove)
        #: the order the specs came in, to hand the core the same order on every run
        self._given_order = _spec_positions([*specs_to_add, *specs_to_remove])
        if specs_to_remove and not specs_to_add and command is NULL:
            command = "remove"
        super().__init__(
            # kept as given: conda-build looks its transaction up by this very object
            # (``txn.prefix_setups[prefix]``), so a ``Path`` must stay a ``Path``
            prefix,
            channels,
            subdirs=subdirs,
            specs_to_add=specs_to_add,
            specs_to_remove=specs_to_remove,
            repodata_fn=repodata_fn,
            command=command,
        )
        if "noarch" not in self.subdirs:
            # conda-build passes native subdirs only; noarch must always be searched
            self.subdirs = (*self.subdirs, "noarch")
        if self._repodata_fn != REPODATA_FN:
            # current_repodata.json is a subset; plus always solves on the full index
            self._repodata_fn = REPODATA_FN
        #: the conda Channel (credentials included) of each loaded subdir, by clean URL
        self._subdir_channels: dict[str, Channel] = {}
        #: conda 26.7+ passes its shard traversal when ``repodata_use_shards`` is on; plus
        #: takes it as the switch to read sharded channels (:mod:`.shard_subsets`), through
        #: conda's caches, with the one reduction of :mod:`conda_solver_plus.repodata`
        self._use_shards = build_repodata_subset is not None
        self._settings: Settings | None = None

    # -- conda -> core ----------------------------------------------------------------
    def _in_given_order(self, specs: Iterable[MatchSpec]) -> list[MatchSpec]:
        """``specs`` (one of conda's frozensets) in the order they were given to the solver,
        any it did not see (set later by a caller) after them, by their text.

        The order matters: an engine meets the specs in the order it gets them, and where
        two answers are equally good (py-rattler's resolvo with pytorch: libhwloc 2.11.1 with
        icu 78, or 2.11.2 with icu 75) the first spec decides. A frozenset's order changes
        from one run to the next (a ``MatchSpec``'s hash includes ``hash(None)``, an
        address), so conda's own sets would make the answer a matter of chance; in the
        order given, conda and the standalone CLI agree."""
        order = getattr(self, "_given_order", {})
        return sorted(specs, key=lambda spec: (order.get(str(spec), len(order)), str(spec)))

    def _removing_only(self) -> bool:
        """A removal (conda may pass both lists: an install that also removes packages)."""
        return bool(self.specs_to_remove) and not self.specs_to_add

    def input_state(
        self,
        update_modifier: Any = NULL,
        deps_modifier: Any = NULL,
        prune: Any = NULL,
        ignore_pinned: Any = NULL,
        force_remove: Any = NULL,
    ) -> SolverInputState:
        """conda's request as the core's input state: the prefix (``PrefixData``,
        ``History``), the specs, and conda's pins, modifiers and virtual packages. The
        arguments are ``solve_final_state``'s; ``NULL`` takes conda's configured value."""

        def pick(value, default):
            return default if value is NULL or value is None else value

        prefix = os.fspath(self.prefix)
        installed = {}
        self._conda_installed = {}
        for prec in PrefixData(prefix).iter_records():
            data = prec.dump()
            data["channel"] = prec.channel.base_url or ""
            record = record_from_dict(
                data, source=f"{prefix}/conda-meta", fn=prec.fn, subdir=prec.subdir
            )
            installed[prec.name] = record
            self._conda_installed[record_key(record)] = prec
        history = {
            name: str(spec) for name, spec in History(prefix).get_requested_specs_map().items()
        }
        removing_only = self._removing_only()
        requested = self.unmerged_specs_to_remove if removing_only else self.unmerged_specs_to_add
        also_remove = (
            [] if removing_only else [str(s) for s in self._in_given_order(self.specs_to_remove)]
        )
        virtual = {}
        for vrec in context.plugin_manager.get_virtual_package_records():
            virtual[vrec.name] = make_virtual(vrec.name, str(vrec.version), vrec.build or "0")
        command = self._command if isinstance(self._command, str) else "install"
        if removing_only:
            command = "remove"
        return SolverInputState(
            prefix,
            [_conda_spec_str(spec) for spec in self._in_given_order(requested)],
            command=command,
            update_modifier=_enum_value(pick(update_modifier, context.update_modifier)),
            deps_modifier=_enum_value(pick(deps_modifier, context.deps_modifier)),
            pinned_packages=list(context.pinned_packages),
            aggressive_update_packages=[str(s) for s in context.aggressive_update_packages],
            auto_update_conda=context.auto_update_conda,
            is_root_prefix=paths_equal(prefix, context.root_prefix),
            virtual_packages=virtual,
            ignore_pinned=pick(ignore_pinned, context.ignore_pinned),
            force_reinstall=context.force_reinstall,
            force_remove=pick(force_remove, context.force_remove),
            prune=pick(prune, False),
            installed=installed,
            history=history,
            also_remove=also_remove,
        )

    def _channels_for(self) -> list[Channel]:
        """One conda ``Channel`` per channel x subdir to fetch, credentials included.

        conda-libmamba-solver's rule (``LibMambaIndexHelper._channel_urls``): a channel
        named both with credentials (``-c``, ``.condarc``) and without (``channel::pkg``)
        is fetched once, with them, at the priority where it first appears.
        """
        channels = list(self.channels)
        for spec in self.specs_to_add:
            channel = spec.get_exact_value("channel")
            if channel:
                channels.append(Channel(channel))
        unique: dict[str, Channel] = {}
        for channel in channels:
            for url in channel.urls(with_credentials=True, subdirs=self.subdirs):
                sub = Channel(url)
                clean = sub.url(with_credentials=False) or url
                known = unique.get(clean)
                if known is None or (_has_credentials(sub) and not _has_credentials(known)):
                    unique[clean] = sub  # a dict keeps the first position on reassignment
        return list(unique.values())

    def _channel_ref(self, sub: Channel) -> tuple[ChannelRef, str]:
        """The core's ``ChannelRef`` (clean URL) and the subdir of a conda subdir
        ``Channel``; a member of ``defaults`` or a custom multichannel is named after it
        and shares its priority tier (conda/conda#15750)."""
        # a Channel made from a subdir URL always knows its subdir (conda's platform)
        subdir = str(sub.subdir or sub.platform)
        base = Channel(sub.base_url)
        canonical = base.canonical_name
        ref = ChannelRef(
            given=str(base),
            url=(base.base_url or "").rstrip("/"),
            name=canonical,
            multichannel=canonical if canonical in context.custom_multichannels else None,
        )
        return ref, subdir

    def load_index(self, *, roots: RootNames | str = "request") -> Index:
        """The channels x subdirs as the core's index, in priority order, each reduced to
        what ``roots`` reach (:func:`conda_solver_plus.repodata.reduce.reduce`): by default
        the request's root names (:meth:`root_names`); ``None`` every name (``conda plus
        whoneeds`` looks at every record); or the names a query reads
        (:func:`conda_solver_plus.repodata.roots.query_roots`).

        The sources are conda's:
        - with conda's shards on, a subdir that serves shards reads conda's shard caches
          and fetches with conda's session (:mod:`.shard_subsets`);
        - any other subdir: the cached ``repodata.json`` that conda's ``SubdirData``
          fetched (so conda's cache, auth, proxies and ``offline`` apply; local channels
          are read in place) — whole when small, through plus's local split when large
          (:mod:`conda_solver_plus.repodata.split`; the first solve on a large file reads
          it whole while the file is split in the background).
        """
        subdir_channels = self._channels_for()
        self._subdir_channels = {_clean_url(sub): sub for sub in subdir_channels}
        plans = [(sub, *self._channel_ref(sub)) for sub in subdir_channels]
        cache_dir = self.settings().cache_dir
        sharded, fetch = self._sharded_subdirs(plans, cache_dir)
        sources: dict[int, Source] = dict(sharded)
        for position, path in self._monolithic_files(plans, sharded).items():
            _, ref, subdir = plans[position]
            sources[position] = monolithic_source(ref, subdir, path, cache_dir)
        if not sources and self.specs_to_add:
            # nothing to search (offline with an empty cache, a channel without repodata)
            raise PackagesNotFoundError(
                [str(s) for s in self.specs_to_add], [str(c) for c in self.channels]
            )
        ordered = [sources[position] for position in sorted(sources)]
        try:
            repos = reduce(ordered, self.root_names() if roots == "request" else roots, cache_dir)
        except ShardsUnavailable as exc:
            raise shards_error(exc) from None
        finally:
            ShardFetch.close(fetch)
        channels = list(dict.fromkeys(repo.channel for repo in repos))
        subdirs = list(dict.fromkeys(repo.subdir for repo in repos))
        return Index(channels=channels, subdirs=subdirs, repos=repos)

    def _monolithic_files(
        self, plans: list[tuple[Channel, ChannelRef, str]], sharded: dict[int, ShardedSubdir]
    ) -> dict[int, Path]:
        """The ``repodata.json`` of every subdir without shards, by position; conda's
        ``UnavailableInvalidChannel`` for a channel that has nothing at all."""
        files: dict[int, Path] = {}
        unavailable: dict[str, Exception] = {}
        for position, (sub, ref, subdir) in enumerate(plans):
            if position not in sharded:
                path = self._monolithic_path(sub, ref, subdir, unavailable)
                if path is not None:
                    files[position] = path
        self._raise_unavailable(plans, files, sharded, unavailable)
        return files

    def _monolithic_path(
        self, sub: Channel, ref: ChannelRef, subdir: str, unavailable: dict[str, Exception]
    ) -> Path | None:
        """The ``repodata.json`` of one subdir: a local channel's own file, else the one
        conda's ``SubdirData`` cached. A ``noarch`` that conda reports unavailable is
        remembered in ``unavailable`` (by channel URL): a channel may lack one subdir."""
        if ref.is_local:
            # local channels are read in place (conda would copy them into its cache)
            local = ref.local_path / subdir / "repodata.json"
            if local.is_file():
                return local
        try:
            path = cached_repodata_path(SubdirData(sub, repodata_fn=self._repodata_fn))
        except UnavailableInvalidChannel as exc:
            # conda's "this subdir does not exist": a 404 of noarch (a platform subdir's
            # 404 is cached as an empty {}). Any other failure — a server error, a
            # refusal, a timeout, a body that does not parse — is conda's own error (as
            # classic and conda-libmamba-solver raise it): a solve without the subdir
            # would be a wrong answer
            if subdir != "noarch":
                raise
            # str(sub) is the clean URL; conda's message may quote the full one
            log.debug("no noarch repodata for %s: %s", sub, redact_text(str(exc)))
            unavailable[ref.url] = exc
            return None
        return Path(path) if Path(path).is_file() else None

    @staticmethod
    def _raise_unavailable(
        plans: list[tuple[Channel, ChannelRef, str]],
        files: dict[int, Path],
        sharded: dict[int, Any],
        unavailable: dict[str, Exception],
    ) -> None:
        """conda's ``UnavailableInvalidChannel`` for a channel that answered 404 for
        everything, as classic raises it: its ``noarch`` is unavailable and no other
        subdir has shards or any record (conda caches a 404 as an empty ``{}``)."""
        for url, exc in unavailable.items():
            positions = [i for i, (_, ref, _) in enumerate(plans) if ref.url == url]
            if any(i in sharded for i in positions):
                continue
            if all(i not in files or files[i].stat().st_size <= 2 for i in positions):
                raise exc

    def _sharded_subdirs(
        self, plans: list[tuple[Channel, ChannelRef, str]], cache_dir: Path
    ) -> tuple[dict[int, ShardedSubdir], ShardFetch | None]:
        """The subdirs that serve shards, by position (conda's rules and caches; a local
        channel with a ``repodata.json`` is read in place instead), and what they share;
        with conda's shards off, none (and conda's shard cache is not opened)."""
        if not self._use_shards:
            return {}, None
        fetch = ShardFetch(offline=bool(context.offline))
        candidates = [
            (position, sub, ref, subdir)
            for position, (sub, ref, subdir) in enumerate(plans)
            if not (ref.is_local and (ref.local_path / subdir / "repodata.json").is_file())
        ]

        def open_one(item):
            position, sub, ref, subdir = item
            return position, open_subdir(sub, ref, subdir, cache_dir, fetch)

        try:
            if len(candidates) > 1:
                with ThreadPoolExecutor(max_workers=min(len(candidates), 8)) as pool:
                    opened = list(pool.map(open_one, candidates))
            else:
                opened = [open_one(item) for item in candidates]
        except ShardsUnavailable as exc:
            raise shards_error(exc) from None
        return {position: found for position, found in opened if found is not None}, fetch

    def root_names(self) -> set[str]:
        """The package names a walk over sharded or split repodata starts from
        (:func:`conda_solver_plus.repodata.roots.root_names`): requested, installed (and
        what installed records depend on: a record its channel no longer lists is still
        kept), in the history, pinned or aggressively updated; conda itself when it may
        be auto-updated; pip where conda adds it to python's dependencies."""
        prefix = os.fspath(self.prefix)
        specs = [*self.specs_to_add, *self.specs_to_remove, *context.pinned_packages]
        if context.auto_update_conda and paths_equal(prefix, context.root_prefix):
            specs.append("conda")
        return root_names(
            specs=[MatchSpec(str(spec)).name for spec in specs],
            installed=[(prec.name, prec.depends) for prec in PrefixData(prefix).iter_records()],
            history=History(prefix).get_requested_specs_map(),
            aggressive=[MatchSpec(str(text)).name for text in context.aggressive_update_packages],
            add_pip=bool(context.add_pip_as_python_dependency),
        )

    def exclude_newer_settings(self) -> ExcludeNewer | None:
        """conda's ``exclude_newer`` settings (``--exclude-newer``, ``exclude_newer``,
        ``exclude_newer_package`` and ``channel_settings`` in .condarc) as the core's
        policy, resolved against the same "now" conda used."""
        policy = getattr(self, "exclude_newer_policy", None)  # conda < 26 has none
        if policy is None or not policy.active:
            return None
        channels = [
            (str(item["channel"]), item.get("exclude_newer", item.get("exclude-newer")))
            for item in (getattr(context, "channel_settings", None) or ())
            if item.get("channel") and ("exclude_newer" in item or "exclude-newer" in item)
        ]
        return ExcludeNewer.from_values(
            getattr(context, "exclude_newer", None) or None,
            dict(getattr(context, "exclude_newer_package", None) or {}),
            channels,
            now=datetime.datetime.fromtimestamp(policy.now, tz=datetime.timezone.utc),
        )

    def settings(self) -> Settings:
        """plus's settings for this solve: ``plus_backend``/``plus_timeout``/
        ``plus_solve_strategy`` (or their environment variables), the cache directory and
        conda's channel priority, pip and exclude-newer settings, resolved on the first
        call and kept. Raises :class:`~conda_solver_plus.exceptions.InvalidInputError` for
        a value the rules of :mod:`conda_solver_plus.settings` refuse."""
        if self._settings is None:
            self._settings = self._resolve_settings()
        return self._settings

    def _resolve_settings(self) -> Settings:
        condarc = condarc_values()
        return Settings(
            backend=resolve_backend(condarc=condarc),
            timeout=resolve_timeout(condarc=condarc),
            strategy=resolve_strategy(condarc=condarc),
            channel_priority=CHANNEL_PRIORITY.get(context.channel_priority, "flexible"),
            add_pip_as_python_dependency=context.add_pip_as_python_dependency,
            exclude_newer=self.exclude_newer_settings(),
        )

    # -- core -> conda ------------------------------------------------------------------
    def _to_conda(self, record) -> PackageRecord:
        """The conda record for an engine record: an installed one as conda's own
        ``PrefixRecord``; one from a private channel with the credentials of the channel
        it was fetched from, as classic's ``SubdirData`` builds it (url with credentials,
        the subdir ``Channel`` as its channel)."""
        existing = self._conda_installed.get(record_key(record))
        if existing is not None:
            return existing
        data = json.loads(record.to_json())
        data.pop("extra_depends", None)
        channel_url, _, filename = record.url.rpartition("/")
        channel = self._subdir_channels.get(channel_url)
        if channel is None or not _has_credentials(channel):
            data.update(channel=Channel(channel_url), fn=record.file_name, url=record.url)
            return PackageRecord(**data)
        url = f"{channel.url(with_credentials=True)}/{filename}"
        data.update(channel=channel, fn=record.file_name, url=url)
        return CredentialedRecord(**data)

    def solve_final_state(
        self,
        update_modifier=NULL,
        deps_modifier=NULL,
        prune=NULL,
        ignore_pinned=NULL,
        force_remove=NULL,
        should_retry_solve=False,
    ):
        sis: SolverInputState | None = None
        use_conda_reporter()  # plus's long work (shard caches) shown by conda's reporters
        try:
            settings = self.settings()  # resolved once for the whole solve
            # plus's cache held while it is read and written: `cache clean` waits for it
            with in_use(settings.cache_dir):
                sis, index = self._state_and_index(
                    update_modifier, deps_modifier, prune, ignore_pinned, force_remove
                )
                session = SolveSession(settings)
                engine = session.backend.name
                log.info("conda-solver-plus %s using the %s engine", __version__, engine)
                with nullcontext() if index is None else _spinner("Solving environment"):
                    out = session.solve(sis, index)
        except plus_errors.SolverPlusError as exc:
            removing = sis.is_removing if sis is not None else self._removing_only()
            raise self._conda_error(exc, removing) from None

        self.neutered_specs = tuple(MatchSpec(str(s)) for s in out.neutered.values())
        report_provenance(sis, out)  # -v: where each spec came from, why each package
        records = [self._to_conda(r) for r in out.records.values()]
        if out.held_back and not context.json:
            # conda's own report of what keeps a requested package from updating
            for spec in self.specs_to_add:
                if spec.name in out.held_back:
                    self.determine_constricting_specs(spec, records)
        return IndexedSet(PrefixGraph(records).graph)

    def _state_and_index(
        self,
        update_modifier: Any,
        deps_modifier: Any,
        prune: Any,
        ignore_pinned: Any,
        force_remove: Any,
    ) -> tuple[SolverInputState, Index | None]:
        """The input state and, unless ``remove --force`` needs none, the index.

        The index loads in a worker while the input state is collected: conda's
        virtual-package plugins probe CUDA in a spawned process (~0.3 s), and py-rattler
        releases the GIL while it scans repodata, so the two overlap."""
        # both threads read the prefix (the index starts its walk from the installed
        # names); conda's PrefixData loads itself lazily and is not safe to load from two
        # threads at once (each would reset the other's half-read records): load it here
        PrefixData(os.fspath(self.prefix)).iter_records()
        with ThreadPoolExecutor(max_workers=1) as pool:
            forced_removal = self._removing_only() and bool(
                context.force_remove if force_remove is NULL else force_remove
            )
            loading = None if forced_removal else pool.submit(self.load_index)
            sis = self.input_state(
                update_modifier, deps_modifier, prune, ignore_pinned, force_remove
            )
            if sis.is_removing and sis.force_remove:
                return sis, None  # --force removes exactly what was named: no index
            with _spinner(f"Collecting package metadata ({self._repodata_fn})"):
                return sis, (loading or pool.submit(self.load_index)).result()

    def _conda_error(self, exc: plus_errors.SolverPlusError, removing: bool) -> Exception:
        """The exception conda (or conda-build, when it is the caller) should see."""
        if self._called_from_conda_build():
            if isinstance(exc, plus_errors.UnsatisfiableError):
                return self._conda_build_error(blocking_specs(exc), str(exc))
            if isinstance(exc, plus_errors.PackagesNotFoundError) and not removing:
                return self._conda_build_error(exc.specs, str(exc))
        return conda_error(
            exc,
            removing=removing,
            channels=[str(c) for c in self.channels],
            prefix=os.fspath(self.prefix),
        )

    # -- conda-build ---------------------------------------------------------------------
    def _called_from_conda_build(self) -> bool:
        """Is conda-build asking? Its ``install_actions`` hands every solver conda-build's
        own index (``solver._index = index.copy()``), which conda never does for a plugin
        solver; plus does not read it (it loads the same channels itself)."""
        return self._index is not None and "conda_build" in sys.modules

    def _conda_build_error(self, specs: list[str], explanation: str) -> Exception:
        """conda-build's ``DependencyNeedsBuildingError`` for this solve's platform."""
        subdir = next((s for s in self.subdirs if s != "noarch"), context.subdir)
        return conda_build_error(specs, explanation, subdir)

    def determine_constricting_specs(self, spec, solution_precs):
        """classic ``Solver``'s public helper (conda's tests and tools call it): what in
        ``solution_precs`` keeps ``spec`` 's package from a newer version."""
        return report_constricting_specs(MatchSpec(spec), solution_precs)

    def get_constrained_packages(self, pre_packages, post_packages, index_keys):
        """classic ``Solver``'s public helper (conda's tests call it on every solver): the
        requested packages that are not at the newest version ``index_keys`` offers and
        whose versions did not change between ``pre_packages`` and ``post_packages``
        (name -> ``[(name, version)]``), i.e. that something held back."""
        if any(not versions for versions in (*pre_packages.values(), *post_packages.values())):
            return set()
        constrained = set()
        for spec in self.specs_to_add:
            if spec.name.startswith("__"):  # virtual packages are not updated
                continue
            current = max(version for _, version in pre_packages[spec.name])
            newest = max(record.version for record in index_keys if record.name == spec.name)
            if current != newest and post_packages == pre_packages:
                constrained.add(spec)
        return constrained

    def _notify_conda_outdated(self, link_precs, *args, **kwargs):
        # conda's default implementation queries the classic index; plus does not build it
        return


def report_constricting_specs(
    spec: MatchSpec, records: Iterable[PackageRecord]
) -> list[tuple[str, MatchSpec]] | None:
    """conda's report of what keeps a requested package from updating ("Updating numpy is
    constricted by"): each record of the solution whose dependency caps ``spec`` 's
    package at or below the version it got — the dependencies classic names, an exact
    version or an upper bound (``<``). classic's ``Solver`` prints this; plus no longer
    derives from it, so the adapter prints it itself, in the same words. Returns the
    capping ``(package, dependency)`` pairs, or ``None`` (classic's return value)."""
    records = list(records)
    solved = [VersionOrder(r.version) for r in records if r.name == spec.name]
    if not solved:
        return None
    capping = [
        (record.name, cap)
        for record in records
        for dep in record.depends
        for cap in _caps(MatchSpec(dep), spec.name)
    ]
    hard = [(name, dep) for name, dep in capping if dep.version.matcher_vo <= solved[0]]
    if not hard:
        return None
    print(f"\n\nUpdating {spec.name} is constricted by \n")
    for name, dep in hard:
        print(f"{name} -> requires {dep}")
    print(
        "\nIf you are sure you want an update of your package either try "
        "`conda update --all` or install a specific version of the "
        "package you want using `conda install <pkg>=<version>`\n"
    )
    return hard


def _caps(dep_spec: MatchSpec, name: str) -> list[MatchSpec]:
    """The caps a dependency puts on ``name``: an exact version or its upper bounds
    (``<``), each part of a range on its own."""
    version = dep_spec.version
    if dep_spec.name != name or version is None:
        return []
    if not (version.exact_value or "<" in version.spec):
        return []
    if "," in version.spec:  # a range: its upper bounds
        return [MatchSpec(f"{dep_spec.name} {part}") for part in version.tup if "<" in part.spec]
    return [dep_spec]


def report_provenance(sis: SolverInputState, out: SolverOutputState) -> None:
    """``conda install -v``: print the provenance of the solve to stderr (conda's ``-v``
    is "detailed output"; logging only starts at ``-vv``), and log it at debug level."""
    if context.verbosity >= 1 and not context.json and not context.quiet:
        print("\nconda-solver-plus: " + render_provenance(sis, out), file=sys.stderr)
    elif log.isEnabledFor(logging.DEBUG):
        log.debug("%s", render_provenance(sis, out))


def _spinner(message: str) -> AbstractContextManager[Any]:
    """conda's progress spinner (silent under --quiet/--json, as conda configures it)."""
    try:
        from conda.reporters import get_spinner
    except ImportError:  # conda < 24.9
        from conda.common.io import Spinner

        return Spinner(message, not context.verbose and not context.quiet, context.json)
    return get_spinner(message)


def _enum_value(value) -> str:
    """conda passes modifiers as its enums or as their plain string values."""
    return str(getattr(value, "value", value))


def _spec_positions(specs: Iterable[Any]) -> dict[str, int]:
    """Each spec's text (as conda's ``MatchSpec`` prints it) by its first position."""
    positions: dict[str, int] = {}
    for spec in specs:
        positions.setdefault(str(MatchSpec(spec)), len(positions))
    return positions


def _conda_spec_str(spec: MatchSpec) -> str:
    text = str(spec)
    channel = spec.get_exact_value("channel")
    if channel and "::" not in text:
        text = f"{channel}::{text}"
    return text
