"""
pytest's root configuration: the package's doctests are collected with the tests.

``pyproject.toml`` runs pytest over ``tests`` and ``conda_solver_plus`` with
``--doctest-modules``, so every example in a docstring of the package is a test (the
pure helpers in ``specs.py``, ``feature_names.py``, ``exclude_newer.py``... teach by
example, and those examples must stay true).

Collecting a module's doctests imports it. Two parts of the package import what a plain
virtual environment may lack, so here — in the one ``conftest.py`` that sees both the
package and the tests — they are left out of collection when their library does not
import: the conda adapter (``conda_solver_plus/conda/``) without conda, the libmamba
engine without a usable libmambapy. An ``--ignore`` in ``addopts`` could not do this: it
would drop them everywhere, also where conda is installed and they should be checked.
``tests/conda_corpus_plugin.py`` is a pytest plugin that ``tests/test_conda_corpus.py``
loads into a pytest subprocess; it is no test module and is never collected here.
"""

from __future__ import annotations

import importlib
import importlib.util


def _engine_imports(module: str) -> bool:
    """Does an engine module import? (tests/conftest.py imports every engine anyway, to
    parametrize the tests over them, so nothing is imported earlier than it would be.)"""
    try:
        importlib.import_module(module)
    except Exception:  # missing, or installed but broken/unsupported: either way unusable
        return False
    return True


collect_ignore = ["tests/conda_corpus_plugin.py"]
collect_ignore_glob: list[str] = []
# conda is only looked up, not imported: importing it is slow and sets up its context
if importlib.util.find_spec("conda") is None:
    collect_ignore_glob.append("conda_solver_plus/conda/*")
if not _engine_imports("conda_solver_plus.backends.libmamba"):
    # the engine is split by concept into libmamba*.py, each importing libmambapy
    collect_ignore_glob.append("conda_solver_plus/backends/libmamba*.py")
