"""``conda-solver-plus lock``: one lockfile for three platforms, on the shared conda-forge
records (``../shared/data/repodata/lockfile-union/conda-forge``: linux-64, osx-arm64 and
win-64 records of real pixi lockfiles, see its SOURCES.md).

Every platform of a lock must be what ``conda-solver-plus solve --subdir PLATFORM`` gives
with the same virtual packages, and what ``conda create --dry-run`` gives through real
conda with ``CONDA_SUBDIR`` and the same ``CONDA_OVERRIDE_*``; the virtual packages must be
conda-lock's own defaults (read from the installed conda-lock 4.0.3); the files must be
read by py-rattler (pixi.lock) and conda-lock (conda-lock.yml). Re-locking an unchanged
environment changes no byte; ``--update NAME`` moves NAME and what NAME's new record
excludes, nothing else; a platform that cannot be solved is reported by name with its
conflict while the others finish; progress shows one line per platform on a real terminal.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from rattler import LockFile, MatchSpec

from conda_solver_plus.cli import main
from conda_solver_plus.lockfile import read_lockfile
from conda_solver_plus.virtual import CONDA_LOCK_VIRTUAL_PACKAGES

from .engines import plus_conda_env, require_module

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "repodata"
CONDA_FORGE = SHARED / "lockfile-union" / "conda-forge"
pytestmark = pytest.mark.skipif(
    not CONDA_FORGE.is_dir(), reason=f"shared channel data not found at {CONDA_FORGE}"
)
ROOT = Path(__file__).resolve().parents[1]
PLATFORMS = ("linux-64", "osx-arm64", "win-64")
SPECS = ("python=3.11", "numpy", "scipy", "pandas", "pip")
#: what conda's __archspec override takes for each platform (conda-lock's build string)
ARCHSPEC = {p: CONDA_LOCK_VIRTUAL_PACKAGES[p]["__archspec"].split()[1] for p in PLATFORMS}


def environment_yml(path: Path, specs=SPECS, platforms=PLATFORMS) -> Path:
    lines = ["name: science", "channels:", f"  - {CONDA_FORGE.as_uri()}", "dependencies:"]
    lines += [f"  - {spec}" for spec in specs]
    lines += ["  - pip:", "      - requests", "platforms:"]
    lines += [f"  - {platform}" for platform in platforms]
    path.write_text("\n".join(lines) + "\n")
    return path


def lock(tmp_path: Path, cache: Path, engine: str, *args: str, cwd: Path | None = None):
    """``conda-solver-plus lock ARGS`` in a subprocess: (exit code, stdout, stderr)."""
    command = [sys.executable, "-m", "conda_solver_plus", "lock", "--backend", engine]
    command += ["--cache-dir", str(cache), *args]
    proc = subprocess.run(
        command, capture_output=True, text=True, cwd=cwd or tmp_path, timeout=300
    )
    return proc.returncode, proc.stdout, proc.stderr


def package_sets(path: Path) -> dict[str, set[tuple[str, str, str]]]:
    """platform -> (name, version, build) of every package a lockfile locks."""
    return {
        platform: {
            (r.name.normalized, str(r.version), str(r.build))
            for r in read_lockfile(path, platform=platform).records
        }
        for platform in PLATFORMS
    }


def virtual_flags(platform: str) -> list[str]:
    """``--virtual`` flags for exactly conda-lock's virtual packages of ``platform``."""
    flags = []
    for name in ("__unix", "__linux", "__glibc", "__osx", "__win", "__cuda", "__archspec"):
        value = CONDA_LOCK_VIRTUAL_PACKAGES[platform].get(name)
        flags += ["--virtual", f"{name}=" + ("=".join(value.split()) if value else "")]
    return flags


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("plus-cache")


