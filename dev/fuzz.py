"""Fuzz the input paths: match specs, the repodata loader and the CLI's arguments.

Not part of the test suite (it runs for minutes). Each target runs in its own child
process, so a crash (a signal from native code) is counted instead of ending the run:

- ``specs``: arbitrary and spec-like text through :func:`parse_spec` (hypothesis);
- ``repodata``: damaged repodata documents from ``tests/strategies.py`` (hypothesis) and
  byte- and JSON-level mutations of real repodata from ``../shared/data/repodata``
  (seeded ``random``), each loaded, every record read, and a small solve run;
- ``cli``: random argument vectors for ``solve``/``explain`` (valid and invalid options,
  grammar and garbage specs, broken prefixes) through the CLI's ``main``.

An input *fails* when it ends in anything but a result or one of our errors: another
exception, exit status 3 (internal error), a bad-input error that is not one line, or a
crash of the worker. Usage::

    nice .venv/bin/python dev/fuzz.py                   # default counts (~2-3 min)
    nice .venv/bin/python dev/fuzz.py --scale 5 --json  # more inputs, machine output
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "repodata"
DEMO = ROOT / "tests" / "data" / "demo-channel"
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

#: inputs per target at --scale 1
BASE_COUNTS = {"specs": 4000, "repodata": 1500, "cli": 1500}


class Tally:
    """Outcome counts and the first few failures of one target."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.outcomes: Counter[str] = Counter()
        self.failures: list[dict] = []

    def ok(self, kind: str) -> None:
        self.outcomes[kind] += 1

    def fail(self, kind: str, given: object, detail: str) -> None:
        self.outcomes[f"FAIL {kind}"] += 1
        if len(self.failures) < 20:
            self.failures.append({"kind": kind, "input": repr(given)[:400], "detail": detail})

    @property
    def tried(self) -> int:
        return sum(self.outcomes.values())

    def to_json(self) -> dict:
        return {
            "target": self.target,
            "tried": self.tried,
            "failed": sum(n for k, n in self.outcomes.items() if k.startswith("FAIL")),
            "outcomes": dict(self.outcomes),
            "failures": self.failures,
        }


def _settings(count: int):
    from hypothesis import HealthCheck, settings

    return settings(
        max_examples=count,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=False,
    )


# -- targets -------------------------------------------------------------------------------


