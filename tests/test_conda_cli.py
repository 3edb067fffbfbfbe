"""``conda plus ...`` (conda_solver_plus/conda/subcommands.py) and the ``-v`` provenance of a
normal solve, with real conda in a subprocess on a channel built in tests/test_solver.py."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
from pathlib import Path

import pytest

from .engines import conda_subprocess_env, require_module

require_module("conda", "conda plus ... is a conda subcommand")

# the module-scoped fixture that builds a real conda channel
from .test_solver import built_channel as built_channel  # noqa: E402
from .test_solver import run_conda  # noqa: E402


@pytest.fixture(autouse=True)
def _engine(monkeypatch, engine_name):
    """Every test here runs on each engine, selected as a user would."""
    monkeypatch.setenv("CONDA_SOLVER_PLUS_BACKEND", engine_name)


def plus(tmp_path: Path, channel: Path, *args: str) -> subprocess.CompletedProcess:
    env = conda_subprocess_env(tmp_path, CONDA_REPODATA_USE_SHARDS="false", CONDA_OFFLINE="true")
    command = [sys.executable, "-m", "conda", "plus", *args, "--override-channels"]
    command += ["-c", channel.as_uri()]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


def test_conda_plus_search_depends_whoneeds(built_channel, tmp_path):
    found = plus(tmp_path, built_channel, "search", "greet", "--json")
    assert found.returncode == 0, found.stderr
    assert [r["version"] for r in json.loads(found.stdout)["records"]] == ["2.0", "1.0"]
    tree = plus(tmp_path, built_channel, "depends", "shout", "--tree")
    assert tree.returncode == 0, tree.stderr
    assert tree.stdout.splitlines()[0].startswith("shout 0.1")
    assert (
        "greet  ->  greet 2.0" in tree.stdout and "libcolor >=1.0  ->  libcolor 1.0" in tree.stdout
    )
    needs = plus(tmp_path, built_channel, "whoneeds", "libcolor")
    assert needs.returncode == 0, needs.stderr
    rows = [line.split()[0] for line in needs.stdout.splitlines() if not line.startswith("#")]
    assert rows == ["greet"]
    assert needs.stdout.splitlines()[-1] == "# 1 dependent"
    missing = plus(tmp_path, built_channel, "search", "greet=9")
    assert missing.returncode == 1 and missing.stdout == ""
    assert "greet=9" in missing.stderr and "2.0" in missing.stderr  # the versions that exist
    nobody = plus(tmp_path, built_channel, "whoneeds", "shout")
    assert nobody.returncode == 0 and nobody.stdout == ""
    assert "Nothing in the channels depends on shout" in nobody.stderr


def test_conda_plus_explain_and_why_in_an_environment(built_channel, tmp_path):
    prefix = tmp_path / "env"
    created = run_conda(tmp_path, built_channel, "create", "-p", str(prefix), "greet=1.0")
    assert created.returncode == 0, created.stdout + created.stderr
    explained = plus(tmp_path, built_channel, "explain", "-p", str(prefix), "shout", "--json")
    assert explained.returncode == 0, explained.stderr
    payload = json.loads(explained.stdout)
    provenance = {item["name"]: item for item in payload["provenance"]}
    assert provenance["shout"]["reason"] == "requested"
    assert any("history" in source for source in provenance["greet"]["sources"])
    assert payload["why"]["libcolor"] == "dependency of greet via 'libcolor >=1.0'"
    why = plus(tmp_path, built_channel, "why", "-p", str(prefix), "libcolor")
    assert why.returncode == 0, why.stderr
    assert why.stdout.splitlines()[0].startswith("greet: in history as greet")


def test_verbose_solve_prints_provenance(built_channel, tmp_path, engine_name):
    proc = run_conda(
        tmp_path, built_channel, "create", "-p", str(tmp_path / "env"), "shout", "-v", "--dry-run"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"Specs handed to the {engine_name} engine" in proc.stderr
    assert "libcolor-1.0-h0_0" in proc.stderr and "dependency of greet" in proc.stderr


class _ActiveExcludeNewerPolicy:
    """conda's ``Solver.exclude_newer_policy`` where conda has exclude-newer (its main
    branch: an active policy and the "now" cutoffs are resolved against). Released conda,
    26.7.1 included, has no exclude-newer settings at all, so the test sets what such a
    conda would: the policy on the solver and ``context.exclude_newer``."""

    active = True
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc).timestamp()


def test_conda_plus_explain_and_why_honour_exclude_newer(built_channel, tmp_path, monkeypatch):
    """Regression: ``conda plus explain``/``why`` looked the cutoff up under a name the
    adapter no longer had and silently solved without it. They now take their settings
    from the solver, as ``solve_final_state`` does (one pipeline)."""
    from conda.base.context import context, reset_context
    from conda.models.channel import Channel
    from conda.models.match_spec import MatchSpec

    from conda_solver_plus.conda import subcommands
    from conda_solver_plus.conda.solver import PlusSolver

    reset_context()
    # greet 2.0 is timestamped 2023-11-14, greet 1.0 2020-09-13 (tests/channels.py)
    monkeypatch.setattr(context, "exclude_newer", "2021-01-01", raising=False)

    def target_solver(specs: list[str]) -> PlusSolver:
        solver = PlusSolver(
            str(tmp_path / "env"),
            [Channel(built_channel.as_uri())],
            specs_to_add=[MatchSpec(spec) for spec in specs],
            command="install",
        )
        solver.exclude_newer_policy = _ActiveExcludeNewerPolicy()
        return solver

    monkeypatch.setattr(subcommands, "target_solver", target_solver)
    try:
        _sis, out, _backend = subcommands.solve_specs(["greet"])
        assert str(out.records["greet"].version) == "1.0"  # conda plus explain / why
        conda_records = target_solver(["greet"]).solve_final_state()
        assert {r.name: r.version for r in conda_records}["greet"] == "1.0"  # conda install
    finally:
        reset_context()
