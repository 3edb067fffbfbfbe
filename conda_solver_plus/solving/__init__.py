"""
The solve, one module per job. :func:`conda_solver_plus.core.solve` runs them in order:

=============================  =========================================================
module                         job
=============================  =========================================================
:mod:`.options`                :class:`SolveOptions`: how to solve (priority, time limit,
                               exclude-newer, cache directory)
:mod:`.installed`              installed records take their channel's current
                               metadata (repodata patches)
:mod:`.priority`               channel priority ``disabled``: channel order breaks
                               version ties before build numbers
:mod:`.transforms`             the index transforms between index and engine:
                               exclude-newer (filtered repodata), channel order and
                               legacy features (rewritten repodata around each
                               engine call)
:mod:`.candidates`             what the index offers for a spec (newer? higher channel?)
:mod:`.request`                conda's rules → one ``EngineRequest``, one function per rule
:mod:`.diagnose`               pre-checks and the error conda would raise
:mod:`.attempts`               run the engine, learn conflicts, retry, last attempt
:mod:`.downgrades`             no surprise downgrades: keep installed versions the
                               request does not need lowered, say what forces the rest
:mod:`.post`                   deps modifiers, ``--update-deps``, ``--prune``, held back,
                               why each record is there, the consistency check
=============================  =========================================================

Each imports only those above it in this table (and the lower layers: state, index,
backends); none imports conda.
"""
