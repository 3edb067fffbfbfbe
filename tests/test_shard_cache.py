"""The local shard cache of monolithic repodata (:mod:`conda_solver_plus.repodata.split`) and
the standalone index's reduced repos, against the monolithic path on real data.

- a subset holds exactly the records py-rattler's own recursive loader reaches on the
  monolithic files (an independent implementation of the same walk);
- the split follows its source (a rewritten file is split again) and never serves damaged
  bytes (a truncated pack, index or subset is detected and rebuilt from the source);
- two real processes splitting one file at once agree and leave one intact split;
- small channels are read whole;
- on ``../shared`` conda-forge data, realistic requests give identical answers on both
  engines whether the channel is read whole, through the shard cache, or sharded by the
  ``shard`` command (by path and over HTTP).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rattler import PackageName, SparseRepoData

from conda_solver_plus.cli import request_roots
from conda_solver_plus.core import SolveOptions, solve
from conda_solver_plus.repodata import cache_files
from conda_solver_plus.repodata import split as index_module
from conda_solver_plus.repodata import split as shard_cache
from conda_solver_plus.repodata.channels import resolve_channel
from conda_solver_plus.repodata.gateway import load_index
from conda_solver_plus.repodata.model import ChannelRef
from conda_solver_plus.shard_command import shard_channel
from conda_solver_plus.specs import parse_spec
from conda_solver_plus.state import SolverInputState
from conda_solver_plus.virtual import virtual_packages

from .channels import BUILT_PACKAGES, serve_channel, write_package_channel

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "repodata"
CONDA_FORGE = SHARED / "lockfile-union" / "conda-forge"
needs_shared = pytest.mark.skipif(
    not CONDA_FORGE.is_dir(), reason=f"shared channel data not found at {CONDA_FORGE}"
)
#: realistic requests on the lockfile-union conda-forge channel (linux-64)
REQUESTS = [
    ["python=3.12", "numpy", "scipy", "pandas"],
    ["python=3.11", "requests", "pip"],
    ["matplotlib-base", "python=3.12"],
    ["pytorch"],
    ["jupyterlab"],
]


@pytest.fixture
def split_everything(monkeypatch):
    """Every monolithic file goes through the shard cache, however small (the shared
    test channels are below the production threshold), split by the solve itself rather
    than by a background process."""
    monkeypatch.setattr(shard_cache, "SPLIT_ABOVE_BYTES", 0)
    monkeypatch.setattr(index_module, "SPLIT_IN_BACKGROUND", False)


def reached_by_rattler(sources: list[Path], roots: list[str]) -> list[set[str]]:
    """File names py-rattler's recursive loader reaches from ``roots`` in each source."""
    channel = ChannelRef("x", "https://example.invalid/x", "x").rattler_channel()
    sparse = [SparseRepoData(channel, path.parent.name, str(path)) for path in sources]
    found = SparseRepoData.load_records_recursive(sparse, [PackageName(r) for r in roots])
    return [{record.file_name for record in records} for records in found]


def file_names(path: Path) -> set[str]:
    data = json.loads(path.read_text())
    return set(data.get("packages", {})) | set(data.get("packages.conda", {}))


@needs_shared
def test_a_subset_holds_exactly_what_the_roots_reach(tmp_path):
    sources = [
        CONDA_FORGE / "linux-64" / "repodata.json",
        CONDA_FORGE / "noarch" / "repodata.json",
    ]
    roots = ["python", "numpy", "scipy", "pandas", "pip"]
    subsets = shard_cache.subset_repodata_many(sources, roots, tmp_path)
    expected = reached_by_rattler(sources, roots)
    assert [file_names(path) for path in subsets] == expected
    assert all(expected)
    # each subset keeps its source's info (subdir), and its records byte-for-byte
    for source, subset in zip(sources, subsets, strict=True):
        whole, part = json.loads(source.read_text()), json.loads(subset.read_text())
        assert part.get("info") == whole.get("info")
        for group in ("packages", "packages.conda"):
            for fn, record in part[group].items():
                assert whole[group][fn] == record
    # a repeated request reads its manifest and gets the very same files
    assert shard_cache.subset_repodata_many(sources, roots, tmp_path) == subsets


