"""Unit tests for :mod:`conda_solver_plus.records`: building records from dicts, channel
names, conda's topological order, ``dist_str`` and the ``--json`` view."""

from __future__ import annotations

import datetime
import itertools
import random

import pytest

from conda_solver_plus.exceptions import InvalidInputError
from conda_solver_plus.records import (
    canonical_channel_name,
    dependency_names,
    dist_str,
    record_from_dict,
    record_to_json,
    short_channel_name,
    strip_subdir,
    toposort,
)

CF = "https://conda.anaconda.org/conda-forge"


def rec(name, version="1.0", build="0", depends=(), *, subdir="linux-64", channel=CF, **extra):
    data = {
        "name": name,
        "version": version,
        "build": build,
        "build_number": 0,
        "subdir": subdir,
        "depends": list(depends),
        **extra,
    }
    return record_from_dict(data, source=f"test:{name}", channel=f"{channel}/{subdir}")


def names(records):
    return [r.name.normalized for r in records]


# -- record_from_dict --------------------------------------------------------------------


def test_record_from_dict_fills_fn_and_url_from_channel_and_subdir():
    record = record_from_dict(
        {
            "name": "numpy",
            "version": "1.26.4",
            "build": "py311h64a7726_0",
            "build_number": 0,
            "subdir": "linux-64",
            "channel": f"{CF}/linux-64",
            "depends": ["python >=3.11,<3.12.0a0", "libblas >=3.9.0,<4.0a0"],
        },
        source="conda-meta/numpy.json",
    )
    assert record.file_name == "numpy-1.26.4-py311h64a7726_0.tar.bz2"
    assert record.url == f"{CF}/linux-64/numpy-1.26.4-py311h64a7726_0.tar.bz2"
    assert record.channel == f"{CF}/linux-64"
    assert record.subdir == "linux-64"
    assert str(record.version) == "1.26.4"
    assert str(record.build) == "py311h64a7726_0"
    assert record.depends == ["python >=3.11,<3.12.0a0", "libblas >=3.9.0,<4.0a0"]


def test_record_from_dict_uses_repodata_key_channel_and_subdir_arguments():
    # a repodata.json entry is keyed by its file name and carries no channel
    entry = {"name": "openssl", "version": "3.3.1", "build": "h4ab18f5_0", "build_number": 0}
    record = record_from_dict(
        entry,
        source="repodata.json",
        fn="openssl-3.3.1-h4ab18f5_0.conda",
        channel=f"{CF}/linux-64",
        subdir="linux-64",
    )
    assert record.file_name == "openssl-3.3.1-h4ab18f5_0.conda"
    assert record.subdir == "linux-64"
    assert record.url == f"{CF}/linux-64/openssl-3.3.1-h4ab18f5_0.conda"


def test_record_from_dict_own_fields_win_over_arguments():
    entry = {
        "name": "pip",
        "version": "24.0",
        "build": "pyhd8ed1ab_0",
        "subdir": "noarch",
        "fn": "pip-24.0-pyhd8ed1ab_0.conda",
        "url": f"{CF}/noarch/pip-24.0-pyhd8ed1ab_0.conda",
        "channel": f"{CF}/noarch",
    }
    record = record_from_dict(
        entry,
        source="t",
        fn="pip-23.0-pyhd8ed1ab_0.tar.bz2",
        channel="https://example.com/other",
        subdir="linux-64",
    )
    assert record.file_name == "pip-24.0-pyhd8ed1ab_0.conda"
    assert record.url == f"{CF}/noarch/pip-24.0-pyhd8ed1ab_0.conda"
    assert record.channel == f"{CF}/noarch"
    assert record.subdir == "noarch"


def test_record_from_dict_subdir_defaults_to_noarch():
    record = record_from_dict(
        {"name": "tzdata", "version": "2024a", "build": "h0c530f3_0"}, source="t", channel=CF
    )
    assert record.subdir == "noarch"
    assert record.url == f"{CF}/noarch/tzdata-2024a-h0c530f3_0.tar.bz2"


