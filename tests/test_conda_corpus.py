"""conda's solver corpus (pytest-conda-solvers) through **real conda**, once per engine.

``tests/test_corpus.py`` replays the corpus through the core alone. Here the corpus runs
the way its own plugin runs it against any conda solver: conda's ``Solver`` API
(``solve_final_state`` / ``solve_for_diff``) on ``PlusSolver``, channels served over HTTP,
conda's context configured per case — that is, everything a conda user goes through,
including the adapter (``solver.py``) and conda's repodata fetching.

The plugin imports conda and mutates its global context, so it runs in a pytest
subprocess per engine (``--conda-solver=plus``, ``CONDA_SOLVER_PLUS_BACKEND`` set, from a
scratch directory with its own ``HOME`` and package cache), with
``tests/conda_corpus_plugin.py`` giving it a free port and the case ids. Its junit XML is
read back and every corpus case becomes one test here:

- passed there: passes;
- skipped there (the case is tagged for another solver, e.g. ``solvers: classic``):
  skipped with the plugin's reason;
- failed there: fails, unless :data:`KNOWN_FAILURES` lists the case for that engine with
  its reason — then it is an expected failure, and a listed case that passes fails the
  test, so the list stays true.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from .corpus import Case, load_cases, package_root
from .engines import require_module
from .test_corpus import ENGINE_DIFFERENCES

require_module("conda", "the corpus runs through conda's Solver API")
require_module("pytest_conda_solvers", "the corpus is its YAML, run by its pytest plugin")

#: under pytest-xdist every worker would start its own inner runs for the cases it gets;
#: with ``--dist loadgroup`` (dev/test.sh) one worker takes them all and runs each engine once
pytestmark = [pytest.mark.xdist_group("conda-corpus"), pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
ROOT = package_root()
CASES = load_cases(ROOT) if ROOT else []

#: engine -> case id -> why that case fails through conda. conda hands plus the same
#: request the core tests build, so the engine differences recorded for the core
#: (tests/test_corpus.py) are the ones expected here; an entry for a case the plugin skips
#: for ``plus`` (tagged for libmamba or classic only) simply never applies.
KNOWN_FAILURES: dict[str, dict[str, str]] = ENGINE_DIFFERENCES

#: the inner run must finish well within CI's budget; both engines take ~20 s here
RUN_TIMEOUT = 600

#: conda's variables would change what a case asks conda, and the outer run's PYTEST_*
#: (addopts, plugins) how the inner run runs, so neither is inherited: the corpus sets the
#: conda settings it needs (channel priority, pins, overrides, ...) per case
KEEP_CONDA_VARS = ("CONDA_SOLVER_PLUS_VERIFY",)


@dataclass(frozen=True)
class CaseResult:
    """One corpus case's outcome in the inner run."""

    outcome: str  # "passed", "failed", "skipped" or "xfailed"
    detail: str = ""


@dataclass(frozen=True)
class CorpusRun:
    """The inner pytest run for one engine."""

    engine: str
    returncode: int
    seconds: float
    output: str
    results: dict[str, CaseResult]


def _inner_env(engine: str, scratch: Path) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("CONDA_", "PYTEST_")) or name in KEEP_CONDA_VARS
    }
    env.update(
        CONDA_SOLVER_PLUS_BACKEND=engine,
        # a .condarc in the real home directory must not reach the corpus, nor its
        # repodata (fetched from a fresh port every run) the user's package cache
        HOME=str(scratch / "home"),
        CONDA_PKGS_DIRS=str(scratch / "pkgs"),
        # only the plugins named on the command line: the corpus plugin and ours
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
        PYTHONPATH=os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH")))),
    )
    return env


def _case_result(testcase: ET.Element) -> CaseResult:
    for tag in ("failure", "error"):
        element = testcase.find(tag)
        if element is not None:
            text = element.text or ""
            # the assertion at the end of the traceback says what differed
            return CaseResult("failed", f"{element.get('message', '')}\n{text[-3000:]}")
    skipped = testcase.find("skipped")
    if skipped is not None:
        outcome = "xfailed" if skipped.get("type") == "pytest.xfail" else "skipped"
        return CaseResult(outcome, skipped.get("message", ""))
    return CaseResult("passed")