@pytest.fixture(scope="module")
def locked(tmp_path_factory, cache) -> dict[str, tuple[Path, str]]:
    """Per engine, the environment locked into conda-lock.yml and pixi.lock (one lock
    run each), and the stderr of the conda-lock run."""
    results = {}
    for engine in ("libmamba", "rattler"):
        work = tmp_path_factory.mktemp(f"lock-{engine}")
        env = environment_yml(work / "environment.yml")
        code, out, err = lock(work, cache, engine, "-f", str(env))
        assert code == 0, err
        assert (work / "conda-lock.yml").is_file(), out
        code, _, err2 = lock(work, cache, engine, "-f", str(env), "--lockfile", "pixi.lock")
        assert code == 0, err2
        results[engine] = (work, err)
    return results


def test_the_defaults_are_conda_locks_own():
    """The virtual packages ``lock`` assumes are those of conda-lock 4.0.3's
    ``default-virtual-packages.yaml`` (read from the installed package)."""
    import yaml

    conda_lock = require_module("conda_lock", "conda-lock's defaults are read from it")
    spec = Path(conda_lock.__file__).parent / "default-virtual-packages.yaml"
    data = yaml.safe_load(spec.read_text())
    expected = {
        platform: {name: str(value) for name, value in entry["packages"].items()}
        for platform, entry in data["subdirs"].items()
    }
    assert expected == CONDA_LOCK_VIRTUAL_PACKAGES


def test_each_platform_is_what_solve_gives_for_it(locked, engine_name, cache, capsys):
    """Three platforms in one file, each the standalone ``solve --subdir`` answer with the
    same virtual packages; pixi.lock and conda-lock.yml hold the same sets; the ``pip:``
    requirement is left out with one line saying so."""
    work, err = locked[engine_name]
    assert "1 pip requirement(s)" in err and "requests" in err
    sets = package_sets(work / "conda-lock.yml")
    assert sets == package_sets(work / "pixi.lock")
    LockFile.from_path(work / "pixi.lock")  # py-rattler reads pixi's format
    for platform in PLATFORMS:
        argv = ["solve", "--json", "--backend", engine_name, "--subdir", platform]
        argv += ["--override-channels", "-c", CONDA_FORGE.as_uri(), "--cache-dir", str(cache)]
        assert main([*argv, *virtual_flags(platform), *SPECS]) == 0
        answer = json.loads(capsys.readouterr().out)
        expected = {(r["name"], r["version"], r["build"]) for r in answer["records"]}
        assert sets[platform] == expected, platform
        assert all(r["subdir"] in (platform, "noarch") for r in answer["records"])
    assert len({frozenset(s) for s in sets.values()}) == 3  # three different platforms


def test_each_platform_is_what_conda_create_gives_through_conda(locked, engine_name, tmp_path):
    """``conda create --dry-run`` with ``CONDA_SUBDIR`` and conda-lock's virtual packages as
    ``CONDA_OVERRIDE_*``, solved by plus through real conda, links each platform's set."""
    require_module("conda", "the platforms are solved through real conda")
    work, _ = locked[engine_name]
    sets = package_sets(work / "conda-lock.yml")
    for platform in PLATFORMS:
        assumed = CONDA_LOCK_VIRTUAL_PACKAGES[platform]
        overrides = {
            "CONDA_OVERRIDE_GLIBC": assumed.get("__glibc", ""),
            "CONDA_OVERRIDE_CUDA": assumed.get("__cuda", ""),
            "CONDA_OVERRIDE_OSX": assumed.get("__osx", ""),
            "CONDA_OVERRIDE_LINUX": assumed.get("__linux", ""),
            "CONDA_OVERRIDE_ARCHSPEC": ARCHSPEC[platform],
        }
        env = {**plus_conda_env(tmp_path, engine_name, **overrides), "CONDA_SUBDIR": platform}
        command = [sys.executable, "-m", "conda", "create", "-p", str(tmp_path / platform)]
        command += ["--dry-run", "--json", "--solver=plus", "--override-channels"]
        command += ["-c", CONDA_FORGE.as_uri(), *SPECS]
        proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        linked = json.loads(proc.stdout)["actions"]["LINK"]
        assert {(p["name"], p["version"], p["build_string"]) for p in linked} == sets[platform]


