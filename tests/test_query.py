"""Unit tests for :mod:`conda_solver_plus.query` (search, depends, whoneeds) on the demo
channel in ``tests/data`` (real conda-forge records)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conda_solver_plus.exceptions import InvalidInputError, PackagesNotFoundError
from conda_solver_plus.query import depends, render_depends, search, whoneeds
from conda_solver_plus.repodata.gateway import load_index

DEMO = Path(__file__).resolve().parent / "data" / "demo-channel"


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    return load_index([DEMO], ["linux-64"], cache_dir=tmp_path_factory.mktemp("cache"))


def versions(records):
    return [(r.name.normalized, str(r.version)) for r in records]


def test_search_newest_first(index):
    assert versions(search(index, "numpy")) == [
        ("numpy", "2.0.2"),
        ("numpy", "1.26.4"),
        ("numpy", "1.26.4"),
    ]
    assert versions(search(index, "numpy>=2")) == [("numpy", "2.0.2")]
    assert [str(r.build) for r in search(index, "mylib=*=*cuda*")] == ["cuda126_h0d5e2f0_100"]
    assert search(index, "numpy>=3") == []


def test_search_name_glob(index):
    names = {r.name.normalized for r in search(index, "lib*blas")}
    assert names == {"libblas", "libcblas", "libopenblas"}


def test_search_bad_spec_is_input_error(index):
    with pytest.raises(InvalidInputError):
        search(index, "numpy >>> 2")


def test_depends_resolves_best_matches(index):
    root = depends(index, "numpy")
    assert str(root.record.version) == "2.0.2"
    by_spec = {child.spec: child for child in root.children}
    assert by_spec["__glibc >=2.17,<3.0.a0"].note == "virtual"
    python = by_spec["python >=3.12,<3.13.0a0"].record
    assert str(python.version) == "3.12.8"
    assert all(not child.children for child in root.children)  # flat without tree


def test_depends_tree_expands_each_package_once(index):
    root = depends(index, "python=3.12", tree=True)
    text = render_depends(root, tree=True)
    assert text.startswith("python 3.12.8")
    assert "└─ " in text and "(expanded above)" in text
    seen = []

    def walk(node):
        for child in node.children:
            if child.record is not None and child.note != "repeat":
                seen.append(child.record.name.normalized)
            walk(child)

    walk(root)
    assert len(seen) == len(set(seen))
    assert "libgcc" in seen and "_libgcc_mutex" in seen  # reached through a chain


def test_depends_missing_is_not_found(index):
    with pytest.raises(PackagesNotFoundError) as info:
        depends(index, "nosuchpackage")
    assert info.value.specs == ["nosuchpackage"]


def test_whoneeds_newest_versions(index):
    needers = {
        (d.record.name.normalized, str(d.record.version)): d.spec
        for d in whoneeds(index, "libgcc")
    }
    assert needers[("libgcc-ng", "14.2.0")] == "libgcc 14.2.0 h77fa898_1"
    assert ("libzlib", "1.3.1") in needers and ("libzlib", "1.2.13") not in needers
    every = {
        (d.record.name.normalized, str(d.record.version))
        for d in whoneeds(index, "libgcc-ng", all_versions=True)
    }
    assert ("libzlib", "1.2.13") in every
    assert whoneeds(index, "nothing-needs-this") == []
    with pytest.raises(InvalidInputError):
        whoneeds(index, "two words")


def test_search_and_whoneeds_tables(index):
    """A header, rows by name (newest first), the channel's canonical name, a count."""
    from conda_solver_plus.query import render_dependents, render_records

    lines = render_records(search(index, "lib*blas")).splitlines()
    assert lines[0].split() == ["#", "Name", "Version", "Build", "Channel"]
    names = [line.split()[0] for line in lines[1:-1]]
    assert names == sorted(names) and lines[-1] == f"# {len(names)} records"
    assert {line.split()[3] for line in lines[1:-1]} == {DEMO.as_uri()}
    table = render_dependents(whoneeds(index, "libcblas")).splitlines()
    assert table[0].split() == ["#", "Name", "Version", "Build", "Channel", "Depends", "on"]
    assert table[1].split()[0] == "numpy" and table[-1] == "# 1 dependent"
    assert render_depends(depends(index, "numpy"), tree=False).splitlines()[0] == (
        f"numpy 2.0.2 py312h58c1407_1  ({DEMO.as_uri()})"
    )