def fuzz_specs(count: int, seed: int) -> Tally:
    from hypothesis import given
    from hypothesis import strategies as st
    from strategies import grammar_specs

    from conda_solver_plus.exceptions import InvalidInputError
    from conda_solver_plus.specs import parse_spec, spec_name, strictness

    tally = Tally("specs")

    def check(text: str) -> None:
        try:
            spec = parse_spec(text, "fuzz")
        except InvalidInputError as exc:
            if "\n" in str(exc):
                tally.fail("multi-line error", text, str(exc))
            else:
                tally.ok("invalid")
            return
        except Exception as exc:
            tally.fail(type(exc).__name__, text, traceback.format_exc(limit=3))
            return
        try:
            spec_name(spec)
            strictness(spec)
            parse_spec(str(spec), "fuzz round trip")
        except Exception as exc:
            tally.fail(f"after parse: {type(exc).__name__}", text, str(exc))
            return
        tally.ok("parsed")

    third = max(1, count // 3)
    alphabet = "numpy<>=!~*.,|[]'\"= 0123abc_-:/@#$\\\t"
    _settings(third)(given(st.text(max_size=60))(check))()
    _settings(third)(given(st.text(alphabet=alphabet, max_size=40))(check))()
    _settings(count - 2 * third)(given(grammar_specs().map(lambda case: case[0]))(check))()
    return tally


def _mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    how = rng.choice(["flip", "delete", "insert", "truncate", "duplicate"])
    if not data:
        return bytes([rng.randrange(256)])
    at = rng.randrange(len(data))
    if how == "flip":
        return data[:at] + bytes([data[at] ^ (1 << rng.randrange(8))]) + data[at + 1 :]
    if how == "delete":
        return data[:at] + data[at + rng.randint(1, 64) :]
    if how == "insert":
        junk = rng.choice([b'"', b"{", b"}", b"[", b",", b":", b"\\", b"\x00", b"\xff", b"null"])
        return data[:at] + junk + data[at:]
    if how == "truncate":
        return data[:at]
    end = min(len(data), at + rng.randint(1, 200))
    return data[:end] + data[at:end] + data[end:]


_JSON_REPLACEMENTS = [None, 0, -1, 2**64, 1.5, "", "x", [], {}, [1], {"a": 1}, True, "1.0"]


def _mutate_json(document: dict, rng: random.Random) -> dict:
    sections = [k for k in ("packages", "packages.conda") if isinstance(document.get(k), dict)]
    sections = [k for k in sections if document[k]]
    if not sections:
        return document
    section = document[rng.choice(sections)]
    filename = rng.choice(sorted(section))
    record = section[filename]
    how = rng.choice(["replace", "drop", "rename", "list-item", "dup-stem"])
    field = rng.choice(sorted(record)) if record else "name"
    if how == "replace":
        record[field] = rng.choice(_JSON_REPLACEMENTS)
    elif how == "drop":
        record.pop(field, None)
    elif how == "rename":
        section[filename + rng.choice(["", ".x", " "])[::-1]] = section.pop(filename)
    elif how == "list-item" and isinstance(record.get("depends"), list):
        record["depends"] = [*record["depends"], rng.choice([1, None, "", ">=1", "a b c d e"])]
    else:
        stem = filename.removesuffix(".conda").removesuffix(".tar.bz2")
        other = "packages" if filename.endswith(".conda") else "packages.conda"
        ext = ".tar.bz2" if other == "packages" else ".conda"
        document.setdefault(other, {})[stem + ext] = {**record, "build_number": 999}
    return document


def _real_repodata() -> list[tuple[Path, bytes]]:
    """Small real repodata files to mutate (the big ones make each input slow)."""
    files = []
    for path in sorted(SHARED.rglob("repodata.json")) if SHARED.is_dir() else []:
        if path.stat().st_size <= 600_000:
            files.append((path, path.read_bytes()))
    files.extend((p, p.read_bytes()) for p in sorted(DEMO.rglob("repodata.json")))
    return files


def _load_and_read(document: bytes, tmp: Path, tally: Tally, origin: str) -> None:
    from rattler import PackageName

    from conda_solver_plus.backends import get_backend
    from conda_solver_plus.core import SolveOptions, solve
    from conda_solver_plus.exceptions import InvalidInputError, SolverPlusError
    from conda_solver_plus.repodata.gateway import load_index
    from conda_solver_plus.specs import parse_spec
    from conda_solver_plus.state import SolverInputState

    channel = tmp / "chan"
    shutil.rmtree(channel, ignore_errors=True)
    (channel / "linux-64").mkdir(parents=True)
    (channel / "linux-64" / "repodata.json").write_bytes(document)
    stage = "load"
    try:
        index = load_index([channel], ["linux-64"], cache_dir=tmp / "cache")
        stage = "read"
        names = sorted(index.package_names())
        for repo in index.repos:
            for name in repo.sparse.package_names():
                repo.sparse.load_records(PackageName(name))
        stage = "solve"
        if names:
            spec = parse_spec(random.Random(len(document)).choice(names))
            sis = SolverInputState(None, [spec], virtual_packages={})
            solve(sis, index, get_backend("rattler"), SolveOptions(timeout=20))
        tally.ok(f"{origin}: loaded")
    except InvalidInputError as exc:
        if "\n" in str(exc):
            tally.fail("multi-line input error", document[:300], str(exc))
        else:
            tally.ok(f"{origin}: invalid input at {stage}")
    except SolverPlusError as exc:
        tally.ok(f"{origin}: {exc.error_type} at {stage}")
    except Exception as exc:
        tally.fail(f"{type(exc).__name__} at {stage}", document[:300], traceback.format_exc(-3))


def fuzz_repodata(count: int, seed: int) -> Tally:
    from hypothesis import given
    from strategies import damaged_repodata

    tally = Tally("repodata")
    rng = random.Random(seed)
    files = _real_repodata()
    with tempfile.TemporaryDirectory(prefix="fuzz-repodata-") as tmp_name:
        tmp = Path(tmp_name)
        generated = count // 3
        _settings(generated)(
            given(damaged_repodata())(lambda doc: _load_and_read(doc, tmp, tally, "generated"))
        )()
        while tally.tried < count:
            _path, data = rng.choice(files)
            if rng.random() < 0.5:
                document = data
                for _ in range(rng.randint(1, 3)):
                    document = _mutate_bytes(document, rng)
                origin = "byte-mutated"
            else:
                parsed = json.loads(data)
                for _ in range(rng.randint(1, 3)):
                    parsed = _mutate_json(parsed, rng)
                document = json.dumps(parsed).encode()
                origin = "json-mutated"
            _load_and_read(document, tmp, tally, origin)
    return tally


_GOOD_SPECS = ["numpy", "python=3.12", "pip", "numpy>=2", "openssl", "python 3.11.*", "zlib"]
_BAD_SPECS = ["numpy>=", "=1.0", "pkg[version=", "", " ", "<>", "numpy ===", "x" * 300, "\x00"]
_GOOD_OPTIONS: list[list[str]] = [
    [],
    ["--json"],
    ["--update"],
    ["--remove"],
    ["--update-all"],
    ["--freeze-installed"],
    ["--update-deps"],
    ["--update-specs"],
    ["--satisfied-skip-solve"],
    ["--no-deps"],
    ["--only-deps"],
    ["--prune"],
    ["--force-reinstall"],
    ["--add-pip"],
    ["--ignore-pinned"],
    ["--offline"],
    ["--channel-priority", "flexible"],
    ["--channel-priority", "disabled"],
    ["--pin", "python 3.12.*"],
    ["--pin", "numpy<2"],
    ["--aggressive-update", "openssl"],
    ["--virtual", "__cuda=12.6"],
    ["--virtual", "__glibc=2.5"],
    ["--virtual", "__glibc="],
    ["--timeout", "30"],
    ["--subdir", "linux-64"],
    ["--subdir", "osx-arm64"],
    ["-c", "conda-forge/label/dev", "--offline"],
    ["-v"],
]
_BAD_OPTIONS: list[list[str]] = [
    ["--channel-priority", "bogus"],
    ["--pin", "numpy>="],
    ["--virtual", "__cuda"],
    ["--virtual", "__cuda=1..2"],
    ["--timeout", "0"],
    ["--timeout", "nan"],
    ["--timeout", "abc"],
    ["--subdir", "noarch"],
    ["--subdir", "linux-65"],
    ["--backend", "bogus"],
    ["--frobnicate"],
    ["-c", ""],
    ["-c", "./no/such/dir"],
]


def _cli_world(tmp: Path) -> dict[str, Path]:
    from test_robustness import World

    world = World(tmp / "world")
    broken = tmp / "broken-env"
    shutil.copytree(world.prefix, broken)
    (broken / "conda-meta" / "pinned").write_text("numpy >=\n")
    record = next((broken / "conda-meta").glob("openssl*.json"))
    record.write_text(record.read_text()[:100])
    file_prefix = tmp / "file-env"
    file_prefix.write_text("")
    return {
        "good": world.prefix,
        "broken": broken,
        "file": file_prefix,
        "missing": tmp / "missing-env",
        "cache": world.cache,
    }


def fuzz_cli(count: int, seed: int) -> Tally:
    from conda_solver_plus.cli import main

    tally = Tally("cli")
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="fuzz-cli-") as tmp_name:
        paths = _cli_world(Path(tmp_name))
        for _ in range(count):
            argv = [rng.choice(["solve", "solve", "explain"])]
            for _ in range(rng.randint(0, 3)):
                argv.append(rng.choice(_GOOD_SPECS if rng.random() < 0.8 else _BAD_SPECS))
            if rng.random() < 0.95:
                argv += ["-c", str(DEMO)]
            if rng.random() < 0.7:
                argv += ["--prefix", str(paths[rng.choice(["good", "broken", "file", "missing"])])]
            for _ in range(rng.randint(0, 3)):
                argv += rng.choice(_BAD_OPTIONS if rng.random() < 0.1 else _GOOD_OPTIONS)
            if "--subdir" not in argv:
                argv += ["--subdir", "linux-64"]
            if "--backend" not in argv:
                argv += ["--backend", "rattler"]
            argv += ["--cache-dir", str(paths["cache"])]
            out, err = io.StringIO(), io.StringIO()
            try:
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                    code = main(argv)
            except SystemExit as exit_:  # argparse
                code = exit_.code
            except Exception as exc:
                tally.fail(f"escaped {type(exc).__name__}", argv, traceback.format_exc(-3))
                continue
            stderr = err.getvalue()
            if code == 3 or ("Traceback" in stderr and "-v" not in argv):
                tally.fail("internal error", argv, stderr[-600:])
            elif code == 2 and len(stderr.splitlines()) != 1:
                tally.fail("bad-input error is not one line", argv, stderr[-600:])
            elif code not in (0, 1, 2):
                tally.fail(f"exit {code}", argv, stderr[-600:])
            else:
                tally.ok(f"exit {code}")
    return tally


