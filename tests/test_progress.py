"""Progress on long work (:mod:`conda_solver_plus.progress`): a bar on a terminal, nothing
on a pipe, with ``--json`` or with ``-q``.

The terminal is real: a pseudo-terminal (``pty``) for the reporter and for the CLI's
stderr, and a tmux session whose screen is captured while the CLI fetches repodata from a
slow loopback server. Inside conda the work goes to conda's reporters
(:mod:`conda_solver_plus.conda.progress`), checked with conda's own reporter backend.
"""

from __future__ import annotations

import io
import os
import pty
import select
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

import pytest

from conda_solver_plus import progress

from .channels import loopback_server
from .test_cli import DEMO, ROOT, isolated_from_condarc

#: seconds the slow server waits before answering a repodata request
DELAY = 1.5


class _SlowHandler(SimpleHTTPRequestHandler):
    """A channel server that takes its time over repodata (a slow mirror)."""

    def do_GET(self) -> None:
        if "repodata" in self.path:
            time.sleep(DELAY)
        super().do_GET()

    def log_message(self, format: str, *args) -> None:
        pass


@contextmanager
def slow_channel(root: Path) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 slowly; yields its URL."""
    with loopback_server(partial(_SlowHandler, directory=str(root))) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    result = isolated_from_condarc(os.environ, tmp_path / "home")
    result["CONDA_SOLVER_PLUS_CACHE"] = str(tmp_path / "cache")  # nothing cached yet
    result["TERM"] = "xterm"
    return result


def read_available(fd: int, seconds: float) -> bytes:
    """What a pty's controller side received within ``seconds``."""
    data = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
    return data


# -- the reporter ---------------------------------------------------------------------------


def test_reporter_follows_the_terminal_json_and_quiet():
    controller, terminal = pty.openpty()
    try:
        with os.fdopen(terminal, "w", closefd=False) as stream:
            assert isinstance(
                progress.terminal_reporter(json=False, quiet=False, stream=stream),
                progress.TerminalReporter,
            )
            for flags in ({"json": True, "quiet": False}, {"json": False, "quiet": True}):
                reporter = progress.terminal_reporter(**flags, stream=stream)
                assert isinstance(reporter, progress.SilentReporter)
        pipe = io.StringIO()
        assert isinstance(
            progress.terminal_reporter(json=False, quiet=False, stream=pipe),
            progress.SilentReporter,
        )
    finally:
        os.close(controller)
        os.close(terminal)


def test_terminal_bar_counts_and_is_cleared_afterwards():
    controller, terminal = pty.openpty()
    try:
        with os.fdopen(terminal, "w", closefd=False) as stream:
            previous = progress.set_reporter(progress.TerminalReporter(stream))
            try:
                with progress.task("Fetching shards demo/linux-64", total=3) as advance:
                    advance(2)
                    time.sleep(0.5)  # the refresher redraws meanwhile
                    shown = read_available(controller, 0.3).decode()
                    advance(1)
                with pytest.raises(RuntimeError), progress.task("Failing work", total=None):
                    raise RuntimeError("the bar still closes")
            finally:
                progress.set_reporter(previous)
        assert "Fetching shards demo/linux-64" in shown and "2/3" in shown
        rest = read_available(controller, 0.3).decode()
        assert "Failing work" in rest
        # leave=False: the last thing written clears the line (a carriage return)
        assert rest.rstrip(" ").endswith("\r") or rest.endswith("\x1b[A")
    finally:
        os.close(controller)
        os.close(terminal)


def test_silent_reporter_is_the_default():
    with progress.task("nothing to see", total=2) as advance:
        advance(2)


def test_conda_reporter_uses_condas_progress_bar_and_spinner(capsys):
    """Inside conda: conda's console backend, quiet when its output is not a terminal
    (as under pytest), writes the spinner's "...working... done" line."""
    pytest.importorskip("conda")
    from conda_solver_plus.conda.progress import CondaReporter

    previous = progress.set_reporter(CondaReporter())
    try:
        with progress.task("Splitting repodata.json by package name", total=None):
            pass
        with progress.task("Fetching shards", total=4) as advance:
            advance(4)
    finally:
        progress.set_reporter(previous)
    out = capsys.readouterr().out
    assert "Splitting repodata.json by package name: ...working... done" in out


