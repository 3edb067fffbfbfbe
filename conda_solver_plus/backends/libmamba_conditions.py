"""
Conditional dependencies (``dep[when=...]``) as libsolv can take them.

libmambapy 2.8.1 cannot read a conditional dependency (see :class:`WhenTranslation` for
what it does instead and for the translation); :class:`WhenTranslation` rewrites each one
before libsolv sees it, or raises :class:`UntranslatableCondition` where no sound
translation exists (the libmamba engine then hands the request to the rattler engine).
"""

from __future__ import annotations

import dataclasses
import hashlib
import mmap
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from rattler import Version

from ..conditions import Spec, simplify, split_conditional, virtual_records, virtual_truth
from ..exceptions import ChainStep, ConflictChain
from .libmamba_binding import mamba_specs
from .libmamba_records import mamba_spec

if TYPE_CHECKING:
    from rattler import GenericVirtualPackage

__all__ = [
    "GUARD_PREFIX",
    "UntranslatableCondition",
    "WhenTranslation",
    "guard_name",
    "mentions_conditions",
]

#: name prefix of the packages that stand for a package condition (:class:`WhenTranslation`)
GUARD_PREFIX = "_plus_when_"
#: how a conditional dependency looks in a repodata file (``[when=__linux]``,
#: ``when="side-dependency=0.2"``): a file without it needs no translation
_WHEN_IN_FILE = re.compile(rb"when\s*=")


class UntranslatableCondition(Exception):
    """A conditional dependency libsolv cannot be given soundly; the request is solved by
    the rattler engine instead (:meth:`LibMambaBackend.solve`)."""


def mentions_conditions(path: Path) -> bool:
    """Whether the repodata file at ``path`` may hold conditional dependencies: a byte
    search (about 1 ms per MB, no JSON parse), run only on a ``.solv`` cache miss. A false
    alarm (``when=`` in some other string) only costs the ``.solv`` cache for that file."""
    with path.open("rb") as file:
        if os.fstat(file.fileno()).st_size == 0:
            return False
        with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as content:
            return _WHEN_IN_FILE.search(content) is not None


def guard_name(dependency: str, condition: Spec) -> str:
    """The name of the package that stands for ``dependency[when=condition]``: one name per
    distinct pair, so every record carrying the same conditional dependency shares it."""
    digest = hashlib.sha256(f"{dependency}\0{condition.text}".encode()).hexdigest()[:16]
    return f"{GUARD_PREFIX}{digest}"


