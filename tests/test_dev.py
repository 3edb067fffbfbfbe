"""
The development setup agrees with itself.

One ruff version lints everywhere — the pre-commit hook, ``dev/test.sh`` and CI — or a
commit that passes the hook fails CI (ruff's rules and formatting change between
releases). The devcontainer and CI prepare the environment with the same scripts a
developer runs.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _pinned(extra: str, name: str) -> str:
    for line in PYPROJECT["project"]["optional-dependencies"][extra]:
        requirement = Requirement(line)
        if requirement.name == name:
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", f"{name} must be pinned exactly in [{extra}]"
            return specifier.version
    raise AssertionError(f"{name} is not in the {extra} extra")


def test_one_ruff_version_for_hook_ci_and_this_environment():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    (ruff_repo,) = [r for r in config["repos"] if r["repo"].endswith("/ruff-pre-commit")]
    hook_version = ruff_repo["rev"].removeprefix("v")
    assert hook_version == _pinned("test", "ruff")
    try:
        installed = version("ruff")
    except PackageNotFoundError:  # e.g. a conda environment used only to run the tests
        pytest.skip("ruff is not installed in this environment; the pins above agree")
    assert installed == hook_version, "reinstall: bash dev/setup.sh"


def test_dev_extra_covers_test_and_docs():
    dev = [Requirement(line) for line in PYPROJECT["project"]["optional-dependencies"]["dev"]]
    own = [r for r in dev if r.name == PYPROJECT["project"]["name"]]
    assert own and {"test", "docs"} <= own[0].extras


def test_devcontainer_and_ci_use_the_dev_scripts():
    container = json.loads((ROOT / ".devcontainer" / "devcontainer.json").read_text())
    assert container["postCreateCommand"].startswith("bash dev/setup.sh")
    assert "bash dev/test.sh" in (ROOT / ".ci" / "run").read_text()
    for script in ("setup.sh", "test.sh", "demo.sh"):
        assert (ROOT / "dev" / script).is_file(), script
    # the test run installs the docs extra, so CI builds the docs (tests/test_docs.py)
    assert "test,docs" in (ROOT / "dev" / "test.sh").read_text()