def test_record_from_dict_reads_fn_and_channel_off_the_url():
    url = f"{CF}/linux-64/python-3.11.9-hb806964_0_cpython.conda"
    record = record_from_dict(
        {
            "name": "python",
            "version": "3.11.9",
            "build": "hb806964_0_cpython",
            "subdir": "linux-64",
            "url": url,
        },
        source="t",
    )
    assert record.url == url
    assert record.file_name == "python-3.11.9-hb806964_0_cpython.conda"
    assert record.channel == f"{CF}/linux-64"
    assert dist_str(record) == "conda-forge/linux-64::python-3.11.9-hb806964_0_cpython"


def test_record_from_dict_bare_channel_name_uses_the_channel_alias():
    record = record_from_dict(
        {"name": "numpy", "version": "1.26.4", "build": "py311_0", "subdir": "linux-64"},
        source="t",
        channel="conda-forge",
    )
    assert record.url == f"{CF}/linux-64/numpy-1.26.4-py311_0.tar.bz2"
    assert canonical_channel_name(record.channel) == "conda-forge"
    assert dist_str(record) == "conda-forge/linux-64::numpy-1.26.4-py311_0"


def test_record_from_dict_without_any_location_is_completed():
    record = record_from_dict(
        {"name": "numpy", "version": "1.26.4", "build": "py311_0", "subdir": "linux-64"},
        source="t",
    )
    assert record.file_name == "numpy-1.26.4-py311_0.tar.bz2"
    assert record.channel is None
    assert "://" in record.url
    assert record.url.endswith("/linux-64/numpy-1.26.4-py311_0.tar.bz2")
    assert dist_str(record) == "/linux-64::numpy-1.26.4-py311_0"


@pytest.mark.parametrize("timestamp", [1700000000000, 1700000000])
def test_record_from_dict_timestamp_in_milliseconds_or_seconds(timestamp):
    record = rec("numpy", "1.26.4", "py311_0", timestamp=timestamp)
    assert record.timestamp == datetime.datetime(
        2023, 11, 14, 22, 13, 20, tzinfo=datetime.timezone.utc
    )


@pytest.mark.parametrize("timestamp", [0, -5, "1700000000", None])
def test_record_from_dict_ignores_unusable_timestamps(timestamp):
    assert rec("numpy", timestamp=timestamp).timestamp is None


@pytest.mark.parametrize("value", ["mkl blas", "mkl,blas", "mkl, blas", ["mkl", "blas"]])
def test_record_from_dict_track_features_string_or_list(value):
    assert rec("numpy", track_features=value).track_features == ["mkl", "blas"]


def test_record_from_dict_empty_track_features():
    assert rec("numpy", track_features="").track_features == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [("mkl", "mkl"), ("mkl debug", "mkl debug"), (["mkl", "debug"], "mkl debug"), ("", None)],
)
def test_record_from_dict_keeps_legacy_features(value, expected):
    """A prefix record's ``features`` decide what the solve may keep (see features.py)."""
    assert rec("numpy", features=value).features == expected


def test_record_from_dict_build_string_alias_and_noarch():
    record = record_from_dict(
        {"name": "pip", "version": "24.0", "build_string": "pyhd8ed1ab_0", "noarch": "python"},
        source="t",
        channel=CF,
    )
    assert str(record.build) == "pyhd8ed1ab_0"
    assert record.noarch.python
    generic = rec("ca-certificates", "2024.7.4", "hbcca054_0", noarch=True)
    assert generic.noarch.generic
    assert rec("numpy", noarch="weird").noarch.none


