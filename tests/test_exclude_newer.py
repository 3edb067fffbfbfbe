"""exclude-newer (:mod:`conda_solver_plus.exclude_newer`): parsing conda's cutoff values,
the layering of global / per-channel / per-package cutoffs, and solves on real channel
data (``../shared/data/repodata/lockfile-union``) on every available engine."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from conda_solver_plus.core import SolveOptions, solve
from conda_solver_plus.exceptions import InvalidInputError, PackagesNotFoundError
from conda_solver_plus.exclude_newer import (
    ExcludeNewer,
    channel_selector_matches,
    parse_cutoff,
)
from conda_solver_plus.lockfile import read_lockfile
from conda_solver_plus.records import record_name
from conda_solver_plus.repodata.gateway import load_index
from conda_solver_plus.solving.transforms import apply_to_index
from conda_solver_plus.state import SolverInputState
from conda_solver_plus.virtual import virtual_packages

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 4, 10, 12, 0, tzinfo=UTC)
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "repodata"
UNION = SHARED / "lockfile-union"
needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"shared channel data not found at {SHARED}"
)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("7d", NOW - datetime.timedelta(days=7)),
        ("3d12h", NOW - datetime.timedelta(days=3, hours=12)),
        ("1w", NOW - datetime.timedelta(weeks=1)),
        ("P7D", NOW - datetime.timedelta(days=7)),
        ("PT36H", NOW - datetime.timedelta(hours=36)),
        ("86400", NOW - datetime.timedelta(days=1)),
        (3600, NOW - datetime.timedelta(hours=1)),
        ("0", NOW),
        # a date counts whole: the cutoff is the start of the next UTC day
        ("2026-04-01", datetime.datetime(2026, 4, 2, tzinfo=UTC)),
        ("2026-04-01T12:00:00Z", datetime.datetime(2026, 4, 1, 12, tzinfo=UTC)),
        ("2026-04-01T12:00:00+02:00", datetime.datetime(2026, 4, 1, 10, tzinfo=UTC)),
        ("2026-04-01T12:00:00", datetime.datetime(2026, 4, 1, 12, tzinfo=UTC)),
    ],
)
def test_cutoff_values(value, expected):
    assert parse_cutoff(value, now=NOW) == expected


@pytest.mark.parametrize("value", ["soon", "7x", "2026-13-01", "2026-04", "-5", True])
def test_bad_cutoff_is_bad_input(value):
    with pytest.raises(InvalidInputError) as info:
        parse_cutoff(value, source="--exclude-newer", now=NOW)
    assert "--exclude-newer" in str(info.value)


def test_most_specific_layer_wins_and_false_exempts():
    policy = ExcludeNewer.from_values(
        "30d",
        packages={"numpy": "1d", "openssl": False, "zlib": "0", "ignored": None},
        channels=[("conda-forge", "10d"), ("https://example.com/*", False), ("pytorch", "")],
        now=NOW,
    )
    forge = "https://conda.anaconda.org/conda-forge"
    assert policy.cutoff_for("numpy", forge) == NOW - datetime.timedelta(days=1)
    assert policy.cutoff_for("openssl", forge) is None
    assert policy.cutoff_for("zlib", forge) is None  # conda reads 0 as false for overrides
    assert policy.cutoff_for("python", forge) == NOW - datetime.timedelta(days=10)
    assert policy.cutoff_for("python", "https://example.com/private") is None
    # conda's boolify reads an empty override as false: pytorch is exempt
    assert policy.cutoff_for("python", "https://conda.anaconda.org/pytorch") is None
    assert policy.cutoff_for("python", "https://conda.anaconda.org/bioconda") == (
        NOW - datetime.timedelta(days=30)
    )
    assert "ignored" not in policy.packages
    old = {"timestamp": int((NOW - datetime.timedelta(days=20)).timestamp() * 1000)}
    assert policy.includes("python", forge, old)  # older than conda-forge's 10 days
    assert not policy.includes("python", "https://conda.anaconda.org/bioconda", old)
    assert policy.includes("python", forge, {})  # no timestamp: kept, like conda
    assert policy.active and policy.has_overrides


def test_inactive_policy_and_global_only_stay_native():
    assert not ExcludeNewer.from_values(None, {"numpy": False}).active
    assert not ExcludeNewer.from_values("", {"numpy": "false"}).active
    assert ExcludeNewer.from_values("0", now=NOW).cutoff == NOW  # global 0: no delay
    unused = Path("unused")  # nothing is filtered, nothing written
    assert apply_to_index("index", ExcludeNewer.from_values(None), unused) == ("index", None)
    policy = ExcludeNewer.from_values("2025-01-01")
    assert not policy.has_overrides
    cutoff = datetime.datetime(2025, 1, 2, tzinfo=UTC)
    assert apply_to_index("index", policy, unused) == ("index", cutoff)


@pytest.mark.parametrize(
    "selector, url, expected",
    [
        ("conda-forge", "https://conda.anaconda.org/conda-forge", True),
        ("conda-forge", "file:///data/lockfile-union/conda-forge", True),
        ("conda-forge", "https://conda.anaconda.org/conda-forge/linux-64", True),
        (
            "https://conda.anaconda.org/conda-forge/",
            "https://conda.anaconda.org/conda-forge",
            True,
        ),
        ("https://conda.anaconda.org/*", "https://conda.anaconda.org/pytorch", True),
        ("https://example.com/*", "https://conda.anaconda.org/pytorch", False),
        ("pytorch", "https://conda.anaconda.org/conda-forge", False),
    ],
)
def test_channel_selectors(selector, url, expected):
    assert channel_selector_matches(selector, url) is expected


# -- solving ---------------------------------------------------------------------------------


def _solve(specs, policy, backend, channels=("conda-forge",), tmp_path=None, **kwargs):
    index = load_index([UNION / c for c in channels], ["linux-64"])
    sis = SolverInputState(None, specs, virtual_packages=virtual_packages("linux-64"), **kwargs)
    options = SolveOptions(exclude_newer=policy)
    if tmp_path is not None:  # the filtered repodata written there, to look at
        options.cache_dir = tmp_path
    out = solve(sis, index, backend, options)
    return {record_name(r): r for r in out.records.values()}


CUTOFF = datetime.datetime(2025, 1, 1, tzinfo=UTC)


@needs_shared
def test_global_cutoff_hides_newer_records(backend, tmp_path):
    newest = _solve(["numpy", "python"], None, backend)
    assert max(r.timestamp for r in newest.values() if r.timestamp) > CUTOFF
    result = _solve(["numpy", "python"], CUTOFF, backend)
    assert all(r.timestamp <= CUTOFF for r in result.values() if r.timestamp)
    assert str(result["numpy"].version) < str(newest["numpy"].version)
    # the core's filtered repodata (used for overrides) hides exactly what the engine does
    forced = ExcludeNewer(CUTOFF, packages={"not-a-package": CUTOFF})
    filtered = _solve(["numpy", "python"], forced, backend, tmp_path=tmp_path)
    assert {r.url for r in filtered.values()} == {r.url for r in result.values()}
    assert list((tmp_path / "exclude-newer").glob("*.json"))


@needs_shared
def test_package_override_exempts_one_name(backend, tmp_path):
    policy = ExcludeNewer(CUTOFF, packages={"numpy": None})
    result = _solve(["numpy", "python"], policy, backend, tmp_path=tmp_path)
    assert result["numpy"].timestamp > CUTOFF
    others = [r for n, r in result.items() if n != "numpy" and r.timestamp]
    assert others and all(r.timestamp <= CUTOFF for r in others)


@needs_shared
def test_package_override_alone_holds_one_name_back(backend, tmp_path):
    cutoff = datetime.datetime(2024, 6, 1, tzinfo=UTC)
    result = _solve(
        ["numpy", "python"], ExcludeNewer(packages={"numpy": cutoff}), backend, tmp_path=tmp_path
    )
    assert result["numpy"].timestamp <= cutoff
    assert result["python"].timestamp > cutoff  # no global cutoff for the rest


@needs_shared
def test_channel_override(backend, tmp_path):
    cutoff = datetime.datetime(2024, 6, 1, tzinfo=UTC)
    held = _solve(
        ["numpy", "python"],
        ExcludeNewer(channels=(("conda-forge", cutoff),)),
        backend,
        tmp_path=tmp_path,
    )
    assert all(r.timestamp <= cutoff for r in held.values() if r.timestamp)
    exempt = _solve(
        ["numpy", "python"],
        ExcludeNewer(CUTOFF, channels=(("conda-forge", None),)),
        backend,
        tmp_path=tmp_path,
    )
    assert max(r.timestamp for r in exempt.values() if r.timestamp) > CUTOFF


@needs_shared
def test_request_only_newer_than_the_cutoff_is_not_found(backend, tmp_path):
    with pytest.raises(PackagesNotFoundError) as info:
        _solve(
            ["numpy>=2.3"], ExcludeNewer(packages={"numpy": CUTOFF}), backend, tmp_path=tmp_path
        )
    assert "numpy" in str(info.value)


@needs_shared
def test_locked_records_newer_than_the_cutoff_stay(backend, tmp_path):
    """Like conda, the cutoff limits what is newly chosen; a locked (or installed)
    environment from September 2024 stays as it is under a January 2024 cutoff."""
    index = load_index([UNION / "conda-forge"], ["linux-64"])
    lock = SHARED / "lockfiles" / "pixi" / "examples-pytorch" / "pixi.lock"
    locked = read_lockfile(lock, environment="cf-channel", platform="linux-64", index=index)
    cutoff = datetime.datetime(2024, 1, 1, tzinfo=UTC)
    assert any(r.timestamp and r.timestamp > cutoff for r in locked.records)
    for policy in (cutoff, ExcludeNewer(cutoff, packages={"numpy": cutoff})):
        sis = SolverInputState(
            None,
            [],
            locked=locked.by_name(),
            virtual_packages=virtual_packages("linux-64", {"__cuda": "12.1"}),
        )
        out = solve(sis, index, backend, SolveOptions(exclude_newer=policy, cache_dir=tmp_path))
        assert {r.url for r in out.records.values()} == {r.url for r in locked.records}
