"""Unit tests for :mod:`conda_solver_plus.state`: the tracked maps and the solver's input and
output state, built from real prefixes on disk."""

from __future__ import annotations

import enum
import json
from pathlib import Path

import pytest
from rattler import MatchSpec

from conda_solver_plus.exceptions import InvalidInputError, PackagesNotFoundError
from conda_solver_plus.records import record_from_dict
from conda_solver_plus.state import (
    Change,
    DepsModifier,
    SolverInputState,
    SolverOutputState,
    TrackedMap,
    UpdateModifier,
)

CF = "https://conda.anaconda.org/conda-forge"


# -- TrackedMap -----------------------------------------------------------------------------


def test_trackedmap_set_update_pop_clear_log():
    pins = TrackedMap("pins")
    pins.set("python", "3.11.*", reason="conda-meta/pinned:1")
    pins.set("python", "3.12.*", reason="pinned_packages setting")
    pins.set("numpy", "<2", reason="conda-meta/pinned:2")
    assert pins.pop("python", reason="--ignore-pinned") == "3.12.*"
    pins.clear(reason="new attempt")
    assert pins.log == [
        Change("set", "python", None, "3.11.*", "conda-meta/pinned:1"),
        Change("update", "python", "3.11.*", "3.12.*", "pinned_packages setting"),
        Change("set", "numpy", None, "<2", "conda-meta/pinned:2"),
        Change("pop", "python", "3.12.*", None, "--ignore-pinned"),
        Change("pop", "numpy", "<2", None, "new attempt"),
    ]
    assert len(pins) == 0


def test_trackedmap_overwrite_false_keeps_value_and_logs_kept():
    specs = TrackedMap("specs")
    specs.set("numpy", "numpy >=1.26", reason="requested")
    specs.set("numpy", "numpy", reason="--update-all", overwrite=False)
    specs.set("pip", "pip", reason="--update-all", overwrite=False)
    assert specs["numpy"] == "numpy >=1.26"
    assert specs["pip"] == "pip"
    assert specs.log[1] == Change("kept", "numpy", "numpy >=1.26", "numpy", "--update-all")
    assert specs.log[2] == Change("set", "pip", None, "pip", "--update-all")
    # "kept" explains what was not applied but is not a reason for the current value
    assert specs.reason("numpy") == "requested"
    assert specs.reasons("numpy") == ["requested"]
    assert [c.action for c in specs.history_of("numpy")] == ["set", "kept"]


def test_trackedmap_update_with_reason_and_overwrite():
    m = TrackedMap("m")
    m.update({"python": "3.11"}, reason="history")
    m.update([("python", "3.12"), ("pip", "24")], reason="requested", overwrite=False)
    m.update(openssl="3.3", reason="pins")
    assert dict(m) == {"python": "3.11", "pip": "24", "openssl": "3.3"}
    assert [(c.action, c.key, c.reason) for c in m.log] == [
        ("set", "python", "history"),
        ("kept", "python", "requested"),
        ("set", "pip", "requested"),
        ("set", "openssl", "pins"),
    ]


def test_trackedmap_update_without_reason_is_unspecified():
    m = TrackedMap("m")
    m.update({"python": "3.11"})
    assert m.reason("python") == "unspecified"


def test_trackedmap_initial_data_reason():
    m = TrackedMap("installed", {"python": 1, "pip": 2}, reason="conda-meta")
    assert m.name == "installed"
    assert m.reasons("python") == ["conda-meta"]
    assert m.reason("pip") == "conda-meta"
    assert TrackedMap("empty", {}).log == []
    assert TrackedMap("default", {"zlib": 0}).reason("zlib") == "initial"


def test_trackedmap_reason_reasons_history_of():
    m = TrackedMap("specs")
    assert m.reason("python") is None
    assert m.reasons("python") == []
    assert m.history_of("python") == []
    m.set("python", "python", reason="installed")
    m.set("numpy", "numpy", reason="requested")
    m.set("python", "python 3.11.*", reason="history")
    m.pop("python", reason="conflict")
    m.set("python", "python >=3.12", reason="requested")
    assert m.reason("python") == "requested"
    assert m.reasons("python") == ["installed", "history", "conflict", "requested"]
    assert [c.action for c in m.history_of("python")] == ["set", "update", "pop", "set"]
    assert m.history_of("numpy") == [Change("set", "numpy", None, "numpy", "requested")]


