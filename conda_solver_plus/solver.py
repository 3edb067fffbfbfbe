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
  them lazily. conda's sharded repodata (``build_repodata_subset``) is not used: plus asks
  ``SubdirData`` for the monolithic file, which in offline mode comes from the cache only,
  so an offline solve never waits on the network;
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
- **errors**: ``PackagesNotFoundError``, ``UnsatisfiableError`` (``allow_retry = False``:
  the core already learnt from conflicts, a conda-level retry would only repeat the work)
  and ``SpecsConfigurationConflictError`` (a request that only fails because of pins).
  When every candidate of a requested package needs a virtual package this machine lacks
  (``__cuda >=10``), the error is conda's own "incompatible with your system" message.

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
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

from boltons.setutils import IndexedSet
from conda.auxlib import NULL
from conda.base.constants import REPODATA_FN, ChannelPriority
from conda.base.context import context
from conda.common.path import paths_equal
from conda.common.url import mask_anaconda_token, remove_auth
from conda.core.prefix_data import PrefixData
from conda.core.solve import Solver
from conda.exceptions import (
    CondaError,
    CondaValueError,
    PackagesNotFoundError,
    SpecsConfigurationConflictError,
    UnsatisfiableError,
)
from conda.history import History
from conda.models.channel import Channel
from conda.models.match_spec import MatchSpec
from conda.models.prefix_graph import PrefixGraph
from conda.models.records import PackageRecord

from . import __version__
from . import exceptions as plus_errors
from .backends import get_backend
from .core import SolveOptions, solve
from .credentials import redact_text
from .exclude_newer import ExcludeNewer
from .index import ChannelRef, index_from_files
from .records import record_from_dict, record_key
from .state import SolverInputState
from .virtual import make_virtual

log = logging.getLogger(f"conda.{__name__}")

_PRIORITY = {
    ChannelPriority.STRICT: "strict",
    ChannelPriority.FLEXIBLE: "flexible",
    ChannelPriority.DISABLED: "disabled",
}


class PlusUnsatisfiableError(UnsatisfiableError):
    """conda's UnsatisfiableError carrying conda-solver-plus's explanation as its text."""

    def __init__(self, message: str, **kwargs):
        CondaError.__init__(self, str(message), **kwargs)  # skip the classic chain renderer
        self.allow_retry = False


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


def _has_credentials(channel: Channel) -> bool:
    """Does this conda ``Channel`` carry a token or basic auth?"""
    return bool(channel.token or channel.auth)


def _configured_backend_name() -> str | None:
    """``CONDA_SOLVER_PLUS_BACKEND`` or the ``plus_backend`` key of ``.condarc``."""
    env = os.environ.get("CONDA_SOLVER_PLUS_BACKEND")
    if env:
        return env
    for source in getattr(context, "raw_data", {}).values():
        value = source.get("plus_backend")
        if value is not None:
            return str(getattr(value, "_raw_value", value))
    return None