def test_conda_lock_reads_the_lockfile(locked, tmp_path):
    """conda-lock 4.0.3 renders plus's conda-lock.yml into explicit files with the very
    URLs plus locked, per platform."""
    require_module("conda_lock", "conda-lock must read the file")
    work, _ = locked["rattler"]
    conda_lock = Path(sys.executable).with_name("conda-lock")
    platforms = [flag for platform in PLATFORMS for flag in ("-p", platform)]
    proc = subprocess.run(
        [str(conda_lock), "render", "--kind", "explicit", *platforms,
         "--filename-template", str(tmp_path / "render-{platform}.txt"),
         str(work / "conda-lock.yml")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for platform in PLATFORMS:
        rendered = (tmp_path / f"render-{platform}.txt").read_text().splitlines()
        urls = {line.split("#")[0] for line in rendered if line.startswith("file:")}
        ours = {r.url for r in read_lockfile(work / "conda-lock.yml", platform=platform).records}
        assert urls == ours and urls


def fits(record, others) -> bool:
    """Whether ``record`` could stay beside ``others``: every depends/constrains of theirs
    naming it matches it, and its own match them."""
    name = record.name.normalized
    by_name = {other.name.normalized: other for other in others}
    for other in others:
        for text in [*other.depends, *other.constrains]:
            spec = MatchSpec(text, strict=False)
            named = spec.name is not None and spec.name.normalized == name
            if named and not spec.matches(record):
                return False
    for text in [*record.depends, *record.constrains]:
        spec = MatchSpec(text, strict=False)
        target = by_name.get(spec.name.normalized) if spec.name is not None else None
        if target is not None and target.name.normalized != name and not spec.matches(target):
            return False
    return True


#: the format each engine's re-lock test writes (both formats, without doubling the runs)
RELOCK_FORMAT = {"libmamba": "conda-lock.yml", "rattler": "pixi.lock"}


def test_relock_keeps_what_still_fits_and_update_moves_only_what_it_must(
    engine_name, cache, tmp_path
):
    """An environment locked a year earlier (``--exclude-newer``): re-locking it today
    changes no byte of the file; ``--update openssl`` moves openssl to a newer version on
    every platform, and every other change is forced: the kept record no longer fits the
    new records' depends and constrains (the records completed from the channel), or the
    package is new."""
    from conda_solver_plus.repodata.gateway import load_index

    env = environment_yml(tmp_path / "environment.yml")
    path = tmp_path / RELOCK_FORMAT[engine_name]
    args = ["-f", str(env), "--lockfile", path.name]
    code, _, err = lock(tmp_path, cache, engine_name, *args, "--exclude-newer", "2025-01-01")
    assert code == 0, err
    before = path.read_bytes()
    code, _, err = lock(tmp_path, cache, engine_name, *args)
    assert code == 0, err
    assert path.read_bytes() == before, f"{path.name} changed on re-lock"

    def records(platform: str) -> dict:
        index = load_index([CONDA_FORGE.as_uri()], [platform], cache_dir=cache)
        return read_lockfile(path, platform=platform, index=index).by_name()

    previous = {platform: records(platform) for platform in PLATFORMS}
    code, _, err = lock(tmp_path, cache, engine_name, *args, "--update", "openssl")
    assert code == 0, err
    for platform in PLATFORMS:
        now, then = records(platform), previous[platform]
        assert now["openssl"].version > then["openssl"].version, platform
        moved = [
            name
            for name, record in now.items()
            if name != "openssl" and name in then and then[name].url != record.url
        ]
        unforced = [name for name in moved if fits(then[name], now.values())]
        assert not unforced, f"{platform}: moved without being forced: {unforced}"
        assert set(then) <= set(now), f"{platform}: dropped {set(then) - set(now)}"
    # pandas leaves the file: it goes, with what only it needed; nothing else changes
    before = {platform: read_lockfile(path, platform=platform).by_name() for platform in PLATFORMS}
    env = environment_yml(env, specs=tuple(s for s in SPECS if s != "pandas"))
    code, _, err = lock(tmp_path, cache, engine_name, *args)
    assert code == 0, err
    for platform in PLATFORMS:
        now, then = read_lockfile(path, platform=platform).by_name(), before[platform]
        assert "pandas" in then and "pandas" not in now and set(now) < set(then), platform
        assert all(now[name].url == then[name].url for name in now), platform
        for gone in set(then) - set(now):  # nothing that stays needs what went
            assert all(gone not in {d.split()[0] for d in r.depends} for r in now.values())


def test_a_failing_platform_is_named_with_its_conflict_and_the_others_finish(
    cache, engine_name, tmp_path
):
    """python 3.12 with matplotlib has no solution on this data for osx-arm64 and win-64
    (their records stop at older builds) but has one on linux-64: exit 1, each failing
    platform named with the engine's conflict, linux-64 solved, no lockfile written."""
    env = environment_yml(
        tmp_path / "environment.yml",
        specs=("python=3.12", "numpy", "scipy", "pandas", "matplotlib"),
    )
    code, out, err = lock(tmp_path, cache, engine_name, "-f", str(env), "--json")
    assert code == 1, err
    report = json.loads(out)["platforms"]
    assert report["linux-64"]["packages"] > 0
    failed = {p for p, outcome in report.items() if "error" in outcome}
    assert failed and "linux-64" not in failed
    for platform in failed:
        assert report[platform]["error"]["type"] == "Unsatisfiable"
        assert "python" in report[platform]["error"]["message"]
    assert not (tmp_path / "conda-lock.yml").exists()
    code, out, err = lock(tmp_path, cache, engine_name, "-f", str(env))
    assert code == 1
    for platform in failed:
        assert f"{platform}: cannot be locked" in err
    assert "no lockfile written" in err and "linux-64: cannot" not in err


def test_explicit_files_one_per_platform_and_virtual_overrides(
    cache, engine_name, tmp_path, capsys
):
    """``{platform}`` in the name gives one @EXPLICIT file per platform;
    ``--virtual PLATFORM:NAME=VERSION`` changes that platform's solve as ``solve
    --virtual`` does; bad input is one line, exit 2."""
    env = environment_yml(tmp_path / "environment.yml")
    code, _, err = lock(
        tmp_path, cache, engine_name, "-f", str(env), "--lockfile", "explicit-{platform}.txt",
        "--virtual", "linux-64:__glibc=2.17", "-p", "linux-64", "-p", "win-64",
    )  # fmt: skip
    assert code == 0, err
    linux = read_lockfile(tmp_path / "explicit-linux-64.txt")
    assert linux.platform == "linux-64"
    assert read_lockfile(tmp_path / "explicit-win-64.txt").platform == "win-64"
    flags = virtual_flags("linux-64")
    flags[flags.index("__glibc=2.28")] = "__glibc=2.17"
    argv = ["solve", "--json", "--backend", engine_name, "--subdir", "linux-64", *flags]
    argv += ["--override-channels", "-c", CONDA_FORGE.as_uri(), "--cache-dir", str(cache)]
    assert main([*argv, *SPECS]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert {r.url for r in linux.records} == {r["url"] for r in answer["records"]}
    for args, source in (
        (["-p", "linux-64", "-p", "win-64", "--lockfile", "env.txt"], "env.txt"),
        (["-p", "linux-65"], "linux-65"),
        (["--virtual-package-spec", str(env)], "environment.yml"),
    ):
        code, _, err = lock(tmp_path, cache, engine_name, "-f", str(env), *args)
        assert code == 2 and err.count("\n") == 1 and source in err, err
    (tmp_path / "broken.yml").write_text("dependencies: [python\n")
    code, _, err = lock(tmp_path, cache, engine_name, "-f", "broken.yml")
    assert code == 2 and "broken.yml" in err and "Traceback" not in err


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_a_terminal_shows_one_line_per_platform(cache, tmp_path):
    """In a real terminal (tmux), each platform has its line while the solves run and
    its outcome after."""
    env = environment_yml(tmp_path / "environment.yml")
    session = f"csp-lock-{uuid.uuid4().hex[:8]}"
    done = tmp_path / "done"
    command = (
        f"{sys.executable} -m conda_solver_plus lock --backend rattler --cache-dir {cache} "
        f"-f {env} --jobs 1; echo exit=$? > {done}; sleep 30"
    )
    home = os.environ.get("HOME", str(tmp_path))
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "40",
         "env", f"HOME={home}", "TERM=xterm", "sh", "-c", f"cd {tmp_path} && {command}"],
        check=True,
    )  # fmt: skip
    screens = []
    try:
        deadline = time.monotonic() + 120
        while not done.exists() and time.monotonic() < deadline:
            capture = ["tmux", "capture-pane", "-p", "-t", session]
            screens.append(subprocess.run(capture, capture_output=True, text=True).stdout)
            time.sleep(0.1)
        final = subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True
        ).stdout
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False)
    assert done.read_text().strip() == "exit=0", final
    during = [s for s in screens if "solving (" in s]
    assert during, screens[-1] if screens else "no screen"
    # one platform solving while another waits (--jobs 1): each has its own line
    assert any("waiting" in s for s in during), during[-1]
    for platform in PLATFORMS:
        assert any(line.startswith(platform) for line in final.splitlines()), final
        assert f"{platform}: " in final and "packages" in final
    assert "wrote conda-lock.yml" in final


