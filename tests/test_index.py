"""Channels and their repodata: naming a channel, loading local, compressed and remote
subdirs, and failing with one clear :class:`InvalidInputError` when a channel is unusable.

Remote channels are served by a real HTTP server on 127.0.0.1 (stdlib ``http.server`` in a
thread), so py-rattler's fetching, caching and offline mode run for real.
"""

from __future__ import annotations

import bz2
import contextlib
import dataclasses
import functools
import http.server
import json
import shutil
import tempfile
from pathlib import Path

import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from rattler import PackageName, Version

from conda_solver_plus.backends import get_backend
from conda_solver_plus.core import SolveOptions, solve
from conda_solver_plus.exceptions import InvalidInputError, UnsatisfiableError
from conda_solver_plus.repodata.channels import looks_like_path, resolve_channel
from conda_solver_plus.repodata.gateway import load_index
from conda_solver_plus.repodata.model import ChannelRef, Index
from conda_solver_plus.specs import parse_spec
from conda_solver_plus.state import SolverInputState
from conda_solver_plus.virtual import make_virtual

from .channels import loopback_server, repodata_entry, write_files
from .engines import engine_params
from .strategies import damaged_repodata, repodata

DEMO = Path(__file__).resolve().parent / "data" / "demo-channel"
LINUX = DEMO / "linux-64" / "repodata.json"
NOARCH = DEMO / "noarch" / "repodata.json"
VIRTUAL = {
    "__glibc": make_virtual("__glibc", "2.28"),
    "__unix": make_virtual("__unix", "0"),
    "__linux": make_virtual("__linux", "6.1"),
}


def demo_names(*paths: Path) -> set[str]:
    names = set()
    for path in paths:
        data = json.loads(path.read_text())
        for key in ("packages", "packages.conda"):
            names.update(entry["name"] for entry in data.get(key, {}).values())
    return names


def names_by_subdir(index) -> dict[str, set[str]]:
    return {repo.subdir: set(repo.sparse.package_names()) for repo in index.repos}


def run_solve(index, *specs: str):
    sis = SolverInputState(None, [parse_spec(s) for s in specs], virtual_packages=dict(VIRTUAL))
    out = solve(sis, index, get_backend("rattler"), SolveOptions())
    return {r.name.normalized: r for r in out.current_solution}


# -- resolve_channel ----------------------------------------------------------------------


def test_resolve_absolute_path():
    ref = resolve_channel(str(DEMO) + "/")
    assert ref.url == DEMO.as_uri()
    assert ref.is_local
    assert ref.local_path == DEMO
    assert ref.name == DEMO.as_uri()  # custom channels are named by their URL, like conda
    assert ref.short_name == "demo-channel"
    assert ref.given == str(DEMO) + "/"


def test_resolve_pathlike():
    assert resolve_channel(DEMO).url == DEMO.as_uri()


def test_resolve_relative_path(tmp_path, monkeypatch):
    (tmp_path / "chans" / "local").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    for text in ("./chans/local", "chans/local", "chans/local/"):
        ref = resolve_channel(text)
        assert ref.is_local, text
        assert ref.local_path == tmp_path / "chans" / "local", text
    monkeypatch.chdir(tmp_path / "chans" / "local")
    assert resolve_channel("..").local_path == tmp_path / "chans"


