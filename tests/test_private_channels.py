"""Private channels: a token in the path (``/t/TOKEN/``) and HTTP basic auth
(``user:password@``), through real conda and through the standalone CLI.

A channel of real packages (tests/channels.py) is served on loopback by a server that
refuses every request without the credentials — the first test proves that, so nothing
below can pass by reaching the channel some other way. conda then runs in a subprocess
with ``--solver=plus`` on each engine and actually downloads and links the packages, with
the credentials in ``-c``, in ``.condarc`` or in ``.netrc``; the CLI solves from the same
server. Neither may show the token or the password anywhere:
human-readable output, ``-vv`` logs, ``--json``, ``explain`` or error messages.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from rattler import Subdir

from conda_solver_plus.repodata.credentials import redact_text, redact_url, split_credentials

from .channels import PrivateChannel, serve_private_channel, write_package_channel
from .engines import conda_subprocess_env, require_module

TOKEN = "tk-7c1e-private"
USER, PASSWORD = "alice", "pw-9f3b-secret"
SECRETS = (TOKEN, PASSWORD)
#: the package subdir of this machine (py-rattler says it as conda does)
SUBDIR = str(Subdir.current())

#: each kind of credentials, as the URL a user passes with ``-c``
KINDS: dict[str, Callable[[PrivateChannel], str]] = {
    "token": lambda channel: channel.token_url,
    "basic-auth": lambda channel: channel.basic_auth_url,
}


@pytest.fixture(scope="module")
def private_channel(tmp_path_factory) -> Iterator[PrivateChannel]:
    root = write_package_channel(tmp_path_factory.mktemp("private-channel"), SUBDIR)
    with serve_private_channel(root, TOKEN, USER, PASSWORD) as channel:
        yield channel


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} printed:\n{text}"


def http_status(url: str, auth: tuple[str, str] | None = None) -> int:
    """The status of a GET of ``url`` (with basic ``auth``)."""
    request = urllib.request.Request(url)
    if auth:
        import base64

        token = base64.b64encode(":".join(auth).encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_server_refuses_requests_without_the_credentials(private_channel):
    repodata = f"/{SUBDIR}/repodata.json"
    base = private_channel.base
    assert http_status(base + repodata) == 401
    assert http_status(f"{base}/t/tk-wrong{repodata}") == 403
    assert http_status(base + repodata, auth=(USER, "wrong")) == 401
    assert http_status(private_channel.token_url + repodata) == 200
    assert http_status(base + repodata, auth=(USER, PASSWORD)) == 200


# -- the credential rules, against conda's own helpers -----------------------------------

URLS = [
    "https://repo.example.com/t/tk-123-456/private/linux-64/pkg-1.0-0.tar.bz2",
    "https://some.domain/api/t/tk-123/channel",
    "http://127.0.0.1:8080/t/tk-9",
    "https://alice:s3cret@artifactory.example.com/artifactory/api/conda/conda-local",
    "https://a%40corp:p%3Ass@nexus.example.com:8443/repository/conda/noarch",
    "https://u:p@host/t/tok-1/chan",
    "https://conda.anaconda.org/conda-forge",
    "file:///opt/channel",
]


@pytest.mark.parametrize("url", URLS)
def test_credentials_follow_condas_rules(url):
    """:mod:`conda_solver_plus.repodata.credentials` is conda-free; it must split and redact
    exactly
    as conda does: ``split_anaconda_token``, ``remove_auth`` and ``mask_anaconda_token``
    (what conda writes into conda-meta), and the basic auth conda's session sends."""
    require_module("conda", "the reference rules are conda's")
    from conda.common.url import mask_anaconda_token, remove_auth, split_anaconda_token
    from requests.utils import get_auth_from_url  # what conda's CondaHttpAuth sends

    clean, credentials = split_credentials(url)
    conda_clean, conda_token = split_anaconda_token(remove_auth(url))
    assert clean.rstrip("/") == conda_clean
    assert redact_url(url) == remove_auth(mask_anaconda_token(url))
    user, password = get_auth_from_url(url)
    if credentials is None:
        assert conda_token is None and not user
        return
    assert credentials.token == conda_token
    assert credentials.basic_auth == ((user, password) if user else None)


def test_redact_text_masks_every_url_in_a_message():
    message = (
        "HTTP 403 for url <https://u:p@host/t/tok-1/chan/linux-64/repodata.json>; "
        "retried (https://host/t/tok-2/x)"
    )
    redacted = redact_text(message)
    assert "tok-1" not in redacted and "tok-2" not in redacted and "u:p@" not in redacted
    assert "https://host/t/<TOKEN>/chan/linux-64/repodata.json" in redacted


# -- the conda adapter in-process ---------------------------------------------------------


@pytest.fixture
def conda_context(monkeypatch, tmp_path):
    require_module("conda", "the conda adapter runs inside conda")
    from conda.base.context import reset_context

    monkeypatch.setenv("CONDA_PKGS_DIRS", str(tmp_path / "pkgs"))
    monkeypatch.setenv("CONDARC", str(tmp_path / "condarc"))
    reset_context()
    yield
    reset_context()


