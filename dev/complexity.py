"""The complexity limits of issue 23, checked with radon (which, unlike ruff's mccabe, counts
``and``/``or`` and comprehensions): no function or method above cyclomatic complexity 15,
no module with a maintainability index under 20. ``python dev/complexity.py [PATH...]``
prints every offender and exits 1 if there is one (dev/test.sh runs it on the package)."""

from __future__ import annotations

import sys
from pathlib import Path

from radon.complexity import cc_visit
from radon.metrics import mi_visit

MAX_COMPLEXITY = 15
MIN_MAINTAINABILITY = 20.0


def offences(path: Path) -> list[str]:
    """What in ``path`` breaks a limit, one line each."""
    code = path.read_text()
    # radon lists a class's methods both inside it and on their own
    blocks = {
        (block.lineno, block.fullname): block.complexity
        for top in cc_visit(code)
        for block in [top, *getattr(top, "methods", [])]
    }
    found = [
        f"{path}:{line} {name}: cyclomatic complexity {complexity} > {MAX_COMPLEXITY}"
        for (line, name), complexity in sorted(blocks.items())
        if complexity > MAX_COMPLEXITY
    ]
    index = mi_visit(code, multi=True)
    if index < MIN_MAINTAINABILITY:
        found.append(f"{path}: maintainability index {index:.1f} < {MIN_MAINTAINABILITY:.0f}")
    return found


def main(paths: list[str]) -> int:
    files = sorted(
        file for root in paths or ["conda_solver_plus"] for file in Path(root).rglob("*.py")
    )
    problems = [line for file in files for line in offences(file)]
    print("\n".join(problems) or f"complexity: {len(files)} modules within the limits")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