def test_trackedmap_reason_of_popped_key_is_none():
    m = TrackedMap("frozen")
    m.set("openssl", "3.3.1", reason="--freeze-installed")
    m.pop("openssl", reason="conflict")
    assert "openssl" not in m
    assert m.reason("openssl") is None
    assert m.reasons("openssl") == ["--freeze-installed", "conflict"]


def test_trackedmap_dict_behaviour():
    m = TrackedMap("m")
    m["python"] = "3.11"
    m["pip"] = "24.0"
    assert m.reason("python") == "unspecified"
    assert "python" in m and "numpy" not in m
    assert list(m) == ["python", "pip"]
    assert len(m) == 2
    assert m == {"python": "3.11", "pip": "24.0"}
    assert dict(m.items()) == {"python": "3.11", "pip": "24.0"}
    assert m.get("numpy") is None and m.get("pip") == "24.0"
    assert m.setdefault("openssl", "3.3") == "3.3"
    assert m.setdefault("python", "3.12") == "3.11"
    del m["pip"]
    assert m.log[-1] == Change("pop", "pip", "24.0", None, "unspecified")
    with pytest.raises(KeyError):
        del m["pip"]
    with pytest.raises(KeyError):
        m.pop("pip")
    with pytest.raises(KeyError):
        m["pip"]
    assert m.pop("pip", "gone") == "gone"
    assert m.popitem() == ("python", "3.11")
    assert repr(m) == "TrackedMap('m', {'openssl': '3.3'})"


def test_trackedmap_copy_is_independent():
    original = TrackedMap("specs")
    original.set("python", "3.11", reason="history")
    clone = original.copy()
    assert clone.name == "specs" and clone == original and clone.log == original.log
    clone.set("python", "3.12", reason="requested")
    clone.set("numpy", "1.26", reason="requested")
    original.pop("python", reason="conflict")
    assert dict(original) == {}
    assert dict(clone) == {"python": "3.12", "numpy": "1.26"}
    assert [c.action for c in original.log] == ["set", "pop"]
    assert [c.action for c in clone.log] == ["set", "update", "set"]
    assert original.reason("python") is None
    assert clone.reason("python") == "requested"


# -- a prefix on disk ---------------------------------------------------------------------------

HISTORY = """\
==> 2024-01-01 00:00:00 <==
# cmd: /opt/conda/bin/conda create -n demo python=3.11 numpy>=1.20
# conda version: 24.1.0
+conda-forge/linux-64::python-3.11.9-hb806964_0_cpython
+conda-forge/linux-64::numpy-1.26.4-py311h64a7726_0
# update specs: ['numpy>=1.20', 'python=3.11']
==> 2024-02-01 00:00:00 <==
# cmd: /opt/conda/bin/conda install scipy requests
# update specs: ['scipy', 'requests']
==> 2024-03-01 00:00:00 <==
# cmd: /opt/conda/bin/conda remove scipy
# remove specs: ['scipy']
==> 2024-04-01 00:00:00 <==
# cmd: /opt/conda/bin/conda install openssl>=3
# update specs: ['openssl>=3']
# neutered specs: ['numpy 1.26.*']
"""

PINNED = """\
# pins of the demo environment
python 3.11.*   # until our extensions support 3.12

openssl >=3,<4
"""

INSTALLED = {
    # name: (version, build, depends)
    "python": ("3.11.9", "hb806964_0_cpython", ["openssl >=3.3", "pip"]),
    "pip": ("24.0", "pyhd8ed1ab_0", ["python >=3.7"]),
    "numpy": ("1.26.4", "py311h64a7726_0", ["python >=3.11,<3.12"]),
    "scipy": ("1.13.1", "py311h517d4fd_0", ["numpy >=1.23", "python >=3.11,<3.12"]),
    "openssl": ("3.3.1", "h4ab18f5_1", []),
    "conda": ("24.7.1", "py311h38be061_0", ["python >=3.11,<3.12"]),
}


