"""conda's configuration read without conda (:mod:`conda_solver_plus.condarc`), checked
against conda itself: the same files and variables must give what conda's ``context``
reads (conda is installed in the development environment; the comparison is skipped
without it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conda_solver_plus.condarc import CONDA_DEFAULT, load_config, search_path
from conda_solver_plus.exceptions import InvalidInputError
from tests.engines import require_module


def environ(home: Path, **extra: str) -> dict[str, str]:
    return {"HOME": str(home), **extra}


def test_no_file_gives_condas_defaults(tmp_path):
    config = load_config(environ(tmp_path))
    assert config.channel_priority.value == "flexible"
    assert config.channel_priority.source == CONDA_DEFAULT
    assert config.add_pip_as_python_dependency.value is True
    assert config.channels.value == ()
    assert config.pinned_packages.value == ()
    assert config.exclude_newer.value is None
    assert config.files == ()


def test_user_condarc_is_read_with_its_source(tmp_path):
    (tmp_path / ".condarc").write_text(
        "channels: [conda-forge, bioconda]\n"
        "channel_priority: strict\n"
        "add_pip_as_python_dependency: false\n"
        "pinned_packages: ['python 3.12.*']\n"
        "exclude_newer: 2025-01-01\n"
        "plus_backend: rattler\n"
    )
    config = load_config(environ(tmp_path))
    assert config.channels.value == ("conda-forge", "bioconda")
    assert config.channel_priority.value == "strict"
    assert config.channel_priority.describe() == "strict, from ~/.condarc"
    assert config.add_pip_as_python_dependency.value is False
    assert config.pinned_packages.value == ("python 3.12.*",)
    assert str(config.exclude_newer.value) == "2025-01-01"
    assert config.raw["plus_backend"] == "rattler"


def test_later_files_and_variables_win_and_lists_merge(tmp_path):
    (tmp_path / ".config" / "conda").mkdir(parents=True)
    (tmp_path / ".config" / "conda" / ".condarc").write_text(
        "channels: [defaults]\nchannel_priority: disabled\n"
    )
    (tmp_path / ".condarc").write_text("channels: [conda-forge]\nchannel_priority: strict\n")
    condarc_d = tmp_path / "prefix" / "condarc.d"
    condarc_d.mkdir(parents=True)
    (condarc_d / "b.yml").write_text("pinned_packages: [numpy<2]\n")
    (condarc_d / "ignored.txt").write_text("pinned_packages: [zlib]\n")
    env = environ(tmp_path, CONDA_PREFIX=str(tmp_path / "prefix"))
    config = load_config(env)
    # conda: the entries of later files first, duplicates dropped
    assert config.channels.value == ("conda-forge", "defaults")
    assert config.channel_priority.value == "strict"
    assert config.pinned_packages.value == ("numpy<2",)
    assert [p.name for p in config.files] == [".condarc", ".condarc", "b.yml"]

    env["CONDA_CHANNEL_PRIORITY"] = "flexible"
    env["CONDA_PINNED_PACKAGES"] = "python=3.11&zlib"
    config = load_config(env)
    assert config.channel_priority.describe() == "flexible, from CONDA_CHANNEL_PRIORITY"
    assert config.pinned_packages.value == ("python=3.11", "zlib", "numpy<2")


def test_condarc_variable_and_unset_variables(tmp_path):
    custom = tmp_path / "custom.yml"
    custom.write_text("add_pip_as_python_dependency: no\n")
    assert search_path(environ(tmp_path, CONDARC=str(custom))) == [custom]
    assert (
        load_config(environ(tmp_path, CONDARC=str(custom))).add_pip_as_python_dependency.value
        is False
    )
    # an unset XDG_CONFIG_HOME finds nothing (conda reads "$XDG_CONFIG_HOME" literally)
    assert search_path(environ(tmp_path, XDG_CONFIG_HOME="")) == []


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("channel_priority: sometimes\n", "unknown channel priority"),
        ("add_pip_as_python_dependency: maybe\n", "not a boolean"),
        ("channels: conda-forge: x\n", "not valid YAML"),
        ("- a list\n", "expected a mapping"),
        ("channels: {a: b}\n", "expected a list"),
    ],
)
def test_bad_configuration_names_the_file(tmp_path, text, needle):
    (tmp_path / ".condarc").write_text(text)
    with pytest.raises(InvalidInputError, match=needle) as info:
        load_config(environ(tmp_path))
    assert ".condarc" in str(info.value)


@pytest.mark.parametrize("text", ["channels: /tmp/a-channel\n", "pinned_packages: a_pkg<1\n"])
def test_a_scalar_where_conda_wants_a_list_is_refused_as_conda_refuses_it(tmp_path, text):
    """conda raises ``InvalidTypeError`` ("has type str. Valid types: tuple") for a scalar
    ``channels`` or ``pinned_packages``; plus read it as a one-entry list and applied it
    (issue 22), so the CLI solved with a channel or pin that conda would never use."""
    (tmp_path / ".condarc").write_text(text)
    key = text.split(":")[0]
    with pytest.raises(InvalidInputError, match="expected a list") as info:
        load_config(environ(tmp_path))
    assert ".condarc" in str(info.value) and key in str(info.value)
    require_module("conda", "conda's own reading of the same file")
    conda = subprocess.run(
        [sys.executable, "-m", "conda", "config", "--show", key],
        env=environ(tmp_path, PATH="/usr/bin:/bin"),
        capture_output=True,
        text=True,
    )
    assert conda.returncode != 0
    assert "InvalidTypeError" in conda.stdout + conda.stderr


def test_old_boolean_channel_priority(tmp_path):
    (tmp_path / ".condarc").write_text("channel_priority: false\n")
    assert load_config(environ(tmp_path)).channel_priority.value == "disabled"


def test_agrees_with_condas_context(tmp_path):
    """The same files and variables read by conda's own ``context``."""
    pytest.importorskip("conda")
    (tmp_path / ".condarc").write_text(
        "channels: [conda-forge]\nchannel_priority: strict\npinned_packages: [numpy<2]\n"
    )
    (tmp_path / ".config" / "conda").mkdir(parents=True)
    (tmp_path / ".config" / "conda" / "condarc").write_text(
        "channels: [bioconda]\nadd_pip_as_python_dependency: false\n"
    )
    env = environ(tmp_path, CONDA_PINNED_PACKAGES="zlib", PATH="/usr/bin:/bin")
    script = (
        "import json; from conda.base.context import context, reset_context; reset_context(); "
        "print(json.dumps({'priority': str(context.channel_priority.value), "
        "'pip': context.add_pip_as_python_dependency, "
        "'channels': list(context.channels), 'pins': list(context.pinned_packages)}))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    conda = json.loads(proc.stdout)
    ours = load_config(env)
    assert ours.channel_priority.value == conda["priority"]
    assert ours.add_pip_as_python_dependency.value == conda["pip"]
    assert list(ours.channels.value) == conda["channels"]
    assert list(ours.pinned_packages.value) == conda["pins"]
