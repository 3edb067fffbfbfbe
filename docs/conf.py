"""Sphinx configuration for the conda-solver-plus documentation (MyST Markdown pages).

Built in the test suite with warnings as errors (tests/test_docs.py):
``sphinx-build -W -b html docs docs/_build/html``.
"""

from __future__ import annotations

import os

from docutils import nodes
from docutils.parsers.rst import Directive, directives

import conda_solver_plus

project = "conda-solver-plus"
author = "conda-solver-plus developers"
copyright = "2026, conda-solver-plus developers"
version = release = conda_solver_plus.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "description"

html_theme = "conda_sphinx_theme"
html_title = "conda-solver-plus"
html_theme_options = {
    "navigation_depth": 2,
    "show_prev_next": True,
}


class CliHelp(Directive):
    """``{cli-help} solve`` renders the real ``--help`` of the standalone CLI, so the
    reference cannot drift from the parser in conda_solver_plus/cli.py."""

    optional_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        from conda_solver_plus.cli import build_parser

        os.environ["COLUMNS"] = "76"  # argparse wraps help text to this width
        parser = build_parser()
        if self.arguments:
            subparsers = next(
                action
                for action in parser._actions  # argparse keeps subcommands there only
                if action.__class__.__name__ == "_SubParsersAction"
            )
            parser = subparsers.choices[self.arguments[0]]
        text = parser.format_help().rstrip()
        block = nodes.literal_block(text, text)
        block["language"] = "text"
        return [block]


def setup(app):
    directives.register_directive("cli-help", CliHelp)
