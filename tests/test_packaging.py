"""
The distributions: what ``pip install`` and a conda-forge feedstock get.

The project is released as an sdist (what a feedstock builds from) and a wheel (what
``pip install`` installs). These tests build both the way a release does — the sdist from
this checkout, then the wheel *from the sdist*, so hatch-vcs must find the version in the
sdist's ``PKG-INFO`` as it does on a build machine without git — and check what is inside:
the wheel holds the package and its metadata only (no tests, no data, no caches), its
entry points are the ones conda and the shell look for, and the unpacked wheel alone runs
the CLI. The build is not isolated (hatchling and hatch-vcs come from the test extra), so
it needs no network and takes a few seconds.
"""

from __future__ import annotations

import email.parser
import subprocess
import sys
import tarfile
import zipfile
from configparser import ConfigParser
from pathlib import Path

import pytest
from packaging.requirements import Requirement

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - python 3.10
    import tomli as tomllib

pytest.importorskip("build", reason="the `build` package (test extra) builds the distributions")
pytest.importorskip("hatchling", reason="hatchling (test extra) is the build backend")

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
PACKAGE = "conda_solver_plus"
DEMO = ROOT / "tests" / "data" / "demo-channel"


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    # `python -m build` without --sdist/--wheel builds the sdist, then the wheel from it
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return {"sdist": sdist, "wheel": wheel}


@pytest.fixture(scope="module")
def wheel_names(dists) -> list[str]:
    with zipfile.ZipFile(dists["wheel"]) as zf:
        return zf.namelist()


@pytest.fixture(scope="module")
def dist_info(wheel_names) -> str:
    (name,) = {n.split("/", 1)[0] for n in wheel_names if ".dist-info/" in n}
    return name


def read_from_wheel(dists, name: str) -> str:
    with zipfile.ZipFile(dists["wheel"]) as zf:
        return zf.read(name).decode("utf-8")


def test_wheel_holds_the_package_and_metadata_only(wheel_names, dist_info):
    outside = [n for n in wheel_names if not n.startswith((f"{PACKAGE}/", f"{dist_info}/"))]
    assert outside == []
    package_files = [n for n in wheel_names if n.startswith(f"{PACKAGE}/")]
    assert all(n.endswith(".py") or n.endswith("/py.typed") for n in package_files), [
        n for n in package_files if not n.endswith(".py")
    ]
    assert not any("__pycache__" in n or "/tests/" in n for n in wheel_names)


def test_wheel_has_every_module_of_the_package(wheel_names):
    # _version.py is written by the build (hatch-vcs); every other module is source
    source = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / PACKAGE).rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert source <= set(wheel_names)
    assert f"{PACKAGE}/_version.py" in wheel_names


def test_wheel_metadata_matches_pyproject(dists, dist_info):
    metadata = email.parser.Parser().parsestr(read_from_wheel(dists, f"{dist_info}/METADATA"))
    assert metadata["Name"] == PROJECT["name"]
    assert metadata["Requires-Python"] == PROJECT["requires-python"]
    assert metadata["License-Expression"] == PROJECT["license"]
    # runtime requirements: exactly pyproject's dependencies (extras are marked)
    runtime = {
        str(Requirement(r)) for r in metadata.get_all("Requires-Dist") if "extra ==" not in r
    }
    assert runtime == {str(Requirement(r)) for r in PROJECT["dependencies"]}
    assert set(metadata.get_all("Provides-Extra")) == set(PROJECT["optional-dependencies"])
    # the sdist's version survives the sdist -> wheel build (PKG-INFO, not git)
    version = metadata["Version"]
    assert dists["wheel"].name.startswith(f"{PACKAGE}-{version}-py3-none-any")
    assert dists["sdist"].name == f"{PACKAGE}-{version}.tar.gz"
    licenses = [n for n in zipfile.ZipFile(dists["wheel"]).namelist() if "/licenses/" in n]
    assert [Path(n).name for n in licenses] == ["LICENSE"]


def test_entry_points(dists, dist_info):
    parser = ConfigParser()
    parser.optionxform = str  # entry point names are case-sensitive
    parser.read_string(read_from_wheel(dists, f"{dist_info}/entry_points.txt"))
    # conda discovers solver plugins through the `conda` group
    assert dict(parser["conda"]) == PROJECT["entry-points"]["conda"]
    assert dict(parser["conda"]) == {"conda-solver-plus": f"{PACKAGE}.conda.plugin"}
    assert dict(parser["console_scripts"]) == PROJECT["scripts"]
    assert set(parser.sections()) == {"conda", "console_scripts"}


def test_sdist_carries_what_a_feedstock_needs(dists):
    with tarfile.open(dists["sdist"]) as tf:
        names = [n.split("/", 1)[1] for n in tf.getnames() if "/" in n]
    for needed in (
        "PKG-INFO",
        "pyproject.toml",
        "LICENSE",
        "CHANGELOG.md",
        "recipe/meta.yaml",
        "tests/data/demo-channel/linux-64/repodata.json",
        "tests/data/demo-channel/noarch/repodata.json",
        "docs/conf.py",
        f"{PACKAGE}/_version.py",
    ):
        assert needed in names, needed
    unwanted = [n for n in names if n.startswith((".venv", "docs/_build")) or "__pycache__" in n]
    assert unwanted == []


def test_unpacked_wheel_runs_the_cli(dists, tmp_path):
    """The wheel's files alone make a working package (nothing is imported from the
    checkout): the CLI answers --help and solves from the demo channel."""
    site = tmp_path / "site"
    with zipfile.ZipFile(dists["wheel"]) as zf:
        zf.extractall(site)
    program = (
        "import runpy, sys; sys.path.insert(0, sys.argv.pop(1)); import conda_solver_plus;"
        " assert conda_solver_plus.__file__.startswith(sys.path[0]), conda_solver_plus.__file__;"
        " sys.argv[0] = 'conda-solver-plus'; runpy.run_module('conda_solver_plus',"
        " run_name='__main__')"
    )

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", program, str(site), *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,  # not the checkout: its conda_solver_plus must not be found
            timeout=120,
        )

    helped = run("--help")
    assert helped.returncode == 0, helped.stderr
    assert "solve" in helped.stdout and "explain" in helped.stdout
    solved = run("solve", "python=3.12", "numpy", "-c", str(DEMO), "--subdir", "linux-64")
    assert solved.returncode == 0, solved.stderr
    assert "numpy" in solved.stdout and "python" in solved.stdout
