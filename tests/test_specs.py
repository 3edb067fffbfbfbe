"""Unit and property-based tests for :mod:`conda_solver_plus.specs`.

Properties (hypothesis, few examples by default so the suite stays fast; ``dev/fuzz.py``
runs the same generators many more times):

- any text either parses or fails with one :class:`InvalidInputError` naming the spec and
  its source — never another exception;
- specs built from conda's grammar parse, keep their name, render to a string that parses
  back to the same spec, and get the strictness their parts imply.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rattler import PackageName, PackageRecord
from rattler.package.build_string import BuildString

from conda_solver_plus.exceptions import InvalidInputError
from conda_solver_plus.specs import (
    exact_spec_for,
    is_name_only,
    parse_spec,
    spec_name,
    strictness,
)

from .strategies import build_strings, grammar_specs, names, versions

#: few examples per property in the unit suite; the fuzz script runs thousands
FAST = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# -- properties ----------------------------------------------------------------------------


@FAST
@given(st.text(max_size=40))
def test_any_text_parses_or_is_one_invalid_input_error(text):
    try:
        spec = parse_spec(text, "fuzz")
    except InvalidInputError as exc:
        message = str(exc)
        assert exc.source.startswith("fuzz"), message
        assert "Caused by" not in message
        if text.strip():
            assert repr(text.strip()) in message
        return
    assert spec_name(spec)


@FAST
@given(st.text(alphabet="numpy<>=!~*.,|[]'\"= 0123abc_-:/", max_size=30))
def test_spec_like_text_parses_or_is_one_invalid_input_error(text):
    """The same property over text that is mostly spec punctuation, where parsers break."""
    try:
        spec = parse_spec(text, "fuzz")
    except InvalidInputError as exc:
        assert "\n" not in str(exc)
        return
    assert spec_name(spec)


@FAST
@given(grammar_specs())
def test_grammar_specs_parse_and_round_trip(case):
    text, name, has_version, has_build = case
    spec = parse_spec(text)
    assert spec_name(spec) == name
    assert strictness(spec) == 1 + has_version + has_build
    assert is_name_only(spec) == (not has_version and not has_build)
    again = parse_spec(str(spec))
    assert str(again) == str(spec)
    assert spec_name(again) == name


@FAST
@given(names, versions, build_strings)
def test_exact_spec_matches_its_record_only(name, version, build):
    record = PackageRecord(
        name=PackageName(name), version=version, build=BuildString(build), build_number=0,
        subdir="linux-64",
    )  # fmt: skip
    spec = exact_spec_for(name, version, build)
    assert strictness(spec) == 3
    assert spec.matches(record)
    other = PackageRecord(
        name=PackageName(name), version=version, build=BuildString(build + "x"), build_number=0,
        subdir="linux-64",
    )  # fmt: skip
    assert not spec.matches(other)


# -- examples ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "numpy>=",
        "=1.0",
        "pkg[version=",
        "numpy ===",
        "<>",
        "\\\\:_",
        "'y2p\"a:b#",
        "c3\ty~\"u>u_ '",
    ],
)
def test_invalid_spec_names_spec_and_source(text):
    with pytest.raises(InvalidInputError) as info:
        parse_spec(text, "conda-meta/pinned:3")
    assert info.value.source == f"conda-meta/pinned:3: spec {text!r}"
    assert "not a valid match spec" in info.value.problem
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("text", ["", "   ", None, 3])
def test_empty_or_non_text_spec(text):
    with pytest.raises(InvalidInputError, match="empty package spec"):
        parse_spec(text)  # type: ignore[arg-type]


def test_glob_names_only_when_allowed():
    with pytest.raises(InvalidInputError, match="glob"):
        parse_spec("num*")
    assert spec_name(parse_spec("num*", allow_glob=True)) == "num*"


def test_namespace_is_accepted_and_round_trips():
    """conda ignores a ``namespace:`` before the name; it still has to survive a round trip
    (found by dev/fuzz.py: ``\\:_`` parsed into a spec that could not be written back)."""
    spec = parse_spec("ns:numpy>=1")
    assert spec_name(spec) == "numpy"
    assert str(parse_spec(str(spec))) == str(spec)
