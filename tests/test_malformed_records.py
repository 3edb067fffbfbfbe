"""Malformed repodata entries give one outcome, whichever engine solves and however the file
is read (issue 22, items 8 and 9).

A channel's ``repodata.json`` may hold entries that are no package record: a string, a
record without ``name`` or with ``"name": 7``, a key with a ``/``. py-rattler files an entry
under the package name of its file name and parses it when that name is read, so:

- an entry filed under a name the request reads is a "malformed repodata" error (exit 2)
  naming the channel's file;
- an entry filed under a name nothing reads changes nothing;
- an entry under a key with ``/`` is no package file of the subdir and is skipped.

Before, the outcome depended on the cache state (the first solve read the large file whole
and failed; once the local shard cache had split it, the entry was dropped and the solve
answered) and on the engine (libmamba's own parser crashed on a string entry and answered
``KeyError`` for the ``/`` key, where rattler answered). Each case here runs on both engines
with the file read whole and through the shard cache, in process, and through real conda.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conda_solver_plus.cli import main
from conda_solver_plus.records import is_package_entry, package_name_of_file
from conda_solver_plus.repodata import split as index_module
from conda_solver_plus.repodata import split as shard_cache
from tests.channels import repodata_entry, write_files
from tests.engines import conda_subprocess_env, engine_params, require_module

#: what stands in for a package record, by case
MALFORMED = {
    "string": "oops",
    "no-name": {
        k: v for k, v in repodata_entry("a_pkg", "1.1", "linux-64")[1].items() if k != "name"
    },
    "name-7": {**repodata_entry("a_pkg", "1.1", "linux-64")[1], "name": 7},
}


def write_channel(root: Path, file_name: str, entry: object) -> Path:
    """A channel with ``a_pkg 1.0`` in linux-64 and one extra entry ``file_name: entry``."""
    good_fn, good = repodata_entry("a_pkg", "1.0", "linux-64")
    packages = {good_fn: good, file_name: entry}
    return write_files(
        root,
        {
            "linux-64/repodata.json": json.dumps(
                {"info": {"subdir": "linux-64"}, "packages": packages}
            ),
            "noarch/repodata.json": json.dumps({"info": {"subdir": "noarch"}, "packages": {}}),
        },
    )


@pytest.fixture(params=["whole", "split"])
def cache_state(request, monkeypatch):
    """The file read whole (small: no shard cache), or through the local shard cache with
    its split made by the solve itself (what a later solve on a large file finds)."""
    if request.param == "split":
        monkeypatch.setattr(shard_cache, "SPLIT_ABOVE_BYTES", 0)
        monkeypatch.setattr(index_module, "SPLIT_IN_BACKGROUND", False)
    return request.param


def solve(tmp_path: Path, channel: Path, engine: str, capsys) -> tuple[int, str, str]:
    argv = ["solve", "a_pkg", "-c", str(channel), "--subdir", "linux-64", "--json"]
    argv += ["--backend", engine, "--cache-dir", str(tmp_path / "cache")]
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def versions(out: str) -> dict[str, str]:
    return {r["name"]: r["version"] for r in json.loads(out)["records"]}


@pytest.mark.parametrize("engine", engine_params())
@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_entry_of_a_name_read_is_one_error_in_every_cache_state(
    tmp_path, engine, case, cache_state, capsys
):
    channel = write_channel(tmp_path / "ch", "a_pkg-1.1-h0.tar.bz2", MALFORMED[case])
    code, out, err = solve(tmp_path, channel, engine, capsys)
    assert code == 2, (out, err)
    assert "malformed repodata" in err
    assert str(channel / "linux-64" / "repodata.json") in err
    assert "Traceback" not in err


@pytest.mark.parametrize("engine", engine_params())
@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_entry_of_a_name_nobody_reads_changes_nothing(
    tmp_path, engine, case, cache_state, capsys
):
    channel = write_channel(tmp_path / "ch", "other-1.0-h0.tar.bz2", MALFORMED[case])
    code, out, err = solve(tmp_path, channel, engine, capsys)
    assert code == 0, err
    assert versions(out) == {"a_pkg": "1.0"}


@pytest.mark.parametrize("engine", engine_params())
def test_a_key_with_a_slash_is_skipped_by_both_engines(tmp_path, engine, cache_state, capsys):
    """``sub/a_pkg-1.1-h0.tar.bz2`` is no package file of linux-64: py-rattler skips it, and
    libmamba's parser answered it with ``KeyError 'file:///…/linux-64/sub'``."""
    _fn, newer = repodata_entry("a_pkg", "1.1", "linux-64")
    channel = write_channel(tmp_path / "ch", "sub/a_pkg-1.1-h0.tar.bz2", newer)
    code, out, err = solve(tmp_path, channel, engine, capsys)
    assert code == 0, err
    assert versions(out) == {"a_pkg": "1.0"}


def test_what_counts_as_a_package_entry():
    _fn, record = repodata_entry("a_pkg", "1.0", "linux-64")
    assert is_package_entry("a_pkg-1.0-0.tar.bz2", record)
    assert not is_package_entry("sub/a_pkg-1.0-0.tar.bz2", record)
    for case in MALFORMED.values():
        assert not is_package_entry("a_pkg-1.0-0.tar.bz2", case)
    assert package_name_of_file("scikit-learn-1.5.0-py312h0_1.conda") == "scikit-learn"
    assert package_name_of_file("a_pkg-1.0-0.tar.bz2") == "a_pkg"
    assert package_name_of_file("sub/a_pkg-1.0-0.tar.bz2") is None
    assert package_name_of_file("README.md") is None


@pytest.mark.parametrize("engine", engine_params())
def test_through_conda_the_engines_agree_on_malformed_entries(tmp_path, engine):
    """The conda adapter reads a local channel's file in place and hands it to the same
    index and engines: the ``/`` key is skipped, a malformed entry of ``a_pkg`` is conda's
    error naming the file."""
    require_module("conda", "the conda adapter")
    _fn, newer = repodata_entry("a_pkg", "1.1", "linux-64")
    slash = write_channel(tmp_path / "slash", "sub/a_pkg-1.1-h0.tar.bz2", newer)
    broken = write_channel(tmp_path / "broken", "a_pkg-1.1-h0.tar.bz2", "oops")
    env = conda_subprocess_env(tmp_path, CONDA_SUBDIR="linux-64", CONDA_SOLVER_PLUS_BACKEND=engine)

    def conda(channel: Path) -> subprocess.CompletedProcess:
        argv = [sys.executable, "-m", "conda", "create", "--dry-run", "--json", "--solver=plus"]
        argv += ["-p", str(tmp_path / "env"), "--override-channels", "-c", channel.as_uri()]
        return subprocess.run(
            [*argv, "a_pkg"], env=env, capture_output=True, text=True, timeout=300
        )

    done = conda(slash)
    assert done.returncode == 0, done.stdout + done.stderr
    linked = json.loads(done.stdout)["actions"]["LINK"]
    assert [(r["name"], r["version"]) for r in linked] == [("a_pkg", "1.0")]
    failed = conda(broken)
    assert failed.returncode != 0
    assert "malformed repodata" in failed.stdout + failed.stderr
    assert "Traceback" not in failed.stdout + failed.stderr
