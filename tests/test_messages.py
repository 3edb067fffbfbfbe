"""Loose ends of the error messages (issue 17, item 6), one regression test each: a
virtual dependency without a version, a folded engine line repeated under the fold, the
cut engine report that did not say how to see the rest, unsorted version lists and bare
counts, the ``--json`` error without its engine, and "not available" without the
versions that do exist.

Through the standalone CLI on the demo channel and, where the data is present, the shared
conda-forge data (a failure with a long report), on both engines.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conda_solver_plus.backends.rattler import dedupe_report
from conda_solver_plus.exceptions import ChainStep

from .test_cli import DEMO, ROOT, isolated_from_condarc

CONDA_FORGE = ROOT.parent / "shared" / "data" / "repodata" / "lockfile-union" / "conda-forge"
needs_conda_forge = pytest.mark.skipif(
    not CONDA_FORGE.is_dir(), reason="needs ../shared/data/repodata/lockfile-union"
)


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    result = isolated_from_condarc(os.environ, tmp_path_factory.mktemp("home"))
    result["CONDA_SOLVER_PLUS_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    return result


def solve(env, engine: str, channel: Path, *args: str) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "conda_solver_plus", "solve", *args, "-c", str(channel)]
    argv += ["--subdir", "linux-64", "--backend", engine]
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


def test_virtual_dependency_without_a_version_is_its_bare_name():
    """conda's "incompatible with your system" listed ``mylib -> __cuda==None``."""
    pytest.importorskip("conda")
    from conda_solver_plus.conda.errors import virtual_package_error

    text = str(virtual_package_error({"mylib": ["__cuda"]}))
    assert "==None" not in text
    assert "  - mylib -> __cuda\n" in text
    ranged = str(virtual_package_error({"mylib": ["__cuda >=12.0", "__cuda >=11.2"]}))
    assert "__cuda[version='>=11.2|>=12.0']" in ranged


def test_a_folded_line_is_not_repeated_under_the_fold():
    """resolvo repeats a line per candidate; the last of a run has ``└─`` instead of
    ``├─``, and was printed again after ``... (x7)``."""
    line = "   ├─ python 3.11.15, which conflicts with the versions reported above."
    last = line.replace("├─", "└─")
    report = "\n".join(["Cannot solve the request because of: x", *[line] * 6, last])
    folded = dedupe_report(report).splitlines()
    assert folded[-1] == f"{last} (the same for 7 candidates)"
    assert len(folded) == 3


@needs_conda_forge
def test_the_real_report_has_no_line_repeated(env, engine_name):
    proc = solve(env, engine_name, CONDA_FORGE, "pandas>=2", "python=3.8", "--json", "-v")
    message = json.loads(proc.stdout)["error"]["engine_message"]
    lines = [line.replace("└─", "├─") for line in message.splitlines()]
    assert all(a != b for a, b in itertools.pairwise(lines)), message


@needs_conda_forge
def test_a_cut_report_says_how_to_see_the_rest(env, engine_name):
    # a long report on both engines (34 lines on libmamba, 69 on rattler with the shared data)
    args = ("libzlib<1.2.13", "python=3.12", "numpy", "pandas", "scipy", "matplotlib")
    cut = solve(env, engine_name, CONDA_FORGE, *args)
    assert cut.returncode == 1
    report = json.loads(solve(env, engine_name, CONDA_FORGE, *args, "--json").stdout)
    message = report["error"]["engine_message"].rstrip().splitlines()
    if len(message) <= 20:
        pytest.skip(f"{engine_name}'s report has {len(message)} lines: nothing is cut")
    assert "more lines: rerun with -v to see the whole report" in cut.stderr
    whole = solve(env, engine_name, CONDA_FORGE, *args, "-v")
    assert "more lines" not in whole.stderr
    assert message[-1] in whole.stderr


def test_versions_are_sorted_and_counts_say_what_they_count():
    step = ChainStep(
        "python", ("python >=3.11",), ("3.11.0", "3.12.1", "3.11.10", "3.9.2", "3.12.0")
    )
    assert step.render() == "python >=3.11 (3.12.1 | 3.12.0 | 3.11.10 | ... | 3.9.2 (5 versions))"
    short = ChainStep("numpy", (), ("1.26.4", "2.0.2"))
    assert short.render() == "numpy (2.0.2 | 1.26.4)"


def test_json_error_names_its_engine(env, engine_name):
    proc = solve(env, engine_name, DEMO, "numpy>=2", "python=3.11", "--json")
    assert proc.returncode == 1
    error = json.loads(proc.stdout)["error"]
    assert error["engine"] == engine_name
    text = solve(env, engine_name, DEMO, "numpy>=2", "python=3.11")
    assert f"The engine's report ({engine_name}):" in text.stderr


def test_not_available_lists_the_versions_that_exist(env, engine_name):
    proc = solve(env, engine_name, DEMO, "numpy=9")
    assert proc.returncode == 1
    assert "  - numpy 9.* (the channels have: 2.0.2, 1.26.4)" in proc.stderr
    error = json.loads(solve(env, engine_name, DEMO, "numpy=9", "--json").stdout)["error"]
    assert error["available"] == {"numpy 9.*": ["2.0.2", "1.26.4"]}
    # a typo gets names, not versions
    typo = solve(env, engine_name, DEMO, "nunpy")
    assert "did you mean: numpy?" in typo.stderr and "the channels have" not in typo.stderr
