"""
The conda recipe (recipe/meta.yaml) agrees with pyproject.toml.

A conda package is built from the recipe, a wheel from pyproject.toml; both describe the
same distribution and drift apart silently: a dependency bumped in one place only, a
console script the conda package does not get, a python floor that differs. These tests
render the recipe's jinja the way conda-build does (its context variables: the git
describe values, ``PYTHON``) and compare the result with pyproject.toml.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - python 3.10
    import tomli as tomllib

jinja2 = pytest.importorskip("jinja2", reason="jinja2 renders the recipe (test extra)")

ROOT = Path(__file__).resolve().parent.parent
RECIPE = ROOT / "recipe" / "meta.yaml"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]

#: run requirements that only the conda package can declare: neither is on PyPI
CONDA_ONLY = {"conda", "libmambapy"}
#: PyPI name -> conda-forge name, where they differ
CONDA_NAMES: dict[str, str] = {"msgpack": "msgpack-python"}


def render(**git: str) -> dict:
    """The recipe as conda-build sees it, with the given GIT_DESCRIBE_* values."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    template = env.from_string(RECIPE.read_text(encoding="utf-8"))
    return yaml.safe_load(template.render(PYTHON="python", **git))


def conda_requirements(section: list[str]) -> dict[str, str]:
    """``["py-rattler >=0.28,<0.29", "pip"]`` -> ``{"py-rattler": ">=0.28,<0.29", "pip": ""}``."""
    parsed = {}
    for line in section:
        name, _, version = str(line).partition(" ")
        assert name not in parsed, f"{name} is listed twice"
        parsed[name] = version.strip()
    return parsed


def same_bounds(conda_version: str, specifier: SpecifierSet) -> bool:
    return SpecifierSet(conda_version.replace(" ", "")) == specifier


@pytest.fixture(scope="module")
def recipe() -> dict:
    return render()


def test_name_and_version_fallback(recipe):
    assert recipe["package"]["name"] == PROJECT["name"]
    # no git information: the same fallback hatch-vcs uses for a tree without tags
    fallback = PYPROJECT["tool"]["hatch"]["version"]["fallback-version"]
    assert recipe["package"]["version"] == fallback


@pytest.mark.parametrize(
    ("git", "version"),
    [
        ({"GIT_DESCRIBE_TAG": "v1.2.3", "GIT_DESCRIBE_NUMBER": "0"}, "1.2.3"),
        ({"GIT_DESCRIBE_TAG": "1.2.3", "GIT_DESCRIBE_NUMBER": "0"}, "1.2.3"),
        (
            {
                "GIT_DESCRIBE_TAG": "v1.2.3",
                "GIT_DESCRIBE_NUMBER": "4",
                "GIT_DESCRIBE_HASH": "gabc1234",
            },
            "1.2.3.4+gabc1234",
        ),
    ],
)
def test_version_from_git_tag(git, version):
    assert render(**git)["package"]["version"] == version


def test_noarch_python_with_the_same_floor(recipe):
    assert recipe["build"]["noarch"] == "python"
    floor = SpecifierSet(PROJECT["requires-python"])
    run = conda_requirements(recipe["requirements"]["run"])
    host = conda_requirements(recipe["requirements"]["host"])
    assert same_bounds(run["python"], floor)
    # conda-forge's noarch convention: host and test pin python to exactly the floor
    minimum = run["python"].removeprefix(">=")
    assert host["python"] == minimum
    assert conda_requirements(recipe["test"]["requires"])["python"] == minimum


def test_run_requirements_match_pyproject(recipe):
    run = conda_requirements(recipe["requirements"]["run"])
    expected = {}
    for line in PROJECT["dependencies"]:
        requirement = Requirement(line)
        expected[CONDA_NAMES.get(requirement.name, requirement.name)] = requirement.specifier
    declared = set(run) - {"python"} - CONDA_ONLY
    assert declared == set(expected), "recipe run and pyproject dependencies name other packages"
    for name, specifier in expected.items():
        assert same_bounds(run[name], specifier), f"{name}: recipe {run[name]!r} != {specifier}"
    # the conda-only requirements carry a lower bound (what the adapter needs)
    for name in CONDA_ONLY:
        assert run[name].startswith(">="), f"{name} needs a lower bound in the recipe"


def test_libmambapy_range_is_the_same_everywhere(recipe):
    """The supported libmambapy range: the engine's own check, pyproject's ``libmamba``
    extra and the recipe's run requirement say the same."""
    from conda_solver_plus.backends import LIBMAMBAPY_SUPPORTED

    extra = [Requirement(line) for line in PROJECT["optional-dependencies"]["libmamba"]]
    assert [r.name for r in extra] == ["libmambapy"]
    expected = SpecifierSet(LIBMAMBAPY_SUPPORTED)
    assert extra[0].specifier == expected
    run = conda_requirements(recipe["requirements"]["run"])
    assert same_bounds(run["libmambapy"], expected)


def test_host_requirements_match_build_system(recipe):
    host = conda_requirements(recipe["requirements"]["host"])
    for line in PYPROJECT["build-system"]["requires"]:
        requirement = Requirement(line)
        assert requirement.name in host, f"build requirement {requirement.name} missing in host"
        assert same_bounds(host[requirement.name], requirement.specifier)


def test_entry_points(recipe):
    scripts = [f"{name} = {target}" for name, target in PROJECT.get("scripts", {}).items()]
    assert recipe["build"].get("entry_points", []) == scripts
    # conda finds the plugin through the `conda` entry point group; the recipe's test
    # imports the module it names, so a broken plugin module fails the package build
    plugin_modules = set(PROJECT["entry-points"]["conda"].values())
    assert plugin_modules <= set(recipe["test"]["imports"])
    assert PROJECT["name"].replace("-", "_") in recipe["test"]["imports"]


def test_test_files_ship_in_the_sdist(recipe):
    """A feedstock builds from the sdist: the files the recipe's test uses must be in it."""
    included = PYPROJECT["tool"]["hatch"]["build"]["targets"]["sdist"]["include"]
    for path in recipe["test"]["source_files"]:
        assert (ROOT / path).exists(), path
        assert any(path == inc or path.startswith(inc.rstrip("/") + "/") for inc in included)
    commands = " ".join(recipe["test"]["commands"])
    assert "--solver=plus" in commands and "--dry-run" in commands
    assert "tests/data/demo-channel" in commands


def test_about_license(recipe):
    assert recipe["about"]["license"] == PROJECT["license"]
    assert (ROOT / recipe["about"]["license_file"]).is_file()


def test_installed_conda_meets_the_recipe_bound(recipe):
    conda = pytest.importorskip("conda", reason="conda is not installed here")
    from packaging.version import Version

    bound = conda_requirements(recipe["requirements"]["run"])["conda"]
    assert Version(conda.__version__) in SpecifierSet(bound, prereleases=True)