def test_platforms_fetch_into_one_cache_side_by_side(locked, engine_name, tmp_path):
    """The channel served over HTTP on loopback and an empty cache: the three platforms'
    solves fetch their repodata into the one cache at once (noarch by all of them); the
    lock equals the file:// one, and a second lock ``--offline`` reads every platform
    from that cache alone and writes the same file."""
    from .channels import serve_channel

    cache = tmp_path / "cache"
    env = tmp_path / "environment.yml"
    with serve_channel(CONDA_FORGE.parent) as served:
        url = f"{served.url}/conda-forge"
        lines = environment_yml(env).read_text().replace(CONDA_FORGE.as_uri(), url)
        env.write_text(lines)
        code, _, err = lock(tmp_path, cache, engine_name, "-f", str(env), "--jobs", "3")
        assert code == 0, err
        fetched = [path for path, status in served.requests if status == 200]
    assert sum("noarch/repodata.json" in path for path in fetched) >= 1
    first = (tmp_path / "conda-lock.yml").read_bytes()
    work, _ = locked[engine_name]
    assert package_sets(tmp_path / "conda-lock.yml") == package_sets(work / "conda-lock.yml")
    (tmp_path / "conda-lock.yml").unlink()
    code, _, err = lock(tmp_path, cache, engine_name, "-f", str(env), "--offline")
    assert code == 0, err
    assert (tmp_path / "conda-lock.yml").read_bytes() == first


def test_the_strategy_of_the_solves_is_the_lockfiles(cache, tmp_path, monkeypatch):
    """A strategy from the environment (not only ``--strategy``) is what the platforms
    are solved with, and the lockfile records it."""
    monkeypatch.setenv("CONDA_SOLVER_PLUS_STRATEGY", "lowest-direct")
    env = environment_yml(tmp_path / "environment.yml")
    code, _, err = lock(tmp_path, cache, "rattler", "-f", str(env), "-p", "linux-64")
    assert code == 0, err
    assert read_lockfile(tmp_path / "conda-lock.yml").strategy == "lowest-direct"
