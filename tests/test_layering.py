"""The package's layering, checked on its source: only ``conda_solver_plus/conda/`` imports
conda, and no module reaches into another module's private names.

ruff's banned-api rule (``TID251`` in pyproject.toml) says the first at lint time; this test
says it again from the AST, so the suite alone keeps the boundary (an import inside a
function counts as much as one at the top).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "conda_solver_plus"
CONDA_BOUNDARY = PACKAGE / "conda"
MODULES = sorted(PACKAGE.rglob("*.py"))


def _relative(path: Path) -> str:
    return path.relative_to(PACKAGE.parent).as_posix()


def imported_modules(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """``(line, module)`` for every absolute import in ``tree``, at any depth."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def imports_conda(module: str) -> bool:
    """``conda`` or a submodule of it (not ``conda_build`` or ``conda_libmamba_solver``)."""
    return module == "conda" or module.startswith("conda.")


def test_the_walk_sees_the_package():
    assert len(MODULES) > 20 and CONDA_BOUNDARY / "solver.py" in MODULES


@pytest.mark.parametrize(
    "path", [p for p in MODULES if CONDA_BOUNDARY not in p.parents], ids=_relative
)
def test_only_the_conda_subpackage_imports_conda(path):
    tree = ast.parse(path.read_text(), str(path))
    found = [
        f"line {line}: {name}" for line, name in imported_modules(tree) if imports_conda(name)
    ]
    assert not found, f"{_relative(path)} imports conda outside conda_solver_plus/conda/"


def test_the_conda_subpackage_imports_conda():
    """The walk itself works: the adapter does import conda (absolutely: the real one)."""
    tree = ast.parse((CONDA_BOUNDARY / "solver.py").read_text())
    assert any(imports_conda(name) for _, name in imported_modules(tree))


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