def write_record(prefix: Path, name: str, version: str, build: str, depends=()) -> None:
    fn = f"{name}-{version}-{build}.conda"
    data = {
        "name": name,
        "version": version,
        "build": build,
        "build_number": 0,
        "subdir": "linux-64",
        "channel": f"{CF}/linux-64",
        "fn": fn,
        "url": f"{CF}/linux-64/{fn}",
        "depends": list(depends),
        "files": [],
        "paths_data": {"paths": [], "paths_version": 1},
        "link": {"source": f"/opt/conda/pkgs/{name}-{version}-{build}", "type": 1},
        "requested_spec": "",
    }
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True, exist_ok=True)
    (meta / f"{name}-{version}-{build}.json").write_text(json.dumps(data))


@pytest.fixture
def prefix(tmp_path) -> Path:
    prefix = tmp_path / "envs" / "demo"
    for name, (version, build, depends) in INSTALLED.items():
        write_record(prefix, name, version, build, depends)
    (prefix / "conda-meta" / "history").write_text(HISTORY)
    (prefix / "conda-meta" / "pinned").write_text(PINNED)
    return prefix


def record(name, version, build="0", depends=()):
    return record_from_dict(
        {"name": name, "version": version, "build": build, "depends": list(depends)},
        source="test",
        channel=f"{CF}/linux-64",
        subdir="linux-64",
    )


def names(records):
    return [r.name.normalized for r in records]


def as_text(mapping):
    return {name: str(spec) for name, spec in mapping.items()}


# -- SolverInputState --------------------------------------------------------------------------


def test_input_state_installed(prefix):
    sis = SolverInputState(prefix)
    assert sis.prefix == prefix
    assert sis.prefix_exists is True
    assert sorted(sis.installed) == sorted(INSTALLED)
    for name, (version, build, depends) in INSTALLED.items():
        installed = sis.installed[name]
        assert (str(installed.version), str(installed.build)) == (version, build)
        assert installed.depends == depends
        assert sis.installed.reason(name) == f"{prefix}/conda-meta"


def test_input_state_history(prefix):
    sis = SolverInputState(prefix)
    history = prefix / "conda-meta" / "history"
    # scipy: removed; requests: never installed; numpy: neutered later
    assert as_text(sis.history) == {
        "python": "python 3.11.*",
        "numpy": "numpy 1.26.*",
        "openssl": "openssl >=3",
    }
    # the line each spec is written on (`# update specs`, `# neutered specs`)
    assert sis.history.reason("python") == f"{history}:6 (2024-01-01 00:00:00)"
    assert sis.history.reason("numpy") == f"{history}:16 (2024-04-01 00:00:00)"
    assert sis.history.reason("openssl") == f"{history}:15 (2024-04-01 00:00:00)"


def test_input_state_history_given_by_caller_only_for_installed(prefix):
    sis = SolverInputState(
        prefix, history={"numpy": "numpy <2", "pandas": MatchSpec("pandas"), "pip": "pip"}
    )
    assert as_text(sis.history) == {"numpy": "numpy <2", "pip": "pip"}
    assert sis.history.reason("numpy") == "history given by caller"


def test_input_state_installed_given_by_caller(prefix):
    given = {
        "zlib": record("zlib", "1.3.1", "h4ab18f5_1"),
        "python": record("python", "3.11.9", "hb806964_0_cpython"),
    }
    sis = SolverInputState(prefix, installed=given)
    assert sorted(sis.installed) == ["python", "zlib"]
    assert sis.installed.reason("zlib") == "given by caller"
    # history specs on disk for packages not in the given installed set are forgotten
    assert as_text(sis.history) == {"python": "python 3.11.*"}
    # pins still come from the prefix
    assert sorted(sis.pinned) == ["openssl", "python"]


def test_input_state_pins_from_file_and_setting(prefix):
    pinned = prefix / "conda-meta" / "pinned"
    sis = SolverInputState(prefix, pinned_packages=["numpy <2", "openssl 3.3.*"])
    assert as_text(sis.pinned) == {
        "python": "python 3.11.*",
        "openssl": "openssl 3.3.*",
        "numpy": "numpy <2",
    }
    assert sis.pinned.reason("python") == f"{pinned}:2"
    assert sis.pinned.reasons("openssl") == [f"{pinned}:4", "pinned_packages setting"]
    assert sis.pinned.reason("numpy") == "pinned_packages setting"


def test_input_state_pinned_source_names_the_setting(prefix):
    sis = SolverInputState(
        prefix, pinned_packages=[MatchSpec("numpy <2")], pinned_source="~/.condarc"
    )
    assert sis.pinned.reason("numpy") == "~/.condarc"