def test_the_split_follows_its_source(tmp_path):
    channel = write_package_channel(tmp_path / "ch", "linux-64")
    source = channel / "linux-64" / "repodata.json"
    first = shard_cache.subset_repodata(source, ["shout"], tmp_path / "cache")
    assert "shout-0.1-h0_0.tar.bz2" in file_names(first)
    newer = [*BUILT_PACKAGES, ("shout", "0.2", 0, ["greet"], 1_750_000_000_000)]
    write_package_channel(channel, "linux-64", newer)  # the file is rewritten
    second = shard_cache.subset_repodata(source, ["shout"], tmp_path / "cache")
    assert "shout-0.2-h0_0.tar.bz2" in file_names(second)
    splits = [p for p in (tmp_path / "cache" / "shard-cache").iterdir() if p.is_dir()]
    assert len([p for p in splits if p.name != "subsets"]) == 1  # the stale split is gone


@pytest.mark.parametrize("damage", ["pack", "index.msgpack", "subset"])
def test_damaged_cache_files_are_detected_and_rebuilt(tmp_path, damage):
    channel = write_package_channel(tmp_path / "ch", "linux-64")
    source = channel / "linux-64" / "repodata.json"
    cache = tmp_path / "cache"
    good = file_names(shard_cache.subset_repodata(source, ["shout"], cache))
    split = cache / "shard-cache" / shard_cache.source_key(source)
    if damage == "subset":
        target = shard_cache.subset_repodata(source, ["shout"], cache)
    else:
        target = split / damage
    target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])
    # another request (reads the split) and the same one (reads the manifest's subset)
    assert "greet-2.0-h0_0.tar.bz2" in file_names(
        shard_cache.subset_repodata(source, ["greet"], cache)
    )
    assert file_names(shard_cache.subset_repodata(source, ["shout"], cache)) == good


def test_a_changed_record_in_the_pack_is_caught_by_its_digest(tmp_path):
    channel = write_package_channel(tmp_path / "ch", "linux-64")
    source = channel / "linux-64" / "repodata.json"
    cache = tmp_path / "cache"
    split = shard_cache.open_split(source, cache)
    pack = split.directory / "pack"
    data = pack.read_bytes().replace(b'"greet"', b'"GREET"', 1)  # same size, other bytes
    pack.write_bytes(data)
    with pytest.raises(shard_cache.DamagedCache, match="greet"):
        shard_cache.SplitRepodata.open(source, split.directory).chunks("greet")
    subset = shard_cache.subset_repodata(source, ["greet"], cache)
    assert b"GREET" not in subset.read_bytes()  # split again from the source


SPLIT_IN_A_PROCESS = """
import sys
from pathlib import Path
from conda_solver_plus.repodata import split as index_module
from conda_solver_plus.repodata import cache_files, split as shard_cache
shard_cache.SPLIT_ABOVE_BYTES = 0
paths = shard_cache.subset_repodata_many([Path(p) for p in sys.argv[2:]], ["python", "numpy"],
                                         Path(sys.argv[1]))
print("\\n".join(p.read_text() for p in paths))
"""


