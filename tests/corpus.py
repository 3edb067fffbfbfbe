"""
conda's solver test corpus (PyPI ``pytest-conda-solvers``), run through our core.

The package ships ~80 YAML cases ported from conda's own solver tests, plus the channel
data they use. Its pytest plugin imports conda, so we read it as *data*: the package is
located without being imported, its YAML parsed with PyYAML, and each case replayed the
way its harness does — channels written to disk, the prefix written as a real
``conda-meta/`` (records, history file), conda's configuration defaults applied — but
solved by :mod:`conda_solver_plus.core` instead of conda.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from conda_solver_plus.records import short_channel_name

ARCH = "linux-64"
#: conda's defaults for the settings the corpus varies (conda.base.context)
CONDA_DEFAULT_AGGRESSIVE = ("ca-certificates", "certifi", "openssl")
CONDA_DEFAULT_CHANNEL_PRIORITY = "flexible"
CONDA_DEFAULT_AUTO_UPDATE_CONDA = True


def package_root() -> Path | None:
    spec = importlib.util.find_spec("pytest_conda_solvers")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


#: tests that read conda's solver-test channels (the pytest-conda-solvers package's data)
needs_corpus_channels = pytest.mark.skipif(
    package_root() is None,
    reason="pytest-conda-solvers (conda's solver-test channels) is not installed",
)


def as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


@dataclass
class Case:
    file: str
    id: str
    name: str
    kind: str
    data: dict[str, Any]
    solvers: list[str] = field(default_factory=list)

    @property
    def input(self) -> dict[str, Any]:
        return self.data.get("input") or {}

    def applicable_to(self, solver: str = "libmamba") -> bool:
        return not self.solvers or solver in self.solvers


def load_cases(root: Path) -> list[Case]:
    cases = []
    for path in sorted((root / "conda-solver-tests").glob("*.yaml")):
        module = yaml.safe_load(path.read_text(encoding="utf-8"))
        for item in module["tests"]:
            cases.append(
                Case(
                    file=path.name,
                    id=item["id"],
                    name=item["name"],
                    kind=item["kind"],
                    data=item,
                    solvers=as_list(item.get("solvers")),
                )
            )
    return cases


def write_channels(root: Path, target: Path) -> dict[str, Path]:
    """Lay the corpus channels out as real channel directories under ``target``."""
    data = root / "data"
    channels: dict[str, Path] = {}
    for source in sorted(data.glob("channel-*_non-noarch.json")):
        name = source.name.split("_", 1)[0]
        for subdir, filename in (
            (ARCH, f"{name}_non-noarch.json"),
            ("noarch", f"{name}_noarch.json"),
        ):
            packages = (
                json.loads((data / filename).read_text()) if (data / filename).exists() else {}
            )
            out = target / name / subdir
            out.mkdir(parents=True, exist_ok=True)
            (out / "repodata.json").write_text(
                json.dumps({"info": {"subdir": subdir}, "packages": packages})
            )
        channels[name] = target / name
    formatted = data / "conda_format_repo"
    if formatted.is_dir():
        shutil.copytree(formatted, target / "conda_format_repo", dirs_exist_ok=True)
        channels["conda_format_repo"] = target / "conda_format_repo"
    return channels


def parse_dist(dist: str) -> tuple[str, str, str]:
    """``channel-1/${{ arch }}::numpy-1.7.1-py27_0`` -> (channel, subdir, name-version-build)."""
    dist = dist.replace("${{ arch }}", ARCH)
    location, _, nvb = dist.partition("::")
    channel, _, subdir = location.rpartition("/")
    return channel, subdir, nvb


def write_prefix(
    prefix: Path, dists: list[str], history: list[str], channels: dict[str, Path]
) -> None:
    """A real ``conda-meta`` for the case's installed packages and history specs."""
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True, exist_ok=True)
    for dist in dists:
        channel, subdir, nvb = parse_dist(dist)
        repodata = json.loads((channels[channel] / subdir / "repodata.json").read_text())
        packages = {**repodata.get("packages", {}), **repodata.get("packages.conda", {})}
        fn = f"{nvb}.tar.bz2"
        record = dict(packages[fn])
        base = channels[channel].as_uri()
        record.update(
            fn=fn,
            url=f"{base}/{subdir}/{fn}",
            channel=f"{base}/{subdir}",
            subdir=record.get("subdir", subdir),
            files=[],
            paths_data={"paths": [], "paths_version": 1},
        )
        (meta / f"{nvb}.json").write_text(json.dumps(record))
    lines = ["==> 2000-01-01 00:00:00 <==", "# cmd: conda install (corpus fixture)"]
    lines += [f"+{parse_dist(d)[0]}::{parse_dist(d)[2]}" for d in dists]
    if history:
        lines.append(f"# update specs: {history!r}")
    (meta / "history").write_text("\n".join(lines) + "\n")


def record_dist(record) -> str:
    channel = short_channel_name(record.channel or "")
    return f"{channel}/{record.subdir}::{record.name.normalized}-{record.version}-{record.build}"


def expected_dists(values: Any) -> list[str]:
    return [d.replace("${{ arch }}", ARCH) for d in as_list(values)]


@dataclass
class Prepared:
    """A corpus case turned into core inputs."""

    specs: list[str]
    channels: list[Path]
    prefix: Path
    kwargs: dict[str, Any]
    env: dict[str, str]
    channel_priority: str
    add_pip: bool


def prepare(case: Case, channels: dict[str, Path], workdir: Path) -> Prepared:
    inp = case.input
    prefix = workdir / "prefix"
    dists = [str(d) for d in as_list(inp.get("prefix"))]
    history = [str(s) for s in as_list(inp.get("history_specs"))]
    if dists or history:
        write_prefix(prefix, dists, history, channels)
    aggressive = inp.get("aggressive_update_packages")
    if aggressive is None:
        aggressive_list = list(CONDA_DEFAULT_AGGRESSIVE)
    else:
        aggressive_list = [a for a in as_list(aggressive) if a]
    auto_update = inp.get("auto_update_conda")
    env = {}
    for key, var in (
        ("override_cuda", "CONDA_OVERRIDE_CUDA"),
        ("override_glibc", "CONDA_OVERRIDE_GLIBC"),
    ):
        if inp.get(key) is not None:
            env[var] = str(inp[key])
    kwargs = dict(
        command="install",
        update_modifier=inp.get("update_modifier"),
        deps_modifier=inp.get("deps_modifier"),
        pinned_packages=[str(p) for p in as_list(inp.get("pinned_packages"))],
        aggressive_update_packages=aggressive_list,
        auto_update_conda=CONDA_DEFAULT_AUTO_UPDATE_CONDA if auto_update is None else auto_update,
        is_root_prefix=bool(inp.get("set_sys_prefix")),
        ignore_pinned=bool(inp.get("ignore_pinned")),
        force_reinstall=bool(inp.get("force_reinstall")),
    )
    return Prepared(
        specs=[str(s) for s in as_list(inp.get("specs_to_add"))],
        channels=[channels[str(c)] for c in as_list(inp.get("channels"))],
        prefix=prefix,
        kwargs=kwargs,
        env=env,
        channel_priority=str(inp.get("channel_priority") or CONDA_DEFAULT_CHANNEL_PRIORITY),
        add_pip=bool(inp.get("add_pip")),
    )


def with_env(env: dict[str, str]):
    """Context manager setting environment variables for one case."""
    import contextlib

    @contextlib.contextmanager
    def manager():
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    return manager()