def test_record_from_dict_hashes():
    md5 = "0123456789abcdef0123456789abcdef"
    record = rec("numpy", md5=md5)
    assert record.md5 == bytes.fromhex(md5)
    with pytest.raises(InvalidInputError, match="'md5' is not a hex digest"):
        rec("numpy", md5="not-hex")


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"version": "1.26.4", "build": "py311_0"}, "lacks name"),
        ({"name": "numpy", "build": "py311_0"}, "lacks version"),
        ({"build": "py311_0"}, "lacks name and version"),
        ({"name": "numpy", "version": "", "build": "py311_0"}, "lacks version"),
        ({"name": "numpy", "version": "1.26.4"}, "numpy-1.26.4 lacks a build string"),
        ({"name": "numpy", "version": "1.26.4", "build": 0}, "lacks a build string"),
        ({"name": "numpy", "version": 1.26, "build": "0"}, "must be strings"),
    ],
)
def test_record_from_dict_rejects_incomplete_records(data, problem):
    with pytest.raises(InvalidInputError) as info:
        record_from_dict(data, source="channel/linux-64/repodata.json")
    assert info.value.source == "channel/linux-64/repodata.json"
    assert problem in info.value.problem


@pytest.mark.parametrize("build_number", ["3", 3.0, True, None])
def test_record_from_dict_rejects_non_integer_build_number(build_number):
    with pytest.raises(InvalidInputError, match="build_number of numpy must be an integer"):
        record_from_dict(
            {"name": "numpy", "version": "1.26.4", "build": "0", "build_number": build_number},
            source="t",
        )


@pytest.mark.parametrize("field", ["depends", "constrains"])
def test_record_from_dict_rejects_depends_as_a_string(field):
    with pytest.raises(InvalidInputError) as info:
        record_from_dict(
            {"name": "numpy", "version": "1.26.4", "build": "0", field: "python >=3.11"},
            source="repodata.json",
        )
    assert f"field {field!r} must be a list of strings, got a string" in str(info.value)
    assert info.value.hint == "wrap it in [...]"


def test_record_from_dict_rejects_non_string_depends_items():
    with pytest.raises(InvalidInputError, match="'depends' must be a list of strings"):
        record_from_dict(
            {"name": "numpy", "version": "1.26.4", "build": "0", "depends": ["python", 3]},
            source="t",
        )


def test_record_from_dict_rejects_non_mapping_and_bad_url():
    with pytest.raises(InvalidInputError, match="not a JSON object"):
        record_from_dict(["numpy", "1.26.4"], source="t")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="'url' must be a string"):
        record_from_dict({"name": "numpy", "version": "1", "build": "0", "url": 5}, source="t")


def test_record_from_dict_invalid_version_names_the_source():
    with pytest.raises(InvalidInputError) as info:
        record_from_dict(
            {"name": "numpy", "version": "1..2!!", "build": "0"}, source="conda-meta/x.json"
        )
    assert info.value.source == "conda-meta/x.json"
    assert "invalid package record numpy-1..2!!-0" in info.value.problem


# -- channel names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        ("conda-forge", "conda-forge"),
        ("conda-forge/linux-64", "conda-forge"),
        (CF, "conda-forge"),
        (f"{CF}/", "conda-forge"),
        (f"{CF}/linux-64", "conda-forge"),
        (f"{CF}/noarch/", "conda-forge"),
        ("https://conda.anaconda.org/bioconda/osx-arm64", "bioconda"),
        ("https://conda.anaconda.org/pytorch/label/nightly", "pytorch/label/nightly"),
        ("https://conda.anaconda.org/pytorch/label/nightly/win-64", "pytorch/label/nightly"),
        (
            "https://example.com/channels/internal/linux-64",
            "https://example.com/channels/internal",
        ),
        ("file:///opt/channels/channel-1/linux-64", "file:///opt/channels/channel-1"),
        ("file:///opt/channels/channel-1", "file:///opt/channels/channel-1"),
        # a component that merely looks subdir-ish is kept
        ("https://example.com/linux-65", "https://example.com/linux-65"),
        ("", ""),
    ],
)
def test_canonical_channel_name(channel, expected):
    assert canonical_channel_name(channel) == expected