def test_resolve_home_path(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    ref = resolve_channel("~/my-channel")
    assert ref.local_path == tmp_path / "my-channel"


def test_resolve_file_url_with_space(tmp_path):
    channel = tmp_path / "my channel"
    ref = resolve_channel(channel.as_uri() + "/")
    assert ref.url == channel.as_uri()
    assert "%20" in ref.url
    assert ref.local_path == channel
    assert ref.is_local


def test_resolve_http_url():
    ref = resolve_channel("https://repo.example.com/channels/team/")
    assert ref.url == "https://repo.example.com/channels/team"
    assert not ref.is_local
    assert ref.name == "https://repo.example.com/channels/team"
    assert ref.short_name == "team"
    assert ref.rattler_channel().base_url == "https://repo.example.com/channels/team/"


def test_resolve_bare_name_uses_channel_alias():
    ref = resolve_channel("conda-forge")
    assert ref.url == "https://conda.anaconda.org/conda-forge"
    assert ref.name == "conda-forge"
    assert not ref.is_local
    mirror = resolve_channel("bioconda", "https://mirror.example.org/conda/")
    assert mirror.url == "https://mirror.example.org/conda/bioconda"


def test_resolve_alias_url_gets_canonical_name():
    ref = resolve_channel("https://conda.anaconda.org/conda-forge/")
    assert ref.name == "conda-forge"


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("conda-forge/label/dev", "conda-forge/label/dev"),
        ("pytorch/label/nightly/", "pytorch/label/nightly"),
        (".hidden-name", ".hidden-name"),  # conda: a leading dot alone is not a path
    ],
)
def test_resolve_name_with_slash_is_a_labelled_channel(text, name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing of that name exists here
    ref = resolve_channel(text)
    assert ref.url == f"https://conda.anaconda.org/{name}"
    assert ref.name == name
    assert not ref.is_local
    assert ref.rattler_channel().base_url == f"https://conda.anaconda.org/{name}/"


def test_resolve_bare_name_is_a_name_even_when_a_directory_has_it(tmp_path, monkeypatch):
    """``-c pytorch`` next to a clone of pytorch still means the channel."""
    (tmp_path / "pytorch").mkdir()
    monkeypatch.chdir(tmp_path)
    assert resolve_channel("pytorch").url == "https://conda.anaconda.org/pytorch"
    assert resolve_channel("./pytorch").local_path == tmp_path / "pytorch"


@pytest.mark.parametrize("text", ["./x/y", "../x", "..", ".", "~/x", "/x", "//server/share"])
def test_looks_like_path_follows_conda(text):
    assert looks_like_path(text)


@pytest.mark.parametrize(
    "text", ["conda-forge", "conda-forge/label/dev", ".hidden", "https://x.org/a", "a.b/c"]
)
def test_looks_like_path_rejects_names_and_urls(text):
    assert not looks_like_path(text)


@pytest.mark.parametrize("text", ["", "   "])
def test_resolve_empty(text):
    with pytest.raises(InvalidInputError, match="empty channel"):
        resolve_channel(text)


# -- local channels -----------------------------------------------------------------------


def test_load_local_dir(tmp_path):
    index = load_index([DEMO], ["linux-64"], cache_dir=tmp_path)
    assert index.subdirs == ["linux-64", "noarch"]
    assert [repo.label for repo in index.repos] == [
        f"{DEMO.as_uri()}/linux-64",
        f"{DEMO.as_uri()}/noarch",
    ]
    assert names_by_subdir(index) == {
        "linux-64": demo_names(LINUX),
        "noarch": demo_names(NOARCH),
    }
    assert index.repos[0].path == LINUX
    assert index.find_channel("demo-channel") is index.channels[0]
    assert index.channel_for_url(f"{DEMO.as_uri()}/linux-64/numpy.conda") is index.channels[0]
    assert not any(tmp_path.iterdir()), "plain repodata.json is read in place"


def test_load_file_url(tmp_path):
    index = load_index([DEMO.as_uri()], ["linux-64"], cache_dir=tmp_path)
    assert index.channels[0].url == DEMO.as_uri()
    assert index.package_names() == demo_names(LINUX, NOARCH)


def test_duplicate_channels_are_loaded_once(tmp_path):
    index = load_index([DEMO, DEMO.as_uri(), str(DEMO) + "/"], ["linux-64"], cache_dir=tmp_path)
    assert len(index.channels) == 1
    assert len(index.repos) == 2


def test_noarch_is_always_added_once(tmp_path):
    index = load_index([DEMO], ["noarch", "linux-64", "noarch"], cache_dir=tmp_path)
    assert index.subdirs == ["noarch", "linux-64"]


def test_zst_only(tmp_path):
    channel = write_files(
        tmp_path / "chan",
        {
            "linux-64/repodata.json.zst": zstandard.ZstdCompressor().compress(LINUX.read_bytes()),
            "noarch/repodata.json": NOARCH.read_text(),
        },
    )
    cache = tmp_path / "cache"
    index = load_index([channel], ["linux-64"], cache_dir=cache)
    assert names_by_subdir(index)["linux-64"] == demo_names(LINUX)
    decompressed = index.repos[0].path
    assert decompressed.parent == cache / "decompressed"
    assert decompressed.read_bytes() == LINUX.read_bytes()
    # a second load reuses the decompressed copy (not written again: the same inode; it is
    # only touched, so the prune of unused cache files leaves it)
    inode = decompressed.stat().st_ino
    again = load_index([channel], ["linux-64"], cache_dir=cache)
    assert again.repos[0].path == decompressed
    assert decompressed.stat().st_ino == inode
    assert run_solve(index, "python=3.12", "numpy")["numpy"].version == Version("2.0.2")


def test_zst_streamed_without_content_size(tmp_path):
    compressor = zstandard.ZstdCompressor(write_content_size=False)
    chunks = compressor.compressobj()
    blob = chunks.compress(LINUX.read_bytes()) + chunks.flush()
    channel = write_files(tmp_path / "chan", {"linux-64/repodata.json.zst": blob})
    index = load_index([channel], ["linux-64"], cache_dir=tmp_path / "cache")
    assert names_by_subdir(index)["linux-64"] == demo_names(LINUX)


def test_bz2_only(tmp_path):
    channel = write_files(
        tmp_path / "chan",
        {
            "linux-64/repodata.json.bz2": bz2.compress(LINUX.read_bytes()),
            "noarch/repodata.json.bz2": bz2.compress(NOARCH.read_bytes()),
        },
    )
    index = load_index([channel], ["linux-64"], cache_dir=tmp_path / "cache")
    assert names_by_subdir(index) == {
        "linux-64": demo_names(LINUX),
        "noarch": demo_names(NOARCH),
    }
    assert {"numpy", "pip", "python"} <= set(run_solve(index, "numpy", "pip"))


def test_plain_json_wins_over_compressed(tmp_path):
    channel = write_files(
        tmp_path / "chan",
        {
            "linux-64/repodata.json": LINUX.read_text(),
            "linux-64/repodata.json.zst": b"not zstd at all",
        },
    )
    index = load_index([channel], ["linux-64"], cache_dir=tmp_path / "cache")
    assert index.repos[0].path == channel / "linux-64" / "repodata.json"


def test_corrupt_zst(tmp_path):
    channel = write_files(
        tmp_path / "chan", {"linux-64/repodata.json.zst": b"\x28\xb5\x2f\xfdjunk"}
    )
    with pytest.raises(InvalidInputError, match="cannot decompress") as info:
        load_index([channel], ["linux-64"], cache_dir=tmp_path / "cache")
    assert info.value.source == str(channel / "linux-64" / "repodata.json.zst")


def test_truncated_zst(tmp_path):
    blob = zstandard.ZstdCompressor().compress(LINUX.read_bytes())
    channel = write_files(
        tmp_path / "chan", {"linux-64/repodata.json.zst": blob[: len(blob) // 2]}
    )
    with pytest.raises(InvalidInputError, match=r"cannot decompress.*truncated") as info:
        load_index([channel], ["linux-64"], cache_dir=tmp_path / "cache")
    assert info.value.source == str(channel / "linux-64" / "repodata.json.zst")
    assert not (tmp_path / "cache" / "decompressed").exists()


def test_decompressed_invalid_json_names_the_channel_file(tmp_path):
    blob = zstandard.ZstdCompressor().compress(b'{"packages": {"a-1-0.tar.bz2": ')
    channel = write_files(tmp_path / "chan", {"linux-64/repodata.json.zst": blob})
    with pytest.raises(InvalidInputError, match="not valid repodata JSON") as info:
        load_index([channel], ["linux-64"], cache_dir=tmp_path / "cache")
    # not the decompressed copy in the cache, which the user never heard of
    assert info.value.source == str(channel / "linux-64" / "repodata.json.zst")


def test_corrupt_bz2(tmp_path):
    channel = write_files(tmp_path / "chan", {"noarch/repodata.json.bz2": b"BZh9 broken"})
    with pytest.raises(InvalidInputError, match="cannot decompress"):
        load_index([channel], ["linux-64"], cache_dir=tmp_path / "cache")


def _repodata(subdir: str | None, packages: dict, conda: dict | None = None) -> str:
    data: dict = {"packages": packages}
    if subdir is not None:
        data["info"] = {"subdir": subdir}
    if conda is not None:
        data["packages.conda"] = conda
    return json.dumps(data)


TOOL = {
    "name": "tool",
    "version": "1.0",
    "build": "h1234567_0",
    "build_number": 0,
    "depends": ["libzlib >=1.3"],
    "md5": "0123456789abcdef0123456789abcdef",
    "size": 1234,
}
LIBZLIB = {
    "name": "libzlib",
    "version": "1.3.1",
    "build": "hb9d3cd8_2",
    "build_number": 2,
    "depends": [],
}


def test_repodata_without_info(tmp_path):
    channel = write_files(
        tmp_path / "chan",
        {
            "linux-64/repodata.json": _repodata(
                None,
                {"tool-1.0-h1234567_0.tar.bz2": TOOL, "libzlib-1.3.1-hb9d3cd8_2.tar.bz2": LIBZLIB},
            )
        },
    )
    index = load_index([channel], ["linux-64"], cache_dir=tmp_path / "cache")
    records = run_solve(index, "tool")
    assert set(records) == {"tool", "libzlib"}
    assert records["tool"].subdir == "linux-64"
    assert records["tool"].url == f"{channel.as_uri()}/linux-64/tool-1.0-h1234567_0.tar.bz2"


def test_records_only_in_packages_conda(tmp_path):
    channel = write_files(
        tmp_path / "chan",
        {
            "linux-64/repodata.json": _repodata(
                "linux-64",
                {},
                {"tool-1.0-h1234567_0.conda": TOOL, "libzlib-1.3.1-hb9d3cd8_2.conda": LIBZLIB},
            )
        },
    )
    index = load_index([channel], ["linux-64"], cache_dir=tmp_path / "cache")
    assert index.package_names() == {"tool", "libzlib"}
    records = run_solve(index, "tool")
    assert records["tool"].file_name == "tool-1.0-h1234567_0.conda"


def test_missing_noarch_is_fine(tmp_path):
    channel = write_files(tmp_path / "chan", {"linux-64/repodata.json": LINUX.read_text()})
    index = load_index([channel], ["linux-64"], cache_dir=tmp_path / "cache")
    assert [repo.subdir for repo in index.repos] == ["linux-64"]


def test_only_noarch_is_fine(tmp_path):
    channel = write_files(tmp_path / "chan", {"noarch/repodata.json": NOARCH.read_text()})
    index = load_index([channel], ["osx-arm64"], cache_dir=tmp_path / "cache")
    assert [repo.subdir for repo in index.repos] == ["noarch"]


def test_no_repodata_at_all(tmp_path):
    channel = write_files(tmp_path / "chan", {"linux-64/README": "not a channel"})
    with pytest.raises(InvalidInputError, match=r"no repodata\.json") as info:
        load_index([channel], ["linux-64"], cache_dir=tmp_path / "cache")
    assert str(channel) in info.value.source
    assert "linux-64, noarch" in info.value.problem


def test_missing_channel_dir(tmp_path):
    with pytest.raises(InvalidInputError, match="does not exist") as info:
        load_index([tmp_path / "nope"], ["linux-64"], cache_dir=tmp_path / "cache")
    assert "nope" in info.value.source


def test_channel_is_a_file(tmp_path):
    path = tmp_path / "chan"
    path.write_text("{}")
    with pytest.raises(InvalidInputError, match="is a file"):
        load_index([path], ["linux-64"], cache_dir=tmp_path / "cache")


def test_no_channels():
    with pytest.raises(InvalidInputError, match="no channel"):
        load_index([], ["linux-64"])


def test_repodata_not_json(tmp_path):
    channel = write_files(tmp_path / "chan", {"linux-64/repodata.json": "<html>oops</html>"})
    with pytest.raises(InvalidInputError, match="not valid repodata JSON") as info:
        load_index([channel], ["linux-64"], cache_dir=tmp_path / "cache")
    assert info.value.source == str(channel / "linux-64" / "repodata.json")


def test_malformed_record_is_invalid_input_when_read(tmp_path):
    """Records are parsed lazily; a bad one must still be an InvalidInputError naming the
    file when the solver first reads that package name."""
    bad = {**TOOL, "version": 1.0}
    channel = write_files(
        tmp_path / "chan",
        {"linux-64/repodata.json": _repodata("linux-64", {"tool-1.0-h1234567_0.tar.bz2": bad})},
    )
    index = load_index([channel], ["linux-64"], cache_dir=tmp_path / "cache")
    repo = index.repos[0]
    assert repo.sparse.package_names() == ["tool"]  # loading alone does not parse records
    with pytest.raises(InvalidInputError, match="malformed repodata") as info:
        repo.sparse.load_records("tool")
    assert info.value.source == str(channel / "linux-64" / "repodata.json")
    with pytest.raises(InvalidInputError, match="malformed repodata"):
        run_solve(index, "tool")


# -- remote channels over HTTP ------------------------------------------------------------


class _Quiet(http.server.SimpleHTTPRequestHandler):
    requests: list[str]

    def log_message(self, *args) -> None:
        pass

    def send_head(self):
        self.requests.append(f"{self.command} {self.path}")
        return super().send_head()


class _Status500(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_error(500, "Internal Server Error")

    do_HEAD = do_GET

    def log_message(self, *args) -> None:
        pass


class _Garbage(http.server.BaseHTTPRequestHandler):
    """200 with an HTML body for repodata.json, 404 for the compressed variants."""

    def do_GET(self) -> None:
        if not self.path.endswith("/repodata.json"):
            self.send_error(404)
            return
        body = b"<html><body>Welcome to our proxy</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "GET":
            self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def no_proxy(monkeypatch):
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("ALL_PROXY", raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def serve(no_proxy):
    with contextlib.ExitStack() as servers:

        def start(handler) -> str:
            return f"http://127.0.0.1:{servers.enter_context(loopback_server(handler))}"

        yield start


@pytest.fixture
def served_demo(serve, tmp_path):
    """The demo channel (plus a linux-64-only channel) behind a real HTTP server; returns
    (base URL, list of requests seen)."""
    root = tmp_path / "www"
    shutil.copytree(DEMO, root / "demo")
    write_files(root / "linux-only", {"linux-64/repodata.json": LINUX.read_text()})
    requests: list[str] = []
    handler = type("Handler", (_Quiet,), {"requests": requests})
    base = serve(functools.partial(handler, directory=str(root)))
    return base, requests


def test_http_fetch_then_offline_from_cache(served_demo, tmp_path):
    base, requests = served_demo
    cache = tmp_path / "cache"
    url = f"{base}/demo"

    index = load_index([url], ["linux-64"], cache_dir=cache)
    assert [repo.label for repo in index.repos] == [f"{url}/linux-64", f"{url}/noarch"]
    assert names_by_subdir(index) == {
        "linux-64": demo_names(LINUX),
        "noarch": demo_names(NOARCH),
    }
    assert not index.channels[0].is_local
    assert "GET /demo/linux-64/repodata.json" in requests
    assert "GET /demo/noarch/repodata.json" in requests
    assert any((cache / "repodata").iterdir()), "fetched repodata is cached"

    seen = len(requests)
    offline = load_index([url], ["linux-64"], cache_dir=cache, offline=True)
    assert len(requests) == seen, "offline mode must not touch the network"
    assert names_by_subdir(offline) == names_by_subdir(index)

    # end to end: the core and the rattler engine over the HTTP-loaded index
    records = run_solve(offline, "python=3.12", "numpy")
    assert records["numpy"].version == Version("2.0.2")
    assert records["numpy"].url == f"{url}/linux-64/numpy-2.0.2-py312h58c1407_1.conda"
    assert records["tzdata"].url.startswith(f"{url}/noarch/")
    assert records["python"].channel.rstrip("/").startswith(url)


def test_http_solve_fresh(served_demo, tmp_path):
    base, _requests = served_demo
    index = load_index([f"{base}/demo"], ["linux-64"], cache_dir=tmp_path / "cache")
    records = run_solve(index, "numpy", "pip")
    assert records["pip"].subdir == "noarch"
    assert records["python"].version == Version("3.12.8")


def test_http_channel_without_noarch(served_demo, tmp_path):
    base, _requests = served_demo
    index = load_index([f"{base}/linux-only"], ["linux-64"], cache_dir=tmp_path / "cache")
    assert [repo.subdir for repo in index.repos] == ["linux-64"]


def test_http_local_and_remote_keep_priority_order(served_demo, tmp_path):
    base, _requests = served_demo
    local = write_files(tmp_path / "local", {"noarch/repodata.json": NOARCH.read_text()})
    index = load_index([local, f"{base}/demo"], ["linux-64"], cache_dir=tmp_path / "cache")
    assert [c.url for c in index.channels] == [local.as_uri(), f"{base}/demo"]
    assert [repo.channel.url for repo in index.repos] == [
        local.as_uri(),
        f"{base}/demo",
        f"{base}/demo",
    ]


def test_http_offline_with_empty_cache(served_demo, tmp_path):
    base, requests = served_demo
    with pytest.raises(InvalidInputError, match="offline") as info:
        load_index([f"{base}/demo"], ["linux-64"], cache_dir=tmp_path / "empty", offline=True)
    assert f"{base}/demo" in info.value.source
    assert requests == []


def test_http_404_channel(served_demo, tmp_path):
    base, _requests = served_demo
    with pytest.raises(InvalidInputError, match="could not fetch") as info:
        load_index([f"{base}/no-such-channel"], ["linux-64"], cache_dir=tmp_path / "cache")
    assert info.value.source == f"channel {base}/no-such-channel"
    assert "404" in str(info.value)
    assert len(str(info.value).splitlines()) == 1


def test_http_500(serve, tmp_path):
    base = serve(_Status500)
    with pytest.raises(InvalidInputError, match="500") as info:
        load_index([f"{base}/chan"], ["linux-64"], cache_dir=tmp_path / "cache")
    assert info.value.source == f"channel {base}/chan"


def test_http_garbage_body(serve, tmp_path):
    base = serve(_Garbage)
    with pytest.raises(InvalidInputError, match="could not fetch") as info:
        load_index([f"{base}/chan"], ["linux-64"], cache_dir=tmp_path / "cache")
    assert info.value.source == f"channel {base}/chan"


def test_http_error_does_not_hide_a_good_channel_error(served_demo, tmp_path):
    """One unusable remote channel fails the load, naming that channel, even when
    another one is fine."""
    base, _requests = served_demo
    with pytest.raises(InvalidInputError) as info:
        load_index([f"{base}/demo", f"{base}/missing"], ["linux-64"], cache_dir=tmp_path / "cache")
    assert info.value.source == f"channel {base}/missing"


def test_channel_ref_passes_through(tmp_path):
    ref = ChannelRef(given="demo", url=DEMO.as_uri(), name=DEMO.as_uri())
    index = load_index([ref], ["linux-64"], cache_dir=tmp_path)
    assert index.channels == [ref]


# -- multichannels: members share one priority tier ---------------------------------------
#
# conda's ``defaults`` and ``custom_multichannels`` are one channel for priority purposes
# (conda/conda#15750): under strict priority a name found in the first member may still
# come from a later member, never from a channel outside the group.


def _foo(version: str, name: str = "foo") -> dict:
    return dict([repodata_entry(name, version)])


@pytest.fixture
def member_channels(tmp_path) -> dict[str, ChannelRef]:
    """a (foo 1.0), b (foo 2.0, bar 1.0) and c (foo 3.0), as refs: a and b are members of
    the multichannel ``mychan``."""
    packages = {"a": _foo("1.0"), "b": {**_foo("2.0"), **_foo("1.0", "bar")}, "c": _foo("3.0")}
    refs = {}
    for name, entries in packages.items():
        files = {"noarch/repodata.json": _repodata("noarch", entries)}
        refs[name] = resolve_channel(write_files(tmp_path / name, files))
    refs["a"] = dataclasses.replace(refs["a"], multichannel="mychan")
    refs["b"] = dataclasses.replace(refs["b"], multichannel="mychan")
    return refs


def test_priority_tiers_group_consecutive_members_of_a_multichannel(member_channels, tmp_path):
    a, b, c = member_channels["a"], member_channels["b"], member_channels["c"]
    index = load_index([a, b, c], ["linux-64"], cache_dir=tmp_path / "cache")
    assert index.priority_tiers() == [[a, b], [c]]
    assert [index.priority_rank(ref) for ref in (a, b, c)] == [0, 0, 1]
    # a channel between two members splits them (conda-libmamba-solver lowers the
    # priority whenever the canonical name changes)
    index = load_index([a, c, b], ["linux-64"], cache_dir=tmp_path / "cache")
    assert index.priority_tiers() == [[a], [c], [b]]
    plain = [dataclasses.replace(ref, multichannel=None) for ref in (a, b)]
    index = load_index(plain, ["linux-64"], cache_dir=tmp_path / "cache")
    assert index.priority_tiers() == [[plain[0]], [plain[1]]]


def _solve_strict(index, *specs: str, backend: str, **state):
    sis = SolverInputState(
        None, [parse_spec(s) for s in specs], virtual_packages=dict(VIRTUAL), **state
    )
    out = solve(sis, index, get_backend(backend), SolveOptions(channel_priority="strict"))
    return {r.name.normalized: r for r in out.current_solution}


@pytest.mark.parametrize("backend", engine_params())
def test_strict_priority_falls_back_to_a_later_member_of_a_multichannel(
    member_channels, tmp_path, backend
):
    a, b, c = member_channels["a"], member_channels["b"], member_channels["c"]
    index = load_index([a, b, c], ["linux-64"], cache_dir=tmp_path / "cache")
    found = _solve_strict(index, "foo >=2", backend=backend)["foo"]
    assert (str(found.version), found.url) == ("2.0", f"{b.url}/noarch/foo-2.0-0.tar.bz2")
    # one tier: the newest version of the group wins, as within one channel
    assert str(_solve_strict(index, "foo", backend=backend)["foo"].version) == "2.0"
    # a channel outside the group stays outranked
    with pytest.raises(UnsatisfiableError):
        _solve_strict(index, "foo >=3", backend=backend)
    # without the multichannel, b is a channel of its own below a: foo 2.0 is hidden
    plain = [dataclasses.replace(ref, multichannel=None) for ref in (a, b)]
    index = load_index([*plain, c], ["linux-64"], cache_dir=tmp_path / "cache")
    with pytest.raises(UnsatisfiableError):
        _solve_strict(index, "foo >=2", backend=backend)


@pytest.mark.parametrize("backend", engine_params())
def test_installed_record_of_a_later_member_is_not_outranked(member_channels, tmp_path, backend):
    """An installed b::foo 2.0 that b no longer lists stays: a, in the same tier, does not
    outrank it (libmamba would otherwise leave it out of its installed repo and move foo
    to a's 1.0)."""
    a, b = member_channels["a"], member_channels["b"]
    index = load_index([a, b], ["linux-64"], cache_dir=tmp_path / "cache")
    installed = _solve_strict(index, "foo >=2", backend=backend)["foo"]
    # b's repodata no longer lists foo (a new file: the old one may still be mapped)
    repodata = b.local_path / "noarch" / "repodata.json"
    replacement = repodata.with_suffix(".new")
    replacement.write_text(_repodata("noarch", _foo("1.0", "bar")))
    replacement.replace(repodata)
    index = load_index([a, b], ["linux-64"], cache_dir=tmp_path / "cache")
    kept = _solve_strict(
        index,
        "bar",
        backend=backend,
        installed={"foo": installed},
        history={"foo": "foo"},
    )["foo"]
    assert (str(kept.version), kept.url) == ("2.0", installed.url)


# -- properties of loading (hypothesis) ---------------------------------------------------

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _load_one(document: bytes | str) -> tuple[Index | None, InvalidInputError | None]:
    """Load a channel whose linux-64 repodata is ``document`` and read every record the
    way the core does (per package name); returns the index or the input error."""
    with tempfile.TemporaryDirectory() as tmp:
        root = write_files(Path(tmp) / "chan", {"linux-64/repodata.json": document})
        try:
            index = load_index([root], ["linux-64"], cache_dir=Path(tmp) / "cache")
            found = {}
            for repo in index.repos:
                for name in repo.sparse.package_names():
                    for record in repo.sparse.load_records(PackageName(name)):
                        found[record.file_name] = record
        except InvalidInputError as exc:
            return None, exc
    return found, None


@PROPERTY
@given(repodata())
def test_wellformed_repodata_loads_every_record_as_written(document):
    found, error = _load_one(json.dumps(document))
    assert error is None, error
    expected = {**document["packages"], **document["packages.conda"]}
    assert set(found) == set(expected)
    for filename, entry in expected.items():
        record = found[filename]
        assert record.name.normalized == entry["name"]
        assert str(record.version) == entry["version"]
        assert str(record.build) == entry["build"]
        assert record.build_number == entry["build_number"]
        assert record.depends == entry["depends"]


@PROPERTY
@given(damaged_repodata())
def test_damaged_repodata_loads_or_is_one_error_naming_the_file(document):
    found, error = _load_one(document)
    if error is not None:
        assert error.source.endswith("linux-64/repodata.json"), error
        assert "\n" not in str(error)
    else:
        assert isinstance(found, dict)  # damage rattler tolerates (an extra field, ...)


# --- caches never lie: py-rattler's cached monolithic repodata -----------------------------


def _cached_repodata(cache: Path, subdir: str) -> Path:
    """The repodata.json py-rattler cached for ``subdir`` (found by its recorded URL)."""
    for info in (cache / "repodata").glob("*.info.json"):
        if json.loads(info.read_text())["url"].endswith(f"/{subdir}/repodata.json"):
            return info.with_name(info.name.removesuffix(".info.json") + ".json")
    raise AssertionError(f"nothing cached for {subdir}")


@pytest.mark.parametrize("damage", ["truncate", "same size"])
def test_damaged_cached_repodata_is_refetched_online_and_an_error_offline(tmp_path, damage):
    """A cached repodata.json that is not what was downloaded is never read as a channel
    (it used to give 'python 3.12.* not available (did you mean: ipython?)' offline)."""
    from .channels import serve_channel, write_package_channel

    channel = write_package_channel(tmp_path / "ch", "linux-64")
    cache = tmp_path / "cache"
    with serve_channel(channel) as served:
        load_index([served.url], ["linux-64"], cache_dir=cache)
        cached = _cached_repodata(cache, "linux-64")
        data = bytearray(cached.read_bytes())
        if damage == "truncate":
            del data[len(data) // 2 :]
        else:
            data[len(data) // 2] ^= 0x01
        cached.write_bytes(bytes(data))
        with pytest.raises(InvalidInputError) as caught:
            load_index([served.url], ["linux-64"], cache_dir=cache, offline=True)
        message = str(caught.value)
        assert str(cached) in message and served.url in message and "damaged" in message
        assert f"delete {cached}" in message and "without --offline" in message
        before = len(served.served("/linux-64/repodata.json"))
        index = load_index([served.url], ["linux-64"], cache_dir=cache)
        assert len(served.served("/linux-64/repodata.json")) == before + 1  # fetched again
    assert "greet" in index.package_names()
    # and the fresh copy is trusted offline
    offline = load_index([served.url], ["linux-64"], cache_dir=cache, offline=True)
    assert "greet" in offline.package_names()


def test_damaged_cached_repodata_offline_on_the_command_line(tmp_path):
    """The CLI says it in one line, exit 2, naming the file and the fix."""
    import os
    import subprocess
    import sys

    from .channels import serve_channel, write_package_channel

    channel = write_package_channel(tmp_path / "ch", "linux-64")
    cache = tmp_path / "cache"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONDA", "CONDARC"))}
    env["HOME"] = str(tmp_path)
    with serve_channel(channel) as served:
        argv = [sys.executable, "-m", "conda_solver_plus", "solve", "greet", "-c", served.url]
        argv += ["--subdir", "linux-64", "--cache-dir", str(cache)]
        assert subprocess.run(argv, capture_output=True, env=env).returncode == 0
    cached = _cached_repodata(cache, "linux-64")
    cached.write_bytes(cached.read_bytes()[:40])
    proc = subprocess.run([*argv, "--offline"], capture_output=True, text=True, env=env)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1
    assert str(cached) in proc.stderr and "damaged" in proc.stderr
    assert "not available" not in proc.stderr and "Traceback" not in proc.stderr