@needs_shared
def test_two_processes_splitting_one_file_agree(tmp_path):
    sources = [str(CONDA_FORGE / subdir / "repodata.json") for subdir in ("linux-64", "noarch")]
    cache = tmp_path / "cache"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SPLIT_IN_A_PROCESS, str(cache), *sources],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for _ in range(2)
    ]
    results = [proc.communicate(timeout=300) for proc in procs]
    for proc, (_out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
    assert results[0][0] == results[1][0] and "numpy" in results[0][0]
    splits = [p for p in (cache / "shard-cache").iterdir() if p.is_dir() and p.name != "subsets"]
    assert len(splits) == 2  # one per source, nothing left half-written
    assert not [p for p in (cache / "shard-cache").iterdir() if p.name.startswith(".")]


def test_small_channels_are_read_whole(tmp_path):
    channel = write_package_channel(tmp_path / "ch", "linux-64")
    index = load_index([channel], ["linux-64"], cache_dir=tmp_path / "cache", roots=["greet"])
    assert index.repos[0].path == channel / "linux-64" / "repodata.json"
    assert not (tmp_path / "cache" / "shard-cache").exists()


def test_a_split_channel_still_lists_every_name(tmp_path, split_everything):
    channel = write_package_channel(tmp_path / "ch", "linux-64")
    index = load_index([channel], ["linux-64"], cache_dir=tmp_path / "cache", roots=["greet"])
    repo = index.repos[0]
    assert repo.path != channel / "linux-64" / "repodata.json"  # a subset
    assert set(repo.sparse.package_names()) == {"greet", "libcolor"}
    assert repo.names == {"greet", "libcolor", "shout"}  # for "did you mean" and priority


# --- identical answers on real data ------------------------------------------------------


def answer(channels, specs: list[str], backend, cache: Path, roots: bool):
    parsed = [parse_spec(text, "test") for text in specs]
    index = load_index(
        channels,
        ["linux-64"],
        cache_dir=cache,
        roots=request_roots(parsed) if roots else None,
    )
    sis = SolverInputState(None, parsed, virtual_packages=virtual_packages("linux-64", {}))
    out = solve(sis, index, backend, SolveOptions(channel_priority="strict"))
    return sorted(
        (
            r.name.normalized,
            str(r.version),
            r.build,
            r.file_name,
            r.sha256.hex() if r.sha256 else "",
        )
        for r in out.records.values()
    )


@pytest.fixture(scope="module")
def sharded_conda_forge(tmp_path_factory) -> Path:
    """A copy of the shared conda-forge channel (linux-64, noarch) with CEP-16 shards and
    no monolithic files."""
    if not CONDA_FORGE.is_dir():
        pytest.skip(f"shared channel data not found at {CONDA_FORGE}")
    root = tmp_path_factory.mktemp("sharded") / "conda-forge"
    for subdir in ("linux-64", "noarch"):
        (root / subdir).mkdir(parents=True)
        shutil.copy(CONDA_FORGE / subdir / "repodata.json", root / subdir / "repodata.json")
    shard_channel(root)
    for subdir in ("linux-64", "noarch"):
        (root / subdir / "repodata.json").unlink()
    return root


@needs_shared
@pytest.mark.parametrize("specs", REQUESTS, ids=lambda specs: " ".join(specs))
def test_same_answers_whole_split_and_sharded(
    tmp_path, backend, specs, sharded_conda_forge, monkeypatch
):
    whole = answer([CONDA_FORGE], specs, backend, tmp_path / "c1", roots=False)
    monkeypatch.setattr(shard_cache, "SPLIT_ABOVE_BYTES", 0)
    monkeypatch.setattr(index_module, "SPLIT_IN_BACKGROUND", False)
    split = answer([CONDA_FORGE], specs, backend, tmp_path / "c2", roots=True)
    sharded = answer([sharded_conda_forge], specs, backend, tmp_path / "c3", roots=True)
    assert whole and split == whole
    # the same records; only the channel differs, which the answer does not include
    assert sharded == whole


@needs_shared
def test_same_answers_over_http(tmp_path, backend, sharded_conda_forge):
    specs = REQUESTS[0]
    whole = answer([CONDA_FORGE], specs, backend, tmp_path / "c1", roots=False)
    with serve_channel(sharded_conda_forge) as served:
        channel = resolve_channel(served.url)
        assert answer([channel], specs, backend, tmp_path / "c2", roots=True) == whole
    assert not served.served("repodata.json")


def test_a_remote_monolithic_channel_goes_through_the_shard_cache(
    tmp_path, backend, split_everything
):
    """py-rattler's cached copy of an http(s) channel's repodata.json is split like a
    local file: the engine gets the subset, the answer is the same."""
    channel = write_package_channel(tmp_path / "ch", "linux-64")
    with serve_channel(channel) as served:
        whole = answer([channel], ["shout"], backend, tmp_path / "c0", roots=False)
        index = load_index(
            [served.url], ["linux-64"], cache_dir=tmp_path / "c1", roots=request_roots(["shout"])
        )
        repo = next(r for r in index.repos if r.subdir == "linux-64")
        assert "shard-cache" in str(repo.path)  # a subset of the split cached file
        assert answer([served.url], ["shout"], backend, tmp_path / "c1", roots=True) == whole


def test_the_first_solve_leaves_the_split_to_a_background_process(tmp_path, monkeypatch):
    """A solve finding no split reads the large file whole and starts a detached process
    splitting it; a later solve reads the subset."""
    import time

    monkeypatch.setattr(shard_cache, "SPLIT_ABOVE_BYTES", 0)
    channel = write_package_channel(tmp_path / "ch", "linux-64")
    source = channel / "linux-64" / "repodata.json"
    cache = tmp_path / "cache"
    first = load_index([channel], ["linux-64"], cache_dir=cache, roots=["greet"])
    assert first.repos[0].path == source  # read whole
    deadline = time.monotonic() + 60
    while not shard_cache.split_ready(source, cache) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert shard_cache.split_ready(source, cache)
    second = load_index([channel], ["linux-64"], cache_dir=cache, roots=["greet"])
    assert second.repos[0].path != source
    assert set(second.repos[0].sparse.package_names()) == {"greet", "libcolor"}


def test_unused_subsets_are_pruned_and_used_ones_kept(tmp_path):
    import os
    import time

    channel = write_package_channel(tmp_path / "ch", "linux-64")
    source = channel / "linux-64" / "repodata.json"
    cache = tmp_path / "cache"
    old = shard_cache.subset_repodata(source, ["libcolor"], cache)
    used = shard_cache.subset_repodata(source, ["shout"], cache)
    weeks_ago = time.time() - 30 * 86400
    solv = cache / "solv" / "0123.solv"  # what the libmamba engine leaves per subset
    solv.parent.mkdir()
    solv.write_bytes(b"solv")
    for path in [solv, *(cache / "shard-cache" / "subsets").glob("*.json")]:
        os.utime(path, (weeks_ago, weeks_ago))
    assert shard_cache.subset_repodata(source, ["shout"], cache) == used  # touches them
    removed = cache_files.prune(cache, now=time.time() + 86401)
    assert removed == 3  # libcolor's subset and manifest, the old .solv
    assert not solv.exists()
    assert not old.exists() and used.exists()
    assert cache_files.prune(cache, now=time.time() + 86402) == 0  # once a day
    assert shard_cache.subset_repodata(source, ["libcolor"], cache).exists()  # made again


@needs_shared
def test_same_answers_with_a_whole_channel_before_a_sharded_one(
    tmp_path, backend, sharded_conda_forge
):
    """The walk crosses channels: names reached through the (small, whole) pytorch
    channel's records are read from the sharded conda-forge."""
    pytorch = CONDA_FORGE.parent / "pytorch"
    if not pytorch.is_dir():
        pytest.skip(f"no {pytorch}")
    specs = ["pytorch", "torchvision"]
    whole = answer([pytorch, CONDA_FORGE], specs, backend, tmp_path / "c1", roots=False)
    sharded = answer([pytorch, sharded_conda_forge], specs, backend, tmp_path / "c2", roots=True)
    assert whole and sharded == whole


def test_the_scanner_keeps_records_exactly_whatever_the_layout(tmp_path):
    """Indented JSON, non-ASCII text, a ``removed`` list and ``info`` after the records:
    the subset's records are the source's, and its head is the source's head."""
    from .channels import repodata_entry

    packages = dict(
        [
            repodata_entry("a", "1.0", "linux-64", ["b >=1"]),
            repodata_entry("b", "1.0", "linux-64"),
            repodata_entry("c", "1.0", "linux-64"),
        ]
    )
    packages["a-1.0-0.tar.bz2"]["license"] = "Lizenz für Ärger ✓"
    conda = dict([repodata_entry("b", "2.0", "linux-64", extension=".conda")])
    document = {
        "packages": packages,
        "packages.conda": conda,
        "removed": ["x-1-0.tar.bz2"],
        "info": {"subdir": "linux-64"},
        "repodata_version": 1,
    }
    source = tmp_path / "repodata.json"
    source.write_text(json.dumps(document, indent=3, ensure_ascii=False), encoding="utf-8")
    subset = json.loads(shard_cache.subset_repodata(source, ["a"], tmp_path / "c").read_text())
    assert subset["packages"] == {k: packages[k] for k in ("a-1.0-0.tar.bz2", "b-1.0-0.tar.bz2")}
    assert subset["packages.conda"] == conda
    assert subset["info"] == {"subdir": "linux-64"} and "removed" not in subset


@pytest.mark.parametrize("text", ['{"packages": {"a-1-0.tar.bz2": {"name": "a"', "[]", "{} x"])
def test_a_source_that_is_not_repodata_json_is_one_clear_error(tmp_path, text):
    from conda_solver_plus.exceptions import InvalidInputError

    source = tmp_path / "repodata.json"
    source.write_text(text)
    with pytest.raises(InvalidInputError, match="not valid repodata JSON") as caught:
        shard_cache.subset_repodata(source, ["a"], tmp_path / "c")
    assert str(source) in str(caught.value)
