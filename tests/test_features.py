"""Legacy ``features``/``track_features`` (conda_solver_plus.features) on real channel data.

The channels are the ones conda's own solver tests use (shipped by pytest-conda-solvers):
``channel-1`` is an old anaconda channel where ``mkl`` and ``accelerate`` track the feature
``mkl`` and many ``numpy``/``scipy``/``numexpr`` builds carry ``features: mkl``;
``channel-2`` has ``nomkl`` tracking ``nomkl`` and ``numpy`` builds featuring it. The
expectations are classic conda's (conda's tests ``test_prune_1``, ``test_update_prune_1``,
``test_update_prune_5`` and ``test_features_solve_1``), checked on every engine here.
"""

from __future__ import annotations

import pytest

from conda_solver_plus.core import SolveOptions, solve
from conda_solver_plus.exceptions import InvalidInputError
from conda_solver_plus.features import (
    FEATURE_PACKAGE_PREFIX,
    feature_of,
    feature_package,
    feature_spec_package,
    record_features,
    split_features,
    tracked_features,
)
from conda_solver_plus.repodata.gateway import load_index
from conda_solver_plus.specs import parse_spec, spec_name
from conda_solver_plus.state import SolverInputState

from .corpus import ARCH, needs_corpus_channels, write_prefix
from .transactions import transaction_diff

needs_channels = needs_corpus_channels


def _solve(backend, channels, names, specs, tmp_path, prefix=None, priority="strict", **kw):
    index = load_index([channels[n] for n in names], [ARCH], cache_dir=tmp_path / "cache")
    sis = SolverInputState(prefix, specs, virtual_packages={}, **kw)
    options = SolveOptions(channel_priority=priority, cache_dir=tmp_path / "cache")
    return sis, solve(sis, index, backend, options)


def _builds(out) -> dict[str, str]:
    return {name: f"{r.version}-{r.build}" for name, r in out.records.items()}


def _assert_classic_invariant(out) -> None:
    """Every featured record is installed together with a tracker of its features, and
    no synthetic feature package leaks into the result."""
    records = list(out.records.values())
    tracked = set().union(*(tracked_features(r) for r in records))
    for record in records:
        assert feature_of(record.name.normalized) is None
        assert record_features(record) <= tracked, (record, tracked)


# -- specs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["mkl@", "*[track_features=mkl]", "*[track_features='mkl']", '[track_features="mkl"]']
)
def test_feature_specs_name_the_feature_package(text):
    assert feature_spec_package(text) == feature_package("mkl") == FEATURE_PACKAGE_PREFIX + "mkl"
    assert spec_name(parse_spec(text)) == FEATURE_PACKAGE_PREFIX + "mkl"


@pytest.mark.parametrize("text", ["numpy", "numpy[track_features=mkl]", "mkl", "numpy>=1"])
def test_other_specs_are_not_feature_specs(text):
    assert feature_spec_package(text) is None


def test_a_spec_turns_on_one_feature():
    with pytest.raises(InvalidInputError, match="exactly one"):
        parse_spec("*[track_features='mkl debug']")


def test_feature_names_are_checked():
    with pytest.raises(InvalidInputError, match="feature name"):
        parse_spec("m k@")


@pytest.mark.parametrize("value", ["mkl debug", "mkl,debug", ["mkl", " debug "]])
def test_split_features(value):
    assert split_features(value) == ["mkl", "debug"]


def test_feature_of():
    assert feature_of(feature_package("nomkl")) == "nomkl"
    assert feature_of("numpy") is None


# -- solving -----------------------------------------------------------------------------


@needs_channels
def test_active_feature_prefers_featured_builds(backend, channels, tmp_path):
    """conda's test_prune_1: accelerate tracks mkl, so numpy/scipy/scikit-learn come in
    their ``features: mkl`` builds."""
    _, out = _solve(
        backend, channels, ["channel-1"], ["numpy=1.6", "python=2.7.3", "accelerate"], tmp_path
    )
    builds = _builds(out)
    assert builds["numpy"] == "1.6.2-py27_p4"
    assert builds["scipy"] == "0.12.0-np16py27_p0"
    assert builds["scikit-learn"] == "0.13.1-np16py27_p0"
    assert "mkl" in tracked_features(out.records["accelerate"])
    _assert_classic_invariant(out)