def test_canonical_channel_name_custom_alias():
    alias = "https://mirror.example.org/conda/"
    assert canonical_channel_name(f"{alias}conda-forge/linux-64", alias) == "conda-forge"
    assert canonical_channel_name(f"{alias}conda-forge", alias.rstrip("/")) == "conda-forge"
    # the default alias is just another URL under a custom one
    assert canonical_channel_name(f"{CF}/linux-64", alias) == CF


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        ("conda-forge", "conda-forge"),
        (f"{CF}/linux-64", "conda-forge"),
        ("file:///opt/channels/channel-1/noarch", "channel-1"),
        ("file:///opt/channels/channel-1/", "channel-1"),
        ("file:///tmp/pytest-7/test_x0/channel-4/linux-64/", "channel-4"),
        ("https://mirror.example.org/conda/conda-forge/osx-64", "conda-forge"),
        ("https://repo.anaconda.com/pkgs/main", "main"),
    ],
)
def test_short_channel_name(channel, expected):
    assert short_channel_name(channel) == expected


def test_strip_subdir_only_strips_known_subdirs():
    assert strip_subdir(f"{CF}/linux-aarch64/") == CF
    assert strip_subdir(f"{CF}/label/main") == f"{CF}/label/main"
    assert strip_subdir("noarch") == "noarch"


# -- dist_str / record_to_json --------------------------------------------------------------


def test_dist_str():
    record = rec("numpy", "1.26.4", "py311h64a7726_0")
    assert dist_str(record) == "conda-forge/linux-64::numpy-1.26.4-py311h64a7726_0"
    local = rec("pip", "24.0", "pyhd8ed1ab_0", subdir="noarch", channel="file:///srv/channel-1")
    assert dist_str(local) == "file:///srv/channel-1/noarch::pip-24.0-pyhd8ed1ab_0"


def test_record_to_json():
    record = record_from_dict(
        {
            "name": "openssl",
            "version": "3.3.1",
            "build": "h4ab18f5_1",
            "build_number": 1,
            "subdir": "linux-64",
            "fn": "openssl-3.3.1-h4ab18f5_1.conda",
        },
        source="t",
        channel=f"{CF}/linux-64",
    )
    assert record_to_json(record) == {
        "name": "openssl",
        "version": "3.3.1",
        "build": "h4ab18f5_1",
        "build_number": 1,
        "channel": "conda-forge",
        "subdir": "linux-64",
        "fn": "openssl-3.3.1-h4ab18f5_1.conda",
        "url": f"{CF}/linux-64/openssl-3.3.1-h4ab18f5_1.conda",
    }


def test_dependency_names():
    record = rec(
        "pandas",
        depends=[
            "numpy >=1.22.4",
            "python_abi 3.11.* *_cp311",
            "conda-forge::tzdata",
            "pytz>=2020.1",
        ],
    )
    assert dependency_names(record) == ["numpy", "python_abi", "tzdata", "pytz"]


# -- toposort -----------------------------------------------------------------------------


def python_stack():
    return [
        rec("pandas", "2.2.2", "py311_0", ["numpy >=1.22", "python >=3.11,<3.12"]),
        rec("pip", "24.0", "pyhd8ed1ab_0", ["python >=3.7"], subdir="noarch"),
        rec("numpy", "1.26.4", "py311_0", ["python >=3.11,<3.12"]),
        rec("python", "3.11.9", "hb806964_0_cpython", ["openssl >=3.3"]),
        rec("tzdata", "2024a", "h0c530f3_0", subdir="noarch"),
        rec("certifi", "2024.7.4", "pyhd8ed1ab_0", ["python >=3.7"], subdir="noarch"),
        rec("openssl", "3.3.1", "h4ab18f5_1"),
    ]