def test_input_state_ignore_pinned_drops_all_pins(prefix):
    sis = SolverInputState(prefix, pinned_packages=["numpy <2"], ignore_pinned=True)
    assert dict(sis.pinned) == {}
    assert sis.pinned.log == []


def test_input_state_requested(prefix):
    sis = SolverInputState(prefix, ["numpy>=1.5", "numpy<2", MatchSpec("scipy"), " pandas "])
    assert as_text(sis.requested) == {"numpy": "numpy <2", "scipy": "scipy", "pandas": "pandas"}
    assert [str(s) for s in sis.requested_specs] == ["numpy >=1.5", "numpy <2", "scipy", "pandas"]
    assert sis.requested.reasons("numpy") == ["requested on the command line"] * 2


def test_input_state_invalid_requested_spec(prefix):
    with pytest.raises(InvalidInputError) as info:
        SolverInputState(prefix, ["numpy >>=1.20"])
    assert info.value.source == "command line: spec 'numpy >>=1.20'"


def test_input_state_aggressive_updates_and_always_update(prefix):
    sis = SolverInputState(prefix, aggressive_update_packages=["openssl", "ca-certificates"])
    assert list(sis.aggressive_updates) == ["openssl", "ca-certificates"]
    assert sis.aggressive_updates.reason("openssl") == "aggressive_update_packages setting"
    always = sis.always_update
    # ca-certificates is not installed, so there is nothing to update
    assert as_text(always) == {"openssl": "openssl"}
    assert always.reason("openssl") == "aggressive_update_packages"


def test_always_update_update_all_excludes_pinned(prefix):
    sis = SolverInputState(
        prefix,
        update_modifier="update_all",
        aggressive_update_packages=["openssl"],
    )
    always = sis.always_update
    # python and openssl are pinned in conda-meta/pinned, so --update-all skips them; openssl
    # is still updated because it is an aggressive update
    assert sorted(always) == ["conda", "numpy", "openssl", "pip", "scipy"]
    assert always.reason("numpy") == "--update-all"
    assert always.reason("openssl") == "aggressive_update_packages"
    assert [c.action for c in always.history_of("openssl")] == ["set"]


def test_always_update_update_all_keeps_aggressive_reason(prefix):
    sis = SolverInputState(
        prefix, update_modifier="update_all", aggressive_update_packages=["pip"]
    )
    always = sis.always_update
    assert always.reason("pip") == "aggressive_update_packages"
    assert [c.action for c in always.history_of("pip")] == ["set", "kept"]


def test_always_update_update_all_without_pins(prefix):
    sis = SolverInputState(prefix, update_modifier=UpdateModifier.UPDATE_ALL, ignore_pinned=True)
    assert sorted(sis.always_update) == sorted(INSTALLED)


@pytest.mark.parametrize(
    ("auto_update_conda", "is_root_prefix", "conda_installed", "expected"),
    [
        (True, True, True, True),
        (True, False, True, False),
        (False, True, True, False),
        (True, True, False, False),
    ],
)
def test_always_update_auto_update_conda(
    prefix, auto_update_conda, is_root_prefix, conda_installed, expected
):
    if not conda_installed:
        (prefix / "conda-meta" / "conda-24.7.1-py311h38be061_0.json").unlink()
    sis = SolverInputState(
        prefix, auto_update_conda=auto_update_conda, is_root_prefix=is_root_prefix
    )
    always = sis.always_update
    assert ("conda" in always) is expected
    if expected:
        assert always.reason("conda") == "auto_update_conda in base"
        assert sis.do_not_remove == {"conda"}


class ForeignUpdateModifier(enum.Enum):
    """Stands in for ``conda.base.constants.UpdateModifier`` (same values, other class)."""

    FREEZE_INSTALLED = "freeze_installed"


