"""
Repodata, end to end: which packages the channels offer, reduced to what a request reaches.

Shaped like py-rattler's gateway over sources:

- :mod:`.model` — the plain data the rest of the package reads: :class:`.model.ChannelRef`,
  :class:`.model.SubdirRepo` (one lazily parsed ``channel/subdir``) and :class:`.model.Index`
  (all of them in priority order). ``solving/`` and the engines import nothing else of it;
- :mod:`.cache_files` — every file written to plus's cache (atomic writes, a temporary
  stand-in where the cache cannot be written, locks, pruning); it imports nothing of the rest;
- the **sources**, one protocol (:class:`.reduce.Source`): a monolithic file read whole
  (:class:`.reduce.WholeFile`: a local directory or ``file://``, :mod:`.local`; or
  ``http(s)`` through py-rattler with credentials, ETag/304 and offline, :mod:`.remote`),
  the local split of a large monolithic file (:class:`.split.SplitFile`), and CEP-16 shards
  (:mod:`.shards` is the format) kept in plus's content-addressed store
  (:class:`.sharded.ShardedSubdir`) or, in the conda adapter, in conda's
  ``repodata_shards.db`` (``conda_solver_plus.conda.shard_subsets``);
- **one reduction** (:func:`.reduce.reduce`): sources and the request's root names
  (:func:`.roots.root_names`, the one function that computes them) to the repos of the
  :class:`.model.Index`, with one walk (:func:`.shards.walk`) and one manifest of subsets
  (:mod:`.subsets`);
- :mod:`.gateway` — the standalone CLI's entry: channels as written (:mod:`.channels`) to
  sources to the reduction (:func:`.gateway.load_index`). The conda adapter builds its
  sources from conda's ``SubdirData`` paths and shard caches and calls the same reduction.
"""
