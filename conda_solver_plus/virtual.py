"""
Virtual packages: the machine, described as packages.

Packages whose names start with ``__`` are never downloaded. They describe the system a
solve is for — ``__glibc=2.35``, ``__cuda=12.6``, ``__osx=14.1``, ``__unix``, ``__win``,
``__archspec=1=x86_64_v3`` — so that a package can say ``depends: __cuda >=12`` and the
solver only picks it where a CUDA driver is present.

For the machine we run on they are detected (by py-rattler), and conda's
``CONDA_OVERRIDE_<NAME>`` variables override detection: ``CONDA_OVERRIDE_CUDA=12.6``
pretends a driver is there, ``CONDA_OVERRIDE_CUDA=""`` pretends none is. For another
platform (``--subdir osx-arm64`` on Linux) nothing can be detected, so the platform's
family packages are set with conservative defaults that the same variables override.
Explicit ``--virtual NAME=VERSION[=BUILD]`` settings win over both; ``--virtual NAME=``
removes one.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Mapping
from pathlib import Path

from rattler import BuildString, GenericVirtualPackage, PackageName, Version

from .exceptions import InvalidInputError

#: versions assumed for a platform we are not running on (conda-lock uses the same)
FOREIGN_DEFAULTS = {
    "__glibc": "2.17",
    "__osx": "11.0",
}


def native_subdir() -> str:
    machine = platform.machine().lower()
    arch = {
        "x86_64": "64",
        "amd64": "64",
        "aarch64": "aarch64",
        "arm64": "arm64",
        "ppc64le": "ppc64le",
        "s390x": "s390x",
    }.get(machine, "64")
    if sys.platform.startswith("linux"):
        return f"linux-{arch}"
    if sys.platform == "darwin":
        return "osx-arm64" if arch in ("arm64", "aarch64") else "osx-64"
    if sys.platform.startswith("win"):
        return "win-arm64" if arch in ("arm64", "aarch64") else "win-64"
    return f"linux-{arch}"


def make_virtual(name: str, version: str, build: str = "0") -> GenericVirtualPackage:
    try:
        return GenericVirtualPackage(
            PackageName(name), Version(version), BuildString.new_unchecked(build or "0")
        )
    except Exception as exc:
        raise InvalidInputError(
            f"virtual package {name}={version}",
            f"invalid version or build: {exc}",
            "use e.g. __cuda=12.6 or __glibc=2.28",
        ) from None


def _env_override(name: str) -> str | None:
    """``CONDA_OVERRIDE_CUDA`` for ``__cuda``; ``None`` when unset, ``""`` when set empty."""
    # read here, not in settings.py: these are conda's variables, and this module mirrors
    # conda's own rule for them (an empty value means "absent", unlike plus's settings)
    return os.environ.get(f"CONDA_OVERRIDE_{name.lstrip('_').upper()}")


def _detect_native() -> dict[str, GenericVirtualPackage]:
    from rattler import VirtualPackage, VirtualPackageOverrides
    from rattler.exceptions import DetectVirtualPackageError, VirtualPackageOverrideError

    try:
        detected = VirtualPackage.detect(VirtualPackageOverrides.from_env())
    except (DetectVirtualPackageError, VirtualPackageOverrideError) as exc:
        # a CONDA_OVERRIDE_* value this machine's detection cannot take: the user's to fix
        overrides = sorted(name for name in os.environ if name.startswith("CONDA_OVERRIDE_"))
        raise InvalidInputError(
            ", ".join(overrides) or "virtual packages",
            f"cannot detect this machine's virtual packages: {exc}",
            "fix or unset the CONDA_OVERRIDE_* variable",
        ) from None
    result = {}
    for package in detected:
        generic = package.into_generic()
        result[generic.name.normalized] = generic
    return result


def _foreign(subdir: str) -> dict[str, GenericVirtualPackage]:
    family = subdir.split("-", 1)[0]
    result: dict[str, GenericVirtualPackage] = {}

    def add(name: str, version: str, build: str = "0") -> None:
        override = _env_override(name)
        if override == "":
            return
        result[name] = make_virtual(name, override or version, build)

    if family in ("linux", "osx", "freebsd", "emscripten", "wasi", "zos"):
        result["__unix"] = make_virtual("__unix", "0")
    if family == "win":
        result["__win"] = make_virtual("__win", "0")
    if family == "linux":
        result["__linux"] = make_virtual("__linux", _env_override("__linux") or "0")
        add("__glibc", FOREIGN_DEFAULTS["__glibc"])
    if family == "osx":
        add("__osx", FOREIGN_DEFAULTS["__osx"])
    cuda = _env_override("__cuda")
    if cuda:
        result["__cuda"] = make_virtual("__cuda", cuda)
    arch = subdir.split("-", 1)[1] if "-" in subdir else ""
    archspec = {"64": "x86_64", "arm64": "arm64", "aarch64": "aarch64"}.get(arch, arch)
    if archspec:
        result["__archspec"] = make_virtual("__archspec", "1", archspec)
    return result


def parse_virtual_setting(text: str) -> tuple[str, str | None]:
    """``--virtual`` as :func:`virtual_packages` takes it: ``__cuda=12.6`` ->
    (``__cuda``, ``12.6=0``); ``__archspec=1=x86_64`` -> (``__archspec``, ``1=x86_64``);
    ``__cuda=`` -> (``__cuda``, None)."""
    name, sep, rest = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise InvalidInputError(
            f"--virtual {text}", "expected NAME=VERSION", "e.g. --virtual __cuda=12.6"
        )
    if not name.startswith("__"):
        name = f"__{name}"
    if not rest.strip():
        return name, None
    version, _, build = rest.partition("=")
    return name, f"{version.strip()}={build.strip() or '0'}"


def virtual_packages(
    subdir: str | None = None, settings: Mapping[str, str | None] | None = None
) -> dict[str, GenericVirtualPackage]:
    """Virtual packages for a solve targeting ``subdir``.

    ``settings`` maps names to ``"VERSION[=BUILD]"`` (set) or ``None`` (remove) and wins
    over detection and ``CONDA_OVERRIDE_*``.
    """
    subdir = subdir or native_subdir()
    packages = _detect_native() if subdir == native_subdir() else _foreign(subdir)
    return _with_settings(packages, settings)


def _with_settings(
    packages: dict[str, GenericVirtualPackage], settings: Mapping[str, str | None] | None
) -> dict[str, GenericVirtualPackage]:
    """``packages`` with ``settings`` (name -> ``"VERSION[=BUILD]"``, or ``None`` to
    remove) applied, sorted by name."""
    for name, value in (settings or {}).items():
        if value is None:
            packages.pop(name, None)
            continue
        version, _, build = value.partition("=")
        packages[name] = make_virtual(name, version, build or "0")
    return dict(sorted(packages.items()))


#: The virtual packages conda-lock assumes of each platform it locks for — conda-lock
#: 4.0.3's ``conda_lock/default-virtual-packages.yaml`` (as it writes them: "VERSION" or
#: "VERSION BUILD"). ``conda-solver-plus lock`` starts from the same, so both tools lock
#: the same environment; a platform missing here gets :func:`virtual_packages`' defaults.
CONDA_LOCK_VIRTUAL_PACKAGES: dict[str, dict[str, str]] = {
    **{
        f"linux-{arch}": {
            "__unix": "0",
            "__linux": "5.10",
            "__archspec": f"1 {arch_name}",
            "__glibc": "2.28",
            "__cuda": "11.4",
        }
        for arch, arch_name in (("64", "x86_64"), ("aarch64", "aarch64"), ("ppc64le", "ppc64le"))
    },
    "osx-64": {"__unix": "0", "__archspec": "1 x86_64", "__osx": "11.0"},
    "osx-arm64": {"__unix": "0", "__archspec": "1 arm64", "__osx": "11.0"},
    "win-64": {"__win": "0", "__archspec": "1 x86_64", "__cuda": "11.4"},
}


def read_virtual_package_spec(path: Path) -> dict[str, dict[str, str]]:
    """conda-lock's ``--virtual-package-spec`` file: per platform, the virtual packages
    (name -> "VERSION" or "VERSION BUILD") that replace the defaults::

        subdirs:
          linux-64:
            packages:
              __glibc: "2.17"
              __cuda: "12.4"
    """
    from .environment_file import read_yaml_file

    hint = "write it as conda-lock does: subdirs: PLATFORM: packages: {__name: version}"
    data = read_yaml_file(path)
    subdirs = data.get("subdirs") if isinstance(data, dict) else None
    if not isinstance(subdirs, dict):
        raise InvalidInputError(str(path), "no 'subdirs' mapping", hint)
    result: dict[str, dict[str, str]] = {}
    for platform_name, entry in subdirs.items():
        packages = entry.get("packages") if isinstance(entry, dict) else None
        if not isinstance(packages, dict):
            raise InvalidInputError(str(path), f"{platform_name}: no 'packages' mapping", hint)
        for name in packages:
            if not str(name).startswith("__"):
                raise InvalidInputError(str(path), f"{name} is not a virtual package", hint)
        result[str(platform_name)] = {str(k): str(v) for k, v in packages.items()}
    return result


def platform_virtual_packages(
    platform_name: str,
    assumed: Mapping[str, str] | None,
    settings: Mapping[str, str | None] | None = None,
) -> dict[str, GenericVirtualPackage]:
    """The virtual packages a lock for ``platform_name`` is solved with: ``assumed``
    (conda-lock's "VERSION [BUILD]" strings; ``None``: :func:`virtual_packages`' defaults
    for the platform), then ``settings`` as :func:`virtual_packages` takes them."""
    if assumed is None:
        packages = _foreign(platform_name)
    else:
        packages = {}
        for name, value in assumed.items():
            version, _, build = value.strip().partition(" ")
            packages[name] = make_virtual(name, version, build.strip() or "0")
    return _with_settings(packages, settings)
