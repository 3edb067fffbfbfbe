"""The CLI's table and package plan (:mod:`conda_solver_plus.output`), on real records of
the demo channel (conda-forge builds) and a second channel that republishes some of them.

The categories follow conda's ``_calculate_change_report``: higher version or build number
is UPDATED, a lower one in the same channel DOWNGRADED, the same version with another
build REVISED, a change of channel that is not an update SUPERSEDED.
"""

from __future__ import annotations

import json
from pathlib import Path

from conda_solver_plus.output import render_plan, render_table, transaction
from conda_solver_plus.records import record_from_dict

DEMO = Path(__file__).resolve().parent / "data" / "demo-channel"


def record(fn: str, subdir: str = "linux-64", channel: str | None = None):
    repodata = json.loads((DEMO / subdir / "repodata.json").read_text())
    entry = {**repodata.get("packages", {}), **repodata.get("packages.conda", {})}[fn]
    base = channel or DEMO.as_uri()
    return record_from_dict(entry, source="test", fn=fn, channel=f"{base}/{subdir}")


def by_name(*records):
    return {r.name.normalized: r for r in records}


OPENSSL_332 = "openssl-3.3.2-hb9d3cd8_0.conda"
OPENSSL_340 = "openssl-3.4.0-hb9d3cd8_0.conda"
ZLIB_OLD = "libzlib-1.2.13-h4ab18f5_6.conda"
ZLIB_NEW = "libzlib-1.3.1-hb9d3cd8_2.conda"
NUMPY_311 = "numpy-1.26.4-py311h64a7726_0.conda"
NUMPY_312 = "numpy-1.26.4-py312heda63a1_0.conda"
TZDATA = "tzdata-2025a-h78e105d_0.conda"


def test_categories_follow_conda():
    before = by_name(
        record(OPENSSL_332), record(ZLIB_NEW), record(NUMPY_311), record(TZDATA, "noarch")
    )
    after = by_name(record(OPENSSL_340), record(ZLIB_OLD), record(NUMPY_312))
    after["python"] = record("python-3.12.8-h9e4cc4f_1_cpython.conda")
    change = transaction(before, after)
    assert set(change.installed) == {"python"}
    assert set(change.removed) == {"tzdata"}
    assert set(change.updated) == {"openssl"}
    # a lower version with a higher build number is still a downgrade (version first)
    assert set(change.downgraded) == {"libzlib"}
    assert set(change.revised) == {"numpy"}
    assert not change.superseded


def test_the_same_file_is_no_change_and_another_channel_supersedes():
    mirror = "https://mirror.example/conda-forge"
    before = by_name(record(OPENSSL_340), record(ZLIB_NEW))
    after = by_name(record(OPENSSL_340), record(ZLIB_NEW, channel=mirror))
    change = transaction(before, after)
    assert change.is_empty is False
    assert set(change.superseded) == {"libzlib"}
    assert transaction(before, dict(before)).is_empty


def test_plan_reads_like_condas():
    before = by_name(record(OPENSSL_332), record(TZDATA, "noarch"), record(ZLIB_NEW))
    after = by_name(record(OPENSSL_340), record(ZLIB_OLD), record(NUMPY_312))
    text = render_plan(
        transaction(before, after), location="/envs/demo", added=["numpy", "openssl>=3.4"]
    )
    lines = text.splitlines()
    assert lines[0] == "## Package Plan ##"
    assert "  environment location: /envs/demo" in lines
    assert lines.index("  added / updated specs:") < lines.index("    - numpy")
    sections = [line for line in lines if line.startswith("The following")]
    assert sections == [
        "The following NEW packages will be INSTALLED:",
        "The following packages will be REMOVED:",
        "The following packages will be UPDATED:",
        "The following packages will be DOWNGRADED:",
    ]
    demo = DEMO.as_uri()
    assert f"  numpy  {demo}/linux-64::numpy-1.26.4-py312heda63a1_0" in lines
    assert "  tzdata-2025a-h78e105d_0" in lines
    assert "  openssl  3.3.2-hb9d3cd8_0 --> 3.4.0-hb9d3cd8_0" in lines
    assert "  libzlib  1.3.1-hb9d3cd8_2 --> 1.2.13-h4ab18f5_6" in lines


def test_plan_names_the_channel_when_it_changes():
    mirror = "https://mirror.example/conda-forge"
    change = transaction(
        by_name(record(OPENSSL_332)), by_name(record(OPENSSL_340, channel=mirror))
    )
    text = render_plan(change, location="env")
    assert (
        f"openssl  {DEMO.as_uri()}::openssl-3.3.2-hb9d3cd8_0 --> "
        f"{mirror}::openssl-3.4.0-hb9d3cd8_0" in text
    )


def test_nothing_to_change():
    records = by_name(record(OPENSSL_340))
    text = render_plan(transaction(records, records), location="env", added=["openssl"])
    assert "Nothing to change" in text
    assert "The following" not in text


def test_table_sorted_with_header_count_and_canonical_channel():
    text = render_table(
        [record(ZLIB_NEW), record(TZDATA, "noarch"), record(OPENSSL_340)], empty="(none)"
    )
    lines = text.splitlines()
    assert lines[0].split() == ["#", "Name", "Version", "Build", "Channel"]
    assert [line.split()[0] for line in lines[1:-1]] == ["libzlib", "openssl", "tzdata"]
    assert {line.split()[3] for line in lines[1:-1]} == {DEMO.as_uri()}
    assert lines[-1] == "# 3 packages"
    assert render_table([record(ZLIB_NEW)], empty="").splitlines()[-1] == "# 1 package"


def test_empty_table_prints_the_message():
    assert render_table([], empty="# No packages") == "# No packages"