@needs_channels
def test_without_a_tracker_featured_builds_stay_out(backend, channels, tmp_path):
    """conda's test_update_prune_1: nothing tracks mkl, so numpy is the featureless build
    (numpy-1.7.1-py27_p0 has the same version and build number)."""
    _, out = _solve(backend, channels, ["channel-1"], ["numpy", "python=2.7.3"], tmp_path)
    assert _builds(out)["numpy"] == "1.7.1-py27_0"
    assert not any(record_features(r) for r in out.records.values())


@needs_channels
def test_a_requested_featured_build_brings_a_tracker(backend, channels, tmp_path):
    """conda's test_update_prune_5: numexpr's ``features: mkl`` build can only be installed
    with something tracking mkl."""
    _, out = _solve(
        backend,
        channels,
        ["channel-1"],
        ["python=2.7", "numexpr==2.0.1=np17py27_p3"],
        tmp_path,
    )
    assert _builds(out)["numexpr"] == "2.0.1-np17py27_p3"
    assert any("mkl" in tracked_features(r) for r in out.records.values())
    _assert_classic_invariant(out)


@needs_channels
def test_removing_the_tracker_returns_to_featureless_builds(backend, channels, tmp_path):
    """conda's test_prune_1, second half: removing numbapro removes accelerate (which
    needs it); nothing tracks mkl any more, so numpy goes back to its featureless build and
    the mkl stack goes with it."""
    history = ["numpy=1.6", "python=2.7.3", "accelerate"]
    _, first = _solve(backend, channels, ["channel-1"], history, tmp_path)
    prefix = tmp_path / "prefix"
    dists = [
        f"channel-1/{r.subdir}::{r.name.normalized}-{r.version}-{r.build}"
        for r in first.records.values()
    ]
    write_prefix(prefix, dists, history, channels)
    sis, out = _solve(
        backend, channels, ["channel-1"], ["numbapro"], tmp_path, prefix=prefix, command="remove"
    )
    builds = _builds(out)
    assert builds["numpy"] == "1.6.2-py27_4"
    for gone in ("accelerate", "numbapro", "mkl", "mkl-rt", "scipy", "numexpr"):
        assert gone not in builds
    _assert_classic_invariant(out)
    _, link = transaction_diff(sis, list(out.records.values()))
    assert [f"{r.name.normalized}-{r.version}-{r.build}" for r in link] == ["numpy-1.6.2-py27_4"]


@needs_channels
def test_a_requested_feature_needs_no_tracker(backend, channels, tmp_path):
    """``mkl@`` turns the feature on by itself: numpy comes in a ``features: mkl`` build
    although nothing installed tracks mkl."""
    _, out = _solve(backend, channels, ["channel-1"], ["numpy", "python=2.7.3", "mkl@"], tmp_path)
    assert record_features(out.records["numpy"]) == {"mkl"}
    assert not any(feature_of(name) for name in out.records)


@needs_channels
def test_nomkl_selects_the_nomkl_builds(backend, channels, tmp_path):
    """conda's test_features_solve_1 (strict channel priority): the nomkl metapackage
    tracks nomkl, so numpy is its nomkl build and mkl stays out."""
    _, out = _solve(
        backend,
        channels,
        ["channel-2", "channel-4"],
        ["python=2.7", "numpy", "nomkl"],
        tmp_path,
    )
    builds = _builds(out)
    assert builds["numpy"] == "1.13.1-py27_nomkl_0"
    assert builds["nomkl"] == "1.0-0"
    assert "mkl" not in builds
    _assert_classic_invariant(out)


@needs_channels
def test_removing_a_feature_removes_its_trackers(backend, channels, tmp_path):
    """``conda remove --features mkl``: the packages tracking mkl go, featured builds
    return to featureless ones."""
    history = ["numpy=1.6", "python=2.7.3", "mkl=11.0"]
    _, first = _solve(backend, channels, ["channel-1"], history, tmp_path)
    assert record_features(first.records["numpy"]) == {"mkl"}
    prefix = tmp_path / "prefix"
    dists = [
        f"channel-1/{r.subdir}::{r.name.normalized}-{r.version}-{r.build}"
        for r in first.records.values()
    ]
    write_prefix(prefix, dists, history, channels)
    _, out = _solve(
        backend,
        channels,
        ["channel-1"],
        ["*[track_features=mkl]"],
        tmp_path,
        prefix=prefix,
        command="remove",
    )
    assert "mkl" not in out.records
    assert not any(record_features(r) for r in out.records.values())
    assert out.records["numpy"].version == first.records["numpy"].version
