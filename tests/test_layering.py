"""The package's architecture, checked the way Python projects check it: import-linter's
contracts (``[tool.importlinter]`` in pyproject.toml: the layers from the front ends down to
the repodata model, conda imported only under ``conda_solver_plus/conda/``, no import cycle
at any depth, function-local imports included) and radon's complexity limits
(``dev/complexity.py``). dev/test.sh runs both on the package; the tests here show each
check catches what it is for, on a copy of the package with the fault put in. One rule
import-linter has no contract for stays an AST check: no module reaches into another
module's private names.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "conda_solver_plus"
MODULES = sorted(PACKAGE.rglob("*.py"))
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _relative(path: Path) -> str:
    return path.relative_to(PACKAGE.parent).as_posix()


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on the package at ``root`` with the project's contracts."""
    if not LINT_IMPORTS.exists():
        pytest.skip("import-linter is not installed (pip install -e .[test])")
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    """A copy of the package to put a fault in."""
    shutil.copytree(
        PACKAGE, tmp_path / "conda_solver_plus", ignore=shutil.ignore_patterns("*.pyc")
    )
    return tmp_path


def test_the_contracts_hold():
    proc = lint_imports(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_function_local_import_that_closes_a_cycle_breaks_a_contract(package_copy):
    model = package_copy / "conda_solver_plus" / "repodata" / "model.py"
    model.write_text(
        model.read_text() + "\n\ndef _late():\n    from ..session import SolveSession\n"
        "\n    return SolveSession\n"
    )
    proc = lint_imports(package_copy)
    assert proc.returncode != 0
    assert "No cycles are allowed" in proc.stdout
    assert "conda_solver_plus.repodata.model is not allowed to import" in proc.stdout


def test_conda_outside_the_adapter_breaks_a_contract(package_copy):
    core = package_copy / "conda_solver_plus" / "core.py"
    core.write_text(core.read_text() + "\n\ndef _conda():\n    import conda.base.context\n")
    proc = lint_imports(package_copy)
    assert proc.returncode != 0
    assert "conda_solver_plus.core -> conda" in proc.stdout


def test_the_complexity_limits_catch_a_tangled_function(tmp_path):
    clauses = "\n".join(f"    if x == {i} or x == -{i}:\n        return {i}" for i in range(9))
    (tmp_path / "tangled.py").write_text(f"def tangled(x):\n{clauses}\n    return 0\n")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "dev" / "complexity.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "tangled: cyclomatic complexity 19 > 15" in proc.stdout


def _private_imports(path: Path) -> Iterator[str]:
    """``from .x import _name`` / ``from ..x import _name`` in ``path``."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            for alias in node.names:
                if alias.name.startswith("_") and alias.name != "__version__":
                    yield f"line {node.lineno}: {alias.name} from {node.module}"


@pytest.mark.parametrize("path", MODULES, ids=_relative)
def test_no_private_names_across_modules(path):
    """What modules share is public: a ``_name`` is its own module's business."""
    assert not list(_private_imports(path))
