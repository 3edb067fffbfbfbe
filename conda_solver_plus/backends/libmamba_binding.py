"""
libmambapy, checked: the one place the libmamba engine's modules import it from.

A libmambapy outside :data:`~conda_solver_plus.backends.LIBMAMBAPY_SUPPORTED`, or one whose
solver does not import (a partial or broken install), raises
:class:`~conda_solver_plus.backends.EngineUnusable` here, before anything else of the
engine loads: ``auto`` then warns and takes the next engine. libmambapy not installed at
all is a plain ``ModuleNotFoundError`` (a normal set-up: ``auto`` quietly takes rattler).
"""

from __future__ import annotations

# not installed at all: ModuleNotFoundError, and ``auto`` quietly takes the rattler engine
import libmambapy

from . import LIBMAMBAPY_SUPPORTED, EngineUnusable, libmambapy_version_supported

if not libmambapy_version_supported(libmambapy.__version__):
    raise EngineUnusable(
        f"libmambapy {libmambapy.__version__} is installed; the libmamba engine needs "
        f"libmambapy {LIBMAMBAPY_SUPPORTED}"
    )
try:
    from libmambapy import solver as mamba_solver
    from libmambapy import specs as mamba_specs
    from libmambapy.solver import libsolv
except ImportError as exc:  # a partial or broken install
    raise EngineUnusable(
        f"libmambapy {libmambapy.__version__} is installed but its solver does not import ({exc})"
    ) from exc

#: the release loaded (part of the ``.solv`` cache key: its format is libsolv's)
VERSION: str = libmambapy.__version__

__all__ = ["VERSION", "libsolv", "mamba_solver", "mamba_specs"]
