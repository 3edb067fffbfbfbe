"""
The documentation builds, with every Sphinx warning treated as an error.

A broken cross-reference, a page missing from the table of contents or a malformed
directive is a warning; CI runs exactly ``bash dev/test.sh``, so the docs build lives in
the test suite. The ``docs`` extra (which dev/test.sh installs) provides Sphinx, MyST and
the theme; where they are not installed the test is skipped and says so.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx", reason="Sphinx is not installed (pip install -e '.[docs]')")
pytest.importorskip("myst_parser", reason="myst-parser is not installed (docs extra)")
pytest.importorskip("conda_sphinx_theme", reason="the docs theme is not installed (docs extra)")

pytestmark = pytest.mark.docs

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.fixture(scope="module")
def html(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("html")
    doctrees = tmp_path_factory.mktemp("doctrees")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",  # warnings are errors
            "--keep-going",  # ...but report all of them
            "-q",
            "-b",
            "html",
            "-d",
            str(doctrees),
            str(DOCS),
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    return out


def test_every_page_is_built(html):
    sources = {p.relative_to(DOCS).with_suffix(".html") for p in DOCS.rglob("*.md")}
    sources = {p for p in sources if not p.parts[0].startswith("_")}
    built = {p.relative_to(html) for p in html.rglob("*.html")}
    assert sources <= built


@pytest.mark.parametrize("command", ["solve", "lock"])
def test_cli_reference_is_the_real_help(html, command):
    """The CLI page renders the parser's own --help, so every option is documented."""
    from conda_solver_plus.cli import build_parser

    page = (html / "cli.html").read_text(encoding="utf-8")
    parser = build_parser()
    commands = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for action in commands.choices[command]._actions:
        for flag in action.option_strings:
            assert flag in page, f"{command} {flag}"


def test_changelog_is_included(html):
    page = (html / "changelog.html").read_text(encoding="utf-8")
    assert "Unreleased" in page