class WhenTranslation:
    """Conditional dependencies (``dep[when=CONDITION]``, :mod:`conda_solver_plus.conditions`)
    as libsolv can take them, for one solve.

    libmambapy 2.8.1 has no conditional dependencies: its ``MatchSpec.parse`` drops
    ``[when=...]`` without a word (an unconditional dependency), its repodata parser keeps
    it in the spec text (``linux-dependency[when __linux]*``, which nothing provides and
    whose problem report raises ``MambaNativeException``), and libsolv's rich ``A if B``
    dependencies are not parsed either (docs/backends.md has the measurements). So each
    conditional dependency is rewritten before libsolv sees it:

    - **a condition on virtual packages** (``__linux``, ``__glibc>=2.28``) is decided now:
      the machine's virtual packages cannot change during the solve. A true condition
      leaves the plain dependency, a false one leaves nothing;
    - **a condition on one package** (``side-dependency=0.2``, possibly what is left of
      ``__unix and side-dependency=0.2`` on a unix machine) becomes a dependency on a
      *guard* package ``G`` with two builds (:meth:`guard_packages`): ``G 1`` depends on
      the dependency, ``G 2`` depends on nothing, and every record of the condition's
      package that matches the condition excludes ``G 2``. In clauses: the record ``X``
      needs ``G1 or G2``; ``G1`` needs the dependency; a matching record ``c`` and ``G2``
      exclude each other — which is exactly "``X`` and ``c`` installed need the
      dependency". libsolv prefers the higher ``G 2``, so the dependency is pulled in only
      when the condition forces it. The exclusion is written on ``G 2`` as a constraint on
      the condition's package, ``name !=v1,!=v2`` over the versions of the matching
      records; that is exact only when no non-matching record shares one of those
      versions (a condition on build strings might), which :meth:`guard_packages` checks;
    - anything else (``a or b`` on two packages, a package condition on a pin or on an
      installed record, which libsolv would never re-check: it does not repair an installed
      package whose dependency is missing when the solve starts) raises
      :class:`UntranslatableCondition`.
    """

    def __init__(self, virtual_packages: Iterable[GenericVirtualPackage]) -> None:
        self.machine = virtual_records(virtual_packages)
        #: guard name -> (the dependency, the package condition it stands for)
        self.guards: dict[str, tuple[str, Spec]] = {}

    def dependency(self, dependency: str, *, owner: str = "") -> str | None:
        """``dependency`` as libsolv should read it: itself when it has no condition, the
        plain dependency or ``None`` when the machine decides the condition, a guard's
        name when one package's condition is left. ``owner`` names where no guard can
        stand (``"an installed package"``, ``"a pin"``)."""
        conditional = split_conditional(dependency)
        if conditional is None:
            return dependency
        plain, condition = conditional
        left = simplify(condition, lambda spec: virtual_truth(spec, self.machine))
        if isinstance(left, bool):
            return plain if left else None
        if not isinstance(left, Spec):
            raise UntranslatableCondition(
                f"the conditional dependency {dependency!r} depends on more than one package"
            )
        if owner:
            raise UntranslatableCondition(
                f"{owner} has the conditional dependency {dependency!r} on a package"
            )
        name = guard_name(plain, left)
        self.guards[name] = (plain, left)
        return name

    def depends(self, depends: list[str], *, owner: str = "") -> list[str]:
        """A record's ``depends`` with each entry translated (:meth:`dependency`)."""
        if not any("when" in dependency for dependency in depends):
            return depends
        translated = (self.dependency(dependency, owner=owner) for dependency in depends)
        return [dependency for dependency in translated if dependency is not None]

    def guard_packages(self, db) -> list[mamba_specs.PackageInfo]:
        """The two builds of each guard, once every other repo (the installed one too) is
        in ``db``: the records matching a condition are looked up there."""
        packages: list[mamba_specs.PackageInfo] = []
        for name, (dependency, condition) in sorted(self.guards.items()):
            packages.append(
                mamba_specs.PackageInfo(
                    name=name, version="1", build_string="0", depends=[dependency]
                )
            )
            constrains = self._excluding(db, condition)
            packages.append(
                mamba_specs.PackageInfo(
                    name=name, version="2", build_string="0", constrains=constrains
                )
            )
        return packages

    @staticmethod
    def _excluding(db, condition: Spec) -> list[str]:
        """The constraint that rules out every record in ``db`` matching ``condition`` and
        no other (empty when none matches)."""
        package = condition.name
        matching = db.packages_matching(mamba_spec(condition.text))
        if not matching:
            return []
        versions = {Version(record.version) for record in matching}
        matched = {(record.package_url, record.filename, record.version) for record in matching}
        for record in db.packages_matching(mamba_specs.MatchSpec.parse(package)):
            other = (record.package_url, record.filename, record.version) not in matched
            if other and Version(record.version) in versions:
                raise UntranslatableCondition(
                    f"the condition {condition.text!r} tells apart builds of "
                    f"{package} {record.version}, which libsolv's version constraint cannot"
                )
        excluded = ",".join(f"!={version}" for version in sorted(versions))
        return [f"{package} {excluded}"]

    def readable(self, text: str) -> str:
        """``text`` (libsolv's report) with each guard's name replaced by what it stands
        for."""
        for name, (dependency, condition) in self.guards.items():
            text = text.replace(name, f"{dependency}[when={condition.text!r}]")
        return text

    def readable_chain(self, chain: ConflictChain) -> ConflictChain:
        """``chain`` with each guard's step shown as the conditional dependency it stands
        for (its two builds, 1 and 2, mean nothing to a user)."""
        steps = tuple(
            ChainStep(self.readable(step.name)) if step.name.startswith(GUARD_PREFIX) else step
            for step in chain.steps
        )
        partners = tuple(self.readable(partner) for partner in chain.partners)
        return dataclasses.replace(chain, steps=steps, partners=partners)
