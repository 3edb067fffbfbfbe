"""Hypothesis strategies for conda's inputs: match specs and repodata.

Shared by the property tests (``tests/test_specs.py``, ``tests/test_index.py``) and the
fuzz run (``dev/fuzz.py``), which draws many more examples from the same generators.
"""

from __future__ import annotations

import json

from hypothesis import strategies as st

# -- match specs -------------------------------------------------------------

NAME_START = "abcdefghijklmnopqrstuvwxyz0123456789"
NAME_CHARS = NAME_START + "-_."

names = st.builds(
    lambda head, tail: head + tail,
    st.sampled_from(NAME_START),
    st.text(NAME_CHARS, max_size=12),
).filter(lambda name: not name.endswith((".", "-")))

version_segments = st.lists(
    st.one_of(
        st.integers(0, 2000).map(str),
        st.sampled_from(["a", "b", "rc", "dev", "post"]),
        st.builds(lambda n, s: f"{n}{s}", st.integers(0, 99), st.sampled_from(["a", "b", "rc"])),
    ),
    min_size=1,
    max_size=4,
)
versions = version_segments.map(".".join)
operators = st.sampled_from([">=", "<=", ">", "<", "==", "!=", "~="])
build_strings = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)


@st.composite
def grammar_specs(draw) -> tuple[str, str, bool, bool]:
    """(text, name, has_version, has_build) for a spec in one of conda's spellings."""
    name = draw(names)
    form = draw(st.sampled_from(["name", "op", "eq", "eq-build", "bracket", "wildcard"]))
    if form == "name":
        return name, name, False, False
    version = draw(versions)
    if form == "op":
        op = draw(operators)
        if op == "~=" and "." not in version:
            version += ".0"
        return f"{name}{draw(st.sampled_from(['', ' ']))}{op}{version}", name, True, False
    if form == "eq":
        return f"{name}={version}", name, True, False
    if form == "wildcard":
        return f"{name} {version}.*", name, True, False
    build = draw(build_strings)
    if form == "eq-build":
        return f"{name}={version}={build}", name, True, True
    return f"{name}[version='>={version}',build='{build}*']", name, True, True


# -- repodata ------------------------------------------------------------------------------

#: any JSON value (for fields of the wrong type)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64)
    | st.floats(allow_nan=False)
    | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def records(draw, subdir: str = "linux-64") -> tuple[str, dict]:
    """(file name, repodata record) with every field of the right type."""
    name = draw(names)
    version = draw(versions)
    build = draw(build_strings)
    record = {
        "name": name,
        "version": version,
        "build": build,
        "build_number": draw(st.integers(0, 2**31)),
        "depends": draw(st.lists(grammar_specs().map(lambda case: case[0]), max_size=4)),
        "subdir": subdir,
    }
    if draw(st.booleans()):
        record["constrains"] = draw(
            st.lists(grammar_specs().map(lambda case: case[0]), max_size=2)
        )
    if draw(st.booleans()):
        # seconds (old records) or milliseconds (conda-forge today); py-rattler tells them
        # apart by size, so values near year 9999 in seconds are out of range
        record["timestamp"] = draw(st.integers(0, 2**32) | st.integers(10**12, 4 * 10**12))
    if draw(st.booleans()):
        record["md5"] = draw(st.from_regex(r"[0-9a-f]{32}", fullmatch=True))
    if draw(st.booleans()):
        record["license"] = draw(st.text(max_size=12))
    extension = draw(st.sampled_from([".tar.bz2", ".conda"]))
    return f"{name}-{version}-{build}{extension}", record


@st.composite
def repodata(draw, subdir: str = "linux-64") -> dict:
    """A well-formed ``repodata.json`` document (one file per stem: conda prefers
    ``.conda`` over a ``.tar.bz2`` of the same stem, which is tested elsewhere)."""
    by_stem: dict[str, tuple[str, dict]] = {}
    for filename, record in draw(st.lists(records(subdir), max_size=8)):
        by_stem.setdefault(
            filename.rsplit(".tar.bz2", 1)[0].rsplit(".conda", 1)[0], (filename, record)
        )
    packages = {fn: r for fn, r in by_stem.values() if fn.endswith(".tar.bz2")}
    conda = {fn: r for fn, r in by_stem.values() if fn.endswith(".conda")}
    document: dict = {"packages": packages, "packages.conda": conda}
    if draw(st.booleans()):
        document["info"] = {"subdir": subdir}
    if draw(st.booleans()):
        document["repodata_version"] = 1
    return document


@st.composite
def damaged_repodata(draw) -> bytes:
    """Repodata broken in one of the ways real files break: a field of the wrong type or
    missing, a section of the wrong type, or the text cut short."""
    document = draw(repodata())
    sections = [key for key in ("packages", "packages.conda") if document[key]]
    how = draw(st.sampled_from(["field", "drop-field", "section", "truncate", "bytes"]))
    if how in ("field", "drop-field") and sections:
        section = document[draw(st.sampled_from(sections))]
        record = section[draw(st.sampled_from(sorted(section)))]
        field = draw(st.sampled_from(sorted(record)))
        if how == "field":
            record[field] = draw(json_values)
        else:
            del record[field]
    elif how == "section":
        document[draw(st.sampled_from(["packages", "packages.conda", "info"]))] = draw(json_values)
    text = json.dumps(document).encode()
    if how == "truncate":
        text = text[: draw(st.integers(0, max(0, len(text) - 1)))]
    if how == "bytes":
        position = draw(st.integers(0, len(text)))
        text = text[:position] + draw(st.binary(min_size=1, max_size=8)) + text[position:]
    return text