def _read_results(junit: Path) -> dict[str, CaseResult]:
    results = {}
    for testcase in ET.parse(junit).getroot().iter("testcase"):
        case_id = next(
            (
                prop.get("value")
                for prop in testcase.iter("property")
                if prop.get("name") == "case_id"
            ),
            None,
        )
        if case_id is not None:
            results[case_id] = _case_result(testcase)
    return results


def run_corpus(engine: str, scratch: Path) -> CorpusRun:
    """Run the corpus through conda with ``--solver=plus`` on ``engine``."""
    (scratch / "home").mkdir(parents=True, exist_ok=True)
    ini = scratch / "pytest.ini"
    # an ini of its own: this checkout's addopts disable the corpus plugin
    ini.write_text("[pytest]\n", encoding="utf-8")
    junit = scratch / "corpus.xml"
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-c",
        str(ini),
        f"--basetemp={scratch / 'tmp'}",
        "-p",
        "conda-solvers",
        "-p",
        "tests.conda_corpus_plugin",
        "-p",
        "no:cacheprovider",
        "--conda-solver=plus",
        f"--junitxml={junit}",
        "-q",
        "--no-header",
        "-rN",
    ]
    started = time.monotonic()
    proc = subprocess.run(
        command,
        cwd=scratch,
        env=_inner_env(engine, scratch),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    seconds = time.monotonic() - started
    results = _read_results(junit) if junit.exists() else {}
    return CorpusRun(engine, proc.returncode, seconds, proc.stdout + proc.stderr, results)


@pytest.fixture(scope="module")
def corpus_runs() -> dict[str, CorpusRun]:
    """Inner runs by engine, filled on first use: one subprocess per engine per process."""
    return {}


@pytest.fixture
def corpus_run(
    engine_name: str,
    corpus_runs: dict[str, CorpusRun],
    tmp_path_factory: pytest.TempPathFactory,
) -> CorpusRun:
    """The inner run for ``engine_name`` (the engine fixture of ``tests/conftest.py``)."""
    if engine_name not in corpus_runs:
        scratch = tmp_path_factory.mktemp(f"conda-corpus-{engine_name}")
        corpus_runs[engine_name] = run_corpus(engine_name, scratch)
    return corpus_runs[engine_name]


def test_conda_corpus_run(corpus_run: CorpusRun) -> None:
    """The inner run completed and reported exactly the corpus's cases."""
    assert CASES, f"no corpus cases under {ROOT}"
    # pytest exits 0 (all passed) or 1 (some failed); anything else is a broken run
    assert corpus_run.returncode in (0, 1), corpus_run.output[-5000:]
    assert set(corpus_run.results) == {case.id for case in CASES}, corpus_run.output[-5000:]
    # shown with -rP: the runtime is what keeps this test in the normal run
    print(f"{corpus_run.engine}: {len(CASES)} corpus cases in {corpus_run.seconds:.1f} s")


@pytest.mark.parametrize("case", [pytest.param(c, id=f"{c.id}-{c.name}") for c in CASES])
def test_conda_corpus_case(engine_name: str, case: Case, corpus_run: CorpusRun) -> None:
    """One corpus case through real conda on one engine."""
    result = corpus_run.results.get(case.id)
    if result is None:
        pytest.fail(
            f"{case.id} was not reported by the corpus run (exit {corpus_run.returncode}):\n"
            f"{corpus_run.output[-3000:]}",
            pytrace=False,
        )
    if result.outcome == "skipped":
        pytest.skip(f"pytest-conda-solvers: {result.detail}")
    if result.outcome == "xfailed":
        pytest.xfail(f"pytest-conda-solvers marks it for plus: {result.detail}")
    known = KNOWN_FAILURES.get(engine_name, {}).get(case.id)
    if known is not None:
        if result.outcome == "failed":
            pytest.xfail(known)
        pytest.fail(
            f"{case.id} now passes through conda on {engine_name}: remove it from the "
            f"engine differences ({known})",
            pytrace=False,
        )
    if result.outcome == "failed":
        pytest.fail(f"{case.id} ({case.name}) on {engine_name}:\n{result.detail}", pytrace=False)
