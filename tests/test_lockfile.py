"""Lockfiles in, minimal change out (:mod:`conda_solver_plus.lockfile`).

Real lockfiles from ``../shared/data/repodata/lockfiles`` (pixi v4-v7 files, rattler's
v4 files, conda-libmamba-solver's @EXPLICIT files) solved on the channels rebuilt from
lockfiles in ``../shared/data/repodata/lockfile-union``, on every available engine. The
format tests that need no channel data use the demo channel under ``tests/data``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rattler import MatchSpec

from conda_solver_plus.backends import get_backend
from conda_solver_plus.consistency import unmet_dependencies
from conda_solver_plus.core import SolveOptions, solve
from conda_solver_plus.exceptions import InvalidInputError
from conda_solver_plus.lockfile import (
    CONDA_LOCK,
    EXPLICIT,
    PIXI,
    LockedEnvironment,
    build_number_from_build,
    detect_format,
    find_in_index,
    format_for_path,
    read_lockfile,
    write_lockfile,
)
from conda_solver_plus.records import dependency_name, record_name
from conda_solver_plus.repodata.gateway import load_index
from conda_solver_plus.state import SolverInputState
from conda_solver_plus.virtual import virtual_packages

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "repodata"
LOCKS = SHARED / "lockfiles"
UNION = SHARED / "lockfile-union"
DEMO = Path(__file__).parent / "data" / "demo-channel"
needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"shared channel data not found at {SHARED}"
)

PYTORCH = LOCKS / "pixi" / "examples-pytorch" / "pixi.lock"
#: (lockfile, environment, channels in priority order, __cuda) of locked environments
LOCKED_ENVIRONMENTS = {
    "pytorch-cf": (PYTORCH, "cf-channel", ["conda-forge"], "12.1"),
    "pytorch-pytorch": (PYTORCH, "pytorch-channel", ["pytorch", "conda-forge"], "12.1"),
    "pytorch-nvidia": (PYTORCH, "nvidia-channel", ["nvidia", "pytorch", "conda-forge"], "11"),
    "ros2-nav2-v6": (
        LOCKS / "pixi" / "examples-ros2-nav2" / "pixi.lock",
        "default",
        ["robostack-humble", "conda-forge"],
        None,
    ),
    "pixi-repo-v7": (LOCKS / "pixi" / "repo-root" / "pixi.lock", "default", ["conda-forge"], None),
    "rattler-numpy-v4": (
        LOCKS / "rattler" / "conda-lock-v4" / "numpy-lock.yml",
        "default",
        ["conda-forge"],
        None,
    ),
}


def _index(channels, subdir="linux-64"):
    return load_index([UNION / c for c in channels], [subdir])


def _solve(locked: LockedEnvironment, index, backend, specs=(), cuda=None, **kwargs):
    sis = SolverInputState(
        None,
        list(specs),
        locked=locked.by_name(),
        locked_source=str(locked.path),
        virtual_packages=virtual_packages(locked.platform, {"__cuda": cuda}),
        **kwargs,
    )
    out = solve(sis, index, backend, SolveOptions(channel_priority="strict"))
    return {record_name(r): r for r in out.records.values()}


def _identity(record):
    return (record_name(record), str(record.version), str(record.build), record.subdir)


def _consistent(records: dict) -> list[str]:
    """What breaks in ``records``: depends that no record satisfies, constrains violated."""
    broken = [
        f"{record_name(record)}: {dep}"
        for record, dep in unmet_dependencies(records.values())
        if not dependency_name(dep).startswith("__")  # no machine here: virtual deps pass
    ]
    for name, record in records.items():
        for constraint in record.constrains:
            spec = MatchSpec(constraint, strict=False)
            other = records.get(spec.name.normalized)
            if other is not None and not spec.matches(other):
                broken.append(f"{name}: constrains {constraint}")
    return broken


# -- reading -------------------------------------------------------------------------------


@needs_shared
@pytest.mark.parametrize(
    "path, expected",
    [
        (PYTORCH, PIXI),
        (LOCKS / "pixi" / "repo-root" / "pixi.lock", PIXI),
        (LOCKS / "rattler" / "conda-lock-v4" / "python-lock.yml", PIXI),
        (LOCKS / "conda-libmamba-solver" / "mambaforge.linux-64.lock", EXPLICIT),
    ],
)
def test_format_is_read_from_the_content(path, expected):
    assert detect_format(path) == expected


@needs_shared
def test_pixi_environment_records_are_complete():
    locked = read_lockfile(PYTORCH, environment="cf-channel", platform="linux-64")
    assert locked.format == PIXI and locked.platform == "linux-64"
    assert locked.channels == ["https://fast.prefix.dev/conda-forge"]
    assert not locked.reconstructed
    records = locked.by_name()
    assert len(records) == 73
    pytorch = records["pytorch"]
    assert "cuda" in str(pytorch.build)
    assert pytorch.depends and pytorch.sha256 and pytorch.timestamp
    assert pytorch.url.startswith("https://conda.anaconda.org/conda-forge/linux-64/pytorch-")


@needs_shared
def test_pixi_environment_and_platform_must_exist():
    with pytest.raises(InvalidInputError, match="several environments"):
        read_lockfile(PYTORCH, platform="linux-64")  # 'default' has no packages
    with pytest.raises(InvalidInputError, match="no environment 'gpu'"):
        read_lockfile(PYTORCH, environment="gpu", platform="linux-64")
    with pytest.raises(InvalidInputError, match="no packages for win-64"):
        read_lockfile(PYTORCH, environment="pytorch-channel", platform="win-64")


@needs_shared
def test_explicit_file_is_filled_from_the_channel_where_it_has_the_record():
    """conda-libmamba-solver's mambaforge lock (2021) against the union channel (records
    from lockfiles of 2022+): the six files the channel still has get its metadata, the
    other 51 are rebuilt from their URL alone and marked."""
    path = LOCKS / "conda-libmamba-solver" / "mambaforge.linux-64.lock"
    index = _index(["conda-forge"])
    locked = read_lockfile(path, index=index)
    assert locked.format == EXPLICIT and locked.platform == "linux-64"
    assert len(locked.records) == 57
    filled = {n for n in locked.by_name() if n not in locked.reconstructed}
    assert len(filled) == 6 and len(locked.reconstructed) == 51
    for name in filled:
        record = locked.by_name()[name]
        assert record.url.startswith("https://conda.anaconda.org/conda-forge/")
        channel_record = find_in_index(index, record)
        assert channel_record.url.startswith("file://")
        assert (record.depends, record.constrains, record.sha256) == (
            channel_record.depends,
            channel_record.constrains,
            channel_record.sha256,
        )
    assert any(locked.by_name()[name].depends for name in filled)
    python = locked.by_name()["python"]
    assert "python" in locked.reconstructed and not python.depends
    assert python.file_name == "python-3.7.10-hffdb5ce_100_cpython.tar.bz2"
    assert (str(python.version), python.build_number) == ("3.7.10", 100)
    assert python.md5 is None  # this file carries no hashes


@needs_shared
def test_explicit_records_left_the_index_stay_valid(backend):
    """Re-solving the 2021 mambaforge environment keeps all 57 records, although 51 of
    them are in no loaded channel: locked records stay candidates."""
    path = LOCKS / "conda-libmamba-solver" / "mambaforge.linux-64.lock"
    index = _index(["conda-forge"])
    locked = read_lockfile(path, index=index)
    result = _solve(locked, index, backend)
    assert {_identity(r) for r in result.values()} == {_identity(r) for r in locked.records}


def test_explicit_hashes_and_paths(tmp_path):
    sha = "ab" * 32
    md5 = "cd" * 16
    channel = DEMO.as_uri()
    path = tmp_path / "env.txt"
    path.write_text(
        "# platform: linux-64\n@EXPLICIT\n"
        f"{channel}/linux-64/libffi-3.4.2-h7f98852_5.tar.bz2#{md5}\n"
        f"{channel}/noarch/tzdata-2025a-h78e105d_0.conda#sha256:{sha}\n"
        f"{DEMO}/linux-64/bzip2-1.0.8-h4bc722e_7.conda\n"
    )
    locked = read_lockfile(path)
    records = locked.by_name()
    assert records["libffi"].md5.hex() == md5 and records["libffi"].build_number == 5
    assert records["tzdata"].sha256.hex() == sha and records["tzdata"].subdir == "noarch"
    assert records["bzip2"].url == f"{channel}/linux-64/bzip2-1.0.8-h4bc722e_7.conda"
    assert set(locked.reconstructed) == {"libffi", "tzdata", "bzip2"}


def test_explicit_hash_that_differs_from_the_channel_is_not_filled(tmp_path):
    path = tmp_path / "env.txt"
    path.write_text(
        f"@EXPLICIT\n{DEMO.as_uri()}/linux-64/libffi-3.4.2-h7f98852_5.tar.bz2#{'0' * 32}\n"
    )
    index = load_index([DEMO], ["linux-64"])
    locked = read_lockfile(path, index=index)
    assert "libffi" in locked.reconstructed  # not the channel's file: keep it marked
    ok = tmp_path / "ok.txt"
    ok.write_text(f"@EXPLICIT\n{DEMO.as_uri()}/linux-64/libffi-3.4.2-h7f98852_5.tar.bz2\n")
    filled = read_lockfile(ok, index=index)
    assert not filled.reconstructed
    assert filled.by_name()["libffi"].depends == ["libgcc-ng >=9.4.0"]


@pytest.mark.parametrize(
    "build, number", [("h4bc722e_7", 7), ("he550d4f_1_cpython", 1), ("conda_forge", 0)]
)
def test_build_number_from_build_string(build, number):
    assert build_number_from_build(build) == number


@pytest.mark.parametrize(
    "content, needle",
    [
        ("hello: world\n", "not a lockfile"),
        ("@EXPLICIT\nnot-a-url\n", "not a package URL"),
        ("https://x/linux-64/a-1-0.conda\n@EXPLICIT\n", "before @EXPLICIT"),
        ("@EXPLICIT\nhttps://x/linux-64/nodashes.conda\n", "not a conda package file name"),
        (
            "@EXPLICIT\nhttps://x/linux-64/a-1-0.conda\nhttps://x/linux-64/a-2-0.conda\n",
            "locks a twice",
        ),
        ("version: 6\nenvironments: [\n", "cannot parse the lockfile"),
    ],
)
def test_bad_lockfile_is_bad_input_naming_the_file(tmp_path, content, needle):
    path = tmp_path / "broken.lock"
    path.write_text(content)
    with pytest.raises(InvalidInputError) as info:
        read_lockfile(path, platform="linux-64")
    assert str(path) in str(info.value) and needle in str(info.value)


def test_missing_lockfile(tmp_path):
    with pytest.raises(InvalidInputError, match="does not exist"):
        read_lockfile(tmp_path / "pixi.lock")


def test_output_format_from_the_file_name():
    assert format_for_path("x/pixi.lock") == PIXI
    assert format_for_path("conda-lock.yml") == CONDA_LOCK
    assert format_for_path("env.txt") == EXPLICIT


# -- solving from a lockfile ---------------------------------------------------------------


@needs_shared
@pytest.mark.parametrize("case", sorted(LOCKED_ENVIRONMENTS))
def test_resolving_with_nothing_changed_returns_the_locked_set(case, backend):
    """Asked for nothing new, the solve gives back exactly the locked records (same
    files: the lockfile's URLs), although the channels have newer versions of most."""
    path, env, channels, cuda = LOCKED_ENVIRONMENTS[case]
    index = _index(channels)
    locked = read_lockfile(path, environment=env, platform="linux-64", index=index)
    result = _solve(locked, index, backend, cuda=cuda)
    assert {r.url for r in result.values()} == {r.url for r in locked.records}


@needs_shared
@pytest.mark.parametrize("env", ["cf-channel", "pytorch-channel"])
def test_locked_specs_as_history_keep_the_locked_set(env, backend):
    """With the pixi.toml specs as what the user asked for, the lock is still kept."""
    specs = {"cf-channel": ["pytorch"], "pytorch-channel": ["pytorch", "pytorch-cuda"]}[env]
    channels = {"cf-channel": ["conda-forge"], "pytorch-channel": ["pytorch", "conda-forge"]}
    index = _index(channels[env])
    locked = read_lockfile(PYTORCH, environment=env, platform="linux-64", index=index)
    result = _solve(locked, index, backend, cuda="12.1", history={spec: spec for spec in specs})
    assert {r.url for r in result.values()} == {r.url for r in locked.records}


@needs_shared
@pytest.mark.parametrize(
    "case, spec",
    [
        ("pytorch-cf", "sympy"),
        ("pytorch-cf", "libsqlite"),
        ("pytorch-cf", "numpy>=2.2"),
        ("python-v4", "openssl"),
    ],
)
def test_updating_one_package_changes_only_what_it_must(case, spec, backend):
    """Updating one package: it moves, and every other locked package that changes could
    not have stayed — putting its locked record back breaks a depends or constrains of
    the result. Everything else is the locked record itself."""
    if case == "python-v4":
        path, env, channels, cuda = (
            LOCKS / "rattler" / "conda-lock-v4" / "python-lock.yml",
            "default",
            ["conda-forge"],
            None,
        )
    else:
        path, env, channels, cuda = LOCKED_ENVIRONMENTS[case]
    index = _index(channels)
    locked = read_lockfile(path, environment=env, platform="linux-64", index=index)
    before = locked.by_name()
    result = _solve(locked, index, backend, specs=[spec], cuda=cuda)
    requested = MatchSpec(spec).name.normalized
    assert result[requested].url != before[requested].url
    assert MatchSpec(spec).matches(result[requested])
    assert _consistent(result) == []
    changed = [n for n in before if n in result and result[n].url != before[n].url]
    for name in changed:
        if name == requested:
            continue
        reverted = {**result, name: before[name]}
        assert _consistent(reverted), f"{name} changed although its locked record fits"
    dropped = [n for n in before if n not in result]
    assert dropped == []  # nothing is removed for an update


# -- writing and reading back --------------------------------------------------------------


def _identity_fields(record) -> tuple:
    return (
        *_identity(record),
        record.build_number,
        record.file_name,
        record.md5,
        record.sha256,
        record.size,
    )


def _full(record) -> dict:
    data = json.loads(record.to_json())
    data["channel"] = (data.get("channel") or "").rstrip("/")
    return data


@needs_shared
def test_pixi_round_trip_keeps_every_field_and_the_other_environments(tmp_path, backend):
    index = _index(["conda-forge"])
    locked = read_lockfile(PYTORCH, environment="cf-channel", platform="linux-64", index=index)
    result = _solve(locked, index, backend, specs=["sympy"], cuda="12.1")
    out = tmp_path / "pixi.lock"
    write_lockfile(out, result.values(), locked)

    back = read_lockfile(out, environment="cf-channel", platform="linux-64")
    assert {r.url: _full(r) for r in back.records} == {r.url: _full(r) for r in result.values()}
    assert back.channels == locked.channels
    # every other environment and platform is carried over record for record
    for env in ("pytorch-channel", "nvidia-channel"):
        assert {r.url for r in read_lockfile(out, environment=env).records} == {
            r.url for r in read_lockfile(PYTORCH, environment=env).records
        }
    for platform in ("osx-arm64", "linux-aarch64"):
        kept = read_lockfile(out, environment="cf-channel", platform=platform)
        original = read_lockfile(PYTORCH, environment="cf-channel", platform=platform)
        assert [_full(r) for r in kept.records] == [_full(r) for r in original.records]
    # and solving from the written file changes nothing
    again = read_lockfile(out, environment="cf-channel", platform="linux-64", index=index)
    assert {r.url for r in _solve(again, index, backend, cuda="12.1").values()} == set(
        r.url for r in result.values()
    )


@needs_shared
@pytest.mark.parametrize("name", ["conda-lock.yml", "env.txt"])
def test_conda_lock_and_explicit_round_trip_through_the_channel(tmp_path, name, backend):
    """conda-lock and explicit files do not store everything (no constrains, no build
    number/timestamp; explicit: only URLs): read back with the channel loaded, the
    records are whole again and equal to what was written."""
    index = _index(["conda-forge"])
    locked = read_lockfile(PYTORCH, environment="cf-channel", platform="linux-64", index=index)
    source = LockedEnvironment(
        path=None,
        format=format_for_path(name),
        environment="default",
        platform="linux-64",
        records=[],
        channels=["conda-forge"],
    )
    out = tmp_path / name
    write_lockfile(out, locked.records, source)
    assert detect_format(out) == source.format

    back = read_lockfile(out, index=index)
    assert back.platform == "linux-64" and not back.reconstructed
    assert {r.url: _identity_fields(r) for r in back.records} == {
        r.url: _identity_fields(r) for r in locked.records
    }
    # the metadata is the channel's (which may carry hot-fixes made after the lock)
    for record in back.records:
        channel_record = find_in_index(index, record)
        assert (record.depends, record.constrains, record.timestamp) == (
            channel_record.depends,
            channel_record.constrains,
            channel_record.timestamp,
        )
    # updating in place: read, solve, write to the same file, read again
    result = _solve(back, index, backend, specs=["sympy"], cuda="12.1")
    write_lockfile(out, result.values(), back)
    assert {r.url for r in read_lockfile(out, index=index).records} == {
        r.url for r in result.values()
    }


@needs_shared
def test_conda_lock_without_the_channel_keeps_its_dependencies(tmp_path):
    """Without the channel, a conda-lock record keeps its depends (as specs) and is
    marked: constrains, build number and timestamp are not in the format."""
    locked = read_lockfile(PYTORCH, environment="cf-channel", platform="linux-64")
    source = LockedEnvironment(None, CONDA_LOCK, "default", "linux-64", [], ["conda-forge"])
    out = tmp_path / "conda-lock.yml"
    write_lockfile(out, locked.records, source)
    back = read_lockfile(out)
    assert set(back.reconstructed) == set(locked.by_name())
    for name, record in locked.by_name().items():
        written = back.by_name()[name]
        assert (written.url, written.md5, written.sha256) == (
            record.url,
            record.md5,
            record.sha256,
        )
        for dep in record.depends:
            spec = MatchSpec(dep, strict=False)
            matches = [
                MatchSpec(w, strict=False)
                for w in written.depends
                if MatchSpec(w, strict=False).name.normalized == spec.name.normalized
            ]
            assert len(matches) == 1, (name, dep, written.depends)
    # merged specs (``libabseil * cxx17*`` + ``libabseil >=20240116.2``) keep their meaning
    assert _consistent(locked.by_name()) == []
    assert _consistent(back.by_name()) == []
    (abseil,) = [d for d in back.by_name()["pytorch"].depends if d.startswith("libabseil")]
    spec = MatchSpec(abseil)
    assert str(spec.build) == "cxx17*" and ">=20240116.2" in str(spec.version)


def test_explicit_output_is_in_install_order(tmp_path):
    index = load_index([DEMO], ["linux-64"])
    sis = SolverInputState(None, ["python=3.12"], virtual_packages=virtual_packages("linux-64"))
    out = solve(sis, index, get_backend("rattler"))
    source = LockedEnvironment(None, EXPLICIT, "default", "linux-64", [], [DEMO.as_uri()])
    path = tmp_path / "env.txt"
    write_lockfile(path, out.current_solution, source)
    urls = [line for line in path.read_text().splitlines() if "://" in line]
    names = [u.rpartition("/")[2].rsplit("-", 2)[0] for u in urls]
    assert names.index("libgcc") < names.index("python")
    assert all("#" in u for u in urls)  # every demo record has a hash
    assert "# platform: linux-64" in path.read_text()


def test_a_pixi_lock_without_environments_says_so(tmp_path):
    """``environments: {}`` was "holds several environments ()" (issue 22): there is no
    environment to choose, so choosing one with --lock-env cannot help."""
    lock = tmp_path / "pixi.lock"
    lock.write_text("version: 6\nenvironments: {}\npackages: []\n")
    with pytest.raises(InvalidInputError, match="holds no environment with packages") as info:
        read_lockfile(lock, platform="linux-64")
    assert str(lock) in str(info.value)
    assert "several" not in str(info.value)