TARGETS = {"specs": fuzz_specs, "repodata": fuzz_repodata, "cli": fuzz_cli}


def worker(target: str, count: int, seed: int) -> None:
    # the network must never be touched: local channels only, offline where remote
    os.environ.pop("CONDA_SOLVER_PLUS_BACKEND", None)
    tally = TARGETS[target](count, seed)
    print(json.dumps(tally.to_json()))


def run_target(target: str, count: int, seed: int, limit: float) -> dict:
    started = time.monotonic()
    argv = [sys.executable, __file__, "--worker", target, "--count", str(count)]
    argv += ["--seed", str(seed)]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=limit, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"target": target, "tried": 0, "failed": 1, "outcomes": {"FAIL hang": 1}}
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        return {
            "target": target,
            "tried": 0,
            "failed": 1,
            "outcomes": {f"FAIL worker exit {proc.returncode}": 1},
            "failures": [{"kind": "crash", "detail": proc.stderr[-2000:]}],
            "seconds": seconds,
        }
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["seconds"] = round(seconds, 1)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the input counts")
    parser.add_argument("--seed", type=int, default=20250101)
    parser.add_argument("--only", choices=sorted(TARGETS), action="append")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--worker", choices=sorted(TARGETS), help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.count, args.seed)
        return 0
    results = []
    for target in args.only or list(TARGETS):
        count = max(1, int(BASE_COUNTS[target] * args.scale))
        results.append(run_target(target, count, args.seed, limit=1800))
    failed = sum(r["failed"] for r in results)
    if args.json:
        print(json.dumps({"results": results, "failed": failed}, indent=2))
    else:
        for r in results:
            print(f"{r['target']:<9} tried {r['tried']:>6}  failed {r['failed']:>3}  "
                  f"({r.get('seconds', '?')} s)")  # fmt: skip
            for outcome, n in sorted(r["outcomes"].items()):
                print(f"    {n:>6}  {outcome}")
            for failure in r.get("failures", [])[:5]:
                print(f"    FAILURE {failure['kind']}: {failure.get('input', '')}\n"
                      f"      {failure['detail'][:500]}")  # fmt: skip
        print(f"total tried {sum(r['tried'] for r in results)}, failed {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