def test_a_channel_named_with_and_without_credentials_is_fetched_once_with_them(
    conda_context, tmp_path
):
    """``-c`` with a token and ``channel::pkg`` without it name one channel: it is fetched
    once, with the token, at its ``-c`` priority (conda-libmamba-solver's rule)."""
    from conda.models.channel import Channel
    from conda.models.match_spec import MatchSpec

    from conda_solver_plus.conda.solver import PlusSolver

    token = "https://private.example.com/t/tk-1/chan"
    other = "https://other.example.com/chan"
    solver = PlusSolver(
        tmp_path / "env",
        [Channel(token), Channel(other)],
        specs_to_add=[MatchSpec("https://private.example.com/chan::greet")],
    )
    fetched = [c.url(with_credentials=True) for c in solver._channels_for()]
    native = solver.subdirs[0]
    assert fetched == [
        f"{token}/{native}",
        f"{token}/noarch",
        f"{other}/{native}",
        f"{other}/noarch",
    ]


def test_a_private_record_downloads_with_credentials_and_dumps_without(conda_context):
    from conda.models.channel import Channel

    from conda_solver_plus.conda.solver import CredentialedRecord

    channel = Channel(f"https://{USER}:{PASSWORD}@host/t/{TOKEN}/chan/linux-64")
    url = f"{channel.url(with_credentials=True)}/greet-1.0-0.tar.bz2"
    record = CredentialedRecord(
        name="greet", version="1.0", build="0", build_number=0, channel=channel, url=url
    )
    assert record.url == url  # what conda downloads from
    assert record.dump()["url"] == "https://host/t/<TOKEN>/chan/linux-64/greet-1.0-0.tar.bz2"
    assert_no_secret(json.dumps(record.dump()), str(record))
    assert record.copy().url == url


# -- real conda in a subprocess -----------------------------------------------------------