def test_toposort_dependencies_first_layers_alphabetical():
    order = names(toposort(python_stack()))
    # tzdata: nothing depends on it and it depends on nothing -> first, even before openssl;
    # then openssl; python; the layer {certifi, numpy, pip} sorted by name; pandas last
    assert order == ["tzdata", "openssl", "python", "certifi", "numpy", "pip", "pandas"]


def test_toposort_does_not_depend_on_input_order():
    expected = names(toposort(python_stack()))
    rng = random.Random(1234)
    for _ in range(20):
        records = python_stack()
        rng.shuffle(records)
        assert names(toposort(records)) == expected


def test_toposort_isolated_records_come_first_sorted():
    records = [
        rec("zlib", "1.3.1", "h4ab18f5_1"),
        rec("python", "3.11.9", "0", ["openssl"]),
        rec("openssl", "3.3.1", "0"),
        rec("ca-certificates", "2024.7.4", "hbcca054_0"),
    ]
    assert names(toposort(records)) == ["ca-certificates", "zlib", "openssl", "python"]


def test_toposort_edges_only_from_matching_depends():
    # numpy wants python 3.12, but 3.11 is there: no edge, numpy is isolated and comes first
    records = [
        rec("python", "3.11.9", "0", ["openssl"]),
        rec("openssl", "3.3.1", "0"),
        rec("numpy", "2.0.0", "py312_0", ["python >=3.12,<3.13"]),
    ]
    assert names(toposort(records)) == ["numpy", "openssl", "python"]


def test_toposort_python_never_waits_for_pip():
    # add_pip_as_python_dependency: python -> pip -> python. Breaking that cycle by the usual
    # rule would place pip (smaller dist_str) first; python must come first.
    records = [
        rec("pip", "24.0", "pyhd8ed1ab_0", ["python >=3.7", "setuptools"], subdir="noarch"),
        rec("python", "3.11.9", "0", ["openssl", "pip"]),
        rec("openssl", "3.3.1", "0"),
        rec("setuptools", "70.1.1", "pyhd8ed1ab_0", ["python >=3.8"], subdir="noarch"),
    ]
    assert names(toposort(records)) == ["openssl", "python", "setuptools", "pip"]


def test_toposort_two_cycle_broken_by_dist_str_deterministically():
    def records():
        return [
            rec("python", "3.11.9", "0"),
            rec("conda-libmamba-solver", "24.7.0", "pyhd8ed1ab_0", ["python", "conda >=23"]),
            rec("conda", "24.7.1", "py311_0", ["python", "conda-libmamba-solver >=23.11"]),
        ]

    expected = ["python", "conda", "conda-libmamba-solver"]
    for permutation in itertools.permutations(records()):
        assert names(toposort(permutation)) == expected


def test_toposort_cycle_broken_at_fewest_parents():
    # conda waits for two packages, each of which waits for conda: the cycle is broken at
    # conda-libmamba-solver (one parent, smaller name than conda-package-handling), not at
    # conda (which would win on name alone)
    def records():
        return [
            rec("python", "3.11.9", "0"),
            rec("conda", "24.7.1", "py311_0", ["conda-libmamba-solver", "conda-package-handling"]),
            rec("conda-libmamba-solver", "24.7.0", "pyhd8ed1ab_0", ["conda"]),
            rec("conda-package-handling", "2.3.0", "pyh7900ff3_0", ["conda"]),
        ]

    expected = ["python", "conda-libmamba-solver", "conda", "conda-package-handling"]
    for permutation in itertools.permutations(records()):
        assert names(toposort(permutation)) == expected


def test_toposort_self_dependency_and_empty():
    assert toposort([]) == []
    records = [rec("libgcc-ng", "14.1.0", "h77fa898_0", ["libgcc-ng >=14"])]
    assert names(toposort(records)) == ["libgcc-ng"]


def test_toposort_keeps_every_record_once():
    records = python_stack()
    result = toposort(records)
    assert sorted(names(result)) == sorted(names(records))
    assert len(result) == len(records)