class PlusSolver(Solver):
    """conda's Solver API, answered by the conda-solver-plus core."""

    _uses_ssc = False
    #: ``exclude_newer`` (conda >= 26): the global cutoff goes to the engine, which drops
    #: records timestamped after it (records without a timestamp stay, like conda);
    #: per-channel and per-package cutoffs filter the repodata files conda hands us
    #: (:mod:`conda_solver_plus.exclude_newer`), so both engines honour all three.
    supports_exclude_newer_global = True
    supports_exclude_newer_channel = True
    supports_exclude_newer_package = True

    @staticmethod
    @cache
    def user_agent() -> str:
        """``conda-solver-plus/<version>`` and the engine library conda will solve with."""
        from importlib.metadata import PackageNotFoundError, version

        agent = f"conda-solver-plus/{__version__}"
        try:
            engine = get_backend(_configured_backend_name()).name
        except plus_errors.SolverPlusError:
            return agent
        distribution = {"rattler": "py-rattler", "libmamba": "libmambapy"}.get(engine, engine)
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
        **kwargs,
    ):
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

    # -- conda -> core ----------------------------------------------------------------
    def _removing_only(self) -> bool:
        """A removal (conda may pass both lists: an install that also removes packages)."""
        return bool(self.specs_to_remove) and not self.specs_to_add

    def _input_state(self, update_modifier, deps_modifier, prune, ignore_pinned, force_remove):
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
        also_remove = [] if removing_only else [str(s) for s in self.specs_to_remove]
        virtual = {}
        for vrec in context.plugin_manager.get_virtual_package_records():
            virtual[vrec.name] = make_virtual(vrec.name, str(vrec.version), vrec.build or "0")
        command = self._command if isinstance(self._command, str) else "install"
        if removing_only:
            command = "remove"
        return SolverInputState(
            prefix,
            [_conda_spec_str(spec) for spec in requested],
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

    def _load_index(self):
        from conda.core.subdir_data import SubdirData

        entries = []
        subdir_channels = self._channels_for()
        self._subdir_channels = {sub.url(with_credentials=False): sub for sub in subdir_channels}
        for sub in subdir_channels:
            subdir = sub.subdir or sub.platform
            base = Channel(sub.base_url)
            canonical = base.canonical_name
            ref = ChannelRef(
                given=str(base),
                url=base.base_url.rstrip("/"),
                name=canonical,
                # a member of `defaults` or a custom multichannel is named after it; the
                # members share one priority tier (conda/conda#15750)
                multichannel=canonical if canonical in context.custom_multichannels else None,
            )
            if ref.is_local:
                # local channels are read in place (conda would copy them into its cache)
                local = ref.local_path / subdir / "repodata.json"
                if local.is_file():
                    entries.append((ref, subdir, local))
                    continue
            try:
                path, _ = SubdirData(
                    sub, repodata_fn=self._repodata_fn
                ).repo_fetch.fetch_latest_path()
            except Exception as exc:
                if subdir == "noarch":
                    # str(sub) is the clean URL; conda's message may quote the full one
                    log.debug("no noarch repodata for %s: %s", sub, redact_text(str(exc)))
                    continue
                raise
            if not Path(path).is_file():
                continue
            entries.append((ref, subdir, Path(path)))
        if not entries and self.specs_to_add:
            # nothing to search (offline with an empty cache, a channel without repodata)
            raise PackagesNotFoundError(
                [str(s) for s in self.specs_to_add], [str(c) for c in self.channels]
            )
        return index_from_files(entries)

    def _exclude_newer(self) -> ExcludeNewer | None:
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
        try:
            with ThreadPoolExecutor(max_workers=1) as pool:
                # The index loads in a worker while the input state is collected: conda's
                # virtual-package plugins probe CUDA in a spawned process (~0.3 s), and
                # py-rattler releases the GIL while it scans repodata, so the two overlap.
                forced_removal = self._removing_only() and bool(
                    context.force_remove if force_remove is NULL else force_remove
                )
                loading = None if forced_removal else pool.submit(self._load_index)
                sis = self._input_state(
                    update_modifier, deps_modifier, prune, ignore_pinned, force_remove
                )
                if sis.is_removing and sis.force_remove:
                    index = None  # --force removes exactly what was named: no index
                else:
                    with _spinner(f"Collecting package metadata ({self._repodata_fn})"):
                        index = (loading or pool.submit(self._load_index)).result()
            options = SolveOptions(
                channel_priority=_PRIORITY.get(context.channel_priority, "flexible"),
                add_pip_as_python_dependency=context.add_pip_as_python_dependency,
                timeout=_timeout(),
                exclude_newer=self._exclude_newer(),
            )
            backend = get_backend(_configured_backend_name())
            log.info("conda-solver-plus %s using the %s engine", __version__, backend.name)
            if index is None:
                from .state import SolverOutputState

                out = SolverOutputState(sis)
                out.early_exit()
            else:
                with _spinner("Solving environment"):
                    out = solve(sis, index, backend, options)
        except plus_errors.PackagesNotFoundError as exc:
            if not sis.is_removing and self._called_from_conda_build():
                raise self._conda_build_error(exc.specs, str(exc)) from None
            if sis.is_removing:
                specs = [MatchSpec(s) for s in exc.specs]
                error = PackagesNotFoundError(specs)
            else:
                from .conda_cli import packages_not_found  # adds "did you mean"

                error = packages_not_found(
                    [_matchspec(s) for s in exc.specs], [str(c) for c in self.channels], exc
                )
            error.allow_retry = False
            raise error from None
        except plus_errors.UnsatisfiableError as exc:
            from .conda_cli import attach_guidance  # culprits as conda's "Next steps"

            if self._called_from_conda_build():
                raise self._conda_build_error(_blocking_specs(exc), str(exc)) from None

            if exc.explanation.virtual_blockers:
                error = _virtual_package_error(exc.explanation.virtual_blockers)
                error.allow_retry = False
                attach_guidance(error, exc.explanation)
                raise error from None
            error = PlusUnsatisfiableError(str(exc))
            attach_guidance(error, exc.explanation)
            raise error from None
        except plus_errors.SpecsConfigurationConflictError as exc:
            error = SpecsConfigurationConflictError(
                requested_specs=sorted(str(MatchSpec(s)) for s in exc.requested_specs),
                pinned_specs=sorted(str(MatchSpec(s)) for s in exc.pinned_specs),
                prefix=os.fspath(self.prefix),
            )
            error.allow_retry = False
            raise error from None
        except plus_errors.InvalidInputError as exc:
            raise CondaValueError(str(exc)) from None
        except plus_errors.SolverPlusError as exc:
            raise CondaError(str(exc)) from None

        self.neutered_specs = tuple(MatchSpec(str(s)) for s in out.neutered.values())
        from .conda_cli import report_provenance

        report_provenance(sis, out)  # -v: where each spec came from, why each package
        records = [self._to_conda(r) for r in out.records.values()]
        if out.held_back and not context.json:
            # conda's own report of what keeps a requested package from updating
            for spec in self.specs_to_add:
                if spec.name in out.held_back:
                    self.determine_constricting_specs(spec, records)
        return IndexedSet(PrefixGraph(records).graph)

    # -- conda-build ---------------------------------------------------------------------
    def _called_from_conda_build(self) -> bool:
        """Is conda-build asking? Its ``install_actions`` hands every solver conda-build's
        own index (``solver._index = index.copy()``), which conda never does for a plugin
        solver; plus does not read it (it loads the same channels itself)."""
        return self._index is not None and "conda_build" in sys.modules

    def _conda_build_error(self, specs: list[str], explanation: str) -> Exception:
        """conda-build's ``DependencyNeedsBuildingError`` naming ``specs``, with plus's
        explanation in its message (as conda-libmamba-solver does).

        conda-build acts on that error alone: ``conda build`` first builds a missing
        dependency when another recipe given provides it, ``conda render`` returns a
        non-final recipe. It derives the error from conda's own errors by parsing their text
        line by line, which plus's explanations do not follow."""
        from conda_build.exceptions import DependencyNeedsBuildingError

        class ExplainedDependencyNeedsBuildingError(DependencyNeedsBuildingError):
            def __str__(self) -> str:
                return f"{self.message}\n{explanation}"

        matchspecs = [_matchspec(spec) for spec in specs]
        subdir = next((s for s in self.subdirs if s != "noarch"), context.subdir)
        error = ExplainedDependencyNeedsBuildingError(
            packages=[spec.name for spec in matchspecs], subdir=subdir
        )
        error.matchspecs = matchspecs
        return error

    def _notify_conda_outdated(self, link_precs, *args, **kwargs):
        # conda's default implementation queries the classic index; plus does not build it
        return


def _blocking_specs(exc: plus_errors.UnsatisfiableError) -> list[str]:
    """What an unsatisfiable request lacks, for conda-build: the dependencies no channel
    has (which another recipe may build), else the requested specs in conflict."""
    missing: list[str] = []
    heads: set[str] = set()
    for chain in exc.explanation.chains:
        if not chain.steps:
            continue
        heads.add(chain.steps[0].name)
        heads.update(_matchspec(partner).name for partner in chain.partners)
        if chain.problem == "missing":
            last = chain.steps[-1]
            missing.append(last.specs[0] if last.specs else last.name)
    if missing:
        return list(dict.fromkeys(missing))
    in_conflict = [spec for spec in exc.requested if _matchspec(spec).name in heads]
    return in_conflict or exc.requested


def _virtual_package_error(blockers: dict[str, list[str]]) -> UnsatisfiableError:
    """conda's "incompatible with your system" error: each requested package with the
    virtual-package versions its candidates need, and the system's own virtual package."""
    system = {
        record.name: record for record in context.plugin_manager.get_virtual_package_records()
    }
    chains = set()
    reference = "not available"
    for name, deps in blockers.items():
        versions: dict[str, set[str]] = {}
        for dep in deps:
            spec = MatchSpec(dep)
            versions.setdefault(spec.name, set())
            if spec.version is not None:
                versions[spec.name].add(str(spec.version))
        for virtual_name, wanted in versions.items():
            needed = MatchSpec(name=virtual_name, version="|".join(sorted(wanted)) or None)
            present = system.get(virtual_name)
            reference = str(present.version) if present else "not available"
            chains.add(((MatchSpec(name), needed), reference))
            if present is not None:
                text = f"@/{present.subdir}::{present.name}=={present.version}={present.build}"
                chains.add(((MatchSpec(text),), reference))
    return UnsatisfiableError({"virtual_package": chains})


def _spinner(message: str):
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


def _conda_spec_str(spec: MatchSpec) -> str:
    text = str(spec)
    channel = spec.get_exact_value("channel")
    if channel and "::" not in text:
        text = f"{channel}::{text}"
    return text


def _matchspec(text: str) -> MatchSpec:
    try:
        return MatchSpec(text.split(",")[0].strip())
    except Exception:
        return MatchSpec(text.split()[0])


def _timeout() -> float | None:
    """Seconds the whole solve may take: ``CONDA_SOLVER_PLUS_TIMEOUT`` or the
    ``plus_timeout`` key of ``.condarc``; unset, empty or ``0`` means no limit."""
    value = os.environ.get("CONDA_SOLVER_PLUS_TIMEOUT")
    source = "CONDA_SOLVER_PLUS_TIMEOUT"
    if not value:
        source = "plus_timeout (.condarc)"
        for raw in getattr(context, "raw_data", {}).values():
            setting = raw.get("plus_timeout")
            if setting is not None:
                value = getattr(setting, "_raw_value", setting)
                break
    if value in (None, ""):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise CondaValueError(f"{source} must be a number of seconds, got {value!r}") from None
    if seconds < 0:
        raise CondaValueError(f"{source} must not be negative, got {value!r}")
    return seconds or None