def run_conda(
    tmp_path: Path, *args: str, condarc: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Real conda from this interpreter with plus (this checkout) on the engine
    ``CONDA_SOLVER_PLUS_BACKEND`` names, with ``condarc`` as its only .condarc, online
    (loopback only)."""
    (tmp_path / "condarc").write_text(condarc)
    environment = conda_subprocess_env(
        tmp_path,
        CONDARC=str(tmp_path / "condarc"),
        CONDA_SOLVER="plus",
        CONDA_REPODATA_USE_SHARDS="false",
        **(env or {}),
    )
    environment.pop("CONDA_OFFLINE", None)
    command = [sys.executable, "-m", "conda", *args]
    return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=600)


@dataclass
class CondaSetup:
    """How a user hands conda a private channel: arguments, .condarc, environment, and
    the channel URL conda prints for its downloads (the secret redacted)."""

    args: list[str]
    condarc: str = ""
    env: dict[str, str] = field(default_factory=dict)
    shown_url: str = ""


def conda_setup(where: str, channel: PrivateChannel, tmp_path: Path) -> CondaSetup:
    """``-c`` with a token or ``user:password@``, the token URL in ``.condarc``
    ``channels``, or a bare ``-c`` URL with the login in ``.netrc`` (conda's session
    reads it)."""
    if where in KINDS:
        url = KINDS[where](channel)
        return CondaSetup(["--override-channels", "-c", url], shown_url=redact_url(url))
    if where == "condarc":
        condarc = f"channels:\n  - {channel.token_url}\n"
        return CondaSetup([], condarc=condarc, shown_url=redact_url(channel.token_url))
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login {USER} password {PASSWORD}\n")
    netrc.chmod(0o600)
    args = ["--override-channels", "-c", channel.base]
    return CondaSetup(args, env={"NETRC": str(netrc)}, shown_url=channel.base)


@pytest.mark.parametrize("where", [*KINDS, "condarc", "netrc"])
def test_conda_installs_from_a_private_channel(
    private_channel, tmp_path, where, engine_name, monkeypatch
):
    """``conda create`` and ``conda install`` with ``--solver=plus`` fetch the repodata
    and download the packages with the channel's credentials, link them, and print the
    secret nowhere — not with ``-vv``, not in ``--json`` (where classic and
    conda-libmamba-solver list each download's URL with it)."""
    require_module("conda", "real conda installs the packages")
    monkeypatch.setenv("CONDA_SOLVER_PLUS_BACKEND", engine_name)
    setup = conda_setup(where, private_channel, tmp_path)
    prefix = tmp_path / "env"
    asked = len(private_channel.requests)

    def conda(*args: str) -> subprocess.CompletedProcess:
        proc = run_conda(
            tmp_path, *args, *setup.args, "--yes", condarc=setup.condarc, env=setup.env
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert_no_secret(proc.stdout, proc.stderr)
        return proc

    created = conda("create", "-p", str(prefix), "greet=1.0", "-vv")
    assert f"Specs handed to the {engine_name} engine" in created.stderr  # plus answered
    assert (prefix / "share" / "greet" / "VERSION").read_text() == "greet 1.0\n"
    served = {path for path, status in private_channel.requests[asked:] if status == 200}
    assert f"/{SUBDIR}/repodata.json" in served
    assert f"/{SUBDIR}/greet-1.0-h0_0.tar.bz2" in served
    assert f"/{SUBDIR}/libcolor-1.0-h0_0.tar.bz2" in served

    installed = conda("install", "-p", str(prefix), "shout", "--json")
    actions = json.loads(installed.stdout)["actions"]
    assert [record["name"] for record in actions["LINK"]] == ["shout"]  # the rest is kept
    fetched = actions["FETCH"]
    assert [record["name"] for record in fetched] == ["shout"]
    assert fetched[0]["url"] == f"{setup.shown_url}/{SUBDIR}/shout-0.1-h0_0.tar.bz2"
    assert (prefix / "share" / "shout" / "VERSION").is_file()
    for meta in (prefix / "conda-meta").glob("*.json"):
        assert_no_secret(meta.read_text())  # conda's own rule, kept by plus's records


@pytest.mark.parametrize("kind", KINDS)
def test_conda_plus_explain_on_a_private_channel(private_channel, tmp_path, kind, monkeypatch):
    """``conda plus explain`` and a search that finds nothing (it names the channels)."""
    require_module("conda", "conda plus is a conda subcommand")
    url = KINDS[kind](private_channel)
    channel = ["--override-channels", "-c", url]
    explained = run_conda(
        tmp_path, "plus", "explain", "-p", str(tmp_path / "env"), "shout", *channel
    )
    assert explained.returncode == 0, explained.stdout + explained.stderr
    assert "dependency of shout via 'greet'" in explained.stdout
    missing = run_conda(tmp_path, "plus", "search", "nothere", *channel)
    assert missing.returncode == 1 and missing.stdout == ""
    assert "nothere" in missing.stderr and "Channels searched" in missing.stderr
    assert_no_secret(explained.stdout, explained.stderr, missing.stdout, missing.stderr)


# -- the standalone CLI ---------------------------------------------------------------------


def run_cli(tmp_path: Path, engine_name: str, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "CONDA_SOLVER_PLUS_CACHE": str(tmp_path / "cache"),
        "CONDA_SOLVER_PLUS_BACKEND": engine_name,
    }
    command = [sys.executable, "-m", "conda_solver_plus", *args, "--subdir", SUBDIR]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("kind", KINDS)
def test_cli_solves_from_a_private_channel(private_channel, tmp_path, kind, engine_name):
    """``python -m conda_solver_plus solve -c URL`` with a token or ``user:password@``:
    the repodata is fetched with them, and the records, the table, ``explain`` and the
    cache name the clean URL."""
    url = KINDS[kind](private_channel)
    asked = len(private_channel.requests)
    solved = run_cli(tmp_path, engine_name, "solve", "shout", "-c", url, "--json")
    assert solved.returncode == 0, solved.stdout + solved.stderr
    assert f"/{SUBDIR}/repodata.json" in {
        path for path, status in private_channel.requests[asked:] if status == 200
    }
    records = json.loads(solved.stdout)["records"]
    assert sorted(r["name"] for r in records) == ["greet", "libcolor", "shout"]
    base = private_channel.base
    assert {r["url"] for r in records} == {f"{base}/{SUBDIR}/{r['fn']}" for r in records}
    assert {r["channel"] for r in records} == {base}
    table = run_cli(tmp_path, engine_name, "solve", "shout", "-c", url, "-v")
    explained = run_cli(tmp_path, engine_name, "explain", "shout", "-c", url)
    assert table.returncode == 0 and explained.returncode == 0, table.stderr + explained.stderr
    # offline, the cache answers: it is keyed by the clean URL, yet found from the secret one
    offline = run_cli(tmp_path, engine_name, "solve", "shout", "-c", url, "--offline")
    assert offline.returncode == 0, offline.stderr
    outputs = [p.stdout + p.stderr for p in (solved, table, explained, offline)]
    assert_no_secret(*outputs)
    for path in (tmp_path / "cache").rglob("*"):
        if path.is_file():
            assert_no_secret(path.read_text(errors="replace"))


@pytest.mark.parametrize(
    "url",
    [
        lambda channel: f"{channel.base}/t/tk-wrong-0000",
        lambda channel: f"http://{USER}:pw-wrong-0000@127.0.0.1:{channel.port}",
        lambda channel: channel.base,
    ],
    ids=["wrong-token", "wrong-password", "none"],
)
def test_cli_refused_credentials_are_a_clear_error(private_channel, tmp_path, url, engine_name):
    """Refused credentials: exit 2 with a hint about them, the (wrong) secret unprinted."""
    solved = run_cli(tmp_path, engine_name, "solve", "greet", "-c", url(private_channel))
    assert solved.returncode == 2, solved.stdout + solved.stderr
    assert "could not fetch repodata" in solved.stderr
    assert "check the channel's token (/t/TOKEN/) or user:password@" in solved.stderr
    assert "wrong-0000" not in solved.stdout + solved.stderr
