"""
Match specs the way conda users write them, on top of py-rattler's ``MatchSpec``.

A *match spec* is conda's query language for packages: ``numpy``, ``numpy>=1.26``,
``numpy=1.26=py312*``, ``conda-forge::numpy``, ``numpy[version='>=1.26',build=*cuda*]``.
py-rattler parses all of these; this module adds what a conda solver needs on top:

- one parse function that turns a bad spec into an :class:`InvalidInputError` naming the
  spec and where it came from (command line, ``conda-meta/history``, ``conda-meta/pinned``);
- conda's notion of *strictness* (1 = name only, 2 = name + version, 3 = name + version +
  build) used to rank specs for the same name and to *neuter* history specs;
- the spec that pins a record exactly (``name==version=build``), used to freeze installed
  packages and to talk to engines that take specs rather than records.
"""

from __future__ import annotations

from rattler import MatchSpec

from .exceptions import InvalidInputError
from .feature_names import feature_spec_package

__all__ = [
    "MatchSpec",
    "exact_spec_for",
    "is_name_only",
    "parse_spec",
    "spec_name",
    "strictness",
]


def parse_spec(text: str, source: str = "command line", *, allow_glob: bool = False) -> MatchSpec:
    """Parse ``text`` as a conda match spec or raise one clear :class:`InvalidInputError`.

    >>> str(parse_spec("numpy >=1.26"))
    'numpy >=1.26'
    >>> str(parse_spec("mkl@"))  # a legacy feature is a spec for its synthetic package
    '_legacy-feature-mkl'
    >>> parse_spec("numpy >=>1", source="environment.yml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    conda_solver_plus.exceptions.InvalidInputError: environment.yml: spec 'numpy >=>1': ...
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidInputError(source, f"empty package spec {text!r}", "give a package name")
    text = text.strip()
    # a legacy feature request (``mkl@``, ``*[track_features=mkl]``) is a spec for the
    # synthetic package that stands for the feature (see :mod:`.features`)
    text = feature_spec_package(text, source) or text
    try:
        spec = MatchSpec(text, strict=False, exact_names_only=not allow_glob)
    except Exception as exc:  # py-rattler raises its own InvalidMatchSpecError subclasses
        # py-rattler appends the cause chain ("\nCaused by: ...") repeating the first line
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0].strip()
        raise InvalidInputError(
            f"{source}: spec {text!r}",
            f"not a valid match spec: {reason}",
            "write it like 'numpy', 'numpy>=1.26' or 'numpy=1.26=py312*'",
        ) from None
    if "[unrepresentable-" in str(spec):
        # py-rattler accepts some parts (a ``ns:`` namespace, a build string) with quotes,
        # backslashes or spaces that it cannot write back as a spec (found by dev/fuzz.py);
        # history, pins and reports need the text form, so refuse them here
        part = str(spec).split("[unrepresentable-", 1)[1].split("=", 1)[0]
        raise InvalidInputError(
            f"{source}: spec {text!r}",
            f"not a valid match spec: the {part} has characters a spec cannot carry",
            "write it like 'numpy', 'conda-forge::numpy' or 'numpy=1.26=py312*'",
        )
    return spec


def spec_name(spec: MatchSpec) -> str:
    """The normalized package name of ``spec`` (the glob text for glob names).

    >>> spec_name(MatchSpec("NumPy >=1.26"))
    'numpy'
    """
    name = spec.name
    normalized = name.normalized
    if normalized is not None:
        return normalized
    return str(name).split('"')[1] if '"' in repr(name) else str(name)


def is_name_only(spec: MatchSpec) -> bool:
    """True for specs like ``numpy`` that constrain nothing but the name.

    >>> is_name_only(MatchSpec("numpy")), is_name_only(MatchSpec("conda-forge::numpy"))
    (True, False)
    """
    return (
        spec.version is None
        and spec.build is None
        and spec.build_number is None
        and spec.channel is None
        and spec.subdir is None
        and spec.md5 is None
        and spec.sha256 is None
        and spec.file_name is None
    )


def strictness(spec: MatchSpec) -> int:
    """conda's strictness: 1 name only, 2 with a version, 3 with version and build.

    >>> [strictness(MatchSpec(text)) for text in ("numpy", "numpy 1.26.*", "numpy 1.26 py312*")]
    [1, 2, 3]
    """
    if spec.build is not None and spec.version is not None:
        return 3
    if spec.version is not None or spec.build is not None:
        return 2
    return 1


def exact_spec_for(name: str, version: str, build: str) -> MatchSpec:
    """The spec that matches exactly one build of a package: ``name==version=build``.

    >>> str(exact_spec_for("numpy", "1.26.4", "py312h8753938_0"))
    'numpy ==1.26.4 py312h8753938_0'
    """
    return MatchSpec(f"{name}=={version}={build}", strict=False)
