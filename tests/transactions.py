"""
conda's ``solve_for_diff`` for tests: which records a final state unlinks and links.

The solver hands conda a final state and conda computes the transaction itself (the
adapter, :mod:`conda_solver_plus.solver`, never does). conda's test corpus states its
expectations as link/unlink lists, so the tests that replay it without conda
(``test_corpus.py``, ``test_features.py``) compute the same lists here.
"""

from __future__ import annotations

from rattler import RepoDataRecord

from conda_solver_plus.records import record_key, record_name, toposort
from conda_solver_plus.solving.request import python_minor
from conda_solver_plus.state import SolverInputState


def transaction_diff(
    sis: SolverInputState, final: list[RepoDataRecord]
) -> tuple[list[RepoDataRecord], list[RepoDataRecord]]:
    """conda's ``solve_for_diff``: (records to unlink, records to link), unlinks in reverse
    dependency order, links in dependency order. ``--force-reinstall`` relinks requested
    packages; a python minor-version change relinks every ``noarch: python`` package."""

    key = record_key
    previous = toposort(sis.installed.values())
    final = toposort(final)
    previous_keys = {key(r): r for r in previous}
    final_keys = {key(r): r for r in final}
    unlink = {k for k in previous_keys if k not in final_keys}
    link = {k for k in final_keys if k not in previous_keys}

    def relink(record: RepoDataRecord) -> None:
        link.add(key(record))
        if key(record) in previous_keys:
            unlink.add(key(record))

    if sis.force_reinstall:
        for spec in sis.requested_specs:
            match = next((r for r in final if spec.matches(r)), None)
            if match is not None:
                relink(match)
    old_python = next((r for r in previous if record_name(r) == "python"), None)
    new_python = next((r for r in final if record_name(r) == "python"), None)

    if old_python and new_python and python_minor(old_python) != python_minor(new_python):
        for record in final:
            if record.noarch is not None and record.noarch.python:
                relink(record)
    previous_order = [key(r) for r in previous]
    final_order = [key(r) for r in final]
    unlink_list = [previous_keys[k] for k in reversed(previous_order) if k in unlink]
    link_list = [final_keys[k] for k in final_order if k in link]
    return unlink_list, link_list