# -- the CLI --------------------------------------------------------------------------------


def cli_argv(url: str, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "conda_solver_plus", "solve", "python=3.12", "-c", url,
        "--subdir", "linux-64", "--backend", "rattler", *extra,
    ]  # fmt: skip


def run_with_terminal_stderr(argv: list[str], env) -> tuple[int, str, str]:
    """Run ``argv`` with stderr on a pty (stdout a pipe); return code, stdout, terminal."""
    controller, terminal = pty.openpty()
    try:
        proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=terminal, env=env, cwd=ROOT, text=True
        )
        os.close(terminal)
        shown = b""
        while proc.poll() is None:
            shown += read_available(controller, 0.2)
        shown += read_available(controller, 0.2)
        out = proc.stdout.read() if proc.stdout else ""
        return proc.returncode, out, shown.decode(errors="replace")
    finally:
        os.close(controller)


def test_cli_shows_fetch_progress_on_a_terminal_only(env):
    with slow_channel(DEMO) as url:
        code, out, shown = run_with_terminal_stderr(cli_argv(url), env)
        assert code == 0, shown
        assert "Fetching repodata (2 subdirs)" in shown
        assert "# Name" in out and "Fetching" not in out  # stdout stays clean
        for flag in ("-q", "--json"):
            env = {**env, "CONDA_SOLVER_PLUS_CACHE": env["CONDA_SOLVER_PLUS_CACHE"] + flag}
            code, out, shown = run_with_terminal_stderr(cli_argv(url, flag), env)
            assert code == 0, shown
            assert "Fetching" not in shown, flag
        env = {**env, "CONDA_SOLVER_PLUS_CACHE": env["CONDA_SOLVER_PLUS_CACHE"] + "pipe"}
        piped = subprocess.run(
            cli_argv(url), capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
        )
        assert piped.returncode == 0, piped.stderr
        assert piped.stderr == ""  # a pipe: no progress, nothing else either


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_tmux_screen_shows_the_fetch_then_the_result(env, tmp_path):
    """A captured terminal session of a slow fetch: the bar while it runs, the table
    after, and no leftover bar on the screen."""
    session = f"csp-progress-{uuid.uuid4().hex[:8]}"
    out = tmp_path / "screen-result.txt"
    with slow_channel(DEMO) as url:
        command = " ".join(cli_argv(url)) + f"; echo exit=$? > {out}; sleep 30"
        environment = [f"{k}={v}" for k, v in env.items() if k in ("HOME", "TERM")]
        environment.append(f"CONDA_SOLVER_PLUS_CACHE={env['CONDA_SOLVER_PLUS_CACHE']}")
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", session, "-x", "200", "-y", "50",
             "env", *environment, "sh", "-c", f"cd {ROOT} && {command}"],
            check=True,
        )  # fmt: skip
        try:
            screens = []
            deadline = time.monotonic() + 60
            while not out.exists() and time.monotonic() < deadline:
                capture = subprocess.run(
                    ["tmux", "capture-pane", "-p", "-t", session],
                    capture_output=True,
                    text=True,
                )
                screens.append(capture.stdout)
                time.sleep(0.2)
            final = subprocess.run(
                ["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True
            ).stdout
        finally:
            subprocess.run(["tmux", "kill-session", "-t", session], check=False)
    assert out.read_text().strip() == "exit=0"
    during = [screen for screen in screens if "Fetching repodata" in screen]
    assert during, screens[-1] if screens else "no screen captured"
    assert "subdirs):" in during[-1] and "/2" in during[-1]
    assert "# Name" in final and "python" in final
    assert "Fetching repodata" not in final  # the bar was cleared