@pytest.mark.parametrize(
    ("update_modifier", "expected"),
    [
        (None, UpdateModifier.UPDATE_SPECS),
        ("freeze_installed", UpdateModifier.FREEZE_INSTALLED),
        ("UPDATE_ALL", UpdateModifier.UPDATE_ALL),
        (UpdateModifier.UPDATE_DEPS, UpdateModifier.UPDATE_DEPS),
        (ForeignUpdateModifier.FREEZE_INSTALLED, UpdateModifier.FREEZE_INSTALLED),
        ("specs_satisfied_skip_solve", UpdateModifier.SPECS_SATISFIED_SKIP_SOLVE),
    ],
)
def test_update_modifier_strings_and_enums(update_modifier, expected):
    sis = SolverInputState(None, update_modifier=update_modifier)
    assert sis.update_modifier is expected


@pytest.mark.parametrize(
    ("deps_modifier", "expected"),
    [
        (None, DepsModifier.NOT_SET),
        ("no_deps", DepsModifier.NO_DEPS),
        ("ONLY_DEPS", DepsModifier.ONLY_DEPS),
        (DepsModifier.NOT_SET, DepsModifier.NOT_SET),
    ],
)
def test_deps_modifier_strings_and_enums(deps_modifier, expected):
    assert SolverInputState(None, deps_modifier=deps_modifier).deps_modifier is expected


def test_invalid_modifier_strings():
    with pytest.raises(InvalidInputError) as info:
        SolverInputState(None, update_modifier="update_everything")
    assert info.value.source == "UpdateModifier 'update_everything'"
    assert info.value.problem == "unknown value"
    assert "freeze_installed" in info.value.hint and "update_all" in info.value.hint
    with pytest.raises(InvalidInputError, match="DepsModifier 'no-deps'"):
        SolverInputState(None, deps_modifier="no-deps")


def test_input_state_without_prefix():
    sis = SolverInputState(None, ["python=3.12"], command="create")
    assert sis.prefix is None
    assert sis.prefix_exists is False
    assert dict(sis.installed) == {} and dict(sis.history) == {} and dict(sis.pinned) == {}
    assert sis.is_removing is False and sis.is_updating is False
    assert sis.summary()["requested"] == ["python 3.12.*"]


def test_input_state_missing_prefix(tmp_path):
    sis = SolverInputState(tmp_path / "envs" / "new", ["numpy"])
    assert sis.prefix_exists is False
    assert dict(sis.installed) == {}


def test_input_state_summary(prefix):
    sis = SolverInputState(prefix, ["scipy"], command="update", deps_modifier="only_deps")
    summary = sis.summary()
    assert summary["prefix"] == str(prefix)
    assert summary["command"] == "update"
    assert summary["installed"] == len(INSTALLED)
    assert summary["history"] == {
        "python": "python 3.11.*",
        "numpy": "numpy 1.26.*",
        "openssl": "openssl >=3",
    }
    assert summary["pinned"] == {"python": "python 3.11.*", "openssl": "openssl >=3,<4"}
    assert summary["update_modifier"] == "update_specs"
    assert summary["deps_modifier"] == "only_deps"
    assert sis.is_updating is True


# -- SolverOutputState --------------------------------------------------------------------------


def test_output_state_starts_from_installed(prefix):
    sis = SolverInputState(prefix, ["scipy<1.14"])
    out = SolverOutputState(sis)
    assert dict(out.records) == dict(sis.installed)
    assert out.records.reason("numpy") == "installed"
    assert as_text(out.for_history) == {"scipy": "scipy <1.14"}
    assert out.for_history.reason("scipy") == "requested"
    assert dict(out.specs) == {} and dict(out.neutered) == {} and out.attempts == 0
    # dependencies first; python never waits for pip
    assert names(out.current_solution) == ["openssl", "python", "conda", "numpy", "pip", "scipy"]
    # records are a copy: changing the output leaves the input alone
    out.records.pop("scipy", reason="test")
    assert "scipy" in sis.installed


def test_output_state_reset_request(prefix):
    out = SolverOutputState(SolverInputState(prefix))
    out.specs.set("numpy", MatchSpec("numpy"), reason="requested")
    out.constraints.set("python", MatchSpec("python 3.11.*"), reason="pinned")
    out.frozen.set("openssl", out.records["openssl"], reason="--freeze-installed")
    out.conflicts.set("numpy", MatchSpec("numpy"), reason="conflict")
    out.reset_request()
    assert (len(out.specs), len(out.constraints), len(out.frozen)) == (0, 0, 0)
    assert out.specs.history_of("numpy")[-1].reason == "new attempt"
    # learnt conflicts survive attempts
    assert list(out.conflicts) == ["numpy"]


