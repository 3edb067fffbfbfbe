"""Unit tests for :mod:`conda_solver_plus.prefix`: conda-meta history, pins and records
read from real prefixes on disk, which reading must never modify."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conda_solver_plus.exceptions import InvalidInputError
from conda_solver_plus.prefix import (
    HistoryEntry,
    parse_history,
    read_pinned_file,
    read_prefix,
    read_prefix_record,
    requested_specs_from_history,
)
from conda_solver_plus.state import SolverInputState

CF = "https://conda.anaconda.org/conda-forge"


def write_record(prefix: Path, name: str, version: str, build: str, depends=(), **extra) -> Path:
    """A ``conda-meta/<name>-<version>-<build>.json`` as conda writes it."""
    subdir = extra.pop("subdir", "linux-64")
    fn = f"{name}-{version}-{build}.conda"
    data = {
        "name": name,
        "version": version,
        "build": build,
        "build_number": 0,
        "subdir": subdir,
        "channel": f"{CF}/{subdir}",
        "fn": fn,
        "url": f"{CF}/{subdir}/{fn}",
        "md5": "0123456789abcdef0123456789abcdef",
        "depends": list(depends),
        "constrains": [],
        "files": [f"lib/{name}.so"],
        "paths_data": {"paths": [], "paths_version": 1},
        "link": {"source": f"/opt/conda/pkgs/{name}-{version}-{build}", "type": 1},
        "extracted_package_dir": f"/opt/conda/pkgs/{name}-{version}-{build}",
        "package_tarball_full_path": f"/opt/conda/pkgs/{fn}",
        "requested_spec": "",
        **extra,
    }
    path = prefix / "conda-meta" / f"{name}-{version}-{build}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    return path


def snapshot(root: Path) -> dict[str, tuple[str, bytes | None, int]]:
    """Every file and directory under ``root``: kind, bytes and mtime (ns)."""
    result = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath, name)
            stat = path.lstat()
            if path.is_dir():
                result[str(path.relative_to(root))] = ("dir", None, stat.st_mtime_ns)
            else:
                result[str(path.relative_to(root))] = ("file", path.read_bytes(), stat.st_mtime_ns)
    result["."] = ("dir", None, root.stat().st_mtime_ns)
    return result


HISTORY = """\
==> 2024-01-01 00:00:00 <==
# cmd: /opt/conda/bin/conda create -n demo python=3.11 numpy>=1.20
# conda version: 24.1.0
+conda-forge/linux-64::python-3.11.9-hb806964_0_cpython
+conda-forge/linux-64::numpy-1.26.4-py311h64a7726_0
# update specs: ['numpy>=1.20', 'python=3.11']
==> 2024-02-01 00:00:00 <==
# cmd: /opt/conda/bin/conda install scipy
# update specs: ['scipy']
==> 2024-03-01 00:00:00 <==
# cmd: /opt/conda/bin/conda remove scipy
-conda-forge/linux-64::scipy-1.13.1-py311h517d4fd_0
# remove specs: ['scipy']
"""


# -- parse_history ------------------------------------------------------------------------


def test_parse_history_blocks(tmp_path):
    path = tmp_path / "history"
    path.write_text(HISTORY)
    entries = parse_history(path)
    assert entries == [
        HistoryEntry(
            date="2024-01-01 00:00:00",
            line=1,
            cmd="/opt/conda/bin/conda create -n demo python=3.11 numpy>=1.20",
            update_specs=["numpy>=1.20", "python=3.11"],
        ),
        HistoryEntry(
            date="2024-02-01 00:00:00",
            line=7,
            cmd="/opt/conda/bin/conda install scipy",
            update_specs=["scipy"],
        ),
        HistoryEntry(
            date="2024-03-01 00:00:00",
            line=10,
            cmd="/opt/conda/bin/conda remove scipy",
            remove_specs=["scipy"],
        ),
    ]


def test_parse_history_missing_file_is_empty(tmp_path):
    assert parse_history(tmp_path / "conda-meta" / "history") == []


def test_parse_history_skips_garbage_lines(tmp_path):
    path = tmp_path / "history"
    path.write_bytes(
        b"# update specs: ['before-any-header']\n"
        b"random text before any header\n"
        b"\n"
        b"==> 2023-05-06 07:08:09 <==\n"
        b"# cmd: conda install openssl\n"
        b"# update specs: ['unclosed'\n"
        b"# update specs: [python>=3]\n"
        b"# update specs: {'not': 'a list'}\n"
        b"# this is just a comment\n"
        b"# update specs ['missing colon']\n"
        b"+conda-forge/linux-64::openssl-3.3.1-h4ab18f5_1\n"
        b"not a comment at all \xff\xfe\n"
        b"   ==>   2023-05-07 00:00:00   <==   \n"
        b"# update specs: ['openssl>=3']\n"
    )
    entries = parse_history(path)
    assert [(e.date, e.line) for e in entries] == [
        ("2023-05-06 07:08:09", 4),
        ("2023-05-07 00:00:00", 13),
    ]
    first, second = entries
    assert first.cmd == "conda install openssl"
    # the dict line is not a bracketed list, so it is read as the old comma format
    assert first.update_specs == ["{'not': 'a list'}"]
    assert first.remove_specs == []
    assert second.update_specs == ["openssl>=3"]


def test_parse_history_old_comma_separated_format(tmp_path):
    path = tmp_path / "history"
    path.write_text(
        "==> 2016-03-01 10:00:00 <==\n"
        "# cmd: conda install numpy python=2.7\n"
        "# install specs: numpy >=1.10, python 2.7*\n"
        "==> 2016-04-01 10:00:00 <==\n"
        "# remove specs: numpy\n"
        "# uninstall specs: six, \n"
        "# create specs: \n"
    )
    first, second = parse_history(path)
    assert first.update_specs == ["numpy >=1.10", "python 2.7*"]
    assert second.remove_specs == ["numpy", "six"]
    assert second.update_specs == []


def test_parse_history_ignores_at_suffixed_specs(tmp_path):
    path = tmp_path / "history"
    path.write_text(
        "==> 2024-01-01 00:00:00 <==\n"
        "# update specs: ['numpy', 'python@', 'pip']\n"
        "# neutered specs: ['python 3.11.*', 'openssl@']\n"
    )
    (entry,) = parse_history(path)
    assert entry.update_specs == ["numpy", "pip"]
    assert entry.neutered_specs == ["python 3.11.*"]


def test_requested_specs_from_history_replays_update_remove_neutered(tmp_path):
    path = tmp_path / "history"
    path.write_text(
        HISTORY + "==> 2024-04-01 00:00:00 <==\n"
        "# cmd: conda install openssl\n"
        "# update specs: ['openssl>=3', 'numpy >>=1.20']\n"
        "# neutered specs: ['numpy 1.26.*']\n"
    )
    specs = requested_specs_from_history(parse_history(path), "demo/conda-meta/history")
    assert {name: str(spec) for name, (spec, _) in specs.items()} == {
        "numpy": "numpy 1.26.*",
        "python": "python 3.11.*",
        "openssl": "openssl >=3",
    }
    # the origin is the line the spec is written on (`# update specs`, `# neutered specs`)
    assert specs["python"][1] == "demo/conda-meta/history:6 (2024-01-01 00:00:00)"
    assert specs["numpy"][1] == "demo/conda-meta/history:17 (2024-04-01 00:00:00)"
    assert specs["openssl"][1] == "demo/conda-meta/history:16 (2024-04-01 00:00:00)"


def test_requested_specs_from_history_reinstall_after_remove(tmp_path):
    path = tmp_path / "history"
    path.write_text(HISTORY + "==> 2024-05-01 00:00:00 <==\n# update specs: ['scipy<1.14']\n")
    specs = requested_specs_from_history(parse_history(path), "h")
    assert str(specs["scipy"][0]) == "scipy <1.14"
    assert specs["scipy"][1] == "h:15 (2024-05-01 00:00:00)"


# -- read_pinned_file ----------------------------------------------------------------------


def test_read_pinned_file(tmp_path):
    path = tmp_path / "pinned"
    path.write_text(
        "# pins for this environment\n"
        "\n"
        "python 3.11.*\n"
        "numpy <2  # ABI of our extensions\n"
        "   # indented comment\n"
        "conda-forge::openssl >=3.3\n"
    )
    pins = read_pinned_file(path)
    assert [(str(spec), origin) for spec, origin in pins] == [
        ("python 3.11.*", f"{path}:3"),
        ("numpy <2", f"{path}:4"),
        ("conda-forge::openssl >=3.3", f"{path}:6"),
    ]


def test_read_pinned_file_missing_is_empty(tmp_path):
    assert read_pinned_file(tmp_path / "pinned") == []


def test_read_pinned_file_invalid_spec_names_file_and_line(tmp_path):
    path = tmp_path / "conda-meta" / "pinned"
    path.parent.mkdir()
    path.write_text("python 3.11.*\n# ok so far\nnumpy >>=1.20\n")
    with pytest.raises(InvalidInputError) as info:
        read_pinned_file(path)
    assert info.value.source == f"{path}:3: spec 'numpy >>=1.20'"
    assert "not a valid match spec" in info.value.problem
    assert f"{path}:3" in str(info.value)


def test_read_pinned_file_not_utf8(tmp_path):
    path = tmp_path / "pinned"
    path.write_bytes(b"python 3.11.*\n\xff\xfe\n")
    with pytest.raises(InvalidInputError) as info:
        read_pinned_file(path)
    assert info.value.source == str(path)
    assert "cannot read pins" in info.value.problem


# -- read_prefix / read_prefix_record ------------------------------------------------------


def test_read_prefix_none_and_missing(tmp_path):
    state = read_prefix(None)
    assert (state.exists, state.installed, state.history, state.pinned) == (False, {}, {}, [])
    missing = tmp_path / "envs" / "new-env"
    state = read_prefix(missing)
    assert state.path == missing
    assert (state.exists, state.installed, state.history, state.pinned) == (False, {}, {}, [])
    assert not missing.exists()


def test_read_prefix_without_conda_meta(tmp_path):
    state = read_prefix(tmp_path)
    assert state.exists is False
    assert state.installed == {}


def test_read_prefix_that_is_a_file(tmp_path):
    prefix = tmp_path / "env"
    prefix.write_text("not an environment")
    with pytest.raises(InvalidInputError) as info:
        read_prefix(prefix)
    assert info.value.source == str(prefix)
    assert info.value.problem == "the prefix is a file, not a directory"


def test_read_prefix_conda_meta_that_is_a_file(tmp_path):
    (tmp_path / "conda-meta").write_text("")
    with pytest.raises(InvalidInputError) as info:
        read_prefix(tmp_path)
    assert info.value.source == str(tmp_path / "conda-meta")


def test_read_prefix_reads_records_history_and_pins(tmp_path):
    write_record(tmp_path, "python", "3.11.9", "hb806964_0_cpython", ["openssl >=3.3"])
    write_record(tmp_path, "numpy", "1.26.4", "py311h64a7726_0", ["python >=3.11"])
    write_record(tmp_path, "openssl", "3.3.1", "h4ab18f5_1")
    (tmp_path / "conda-meta" / "history").write_text(HISTORY)
    (tmp_path / "conda-meta" / "pinned").write_text("openssl 3.3.*\n")
    state = read_prefix(tmp_path)
    assert state.exists is True
    assert sorted(state.installed) == ["numpy", "openssl", "python"]
    numpy = state.installed["numpy"]
    assert (str(numpy.version), str(numpy.build)) == ("1.26.4", "py311h64a7726_0")
    assert numpy.url == f"{CF}/linux-64/numpy-1.26.4-py311h64a7726_0.conda"
    assert numpy.depends == ["python >=3.11"]
    history = tmp_path / "conda-meta" / "history"
    assert {name: (str(spec), origin) for name, (spec, origin) in state.history.items()} == {
        "numpy": ("numpy >=1.20", f"{history}:6 (2024-01-01 00:00:00)"),
        "python": ("python 3.11.*", f"{history}:6 (2024-01-01 00:00:00)"),
    }
    assert [(str(s), o) for s, o in state.pinned] == [
        ("openssl 3.3.*", f"{tmp_path / 'conda-meta' / 'pinned'}:1")
    ]


def test_read_prefix_forgets_history_of_packages_no_longer_installed(tmp_path):
    write_record(tmp_path, "python", "3.11.9", "hb806964_0_cpython")
    (tmp_path / "conda-meta" / "history").write_text(HISTORY)
    state = read_prefix(tmp_path)
    assert list(state.history) == ["python"]


def test_read_prefix_ignores_non_json_files(tmp_path):
    write_record(tmp_path, "python", "3.11.9", "hb806964_0_cpython")
    (tmp_path / "conda-meta" / "README.txt").write_text("{ not json")
    (tmp_path / "conda-meta" / "state").write_text("{}")
    assert list(read_prefix(tmp_path).installed) == ["python"]


def test_read_prefix_corrupt_record_names_the_file(tmp_path):
    write_record(tmp_path, "python", "3.11.9", "hb806964_0_cpython")
    bad = tmp_path / "conda-meta" / "numpy-1.26.4-py311h64a7726_0.json"
    bad.write_text('{"name": "numpy", "version": "1.26.4", "build": ')
    with pytest.raises(InvalidInputError) as info:
        read_prefix(tmp_path)
    assert info.value.source == str(bad)
    assert info.value.problem.startswith("corrupt package record")
    assert "reinstall that package" in info.value.hint


def test_read_prefix_record_not_an_object(tmp_path):
    path = tmp_path / "numpy-1.26.4-py311h64a7726_0.json"
    path.write_text('["numpy", "1.26.4"]')
    with pytest.raises(InvalidInputError) as info:
        read_prefix_record(path)
    assert info.value.source == str(path)
    assert info.value.problem == "package record is not a JSON object"


def test_read_prefix_record_missing_build_names_the_file(tmp_path):
    path = tmp_path / "numpy-1.26.4-py311h64a7726_0.json"
    path.write_text('{"name": "numpy", "version": "1.26.4"}')
    with pytest.raises(InvalidInputError) as info:
        read_prefix_record(path)
    assert info.value.source == str(path)
    assert "lacks a build string" in info.value.problem


def test_read_prefix_completes_old_record_without_fn_url_channel(tmp_path):
    meta = tmp_path / "conda-meta"
    meta.mkdir()
    (meta / "numpy-1.9.3-py27_0.json").write_text(
        json.dumps(
            {
                "name": "numpy",
                "version": "1.9.3",
                "build": "py27_0",
                "build_number": 0,
                "subdir": "linux-64",
                "depends": ["python 2.7*"],
                "files": ["lib/python2.7/site-packages/numpy/__init__.py"],
            }
        )
    )
    (meta / "six-1.10.0-py27_0.json").write_text(
        json.dumps(
            {
                "name": "six",
                "version": "1.10.0",
                "build": "py27_0",
                "build_number": 0,
                "channel": "https://repo.continuum.io/pkgs/free/linux-64",
                "depends": ["python 2.7*"],
            }
        )
    )
    installed = read_prefix(tmp_path).installed
    numpy = installed["numpy"]
    assert numpy.file_name == "numpy-1.9.3-py27_0.tar.bz2"
    assert numpy.url.endswith("/linux-64/numpy-1.9.3-py27_0.tar.bz2")
    assert numpy.channel is None
    assert numpy.depends == ["python 2.7*"]
    six = installed["six"]
    assert six.file_name == "six-1.10.0-py27_0.tar.bz2"
    assert six.subdir == "noarch"
    assert six.url == "https://repo.continuum.io/pkgs/free/noarch/six-1.10.0-py27_0.tar.bz2"
    assert six.channel == "https://repo.continuum.io/pkgs/free/linux-64"


def test_reading_never_modifies_the_prefix(tmp_path):
    prefix = tmp_path / "env"
    write_record(prefix, "python", "3.11.9", "hb806964_0_cpython", ["openssl >=3.3"])
    write_record(prefix, "openssl", "3.3.1", "h4ab18f5_1")
    # an old record that has to be completed in memory, not on disk
    (prefix / "conda-meta" / "pip-9.0.1-py27_1.json").write_text(
        '{"name": "pip", "version": "9.0.1", "build": "py27_1", "depends": ["python"]}'
    )
    (prefix / "conda-meta" / "history").write_text(HISTORY)
    (prefix / "conda-meta" / "pinned").write_text("python 3.11.*  # keep\n")
    (prefix / "bin").mkdir()
    (prefix / "bin" / "python3.11").write_bytes(b"\x7fELF")
    # make mtimes distinguishable from "now" so a rewrite would show
    for path in [prefix, *prefix.rglob("*")]:
        os.utime(path, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    before = snapshot(prefix)
    state = read_prefix(prefix)
    sis = SolverInputState(prefix, ["numpy"], pinned_packages=["openssl 3.*"])
    assert sorted(state.installed) == ["openssl", "pip", "python"]
    assert sorted(sis.installed) == ["openssl", "pip", "python"]
    assert snapshot(prefix) == before
    assert set(before) == {
        ".",
        "bin",
        "bin/python3.11",
        "conda-meta",
        "conda-meta/history",
        "conda-meta/pinned",
        "conda-meta/openssl-3.3.1-h4ab18f5_1.json",
        "conda-meta/pip-9.0.1-py27_1.json",
        "conda-meta/python-3.11.9-hb806964_0_cpython.json",
    }


def test_reading_a_missing_prefix_does_not_create_it(tmp_path):
    before = snapshot(tmp_path)
    SolverInputState(tmp_path / "envs" / "new", ["python=3.12"])
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "envs").exists()


def test_requested_specs_from_history_neutered_wins_within_a_block(tmp_path):
    # conda applies a block's neutered specs after its update specs
    path = tmp_path / "history"
    path.write_text(
        "==> 2024-06-01 00:00:00 <==\n"
        "# cmd: conda install python=3.11 numpy\n"
        "# update specs: ['python=3.11', 'numpy']\n"
        "# neutered specs: ['python 3.12.*']\n"
    )
    specs = requested_specs_from_history(parse_history(path), "h")
    assert {name: str(spec) for name, (spec, _) in specs.items()} == {
        "python": "python 3.12.*",
        "numpy": "numpy",
    }
