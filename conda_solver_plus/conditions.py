"""
Conditional dependencies: ``dep[when=CONDITION]``, in conda's MatchSpec since 26.5.

A record's ``depends`` entry ``linux-dependency[when=__linux]`` holds only when the
condition holds in the environment: here, when the machine has the ``__linux`` virtual
package. A condition is a match spec (``side-dependency=0.2``, ``__glibc>=2.17``) or
several joined by ``and``/``or``, with parentheses (``__unix and (python>=3.12 or
pypy)``); ``and`` binds tighter than ``or``. A spec in a condition holds when some
package of the environment (or a virtual package of the machine) matches it.

py-rattler parses conditions itself (``MatchSpec.condition``, its normalized text) and
resolvo solves them; this module gives the rest of the package the same reading: the
condition as a small tree (:func:`parse_condition`), evaluated or partly evaluated
against what is known (:func:`simplify`). The libmamba engine, whose libsolv binding has no
conditional dependencies, uses it to translate them (see
:mod:`conda_solver_plus.backends.libmamba`); the consistency check uses it to tell a
dependency whose condition is false from a missing one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rattler import BuildString, GenericVirtualPackage, MatchSpec, PackageRecord

#: quoted ``when="..."`` key of a normalized (py-rattler ``str()``) match spec, with the
#: comma that separates it from another key of the same brackets
_WHEN_KEY = re.compile(r',?\s*when\s*=\s*"(?:[^"\\]|\\.)*"')


@dataclass(frozen=True)
class Spec:
    """One match spec of a condition (``side-dependency[version="0.2.*"]``)."""

    text: str

    @property
    def name(self) -> str:
        spec = MatchSpec(self.text, strict=False)
        return spec.name.normalized if spec.name is not None else ""


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Condition, ...]


Condition = Spec | AllOf | AnyOf


class ConditionSyntaxError(ValueError):
    """A condition this module cannot read (unbalanced parentheses, an empty operand)."""


def _tokens(text: str) -> list[str]:
    """``(``, ``)``, ``and``, ``or`` and the match specs between them; parentheses and
    words inside brackets or quotes belong to the spec (``python[version="(>=3)"]``)."""
    tokens: list[str] = []
    current: list[str] = []
    depth = 0
    quote = ""

    def flush() -> None:
        word = "".join(current).strip()
        current.clear()
        if not word:
            return
        # a spec may contain spaces (``python >=3.10``): split only on the two keywords
        for part in re.split(r"(?:^|\s+)(and|or)(?:\s+|$)", word):
            if part.strip():
                tokens.append(part.strip())

    for char in text:
        if quote:
            current.append(char)
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
            current.append(char)
        elif char == "[":
            depth += 1
            current.append(char)
        elif char == "]":
            depth -= 1
            current.append(char)
        elif char in "()" and depth == 0:
            flush()
            tokens.append(char)
        else:
            current.append(char)
    flush()
    return tokens


def parse_condition(text: str) -> Condition:
    """The tree of a ``when`` condition (py-rattler's ``MatchSpec.condition`` text or the
    text a record carries). Raises :class:`ConditionSyntaxError`."""
    tokens = _tokens(text)
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        if position >= len(tokens):
            raise ConditionSyntaxError(f"condition {text!r} ends too early")
        position += 1
        return tokens[position - 1]

    def either() -> Condition:
        parts = [both()]
        while peek() == "or":
            take()
            parts.append(both())
        return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))

    def both() -> Condition:
        parts = [operand()]
        while peek() == "and":
            take()
            parts.append(operand())
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def operand() -> Condition:
        token = take()
        if token == "(":
            inner = either()
            if take() != ")":
                raise ConditionSyntaxError(f"condition {text!r} has an unclosed parenthesis")
            return inner
        if token in (")", "and", "or"):
            raise ConditionSyntaxError(f"condition {text!r} has {token!r} where a spec belongs")
        return Spec(token)

    tree = either()
    if position != len(tokens):
        raise ConditionSyntaxError(f"condition {text!r} has {tokens[position]!r} left over")
    return tree


def simplify(condition: Condition, known: Callable[[Spec], bool | None]) -> Condition | bool:
    """``condition`` with each spec that ``known`` can decide replaced by its truth and the
    result reduced: ``True``/``False`` when that decides it, otherwise what is still open
    (``__linux and side-dependency=0.2`` on Linux is ``side-dependency=0.2``)."""
    if isinstance(condition, Spec):
        truth = known(condition)
        return condition if truth is None else truth
    decisive = isinstance(condition, AnyOf)  # the value that decides: True for or
    open_parts: list[Condition] = []
    for part in condition.parts:
        value = simplify(part, known)
        if value is decisive:
            return decisive
        if value is not (not decisive):
            assert not isinstance(value, bool)
            open_parts.append(value)
    if not open_parts:
        return not decisive
    if len(open_parts) == 1:
        return open_parts[0]
    return AnyOf(tuple(open_parts)) if decisive else AllOf(tuple(open_parts))


def holds(condition: Condition, matched: Callable[[Spec], bool]) -> bool:
    """Whether ``condition`` holds when each spec's truth is ``matched(spec)``."""
    value = simplify(condition, matched)
    assert isinstance(value, bool)
    return value


def split_conditional(dependency: str) -> tuple[str, Condition] | None:
    """``(the dependency without its condition, the condition)`` for a conditional
    ``depends`` entry, or ``None`` for an ordinary one. ``package[when='side-dependency=0.2']``
    gives ``("package", side-dependency[version="0.2.*"])``; the rest of the spec keeps its
    other keys (``a >=1[when="b"]`` gives ``a >=1``)."""
    if "when" not in dependency:  # cheap: most entries are not conditional
        return None
    try:
        spec = MatchSpec(dependency, strict=False)
    except Exception:  # not a spec at all: left to whoever reads it as one
        return None
    if spec.condition is None:
        return None
    plain = _WHEN_KEY.sub("", str(spec)).replace("[]", "").replace("[,", "[")
    return plain, parse_condition(spec.condition)


def virtual_records(packages: Iterable[GenericVirtualPackage]) -> dict[str, PackageRecord]:
    """The machine's virtual packages as records by name, for matching condition specs
    (``__glibc>=2.28``) against them."""
    return {
        package.name.normalized: PackageRecord(
            name=package.name.normalized,
            version=str(package.version),
            build=BuildString(str(package.build_string) or "0"),
            build_number=0,
            subdir="noarch",
        )
        for package in packages
    }


def virtual_truth(spec: Spec, virtual: dict[str, PackageRecord]) -> bool | None:
    """A condition spec's truth where the machine decides it: ``__name`` specs hold when
    the virtual package is there and matches; other specs are left open (``None``)."""
    name = spec.name
    if not name.startswith("__"):
        return None
    record = virtual.get(name)
    return record is not None and MatchSpec(spec.text, strict=False).matches(record)
