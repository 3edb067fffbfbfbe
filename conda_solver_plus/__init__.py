"""conda-solver-plus: a fast conda solver plugin with explanations users can act on."""

from __future__ import annotations

try:
    from ._version import __version__
except ImportError:  # a plain checkout that was never built or installed
    try:
        from importlib.metadata import version as _dist_version

        __version__ = _dist_version("conda-solver-plus")
    except Exception:
        __version__ = "0.0.0.dev0+unknown"

__all__ = ["__version__"]