def test_early_exit_remove_not_installed(prefix):
    sis = SolverInputState(prefix, ["pandas", "numpy"], command="remove")
    with pytest.raises(PackagesNotFoundError) as info:
        SolverOutputState(sis).early_exit()
    assert info.value.specs == ["pandas"]
    assert f"They are not installed in {prefix}" in str(info.value)


def test_early_exit_remove_wrong_version_is_not_installed(prefix):
    sis = SolverInputState(prefix, ["numpy>=2"], command="remove")
    with pytest.raises(PackagesNotFoundError) as info:
        SolverOutputState(sis).early_exit()
    assert info.value.specs == ["numpy >=2"]


def test_early_exit_remove_needs_the_engine(prefix):
    sis = SolverInputState(prefix, ["numpy"], command="remove")
    out = SolverOutputState(sis)
    assert out.early_exit() is None
    assert "numpy" in out.records


def test_early_exit_remove_force(prefix):
    sis = SolverInputState(prefix, ["numpy", "pip"], command="remove", force_remove=True)
    out = SolverOutputState(sis)
    result = out.early_exit()
    # only the named packages go, their dependents (scipy) stay
    assert names(result) == ["openssl", "python", "conda", "scipy"]
    assert sorted(out.records) == ["conda", "openssl", "python", "scipy"]
    assert out.records.reasons("numpy") == ["installed", "remove --force numpy"]
    assert out.records.reasons("pip") == ["installed", "remove --force pip"]
    assert sorted(sis.installed) == sorted(INSTALLED)


def test_early_exit_specs_satisfied_skip_solve(prefix):
    sis = SolverInputState(
        prefix, ["numpy>=1.26", "python=3.11"], update_modifier="specs_satisfied_skip_solve"
    )
    result = SolverOutputState(sis).early_exit()
    assert result is not None
    assert names(result) == ["openssl", "python", "conda", "numpy", "pip", "scipy"]
    assert {r.name.normalized: str(r.version) for r in result} == {
        name: version for name, (version, _, _) in INSTALLED.items()
    }


@pytest.mark.parametrize("requested", [["numpy>=2"], ["numpy", "pandas"]])
def test_early_exit_specs_satisfied_skip_solve_needs_a_solve(prefix, requested):
    sis = SolverInputState(prefix, requested, update_modifier="specs_satisfied_skip_solve")
    assert SolverOutputState(sis).early_exit() is None


def test_early_exit_install_needs_the_engine(prefix):
    # the same request without specs_satisfied_skip_solve is solved
    sis = SolverInputState(prefix, ["numpy>=1.26"])
    assert SolverOutputState(sis).early_exit() is None


def test_neuter_history(prefix):
    sis = SolverInputState(prefix, ["scipy"])
    out = SolverOutputState(sis)
    # the solve moved python to 3.12 and numpy to 2.0 (against the history specs)
    out.records.set("python", record("python", "3.12.4", "h194c7f8_0"), reason="solved")
    out.records.set("numpy", record("numpy", "2.0.0", "py312h22e1c76_0"), reason="solved")
    out.neuter_history()
    assert as_text(out.neutered) == {"python": "python 3.12.4.*", "numpy": "numpy 2.0.0.*"}
    assert out.neutered.reason("python") == (
        "history spec python 3.11.* no longer satisfied by 3.12.4"
    )
    assert out.neutered["numpy"].matches(out.records["numpy"])
    # openssl 3.3.1 still satisfies openssl >=3: not neutered
    assert "openssl" not in out.neutered


def test_neuter_history_skips_requested_and_removed(prefix):
    sis = SolverInputState(prefix, ["python=3.12"])
    out = SolverOutputState(sis)
    out.records.set("python", record("python", "3.12.4", "h194c7f8_0"), reason="solved")
    out.records.pop("numpy", reason="removed")
    out.neuter_history()
    assert dict(out.neutered) == {}


def test_frozen_spec(prefix):
    out = SolverOutputState(SolverInputState(prefix))
    spec = out.frozen_spec("numpy")
    assert spec.matches(out.records["numpy"])
    assert not spec.matches(record("numpy", "1.26.4", "py312h8753938_0"))
    assert not spec.matches(record("numpy", "1.26.3", "py311h64a7726_0"))
