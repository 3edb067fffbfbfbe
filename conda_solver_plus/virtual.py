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


def parse_virtual_setting(text: str) -> tuple[str, str | None, str]:
    """``__cuda=12.6`` -> (``__cuda``, ``12.6``, ``0``); ``__cuda=`` -> (``__cuda``, None, "")."""
    name, sep, rest = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise InvalidInputError(
            f"--virtual {text}", "expected NAME=VERSION", "e.g. --virtual __cuda=12.6"
        )
    if not name.startswith("__"):
        name = f"__{name}"
    if not rest.strip():
        return name, None, ""
    version, _, build = rest.partition("=")
    return name, version.strip(), build.strip() or "0"


def virtual_packages(
    subdir: str | None = None, settings: Mapping[str, str | None] | None = None
) -> dict[str, GenericVirtualPackage]:
    """Virtual packages for a solve targeting ``subdir``.

    ``settings`` maps names to ``"VERSION[=BUILD]"`` (set) or ``None`` (remove) and wins
    over detection and ``CONDA_OVERRIDE_*``.
    """
    subdir = subdir or native_subdir()
    packages = _detect_native() if subdir == native_subdir() else _foreign(subdir)
    for name, value in (settings or {}).items():
        if value is None:
            packages.pop(name, None)
            continue
        version, _, build = value.partition("=")
        packages[name] = make_virtual(name, version, build or "0")
    return dict(sorted(packages.items()))
